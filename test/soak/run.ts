/**
 * The soak (`npm run soak`, not part of `npm test`): 10,000 messages through one
 * `SmtpConnectionManager` pool to the Postfix rig (port 3525), through a fault-injecting
 * proxy that drops connections and answers 421 and 451 at random (fault-proxy.ts). Then it
 * reads the Maildir back and checks the bookkeeping:
 *
 * - every message reported sent was delivered exactly once;
 * - every message reported failed was not delivered at all;
 * - a message reported unknown was delivered at most once;
 * - nothing else was delivered, and sent + failed + unknown = submitted.
 *
 * Usage: `npm run soak` (env: SOAK_MESSAGES, default 10000; SOAK_SEED, default random;
 * SOAK_MAX_CONNECTIONS, default 8; SOAK_DEADLINE_S, default 420). Prints the figures and
 * exits 1 when a check fails or the deadline passes. Mail goes to a recipient of its own
 * (`soak-<run>@rig.test`), so other rig tests' mail is left alone.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { SmtpError, SmtpUnknownOutcomeError } from '../../src/errors.js';
import { listDeliveries, rig, rigSkipReason } from '../support/rig.js';
import { seededRandom, startFaultProxy, type FaultRates } from './fault-proxy.js';

const total = Number(process.env.SOAK_MESSAGES ?? 10_000);
const seed = Number(process.env.SOAK_SEED ?? randomInt(2 ** 31));
const maxConnections = Number(process.env.SOAK_MAX_CONNECTIONS ?? 8);
const deadlineMs = Number(process.env.SOAK_DEADLINE_S ?? 420) * 1000;
const workers = maxConnections * 2;

const RATES: FaultRates = {
  dropCommand: 0.002,
  dropReply: 0.002,
  reply421: 0.002,
  reply451Mail: 0.01,
  reply451Data: 0.005,
};

type Outcome = 'sent' | 'failed' | 'unknown';

async function main(): Promise<number> {
  const info = rig();
  if (!info) {
    process.stderr.write(`The soak needs the Postfix rig: ${rigSkipReason}\n`);
    return 1;
  }
  const started = Date.now();
  const deadline = started + deadlineMs;
  const run = randomUUID().slice(0, 8);
  const recipient = `soak-${run}@rig.test`;
  const proxy = await startFaultProxy({ host: info.connectHost, port: info.ports.plain }, RATES,
    seededRandom(seed));
  process.stdout.write(`soak ${run}: ${total} messages, seed ${seed}, MaxConnections=` +
    `${maxConnections}, through a fault proxy on port ${proxy.port} to ${info.connectHost}:` +
    `${info.ports.plain}\n`);
  const manager = new SmtpConnectionManager({
    connectionString: `SmtpServer=127.0.0.1;Port=${proxy.port};SecureSocketOptions=None;` +
      `MaxConnections=${maxConnections};Timeout=15;`,
  });

  const outcomes = new Array<Outcome>(total);
  const errorCodes = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total && Date.now() < deadline) {
      const i = next++;
      const message = `From: soak@rig.test\r\nTo: ${recipient}\r\nSubject: soak ${i}\r\n` +
        `X-Soak-Id: ${run}-${i}\r\n\r\nMessage ${i} of the soak.\r\n`;
      try {
        await manager.send({ from: 'soak@rig.test', to: [recipient] }, message);
        outcomes[i] = 'sent';
      } catch (error) {
        outcomes[i] = error instanceof SmtpUnknownOutcomeError ? 'unknown' : 'failed';
        const key = error instanceof SmtpError
          ? `${error.name}${'replyCode' in error ? ` ${String(error.replyCode)}` : ''}`
          : String(error);
        errorCodes.set(key, (errorCodes.get(key) ?? 0) + 1);
      }
      if ((i + 1) % 1000 === 0) {
        process.stdout.write(`  ${i + 1} submitted after ${Date.now() - started} ms\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const sendMs = Date.now() - started;
  await manager.close();
  await proxy.close();
  const submitted = outcomes.filter((o) => o !== undefined).length;
  if (submitted < total) {
    process.stdout.write(`FAIL: the deadline passed after ${submitted} of ${total} messages\n`);
    return 1;
  }

  // Postfix delivers asynchronously: wait until the Maildir stops growing.
  const expectedAtLeast = outcomes.filter((o) => o === 'sent').length;
  let files: string[] = [];
  let stableSince = Date.now();
  while (Date.now() < deadline + 120_000) {
    const now = await listDeliveries(recipient);
    if (now.length !== files.length) stableSince = Date.now();
    files = now;
    if (files.length >= expectedAtLeast && Date.now() - stableSince > 5_000) break;
    await sleep(500);
  }
  const deliveries = new Map<number, number>();
  let foreign = 0;
  for (const path of files) {
    const id = new RegExp(`^X-Soak-Id: ${run}-(\\d+)$`, 'm').exec(await readFile(path, 'latin1'));
    if (!id) {
      foreign += 1;
      continue;
    }
    deliveries.set(Number(id[1]), (deliveries.get(Number(id[1])) ?? 0) + 1);
  }

  const count = (o: Outcome): number => outcomes.filter((x) => x === o).length;
  const problems: string[] = [];
  let unknownDelivered = 0;
  outcomes.forEach((outcome, i) => {
    const n = deliveries.get(i) ?? 0;
    if (outcome === 'sent' && n !== 1) problems.push(`message ${i}: sent, delivered ${n} times`);
    if (outcome === 'failed' && n !== 0) problems.push(`message ${i}: failed, delivered ${n}`);
    if (outcome === 'unknown') {
      if (n > 1) problems.push(`message ${i}: unknown, delivered ${n} times`);
      unknownDelivered += n;
    }
  });
  if (foreign > 0) problems.push(`${foreign} delivered files are not from this run`);
  const distinct = deliveries.size;
  const figures = {
    submitted: total,
    sent: count('sent'),
    failed: count('failed'),
    unknown: count('unknown'),
    unknownDelivered,
    deliveredFiles: files.length,
    deliveredDistinct: distinct,
    duplicates: files.length - distinct,
    sendSeconds: Math.round(sendMs / 100) / 10,
    totalSeconds: Math.round((Date.now() - started) / 100) / 10,
    seed,
    maxConnections,
    proxy: proxy.stats,
    errors: Object.fromEntries([...errorCodes].sort((a, b) => b[1] - a[1])),
  };
  // The issue's bookkeeping: read back (not counting unknown ones) + failed + unknown.
  const balance = (distinct - unknownDelivered) + figures.failed + figures.unknown;
  if (balance !== total) problems.push(`read back ${distinct - unknownDelivered} + failed ` +
    `${figures.failed} + unknown ${figures.unknown} = ${balance}, not ${total}`);
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  for (const problem of problems.slice(0, 20)) process.stdout.write(`FAIL: ${problem}\n`);
  process.stdout.write(problems.length === 0 ? 'PASS: every message accounted for\n'
    : `FAIL: ${problems.length} problem(s)\n`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = await main();
