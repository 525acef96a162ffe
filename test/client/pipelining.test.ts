/**
 * Transaction pipelining (issue 8): several sends in flight on one connection, against
 * scripted servers. Whole transcripts are asserted, and the server's `reads` show which
 * commands left in one write. RFC 2920 (PIPELINING), RFC 3030 §4.2 (BDAT in a pipelined
 * group), RFC 5321 §3.8 (421 closes the session).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SmtpClient } from '../../src/client/smtp-client.js';
import type { SendResult, SmtpClientOptions } from '../../src/client/types.js';
import {
  SmtpCommandError,
  SmtpConnectionError,
  SmtpRecipientsError,
  SmtpUnknownOutcomeError,
} from '../../src/errors.js';
import { formatTranscriptLine } from '../../src/log.js';
import {
  startScriptedServer,
  type ScriptStep,
  type ScriptedServer,
} from '../support/scripted-server.js';

const GREETING = 'S: 220 mx.test ESMTP ready';
const EHLO = 'C: EHLO client.test';
const QUIT = ['C: QUIT', 'S: 221 2.0.0 bye'];

function ehloReply(...keywords: string[]): string[] {
  const lines = ['mx.test greets client.test', ...keywords];
  return lines.map((line, i) => `S: 250${i === lines.length - 1 ? ' ' : '-'}${line}`);
}

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const step of cleanup) await step();
});

interface Run {
  server: ScriptedServer;
  client: SmtpClient;
  lines: string[];
}

async function scripted(script: ScriptStep[], options: Partial<SmtpClientOptions> = {}):
Promise<Run> {
  const server = await startScriptedServer(script);
  cleanup.push(() => server.close());
  const lines: string[] = [];
  const client = new SmtpClient({
    host: '127.0.0.1',
    port: server.port,
    secure: 'None',
    clientName: 'client.test',
    transcript: (line) => lines.push(formatTranscriptLine(line)),
    ...options,
  });
  cleanup.push(() => client.destroy());
  await client.connect();
  return { server, client, lines };
}

async function finish(run: Run): Promise<void> {
  await run.client.quit();
  await run.server.done;
  await run.server.close();
  assert.deepEqual(run.server.errors, []);
}

/** A 22-octet message (CRLF line ends, 7-bit). */
function message(n: number): string {
  return `Subject: ${n}\r\n\r\nbody ${n}\r\n`;
}

/** What the client writes for one pipelined BDAT transaction. */
function bdatWire(to: string, n: number, reset: boolean): string {
  return `${reset ? 'RSET\r\n' : ''}MAIL FROM:<a@x.test>\r\nRCPT TO:<${to}>\r\n` +
    `BDAT 22 LAST\r\n${message(n)}`;
}

function bdatSteps(to: string, reset: boolean): ScriptStep[] {
  return [...(reset ? ['C: RSET'] : []), 'C: MAIL FROM:<a@x.test>', `C: RCPT TO:<${to}>`,
    'C: BDAT 22 LAST', { expectBytes: 22 }];
}

function send(run: Run, to: string, n: number): Promise<SendResult> {
  return run.client.send({ from: 'a@x.test', to: [to] }, message(n));
}

/** Settles every promise; the outcomes in order. */
function settled<T>(promises: Array<Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
  return Promise.allSettled(promises);
}

function reads(server: ScriptedServer): string[] {
  return server.reads.map((read) => read.toString('latin1'));
}

test('CHUNKING: three transactions leave in one write, each answered in order', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'CHUNKING'),
    ...bdatSteps('b@y.test', false), ...bdatSteps('c@y.test', true),
    ...bdatSteps('d@y.test', true),
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 Ok: queued as A',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 Ok: queued as B',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 Ok: queued as C',
    ...QUIT]);
  assert.equal(run.client.maxInFlight, 8);
  const sends = [send(run, 'b@y.test', 1), send(run, 'c@y.test', 2), send(run, 'd@y.test', 3)];
  assert.equal(run.client.inFlight, 3);
  const results = await Promise.all(sends);
  assert.deepEqual(results.map((r) => [r.accepted, r.reply.lines[0], r.method, r.size]), [
    [['b@y.test'], 'Ok: queued as A', 'BDAT', 22],
    [['c@y.test'], 'Ok: queued as B', 'BDAT', 22],
    [['d@y.test'], 'Ok: queued as C', 'BDAT', 22],
  ]);
  assert.equal(run.client.messagesSent, 3);
  assert.equal(run.client.inFlight, 0);
  assert.equal(run.client.usable, true);
  await finish(run);
  assert.ok(reads(run.server).includes(bdatWire('b@y.test', 1, false) +
    bdatWire('c@y.test', 2, true) + bdatWire('d@y.test', 3, true)),
  `one read holds all three: ${JSON.stringify(reads(run.server))}`);
  assert.deepEqual(run.lines.slice(5), [
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: BDAT 22 LAST',
    'C: RSET', 'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<c@y.test>', 'C: BDAT 22 LAST',
    'C: RSET', 'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<d@y.test>', 'C: BDAT 22 LAST',
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 Ok: queued as A',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 Ok: queued as B',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 Ok: queued as C',
    ...QUIT,
  ]);
});

