/**
 * Transaction pipelining against the Postfix rig (scripts/rig/rig.sh start): 200 concurrent
 * sends on one connection, every one delivered exactly once, in fewer round trips than
 * messages with CHUNKING (a window of transactions) and about one per message with DATA.
 * A round trip is counted from the transcript: a client line followed by a server line.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmtpClient } from '../../src/client/smtp-client.js';
import { formatTranscriptLine } from '../../src/log.js';
import { listDeliveries, rig, rigSkipReason } from '../support/rig.js';

const TOTAL = 200;

/** Client writes followed by a wait for a reply, from the first MAIL to QUIT. */
function roundTrips(lines: string[]): number {
  const start = lines.findIndex((line) => line.startsWith('C: MAIL'));
  const end = lines.indexOf('C: QUIT');
  let count = 0;
  for (let i = Math.max(start, 0); i + 1 < (end < 0 ? lines.length : end); i++) {
    if (!lines[i]!.startsWith('S:') && lines[i + 1]!.startsWith('S:')) count++;
  }
  return count;
}

async function sendMany(chunking: boolean): Promise<{ lines: string[]; recipient: string }> {
  const r = rig()!;
  const lines: string[] = [];
  const recipient = `pipeline-${randomUUID().slice(0, 8)}@rig.test`;
  const client = new SmtpClient({
    host: r.hostName,
    port: r.ports.plain,
    secure: 'StartTls',
    tls: { ca: r.ca },
    chunking,
    transcript: (line) => lines.push(formatTranscriptLine(line)),
  });
  try {
    await client.connect();
    const results = await Promise.all(Array.from({ length: TOTAL }, (_, i) => client.send(
      { from: 'alice@rig.test', to: [recipient] },
      `From: alice@rig.test\r\nTo: ${recipient}\r\nSubject: pipelined ${i}\r\n` +
        `X-Pipeline-Id: ${i}\r\n\r\nMessage ${i}.\r\n`)));
    assert.equal(results.filter((result) => result.accepted.length === 1).length, TOTAL);
    assert.ok(results.every((result) => result.method === (chunking ? 'BDAT' : 'DATA')));
    assert.equal(client.messagesSent, TOTAL);
  } finally {
    await client.quit();
  }
  let delivered: string[] = [];
  for (let i = 0; i < 300 && delivered.length < TOTAL; i++) {
    delivered = await listDeliveries(recipient);
    if (delivered.length < TOTAL) await sleep(100);
  }
  assert.equal(delivered.length, TOTAL);
  const ids = new Set<string>();
  for (const path of delivered) {
    ids.add(/^X-Pipeline-Id: (\d+)$/m.exec(await readFile(path, 'latin1'))![1]!);
  }
  assert.equal(ids.size, TOTAL, 'each message delivered exactly once');
  return { lines, recipient };
}

describe('transaction pipelining against the Postfix rig', { skip: rigSkipReason }, () => {
  test('CHUNKING: 200 concurrent sends on one connection, fewer round trips than messages',
    async () => {
      const { lines } = await sendMany(true);
      const trips = roundTrips(lines);
      process.stderr.write(`rig pipelining (BDAT): ${TOTAL} messages, ${trips} round trips\n`);
      assert.ok(trips < TOTAL / 2, `${trips} round trips for ${TOTAL} messages`);
    });

  test('DATA only: 200 concurrent sends, about one round trip per message', async () => {
    const { lines } = await sendMany(false);
    const trips = roundTrips(lines);
    process.stderr.write(`rig pipelining (DATA): ${TOTAL} messages, ${trips} round trips\n`);
    // One wait for each 354 and one for the last message's end of data: not two per message.
    assert.ok(trips <= TOTAL + 1, `${trips} round trips for ${TOTAL} messages`);
  });
});
