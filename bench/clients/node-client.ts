/**
 * One benchmark run of a Node client, in a process of its own so that its CPU time and peak
 * RSS are its own. bench/run.ts bundles this file with the smtpcm it measures (bundle.ts) and
 * starts `node <bundle> '<NodeClientSpec as JSON>'`; it prints one line
 * `BENCH-RESULT <ClientResult as JSON>` on stdout and exits 0, or exits 1 with the reason on
 * stderr. (`node --import tsx bench/clients/node-client.ts '<spec>'` runs it against src/ as it
 * is, tsx included in the figures.)
 *
 * Both clients compose every message from the same definition with Nodemailer's MailComposer:
 * Nodemailer inside `sendMail()`, smtpcm here before `send()` (a Buffer, or for the attachment
 * a function returning the composer's stream). The clock and the CPU counters start before the
 * first connection and stop when the last message is accepted, before QUIT. With `warmup`, the
 * same client first sends that many messages on a session of its own, closed before the clock
 * starts, so that V8's compilation of the send path is not counted.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
// The public API. In the bundle this is the src/ of the revision measured (bundle.ts).
import { SmtpClient, SmtpConnectionManager } from '../../src/index.js';
import type { Envelope, MessageSource } from '../../src/index.js';
import { bodyText, messageDefinition, SENDER, WORKLOADS } from '../workloads.js';
import type { MessageDefinition, Workload, WorkloadName } from '../workloads.js';
import type { ClientResult } from './result.js';

export interface NodeClientSpec {
  client: 'smtpcm' | 'nodemailer';
  /** 1: one connection; more: a pool of that many. */
  connections: number;
  host: string;
  port: number;
  workload: WorkloadName;
  count: number;
  /**
   * smtpcm only: messages handed to one connection before the previous ones are answered
   * (transaction pipelining). 1 sends one message at a time.
   */
  window: number;
  attachmentPath?: string;
  /**
   * Send this file's bytes (composed once by the parent) as every message, without
   * composition: the engine alone, to compare smtpcm's with Nodemailer's (`sendMail()` with
   * `raw`, which goes through its own DATA encoder) and with smtp-source, which does not
   * compose either.
   */
  prebuiltPath?: string;
  /** Messages sent untimed first, to this port of the same host (the server itself). */
  warmup?: { port: number; count: number };
}

/**
 * Runs `task(0)` ... `task(count - 1)` with at most `concurrency` in flight. Counts failures
 * instead of stopping, and keeps the first error.
 */