test('a window of 2: two transactions in one write, the third once the first is answered',
  async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'CHUNKING'),
      ...bdatSteps('b@y.test', false), ...bdatSteps('c@y.test', true),
      'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued A',
      ...bdatSteps('d@y.test', true),
      'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued B',
      'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued C',
      ...QUIT], { pipelineWindow: 2 });
    assert.equal(run.client.maxInFlight, 2);
    const sends = [send(run, 'b@y.test', 1), send(run, 'c@y.test', 2)];
    assert.equal(run.client.usable, false, 'the window is full');
    sends.push(send(run, 'd@y.test', 3));
    const results = await Promise.all(sends);
    assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued A', 'queued B', 'queued C']);
    await finish(run);
    const all = reads(run.server);
    assert.ok(all.includes(bdatWire('b@y.test', 1, false) + bdatWire('c@y.test', 2, true)),
      JSON.stringify(all));
    assert.ok(all.includes(bdatWire('d@y.test', 3, true)), JSON.stringify(all));
  });

test('DATA: the final dot and the next MAIL, RCPT and DATA leave in one write', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'),
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: DATA',
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 354 go', { expectData: true },
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<c@y.test>', 'C: DATA',
    'S: 250 2.0.0 queued 1', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 354 go',
    { expectData: true }, 'S: 250 2.0.0 queued 2', ...QUIT]);
  const results = await Promise.all([send(run, 'b@y.test', 1), send(run, 'c@y.test', 2)]);
  assert.deepEqual(results.map((r) => [r.reply.lines[0], r.method, r.size]),
    [['queued 1', 'DATA', 22], ['queued 2', 'DATA', 22]]);
  await finish(run);
  assert.deepEqual(run.server.messages.map(String), [message(1), message(2)]);
  const all = reads(run.server);
  assert.ok(all.includes(`${message(1)}.\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<c@y.test>\r\n` +
    'DATA\r\n'), `the dot and the next envelope in one read: ${JSON.stringify(all)}`);
  assert.deepEqual(run.lines.slice(4), [
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: DATA',
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 354 go',
    '*: 22 octets of message data', 'C: .',
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<c@y.test>', 'C: DATA',
    'S: 250 2.0.0 queued 1', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 354 go',
    '*: 22 octets of message data', 'C: .', 'S: 250 2.0.0 queued 2', ...QUIT,
  ]);
});

test('a Buffer changed after send() is called is sent as it was (BDAT and DATA)', async () => {
  // The second message waits in the window; the caller reuses its buffer meanwhile.
  for (const chunking of [true, false]) {
    const keywords = chunking ? ['PIPELINING', 'CHUNKING'] : ['PIPELINING'];
    const steps: ScriptStep[] = chunking
      ? [...bdatSteps('b@y.test', false), ...bdatSteps('c@y.test', true),
        'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 1',
        'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 2']
      : ['C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: DATA',
        'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 354 go', { expectData: true },
        'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<c@y.test>', 'C: DATA',
        'S: 250 2.0.0 queued 1', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 354 go',
        { expectData: true }, 'S: 250 2.0.0 queued 2'];
    const run = await scripted([GREETING, EHLO, ...ehloReply(...keywords), ...steps, ...QUIT]);
    const buffer = Buffer.from(message(1));
    const first = run.client.send({ from: 'a@x.test', to: ['b@y.test'] }, buffer);
    buffer.write(message(2));
    const second = run.client.send({ from: 'a@x.test', to: ['c@y.test'] }, buffer);
    buffer.fill('X');
    await Promise.all([first, second]);
    await finish(run);
    const expected = [message(1), message(2)];
    if (chunking) {
      const all = reads(run.server).join('');
      assert.ok(all.includes(bdatWire('b@y.test', 1, false) + bdatWire('c@y.test', 2, true)),
        `the octets as they were at each call: ${JSON.stringify(all)}`);
    } else {
      assert.deepEqual(run.server.messages.map(String), expected);
    }
  }
});

