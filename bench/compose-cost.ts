/**
 * What composing costs, apart from any SMTP: MailComposer builds each workload's message from
 * the benchmark's definition, as both Node clients do before sending, and this prints the CPU
 * time per message (user + sys, the process's) and what V8's young generation grew to. Used by
 * bench/analysis.md to show how much of a client's CPU per message is composition.
 *
 *   node --import tsx bench/compose-cost.ts [concurrency]
 *
 * `concurrency` (default 1) is how many compositions are in flight at once (the benchmark's
 * smtpcm client composes up to its window's worth ahead).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import MailComposer from 'nodemailer/lib/mail-composer';
import { bodyText, messageDefinition, WORKLOADS, type WorkloadName } from './workloads.js';

const RUNS: Array<[WorkloadName, number]> = [
  ['small-2kb', 5000],
  ['text-100kb', 300],
  ['large-5mb', 10],
];

/** Runs `task(0)` ... `task(count - 1)`, at most `concurrency` at once. */
async function inFlight(count: number, concurrency: number,
  task: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

async function main(): Promise<void> {
  const concurrency = Number(process.argv[2] ?? '1');
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`concurrency must be a positive integer; got ${process.argv[2]}.`);
  }
  process.stdout.write(`MailComposer, ${concurrency} composition(s) in flight\n`);
  for (const [name, count] of RUNS) {
    const workload = WORKLOADS[name];
    const text = bodyText(workload.textBytes);
    const build = (index: number): Promise<Buffer> =>
      new MailComposer(messageDefinition(workload, index, text)).compile().build();
    await inFlight(Math.min(count, 50), concurrency, build); // warm-up
    const before = process.cpuUsage();
    await inFlight(count, concurrency, build);
    const cpu = process.cpuUsage(before);
    const perMessage = (cpu.user + cpu.system) / count;
    const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    const young = ((newSpace?.space_size ?? 0) / 2 ** 20).toFixed(0);
    process.stdout.write(`${name.padEnd(11)} ${String(count).padStart(5)} messages: ` +
      `${perMessage.toFixed(0).padStart(7)} µs CPU per message; new space ${young} MB\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