async function drive(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<{ errors: number; firstError?: unknown }> {
  let next = 0;
  let errors = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      try {
        await task(index);
      } catch (error) {
        errors += 1;
        firstError ??= error;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker);
  await Promise.all(workers);
  return { errors, firstError };
}

interface Measured {
  messages: number;
  bytes: number;
  errors: number;
  firstError?: unknown;
  /** Called after the clock stops: QUIT and close. */
  close(): Promise<void>;
}

async function runNodemailer(
  spec: NodeClientSpec,
  define: (index: number) => MessageDefinition,
  prebuilt: Buffer | undefined,
): Promise<Measured> {
  // The prebuilt bytes go as `raw`, with the envelope given apart: sendMail composes nothing.
  const mailOf = (index: number): SendMailOptions =>
    prebuilt === undefined
      ? define(index)
      : { envelope: { from: SENDER, to: define(index).to }, raw: prebuilt };
  const transport = nodemailer.createTransport({
    host: spec.host,
    port: spec.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: spec.connections,
    maxMessages: Infinity,
    logger: false,
  });
  let bytes = 0;
  // Two messages queued per connection, so a connection never waits for the next one.
  const outcome = await drive(spec.count, spec.connections * 2, async (index) => {
    const info = (await transport.sendMail(mailOf(index))) as { messageSize?: number };
    bytes += info.messageSize ?? 0;
  });
  return {
    messages: spec.count - outcome.errors,
    bytes,
    errors: outcome.errors,
    firstError: outcome.firstError,
    close: async () => transport.close(),
  };
}

/** Composes a message as smtpcm is given it: a Buffer, or a stream for an attachment. */
async function compose(definition: MessageDefinition): Promise<MessageSource> {
  if (definition.attachments !== undefined) {
    return (): Readable => new MailComposer(definition).compile().createReadStream();
  }
  return new MailComposer(definition).compile().build();
}

async function runSmtpcm(
  spec: NodeClientSpec,
  define: (index: number) => MessageDefinition,
  prebuilt: Buffer | undefined,
): Promise<Measured> {
  const envelope = (index: number): Envelope => ({ from: SENDER, to: define(index).to });
  let bytes = 0;
  if (spec.connections === 1) {
    const client = new SmtpClient({
      host: spec.host,
      port: spec.port,
      secure: 'None',
      clientName: 'bench.example.com',
    });
    await client.connect();
    let outcome: { errors: number; firstError?: unknown };
    const messageOf = (index: number): Promise<MessageSource> =>
      prebuilt === undefined ? compose(define(index)) : Promise.resolve(prebuilt);
    if (spec.window <= 1) {
      // One message at a time, the next one composed while the current one is on the wire.
      let errors = 0;
      let firstError: unknown;
      let upcoming = messageOf(0);
      for (let index = 0; index < spec.count; index += 1) {
        const message = await upcoming;
        if (index + 1 < spec.count) upcoming = messageOf(index + 1);
        try {
          const result = await client.send(envelope(index), message);
          bytes += result.size;
        } catch (error) {
          errors += 1;
          firstError ??= error;
        }
      }
      outcome = { errors, firstError };
    } else {
      outcome = await drive(spec.count, spec.window, async (index) => {
        const message = await messageOf(index);
        const result = await client.send(envelope(index), message);
        bytes += result.size;
      });
    }
    return {
      messages: spec.count - outcome.errors,
      bytes,
      ...outcome,
      close: () => client.quit(),
    };
  }
  // Shared sessions: the documented throughput setting (docs/pipelining.md), so each of the
  // connections pipelines up to `window` sends, as one connection does. Off by default with
  // MaxConnections>1 (a lost session then fails one send, not a window of them).
  // MaxMessagesPerConnection as Nodemailer's maxMessages: Infinity (the default 100 would
  // reconnect every 100 messages).
  const manager = new SmtpConnectionManager({
    connectionString:
      `SmtpServer=${spec.host};UseWindowsAuthentication=False;EnableSsl=False;` +
      `Port=${spec.port};MaxConnections=${spec.connections};MaxMessagesPerConnection=1000000;`,
    pool: { sharedSessions: true },
  });
  // Every connection's window full, and at least 2 per connection so none waits for the next.
  const inFlight = spec.connections * Math.max(2, spec.window);
  const outcome = await drive(spec.count, inFlight, async (i) => {
    const message = await compose(define(i));
    const result = await manager.send(envelope(i), message);
    bytes += result.size;
  });
  return {
    messages: spec.count - outcome.errors,
    bytes,
    ...outcome,
    close: () => manager.close(),
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as NodeClientSpec;
  const workload: Workload = WORKLOADS[spec.workload];
  const text = bodyText(workload.textBytes);
  const define = (index: number): MessageDefinition =>
    messageDefinition(workload, index, text, spec.attachmentPath);

  const prebuilt = spec.prebuiltPath === undefined ? undefined : readFileSync(spec.prebuiltPath);
  // Warm MailComposer up the same way for both clients (not with a 300 MB attachment: that
  // would be in the peak RSS).
  if (workload.attachmentBytes === undefined) await new MailComposer(define(0)).compile().build();

  const run = (runSpec: NodeClientSpec): Promise<Measured> =>
    runSpec.client === 'nodemailer'
      ? runNodemailer(runSpec, define, prebuilt)
      : runSmtpcm(runSpec, define, prebuilt);
  if (spec.warmup !== undefined && spec.warmup.count > 0) {
    const warm = await run({ ...spec, port: spec.warmup.port, count: spec.warmup.count });
    await warm.close();
    if (warm.errors > 0) throw new Error(`warm-up: ${describe(warm.firstError)}`);
  }

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const measured = await run(spec);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await measured.close();

  const result: ClientResult = {
    messages: measured.messages,
    bytes: measured.bytes,
    wallSeconds,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    peakRssBytes: peakRssBytes(),
    errors: measured.errors,
    firstError: measured.firstError === undefined ? undefined : describe(measured.firstError),
  };
  process.stdout.write(`BENCH-RESULT ${JSON.stringify(result)}\n`);
}

/**
 * This process's peak RSS: VmHWM from /proc/self/status, the high-water mark of its own
 * address space. Not `process.resourceUsage().maxRSS`: Linux carries ru_maxrss across exec
 * from the address space the process was forked with, so a child of a large parent reports
 * the parent's size. Falls back to maxRSS where /proc is missing.
 */
function peakRssBytes(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match !== null) return Number(match[1]) * 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS * 1024;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${describe(error)}\n`);
    process.exit(1);
  },
);