test('aborting one send in the window: it is reported as aborted, the others as what they are',
  async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'),
      'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: DATA',
      'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 354 go', { expectData: true },
      'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<c@y.test>', 'C: DATA', { stall: true }]);
    const controller = new AbortController();
    const first = send(run, 'b@y.test', 1);
    const second = run.client.send({ from: 'a@x.test', to: ['c@y.test'] }, message(2),
      { signal: controller.signal });
    const third = send(run, 'd@y.test', 3);
    // The first body and its dot are on the wire, unanswered; the second waits for its 354.
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    const [one, two, three] = await settled([first, second, third]);
    assert.equal(one.status, 'rejected');
    assert.ok(one.reason instanceof SmtpUnknownOutcomeError, String(one.reason));
    assert.equal(two.status, 'rejected');
    assert.ok(two.reason instanceof SmtpConnectionError, String(two.reason));
    assert.match(two.reason.message, /^The send was aborted \(SendOptions\.signal\) before /);
    assert.equal(three.status, 'rejected');
    assert.ok(three.reason instanceof SmtpConnectionError, String(three.reason));
    assert.doesNotMatch(three.reason.message, /^The send was aborted/);
    assert.equal(run.client.usable, false);
    await run.server.close();
  });

test('failures in the middle affect only their own transaction', async () => {
  // Two: MAIL refused, so its RCPT and BDAT fail too (RFC 2920 §3.1). Three: its only
  // recipient refused, BDAT LAST answered 554. Four: the message refused at BDAT LAST.
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'CHUNKING'),
    ...bdatSteps('b@y.test', false), ...bdatSteps('c@y.test', true),
    ...bdatSteps('d@y.test', true), ...bdatSteps('e@y.test', true),
    ...bdatSteps('f@y.test', true),
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 1',
    'S: 250 2.0.0 Ok', 'S: 553 5.7.1 Sender address rejected',
    'S: 503 5.5.1 Error: need MAIL command', 'S: 503 5.5.1 Error: need MAIL command',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 550 5.1.1 <d@y.test>: User unknown',
    'S: 554 5.5.1 Error: no valid recipients',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 554 5.7.1 content refused',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 5',
    ...QUIT]);
  const outcomes = await settled([send(run, 'b@y.test', 1), send(run, 'c@y.test', 2),
    send(run, 'd@y.test', 3), send(run, 'e@y.test', 4), send(run, 'f@y.test', 5)]);
  const [one, two, three, four, five] = outcomes;
  assert.equal(one!.status === 'fulfilled' && one.value.reply.lines[0], 'queued 1');
  assert.ok(two!.status === 'rejected' && two.reason instanceof SmtpCommandError);
  assert.equal(two.reason.replyCode, 553);
  assert.equal(two.reason.command, 'MAIL FROM:<a@x.test>');
  assert.ok(three!.status === 'rejected' && three.reason instanceof SmtpRecipientsError);
  assert.deepEqual(three.reason.recipients.map((r) => [r.recipient, r.status, r.reply?.code]),
    [['d@y.test', 'rejected', 550]]);
  assert.match(three.reason.message, /554 5\.5\.1 Error: no valid recipients/);
  assert.ok(four!.status === 'rejected' && four.reason instanceof SmtpCommandError);
  assert.equal(four.reason.command, 'BDAT LAST');
  assert.equal(four.reason.replyCode, 554);
  assert.equal(five!.status === 'fulfilled' && five.value.reply.lines[0], 'queued 5');
  assert.equal(run.client.messagesSent, 2);
  assert.equal(run.client.usable, true);
  await finish(run);
  // No RSET after the failures: each later transaction began with its own.
  assert.equal(run.lines.filter((line) => line === 'C: RSET').length, 4);
});

test('the last transaction written fails with MAIL taken: RSET right after it', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'CHUNKING'),
    ...bdatSteps('b@y.test', false), ...bdatSteps('c@y.test', true),
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 1',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 550 5.1.1 <c@y.test>: User unknown',
    'S: 554 5.5.1 Error: no valid recipients',
    'C: RSET', 'S: 250 2.0.0 Ok', ...QUIT]);
  const [one, two] = await settled([send(run, 'b@y.test', 1), send(run, 'c@y.test', 2)]);
  assert.equal(one!.status, 'fulfilled');
  assert.ok(two!.status === 'rejected' && two.reason instanceof SmtpRecipientsError);
  await finish(run);
});

test('dropped with transactions in flight: handed over is unknown, the rest sent nothing',
  async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'CHUNKING'),
      ...bdatSteps('b@y.test', false), ...bdatSteps('c@y.test', true), { drop: true }],
    { pipelineWindow: 2 });
    const [one, two, three] = await settled([send(run, 'b@y.test', 1),
      send(run, 'c@y.test', 2), send(run, 'd@y.test', 3)]);
    for (const outcome of [one, two]) {
      assert.ok(outcome!.status === 'rejected'
        && outcome.reason instanceof SmtpUnknownOutcomeError, String(outcome));
    }
    assert.ok(three!.status === 'rejected' && three.reason instanceof SmtpConnectionError
      && !(three.reason instanceof SmtpUnknownOutcomeError));
    assert.match(three.reason.message, /nothing of it was written/);
    assert.equal(run.client.usable, false);
    await run.server.done;
    await run.server.close();
    assert.deepEqual(run.server.errors, []);
  });

test('DATA, dropped after the dot: that one unknown, the next envelope sent nothing',
  async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'),
      'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: DATA',
      'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 354 go', { expectData: true },
      'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<c@y.test>', 'C: DATA', { drop: true }]);
    const [one, two, three] = await settled([send(run, 'b@y.test', 1),
      send(run, 'c@y.test', 2), send(run, 'd@y.test', 3)]);
    assert.ok(one!.status === 'rejected' && one.reason instanceof SmtpUnknownOutcomeError);
    for (const outcome of [two, three]) {
      assert.ok(outcome!.status === 'rejected' && outcome.reason instanceof SmtpConnectionError
        && !(outcome.reason instanceof SmtpUnknownOutcomeError), String(outcome));
    }
    await run.server.done;
    await run.server.close();
    assert.deepEqual(run.server.errors, []);
  });

test('a 421 mid-pipeline: later transactions were never read (SmtpConnectionError)',
  async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'CHUNKING'),
      ...bdatSteps('b@y.test', false), ...bdatSteps('c@y.test', true),
      ...bdatSteps('d@y.test', true),
      'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 1',
      'S: 421 4.3.2 mx.test shutting down', { drop: true }]);
    const [one, two, three] = await settled([send(run, 'b@y.test', 1),
      send(run, 'c@y.test', 2), send(run, 'd@y.test', 3)]);
    assert.equal(one!.status, 'fulfilled');
    for (const outcome of [two, three]) {
      assert.ok(outcome!.status === 'rejected' && outcome.reason instanceof SmtpConnectionError
        && !(outcome.reason instanceof SmtpUnknownOutcomeError), String(outcome));
      assert.equal(outcome.reason.reply?.code, 421);
    }
    await run.server.done;
    await run.server.close();
    assert.deepEqual(run.server.errors, []);
  });

test('without PIPELINING concurrent sends run one after another, never interleaved',
  async () => {
    const one = (to: string, n: number): ScriptStep[] => [
      'C: MAIL FROM:<a@x.test>', 'S: 250 ok', `C: RCPT TO:<${to}>`, 'S: 250 ok',
      'C: DATA', 'S: 354 go', { expectData: true }, `S: 250 queued ${n}`];
    const run = await scripted([GREETING, EHLO, ...ehloReply('CHUNKING'),
      ...one('b@y.test', 1), ...one('c@y.test', 2), ...QUIT], { chunking: false });
    assert.equal(run.client.maxInFlight, 1);
    const sends = [send(run, 'b@y.test', 1), send(run, 'c@y.test', 2)];
    assert.equal(run.client.usable, false);
    const results = await Promise.all(sends);
    assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued 1', 'queued 2']);
    await finish(run);
    for (const read of reads(run.server)) {
      assert.ok((read.match(/^(MAIL|RCPT|DATA|RSET)/gm) ?? []).length <= 1, read);
    }
  });

test('a streamed message has the connection to itself; the sends around it wait', async () => {
  const { Readable } = await import('node:stream');
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'CHUNKING'),
    ...bdatSteps('b@y.test', false),
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 1',
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<c@y.test>', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok',
    'C: BDAT 22 LAST', { expectBytes: 22 }, 'S: 250 2.0.0 queued 2',
    ...bdatSteps('d@y.test', false),
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 3', ...QUIT]);
  const results = await Promise.all([send(run, 'b@y.test', 1),
    run.client.send({ from: 'a@x.test', to: ['c@y.test'] },
      () => Readable.from([Buffer.from(message(2))]), { eightBit: false }),
    send(run, 'd@y.test', 3)]);
  assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued 1', 'queued 2', 'queued 3']);
  await finish(run);
});

test('DATA: when the first end of data is never answered, the second send (not handed over) ' +
  'lost its connection; it did not time out itself', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'),
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: DATA',
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 354 go', { expectData: true },
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<c@y.test>', 'C: DATA', { stall: true }],
  { timeouts: { dataTermination: 150 } });
  const [first, second] = await settled([send(run, 'b@y.test', 1), send(run, 'c@y.test', 2)]);
  assert.equal(first.status, 'rejected');
  assert.ok(first.reason instanceof SmtpUnknownOutcomeError, String(first.reason));
  assert.equal(second.status, 'rejected');
  const error = second.reason as SmtpConnectionError;
  assert.ok(error instanceof SmtpConnectionError && !(error instanceof SmtpUnknownOutcomeError),
    String(error));
  assert.equal(error.stage, 'mail');
  assert.equal(error.message, `The session with 127.0.0.1:${run.server.port} failed while an ` +
    'earlier transaction on it waited for a reply (Timed out after 150 ms waiting for the ' +
    "server (data-termination)), before this one's reply (mail) came.");
  await run.server.close();
});
