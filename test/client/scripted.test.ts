/**
 * SmtpClient against scripted servers: every odd reply, drop and timeout, with the whole
 * transcript (server side and client side) asserted.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { SmtpClient } from '../../src/client/smtp-client.js';
import type { SmtpClientOptions } from '../../src/client/types.js';
import {
  ConfigurationError,
  SmtpAuthenticationError,
  SmtpCommandError,
  SmtpConnectionError,
  SmtpProtocolError,
  SmtpRecipientsError,
  SmtpTimeoutError,
  SmtpTlsError,
  SmtpUnknownOutcomeError,
} from '../../src/errors.js';
import { formatTranscriptLine, type Logger } from '../../src/log.js';
import {
  startScriptedServer,
  type ScriptStep,
  type ScriptedServer,
  type ScriptedServerOptions,
} from '../support/scripted-server.js';

const GREETING = 'S: 220 mx.test ESMTP ready';
const EHLO = 'C: EHLO client.test';

function ehloReply(...keywords: string[]): string[] {
  const lines = ['mx.test greets client.test', ...keywords];
  return lines.map((line, i) => `S: 250${i === lines.length - 1 ? ' ' : '-'}${line}`);
}

interface Run {
  server: ScriptedServer;
  client: SmtpClient;
  lines: string[];
  warnings: string[];
}

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const step of cleanup) await step();
});

async function scripted(
  script: ScriptStep[],
  options: Partial<SmtpClientOptions> = {},
  serverOptions: ScriptedServerOptions = {},
): Promise<Run> {
  const server = await startScriptedServer(script, serverOptions);
  cleanup.push(() => server.close());
  const lines: string[] = [];
  const warnings: string[] = [];
  const logger: Logger = {
    debug() {}, info() {}, error() {},
    warn(_fields, message) {
      warnings.push(message);
    },
  };
  const client = new SmtpClient({
    host: '127.0.0.1',
    port: server.port,
    secure: 'None',
    clientName: 'client.test',
    transcript: (line) => lines.push(formatTranscriptLine(line)),
    logger,
    ...options,
  });
  cleanup.push(() => client.destroy());
  return { server, client, lines, warnings };
}

async function finish(run: Run): Promise<void> {
  await run.client.quit();
  await run.server.done;
  await run.server.close();
  assert.deepEqual(run.server.errors, []);
}

const QUIT = ['C: QUIT', 'S: 221 2.0.0 bye'];

for (const split of ['whole', 'byte', 5, 17] as const) {
  test(`multi-line greeting and EHLO, delivered ${split}`, async () => {
    const run = await scripted([
      'S: 220-mx.test ESMTP first line', 'S: 220-second line', 'S: 220 third line',
      EHLO, ...ehloReply('PIPELINING', 'SIZE 1000', 'STARTTLS'),
      ...QUIT,
    ], {}, { split });
    await run.client.connect();
    assert.deepEqual(run.client.greeting?.lines, ['mx.test ESMTP first line', 'second line',
      'third line']);
    assert.equal(run.client.capabilities.size, 1000);
    assert.equal(run.client.capabilities.pipelining, true);
    assert.equal(run.client.usable, true);
    await finish(run);
    assert.deepEqual(run.lines, [
      'S: 220-mx.test ESMTP first line', 'S: 220-second line', 'S: 220 third line',
      'C: EHLO client.test', 'S: 250-mx.test greets client.test', 'S: 250-PIPELINING',
      'S: 250-SIZE 1000', 'S: 250 STARTTLS', 'C: QUIT', 'S: 221 2.0.0 bye',
    ]);
  });
}

test('a 421 greeting ends the session with SmtpConnectionError and no EHLO', async () => {
  const run = await scripted(['S: 421 4.3.2 mx.test busy, try later']);
  await assert.rejects(run.client.connect(), (error: unknown) => {
    assert.ok(error instanceof SmtpConnectionError);
    assert.equal(error.stage, 'greeting');
    assert.equal(error.reply?.code, 421);
    assert.equal(error.transient, true);
    assert.deepEqual(error.transcript, ['S: 421 4.3.2 mx.test busy, try later']);
    return true;
  });
  await run.server.done;
  await run.server.close();
  assert.deepEqual(run.server.errors, []);
  assert.deepEqual(run.server.transcript, ['S: 421 4.3.2 mx.test busy, try later']);
  assert.equal(run.client.usable, false);
});

test('a 554 greeting ends the session (QUIT, then close)', async () => {
  const run = await scripted(['S: 554 5.7.1 no SMTP service here', ...QUIT]);
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpConnectionError && error.reply?.code === 554
      && error.stage === 'greeting' && /refused the session/.test(error.message));
  await run.server.done;
  await run.server.close();
  assert.deepEqual(run.server.errors, []);
});

test('a greeting that is not 220, 421 or 554 is a protocol error', async () => {
  const run = await scripted(['S: 250 hello?', ...QUIT]);
  await assert.rejects(run.client.connect(), SmtpProtocolError);
  await run.server.done;
  await run.server.close();
});

for (const code of [500, 502]) {
  test(`EHLO ${code} falls back to HELO`, async () => {
    const run = await scripted([GREETING, EHLO, `S: ${code} 5.5.1 command not recognized`,
      'C: HELO client.test', 'S: 250 mx.test', ...QUIT]);
    const steps: string[] = [];
    await run.client.connect({ onStep: (step) => steps.push(step.name) });
    assert.deepEqual(steps, ['connect', 'greeting', 'helo']);
    assert.equal(run.client.capabilities.keywords.size, 0);
    await finish(run);
  });
}

test('EHLO 421 closes the session without HELO', async () => {
  const run = await scripted([GREETING, EHLO, 'S: 421 4.7.0 closing']);
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpConnectionError && error.stage === 'ehlo' && error.reply?.code === 421);
  await run.server.done;
  await run.server.close();
  assert.deepEqual(run.server.errors, []);
  assert.deepEqual(run.lines, [GREETING, EHLO, 'S: 421 4.7.0 closing']);
});

test('EHLO 550 is a SmtpCommandError, no HELO, then QUIT', async () => {
  const run = await scripted([GREETING, EHLO, 'S: 550 go away', ...QUIT]);
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpCommandError && error.command === 'EHLO client.test');
  await run.server.done;
  await run.server.close();
  assert.deepEqual(run.server.errors, []);
});

test('a dropped connection during EHLO is SmtpConnectionError, never HELO', async () => {
  const run = await scripted([GREETING, EHLO, { drop: true }]);
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpConnectionError && error.stage === 'ehlo');
  await run.server.done;
  await run.server.close();
});

test('STARTTLS required but not offered fails before AUTH or MAIL', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'), ...QUIT],
    { secure: 'StartTls' });
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpTlsError && error.message === `127.0.0.1:${run.server.port} does ` +
      'not offer STARTTLS, which EnableSsl=True (secure: StartTls) requires: the session was ' +
      'closed before any AUTH or MAIL.');
  await run.server.done;
  await run.server.close();
  assert.deepEqual(run.server.errors, []);
  assert.deepEqual(run.lines.slice(-2), QUIT);
});

for (const reply of ['454 4.7.0 TLS not available due to temporary reason',
  '502 5.5.1 not implemented', '250 ok whatever']) {
  test(`STARTTLS required and answered ${reply.slice(0, 3)} fails with SmtpTlsError`, async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('STARTTLS'), 'C: STARTTLS',
      `S: ${reply}`, ...QUIT], { secure: 'StartTls' });
    await assert.rejects(run.client.connect(), (error: unknown) =>
      error instanceof SmtpTlsError && error.message.includes(reply.slice(0, 3)));
    await run.server.done;
    await run.server.close();
    assert.deepEqual(run.server.errors, []);
  });
}

test('StartTlsWhenAvailable continues in clear text after 454, with a warning', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('STARTTLS'), 'C: STARTTLS',
    'S: 454 4.7.0 TLS not available', ...QUIT], { secure: 'StartTlsWhenAvailable' });
  await run.client.connect();
  assert.equal(run.client.secure, false);
  assert.match(run.warnings.join('\n'), /refused STARTTLS/);
  await finish(run);
});

test('None never sends STARTTLS even when offered', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('STARTTLS'), ...QUIT]);
  await run.client.connect();
  await finish(run);
});

test('bytes injected after the 220 to STARTTLS fail with SmtpTlsError', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('STARTTLS'), 'C: STARTTLS',
    { send: '220 2.0.0 Ready to start TLS\r\n250 injected reply\r\n' }, { stall: true }],
  { secure: 'StartTls' });
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpTlsError && /injection/.test(error.message));
  await run.server.done;
  await run.server.close();
  assert.equal(run.client.usable, false);
});

test('injected bytes arriving in a later packet fail the handshake too', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('STARTTLS'), 'C: STARTTLS',
    'S: 220 2.0.0 Ready', { wait: 5 }, 'S: 250 injected reply', { stall: true }],
  { secure: 'StartTls', timeouts: { connect: 2000 } });
  await assert.rejects(run.client.connect(), SmtpTlsError);
  await run.server.done;
  await run.server.close();
});

const PIPELINED = ehloReply('PIPELINING', '8BITMIME', 'SIZE 100000');

test('PIPELINING: MAIL, every RCPT and DATA leave in one write', async () => {
  const message = 'Subject: hi\r\n\r\nbody\r\n';
  const run = await scripted([GREETING, EHLO, ...PIPELINED,
    'C: MAIL FROM:<a@x.test> SIZE=21', 'C: RCPT TO:<b@y.test>', 'C: RCPT TO:<c@y.test>',
    'C: DATA',
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.1.5 Ok',
    'S: 354 End data with <CR><LF>.<CR><LF>',
    { expectData: true }, 'S: 250 2.0.0 Ok: queued as ABC', ...QUIT]);
  await run.client.connect();
  const result = await run.client.send({ from: 'a@x.test', to: ['b@y.test', 'c@y.test'] },
    message);
  assert.deepEqual(result.accepted, ['b@y.test', 'c@y.test']);
  assert.equal(result.method, 'DATA');
  assert.equal(result.reply.lines[0], 'Ok: queued as ABC');
  assert.equal(result.size, message.length);
  assert.equal(run.client.messagesSent, 1);
  await finish(run);
  const envelopeWrite = 'MAIL FROM:<a@x.test> SIZE=21\r\nRCPT TO:<b@y.test>\r\n' +
    'RCPT TO:<c@y.test>\r\nDATA\r\n';
  assert.ok(run.server.reads.some((read) => read.toString() === envelopeWrite),
    `one read holds the envelope: ${JSON.stringify(run.server.reads.map(String))}`);
  assert.equal(run.server.messages[0]!.toString(), message);
  const expectedTail = [
    'C: MAIL FROM:<a@x.test> SIZE=21', 'C: RCPT TO:<b@y.test>', 'C: RCPT TO:<c@y.test>',
    'C: DATA', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.1.5 Ok',
    'S: 354 End data with <CR><LF>.<CR><LF>', '*: 21 octets of message data', 'C: .',
    'S: 250 2.0.0 Ok: queued as ABC', ...QUIT,
  ];
  assert.deepEqual(run.lines.slice(-expectedTail.length), expectedTail);
});

test('without PIPELINING every command waits for its reply', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('8BITMIME'),
    // A stream's 8-bitness is unknown: with 8BITMIME offered, BODY=8BITMIME is declared.
    'C: MAIL FROM:<a@x.test> BODY=8BITMIME', 'S: 250 ok', 'C: RCPT TO:<b@y.test>', 'S: 250 ok',
    'C: DATA', 'S: 354 go', { expectData: true }, 'S: 250 queued', ...QUIT]);
  await run.client.connect();
  const result = await run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
    Readable.from([Buffer.from('Subject: x\n\n.hidden\nline')]));
  assert.deepEqual(result.accepted, ['b@y.test']);
  await finish(run);
  assert.equal(run.server.messages[0]!.toString(), 'Subject: x\r\n\r\n..hidden\r\nline\r\n');
});

test('per-recipient results: one of three rejected, the message goes to the rest', async () => {
  const run = await scripted([GREETING, EHLO, ...PIPELINED,
    { expect: /^MAIL FROM:<a@x.test>/ }, 'C: RCPT TO:<b@y.test>', 'C: RCPT TO:<reject@y.test>',
    'C: RCPT TO:<d@y.test>', 'C: DATA',
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok',
    'S: 550 5.1.1 <reject@y.test>: Recipient address rejected: User unknown',
    'S: 250 2.1.5 Ok', 'S: 354 go', { expectData: true }, 'S: 250 2.0.0 queued', ...QUIT]);
  await run.client.connect();
  const result = await run.client.send(
    { from: 'a@x.test', to: ['b@y.test', 'reject@y.test', 'd@y.test', 'b@y.test'] }, 'hi');
  assert.deepEqual(result.accepted, ['b@y.test', 'd@y.test']);
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0]!.recipient, 'reject@y.test');
  assert.equal(result.rejected[0]!.reply?.code, 550);
  assert.deepEqual(result.rejected[0]!.reply?.enhancedCode, { class: 5, subject: 1, detail: 1 });
  assert.deepEqual(result.recipients.map((r) => r.status), ['accepted', 'rejected', 'accepted']);
  await finish(run);
});

test('all recipients rejected: RSET, then SmtpRecipientsError; the session stays usable',
  async () => {
    const run = await scripted([GREETING, EHLO, ...PIPELINED,
      { expect: /^MAIL FROM/ }, 'C: RCPT TO:<x@y.test>', 'C: RCPT TO:<z@y.test>', 'C: DATA',
      'S: 250 Ok', 'S: 550 5.1.1 no such user', 'S: 450 4.2.0 mailbox busy',
      'S: 554 5.5.1 Error: no valid recipients',
      'C: RSET', 'S: 250 2.0.0 Ok', 'C: NOOP', 'S: 250 Ok', ...QUIT]);
    await run.client.connect();
    await assert.rejects(run.client.send({ from: 'a@x.test', to: ['x@y.test', 'z@y.test'] },
      'hi'), (error: unknown) => {
      assert.ok(error instanceof SmtpRecipientsError);
      assert.deepEqual(error.recipients.map((r) => [r.status, r.reply?.code]),
        [['rejected', 550], ['rejected', 450]]);
      assert.equal(error.transient, false);
      return true;
    });
    assert.equal(run.client.usable, true);
    await run.client.noop();
    await finish(run);
  });

test('MAIL rejected: RSET, SmtpCommandError with the command', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('8BITMIME'),
    'C: MAIL FROM:<rejected-sender@x.test>', 'S: 553 5.7.1 Sender address rejected',
    'C: RSET', 'S: 250 Ok', ...QUIT]);
  await run.client.connect();
  await assert.rejects(run.client.send({ from: 'rejected-sender@x.test', to: ['b@y.test'] }, 'x'),
    (error: unknown) => error instanceof SmtpCommandError && error.replyCode === 553
      && error.command === 'MAIL FROM:<rejected-sender@x.test>' && error.enhancedCode === '5.7.1');
  await finish(run);
});

test('a 421 mid-transaction closes the connection and fails the send', async () => {
  const run = await scripted([GREETING, EHLO, ...PIPELINED,
    { expect: /^MAIL FROM/ }, 'C: RCPT TO:<b@y.test>', 'C: DATA',
    'S: 250 Ok', 'S: 421 4.4.2 mx.test Error: timeout exceeded', { drop: true }]);
  await run.client.connect();
  const closed = new Promise<void>((resolve) => run.client.once('close', resolve));
  await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] }, 'x'),
    (error: unknown) => error instanceof SmtpConnectionError && error.reply?.code === 421
      && error.stage === 'rcpt' && error.transcript.at(-1) === 'S: 421 4.4.2 mx.test Error: ' +
        'timeout exceeded');
  assert.equal(run.client.usable, false);
  await run.server.done;
  await run.server.close();
  await closed;
});

test('dropped after the final dot: SmtpUnknownOutcomeError, accepted recipients unknown',
  async () => {
    const run = await scripted([GREETING, EHLO, ...PIPELINED,
      { expect: /^MAIL FROM/ }, 'C: RCPT TO:<b@y.test>', 'C: RCPT TO:<bad@y.test>', 'C: DATA',
      'S: 250 Ok', 'S: 250 Ok', 'S: 550 5.1.1 unknown', 'S: 354 go', { expectData: true },
      { drop: true }]);
    await run.client.connect();
    await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test', 'bad@y.test'] },
      'x'), (error: unknown) => {
      assert.ok(error instanceof SmtpUnknownOutcomeError);
      assert.deepEqual(error.recipients.map((r) => [r.recipient, r.status]),
        [['b@y.test', 'unknown'], ['bad@y.test', 'rejected']]);
      assert.equal(error.transient, false);
      return true;
    });
    await run.server.done;
    await run.server.close();
  });

test('dropped before the message was complete: SmtpConnectionError (safe to retry)',
  async () => {
    const run = await scripted([GREETING, EHLO, ...PIPELINED,
      { expect: /^MAIL FROM/ }, 'C: RCPT TO:<b@y.test>', 'C: DATA', 'S: 250 Ok', 'S: 250 Ok',
      { drop: true }]);
    await run.client.connect();
    await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] }, 'x'),
      (error: unknown) => error instanceof SmtpConnectionError && error.transient);
    await run.server.done;
    await run.server.close();
  });

test('timeouts name their stage: greeting', async () => {
  const run = await scripted([{ stall: true }], { timeouts: { greeting: 100 } });
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpTimeoutError && error.stage === 'greeting' && error.timeoutMs === 100);
  await run.server.done;
  await run.server.close();
});

test('timeouts name their stage: ehlo (command timeout)', async () => {
  const run = await scripted([GREETING, EHLO, { stall: true }], { timeouts: { command: 100 } });
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpTimeoutError && error.stage === 'ehlo'
      && /\(ehlo\)/.test(error.message));
  await run.server.done;
  await run.server.close();
});

test('timeouts name their stage: data (354 initiation)', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('8BITMIME'),
    { expect: /^MAIL/ }, 'S: 250 ok', 'C: RCPT TO:<b@y.test>', 'S: 250 ok', 'C: DATA',
    { stall: true }], { timeouts: { dataInitiation: 100 } });
  await run.client.connect();
  await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] }, 'x'),
    (error: unknown) => error instanceof SmtpTimeoutError && error.stage === 'data');
  await run.server.done;
  await run.server.close();
});

test('a timeout after the final dot is an unknown outcome caused by the timeout', async () => {
  const run = await scripted([GREETING, EHLO, ...PIPELINED,
    { expect: /^MAIL/ }, 'C: RCPT TO:<b@y.test>', 'C: DATA', 'S: 250 ok', 'S: 250 ok',
    'S: 354 go', { expectData: true }, { stall: true }], { timeouts: { dataTermination: 100 } });
  await run.client.connect();
  await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] }, 'x'),
    (error: unknown) => error instanceof SmtpUnknownOutcomeError
      && error.cause instanceof SmtpTimeoutError && error.cause.stage === 'data-termination'
      && error.message.startsWith(`127.0.0.1:${run.server.port} did not answer the end of ` +
        'the message in time, and the session was closed. '));
  await run.server.done;
  await run.server.close();
});

test('an unreadable reply to the final dot is an unknown outcome that says so', async () => {
  const run = await scripted([GREETING, EHLO, ...PIPELINED,
    { expect: /^MAIL/ }, 'C: RCPT TO:<b@y.test>', 'C: DATA', 'S: 250 ok', 'S: 250 ok',
    'S: 354 go', { expectData: true }, 'S: 250-queued', 'S: 554 rejected actually',
    { stall: true }]);
  await run.client.connect();
  const error = await run.client.send({ from: 'a@x.test', to: ['b@y.test'] }, 'x')
    .then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof SmtpUnknownOutcomeError, String(error));
  assert.ok(error.cause instanceof SmtpProtocolError);
  assert.equal(error.message, `127.0.0.1:${run.server.port} answered the end of the message ` +
    'with a reply that could not be read, and the session was closed. The server sent a ' +
    'malformed reply line (code 554 inside a 250 reply): "554 rejected actually". (from ' +
    `127.0.0.1:${run.server.port}) It may or may not have been accepted: do not resend ` +
    'without checking.');
  assert.deepEqual(error.recipients, [{ recipient: 'b@y.test', status: 'unknown' }]);
  await run.server.done;
  await run.server.close();
});

test('CR/LF injection in an address is refused before anything is sent', async () => {
  const run = await scripted([GREETING, EHLO, ...PIPELINED, ...QUIT]);
  await run.client.connect();
  await assert.rejects(run.client.send({ from: 'a@x.test',
    to: ['b@y.test>\r\nRCPT TO:<evil@z.test'] }, 'x'), (error: unknown) =>
    error instanceof ConfigurationError && error.field === 'envelope.to');
  await assert.rejects(run.client.send({ from: 'a@x.test\nDATA', to: ['b@y.test'] }, 'x'),
    (error: unknown) => error instanceof ConfigurationError && error.field === 'envelope.from');
  assert.equal(run.client.usable, true);
  await finish(run);
});

test('a CR/LF in the EHLO name is refused before connecting', async () => {
  const run = await scripted([], { clientName: 'client.test\r\nMAIL FROM:<x>' });
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof ConfigurationError && error.field === 'clientName');
  assert.deepEqual(run.server.reads, []);
  await run.server.close();
});

test('a message larger than the advertised SIZE is refused locally, before MAIL', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'SIZE 100'), ...QUIT]);
  await run.client.connect();
  await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
    Buffer.alloc(200, 'a')), (error: unknown) => error instanceof ConfigurationError
      && /is at least 202 octets, larger than the 100/.test(error.message));
  await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
    Readable.from(['x']), { size: 101 }), ConfigurationError);
  await finish(run);
});

test('8-bit without 8BITMIME, non-ASCII address without SMTPUTF8: refused locally', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'), ...QUIT]);
  await run.client.connect();
  await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
    Buffer.from('Subject: café\r\n\r\n')), (error: unknown) =>
    error instanceof ConfigurationError && /8BITMIME/.test(error.message));
  await assert.rejects(run.client.send({ from: 'a@x.test', to: ['jörg@y.test'] }, 'x'),
    (error: unknown) => error instanceof ConfigurationError && /SMTPUTF8/.test(error.message));
  await finish(run);
});

test('an 8-bit octet in a stream without 8BITMIME stops the send, nothing delivered',
  async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('SIZE'),
      { expect: 'MAIL FROM:<a@x.test>' }, 'S: 250 ok', 'C: RCPT TO:<b@y.test>', 'S: 250 ok',
      'C: DATA', 'S: 354 go', { stall: true }]);
    await run.client.connect();
    await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
      () => Readable.from([Buffer.from('Subject: caf'), Buffer.from([0xc3, 0xa9])])),
    ConfigurationError);
    assert.equal(run.client.usable, false);
    await run.server.done;
    await run.server.close();
  });

test('BODY=8BITMIME, SMTPUTF8 and DSN parameters when offered and asked', async () => {
  // ORCPT (RFC 3461 §4.2): rfc822 and the address in xtext ("+" is +2B, "=" is +3D); none
  // for a UTF-8 address, which the rfc822 type cannot carry.
  const run = await scripted([GREETING, EHLO,
    ...ehloReply('PIPELINING', '8BITMIME', 'SMTPUTF8', 'DSN', 'SIZE 0'),
    'C: MAIL FROM:<a@x.test> SIZE=7 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2Bx',
    'C: RCPT TO:<jörg@y.test> NOTIFY=SUCCESS,FAILURE',
    'C: RCPT TO:<ops+list=1@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ops+2Blist+3D1@y.test',
    'C: DATA',
    'S: 250 ok', 'S: 250 ok', 'S: 250 ok', 'S: 354 go', { expectData: true }, 'S: 250 ok',
    ...QUIT]);
  await run.client.connect();
  await run.client.send({ from: 'a@x.test', to: ['jörg@y.test', 'ops+list=1@y.test'],
    dsn: { ret: 'HDRS', envelopeId: 'id+x', notify: ['SUCCESS', 'FAILURE'] } }, 'é\r\nx\r\n');
  await finish(run);
});

test('no DSN parameter at all when the server does not offer DSN', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'),
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: DATA',
    'S: 250 ok', 'S: 250 ok', 'S: 354 go', { expectData: true }, 'S: 250 ok', ...QUIT]);
  await run.client.connect();
  await run.client.send({ from: 'a@x.test', to: ['b@y.test'],
    dsn: { ret: 'FULL', notify: ['FAILURE'] } }, 'x\r\n');
  await finish(run);
});

test('CHUNKING with PIPELINING: the envelope and BDAT LAST leave in one write', async () => {
  const message = 'Subject: x\n\n.dot\n';
  const wire = 'Subject: x\r\n\r\n.dot\r\n';
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'CHUNKING', 'SIZE 1000'),
    `C: MAIL FROM:<a@x.test> SIZE=${wire.length}`, 'C: RCPT TO:<b@y.test>',
    `C: BDAT ${wire.length} LAST`, { expectBytes: wire.length },
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 Ok: queued', ...QUIT]);
  await run.client.connect();
  const result = await run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
    Buffer.from(message));
  assert.equal(result.method, 'BDAT');
  assert.equal(result.size, wire.length);
  await finish(run);
  assert.equal(run.server.messages[0]!.toString(), wire);
  assert.ok(run.server.reads.some((read) => read.toString() === `MAIL FROM:<a@x.test> SIZE=` +
    `${wire.length}\r\nRCPT TO:<b@y.test>\r\nBDAT ${wire.length} LAST\r\n${wire}`));
});

test('CHUNKING: a large message goes in 1 MiB BDAT chunks, the last one LAST', async () => {
  const size = 2 * 1024 * 1024 + 10;
  const body = Buffer.alloc(size, 'a');
  for (let i = 100; i < size; i += 100) body[i] = 0x0a;
  const run = await chunkedRun(body);
  assert.equal(run.chunks, 3);
});

test('CHUNKING without PIPELINING: each BDAT chunk waits for its reply', async () => {
  const size = 1024 * 1024 + 5;
  const run = await chunkedRun(Buffer.alloc(size, 'b'), false);
  assert.equal(run.chunks, 2);
});

/** Runs a large BDAT send against a server that reads the chunks it is told about. */
async function chunkedRun(body: Buffer, pipelining = true): Promise<{ chunks: number }> {
  const { createServer } = await import('node:net');
  let chunks = 0;
  let received = Buffer.alloc(0);
  const server = createServer((socket) => {
    let buffer = Buffer.alloc(0);
    let need = 0;
    let last = false;
    socket.write('220 mx\r\n');
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        if (need > 0) {
          const take = Math.min(need, buffer.length);
          received = Buffer.concat([received, buffer.subarray(0, take)]);
          buffer = buffer.subarray(take);
          need -= take;
          if (need > 0) return;
          socket.write(last ? '250 2.0.0 queued\r\n' : '250 2.0.0 chunk ok\r\n');
          continue;
        }
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        const line = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 2);
        const bdat = /^BDAT (\d+)( LAST)?$/.exec(line);
        if (bdat) {
          chunks += 1;
          need = Number(bdat[1]);
          last = bdat[2] !== undefined;
          if (need === 0) socket.write('250 ok\r\n');
        } else if (line.startsWith('EHLO')) {
          socket.write(pipelining ? '250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n'
            : '250-mx\r\n250 CHUNKING\r\n');
        } else if (line === 'QUIT') {
          socket.end('221 bye\r\n');
        } else {
          socket.write('250 ok\r\n');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = new SmtpClient({ host: '127.0.0.1', port, secure: 'None',
    clientName: 'client.test' });
  await client.connect();
  const result = await client.send({ from: 'a@x.test', to: ['b@y.test'] }, body);
  await client.quit();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const expected = Buffer.from(body.toString('latin1').replace(/\n/g, '\r\n') + '\r\n', 'latin1');
  assert.deepEqual(received, expected);
  assert.equal(result.size, expected.length);
  assert.equal(result.method, 'BDAT');
  return { chunks };
}

test('two messages on one connection: no RSET between successful sends', async () => {
  const oneMessage = (n: number): ScriptStep[] => [
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: DATA',
    'S: 250 ok', 'S: 250 ok', 'S: 354 go', { expectData: true }, `S: 250 queued ${n}`];
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'),
    ...oneMessage(1), ...oneMessage(2), ...QUIT]);
  await run.client.connect();
  const envelope = { from: 'a@x.test', to: ['b@y.test'] };
  assert.equal((await run.client.send(envelope, 'one')).reply.lines[0], 'queued 1');
  assert.equal((await run.client.send(envelope, 'two')).reply.lines[0], 'queued 2');
  assert.equal(run.client.messagesSent, 2);
  await finish(run);
});

test('the end-of-data reply refusing the message is a SmtpCommandError', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'),
    'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: DATA',
    'S: 250 ok', 'S: 250 ok', 'S: 354 go', { expectData: true },
    'S: 552 5.3.4 Error: message file too big', ...QUIT]);
  await run.client.connect();
  await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] }, 'x'),
    (error: unknown) => error instanceof SmtpCommandError && error.replyCode === 552
      && error.command === '<end of data>');
  assert.equal(run.client.usable, true);
  await finish(run);
});

test('a malformed reply is a SmtpProtocolError quoting the line', async () => {
  const run = await scripted([GREETING, EHLO, { send: 'hello\x07 there\r\n' }, { stall: true }]);
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpProtocolError && error.message.includes('"hello\\x07 there"'));
  await run.server.done;
  await run.server.close();
});

test('AUTH exchanges are masked in the transcript by structure', async () => {
  const { Secret } = await import('../../src/secret.js');
  const run = await scripted([GREETING, EHLO, ...ehloReply('AUTH LOGIN'),
    'C: AUTH LOGIN', 'S: 334 VXNlcm5hbWU6', 'C: YWxpY2U=', 'S: 334 UGFzc3dvcmQ6',
    'C: aHVudGVyMg==', 'S: 235 2.7.0 Authentication successful', ...QUIT],
  { auth: { username: 'alice', password: new Secret('hunter2'), mechanisms: ['LOGIN'],
    allowInsecureAuth: true } });
  await run.client.connect();
  assert.equal(await run.client.authenticate(), 'LOGIN');
  assert.equal(run.client.mechanism, 'LOGIN');
  await finish(run);
  assert.deepEqual(run.lines.slice(-8), [
    'C: AUTH LOGIN', 'S: 334 ********', 'C: ********', 'S: 334 ********', 'C: ********',
    'S: 235 2.7.0 Authentication successful', ...QUIT]);
  assert.doesNotMatch(run.lines.join('\n'), /YWxpY2U|aHVudGVy|hunter2/);
});

test('AUTH PLAIN with an initial response shows only the mechanism', async () => {
  const { Secret } = await import('../../src/secret.js');
  const run = await scripted([GREETING, EHLO, ...ehloReply('AUTH PLAIN'),
    { expect: /^AUTH PLAIN [A-Za-z0-9+/=]+$/ }, 'S: 235 2.7.0 ok', ...QUIT],
  { auth: { username: 'alice', password: new Secret('hunter2'), allowInsecureAuth: true } });
  await run.client.connect();
  assert.equal(await run.client.authenticate(), 'PLAIN');
  await finish(run);
  assert.ok(run.lines.includes('C: AUTH PLAIN ********'));
});

test('AUTH OAUTHBEARER names the port the client connected to (RFC 7628 §3.1)', async () => {
  const { Secret } = await import('../../src/secret.js');
  const run = await scripted([GREETING, EHLO, ...ehloReply('AUTH OAUTHBEARER'),
    { expect: /^AUTH OAUTHBEARER [A-Za-z0-9+/=]+$/ }, 'S: 235 2.7.0 ok', ...QUIT],
  { auth: { username: 'alice', accessToken: new Secret('tok-1'), allowInsecureAuth: true } });
  await run.client.connect();
  assert.equal(await run.client.authenticate(), 'OAUTHBEARER');
  await finish(run);
  const sent = run.server.transcript.find((line) => line.startsWith('C: AUTH OAUTHBEARER '));
  const response = Buffer.from(sent!.split(' ')[3]!, 'base64').toString('utf8');
  assert.equal(response,
    `n,a=alice,\x01host=127.0.0.1\x01port=${run.server.port}\x01auth=Bearer tok-1\x01\x01`);
});

test('an allow-list naming GSSAPI asks to authenticate without a user name', async () => {
  // No kerberos ticket in this test: the point is that AUTH is attempted, not skipped.
  const run = await scripted([GREETING, EHLO, ...ehloReply('AUTH GSSAPI'), ...QUIT],
    { auth: { mechanisms: ['GSSAPI'] } });
  await run.client.connect();
  await assert.rejects(run.client.authenticate(), (error: unknown) =>
    error instanceof Error && error.name === 'SmtpAuthenticationError');
  await finish(run).catch(() => undefined);
});

test('a server that echoes the credentials in its 535 gets them masked everywhere', async () => {
  const { Secret } = await import('../../src/secret.js');
  const password = 'S3cr3tPW!xyz';
  const blob = Buffer.from(`\0alerts\0${password}`).toString('base64');
  const run = await scripted([GREETING, EHLO, ...ehloReply('AUTH PLAIN'),
    `C: AUTH PLAIN ${blob}`, `S: 535 5.7.8 bad creds ${blob} decoded=|alerts|${password}`,
    ...QUIT],
  { auth: { username: 'alerts', password: new Secret(password), allowInsecureAuth: true,
    mechanisms: ['PLAIN'] } });
  await run.client.connect();
  const error = await run.client.authenticate().then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof SmtpAuthenticationError);
  await finish(run);
  assert.ok(error.transcript.includes('C: AUTH PLAIN ********'), error.transcript.join('\n'));
  const shown = [error.message, ...error.transcript, ...run.lines].join('\n');
  assert.ok(!shown.includes(password) && !shown.includes(blob), shown);
  assert.ok(run.lines.includes('S: 535 5.7.8 bad creds ******** decoded=|alerts|********'),
    run.lines.join('\n'));
});

for (const mechanism of ['PLAIN', 'XOAUTH2'] as const) {
  test(`a 421 to AUTH ${mechanism} that echoes the credentials has them masked in the error`,
    async () => {
      const { Secret } = await import('../../src/secret.js');
      const secret = 'S3cr3tPW!xyz';
      const blob = Buffer.from(mechanism === 'PLAIN' ? `\0alerts\0${secret}`
        : `user=alerts\x01auth=Bearer ${secret}\x01\x01`).toString('base64');
      const echo = mechanism === 'PLAIN' ? `|alerts|${secret}` : `auth=Bearer ${secret}`;
      const run = await scripted([GREETING, EHLO, ...ehloReply(`AUTH ${mechanism}`),
        `C: AUTH ${mechanism} ${blob}`, `S: 421 4.7.0 go away ${blob} ${echo}`, { stall: true }],
      { auth: { username: 'alerts', allowInsecureAuth: true, mechanisms: [mechanism],
        ...(mechanism === 'PLAIN' ? { password: new Secret(secret) }
          : { accessToken: new Secret(secret) }) } });
      await run.client.connect();
      const error = await run.client.authenticate().then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof SmtpConnectionError, String(error));
      await run.server.close();
      const masked = mechanism === 'PLAIN' ? '|alerts|********' : 'auth=Bearer ********';
      assert.equal(error.message,
        `127.0.0.1:${run.server.port} closed the session with 421 4.7.0 go away ******** ` +
        `${masked}.`);
      assert.deepEqual(error.reply?.lines, [`go away ******** ${masked}`]);
      const shown = [error.message, JSON.stringify(error), ...error.transcript].join('\n');
      assert.ok(!shown.includes(secret) && !shown.includes(blob), shown);
    });
}

test('a 250 in the same packet as the 354 is refused: no final dot, no success', async () => {
  const run = await scripted([GREETING, EHLO, ...PIPELINED,
    { expect: /^MAIL FROM:<a@x.test>/ }, 'C: RCPT TO:<b@y.test>', 'C: DATA',
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', { send: '354 go\r\n250 2.0.0 queued early\r\n' },
    { stall: true }]);
  await run.client.connect();
  const error = await run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
    'Subject: x\r\n\r\nhi\r\n').then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof SmtpProtocolError, String(error));
  assert.equal(error.message, `127.0.0.1:${run.server.port} sent 250 2.0.0 queued early ` +
    'before the end of the message data had been sent; the message was not completed ' +
    '(nothing was delivered unless the server keeps a cut message), and the session was ' +
    'closed.');
  assert.equal(run.client.alive, false);
  await run.server.done;
  await run.server.close();
  // Nothing after the DATA command: no body, no dot, no QUIT (it would be message text).
  assert.deepEqual(run.server.transcript.slice(-4), ['S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok',
    'S: "354 go\\r\\n250 2.0.0 queued early\\r\\n"', '*: stall']);
  assert.equal(run.server.reads.map(String).join('').endsWith('DATA\r\n'), true);
});

test('a 250 that arrives while a streamed message is being written fails the send', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('8BITMIME'),
    { expect: /^MAIL FROM:<a@x.test>/ }, 'S: 250 ok', 'C: RCPT TO:<b@y.test>', 'S: 250 ok',
    'C: DATA', 'S: 354 go', 'C: Subject: x', 'C: ', 'C: first part',
    'S: 250 2.0.0 accepted mid-data', { stall: true }]);
  await run.client.connect();
  async function* message(): AsyncGenerator<Buffer> {
    yield Buffer.from('Subject: x\r\n\r\nfirst part\r\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    yield Buffer.from('second part\r\n');
  }
  const error = await run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
    Readable.from(message())).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof SmtpProtocolError, String(error));
  assert.match(error.message, /sent 250 2\.0\.0 accepted mid-data before the end of the message/);
  await run.server.done;
  await run.server.close();
  assert.deepEqual(run.server.errors, []);
  // The second part and the final dot never left.
  const received = run.server.reads.map(String).join('');
  assert.ok(received.endsWith('DATA\r\nSubject: x\r\n\r\nfirst part\r\n'), received);
  assert.equal(run.lines.includes('C: .'), false, run.lines.join('\n'));
});

test('a reply after the EHLO reply that answers nothing closes the session at connect',
  async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'), 'S: 250 extra',
      { stall: true }]);
    const error = await run.client.connect().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof SmtpProtocolError, String(error));
    assert.equal(error.message, `127.0.0.1:${run.server.port} sent 250 extra after its reply ` +
      'to EHLO, answering nothing that was asked (possible response injection); the session ' +
      'was closed.');
    await run.server.done;
    await run.server.close();
    // No MAIL, and no QUIT either (its reply could not be told from the stray ones).
    assert.equal(run.server.transcript.at(-1), '*: stall');
    assert.ok(run.server.reads.map(String).join('').endsWith('EHLO client.test\r\n'));
  });

test('a reply after the 235 to AUTH that answers nothing closes the session', async () => {
  const { Secret } = await import('../../src/secret.js');
  const blob = Buffer.from('\0alerts\0pw-123456').toString('base64');
  const run = await scripted([GREETING, EHLO, ...ehloReply('AUTH PLAIN'),
    `C: AUTH PLAIN ${blob}`, { send: '235 2.7.0 ok\r\n250 2.1.0 sender ok\r\n' },
    { stall: true }],
  { auth: { username: 'alerts', password: new Secret('pw-123456'), allowInsecureAuth: true } });
  await run.client.connect();
  const error = await run.client.authenticate().then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof SmtpProtocolError, String(error));
  assert.match(error.message, /sent 250 2\.1\.0 sender ok after its reply to AUTH, answering /);
  assert.equal(run.client.alive, false);
  await run.server.close();
});

for (const [how, echo] of [
  ['re-encoded as Latin-1 text', (pw: string) => Buffer.from(Buffer.from(pw, 'utf8')
    .toString('latin1'), 'utf8')],
  ['as Latin-1 octets (not UTF-8)', (pw: string) => Buffer.from(pw, 'latin1')],
] as const) {
  test(`a non-ASCII password echoed in a 535 ${how} is masked`, async () => {
    const { Secret } = await import('../../src/secret.js');
    const password = 'CANARY-PW-123;"= é';
    const blob = Buffer.from(`\0alerts\0${password}`).toString('base64');
    const run = await scripted([GREETING, EHLO, ...ehloReply('AUTH PLAIN'),
      `C: AUTH PLAIN ${blob}`,
      { send: Buffer.concat([Buffer.from('535 5.7.8 bad creds for '), echo(password),
        Buffer.from('\r\n')]) }, ...QUIT],
    { auth: { username: 'alerts', password: new Secret(password), allowInsecureAuth: true,
      mechanisms: ['PLAIN'] } });
    await run.client.connect();
    const error = await run.client.authenticate().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof SmtpAuthenticationError, String(error));
    await finish(run);
    const shown = [error.message, ...error.transcript, ...run.lines].join('\n');
    assert.ok(!shown.includes('CANARY-PW-123'), shown);
    assert.ok(run.lines.some((line) => line.startsWith('S: 535 5.7.8 bad creds for ********')),
      run.lines.join('\n'));
  });
}

test('MAIL answered with 354 closes the session with a protocol error; no RCPT follows',
  async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('8BITMIME'),
      { expect: /^MAIL FROM:<a@x.test>/ }, 'S: 354 go ahead', { stall: true }]);
    await run.client.connect();
    const error = await run.client.send({ from: 'a@x.test', to: ['b@y.test'] }, 'x')
      .then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof SmtpProtocolError, String(error));
    assert.equal(error.message, `127.0.0.1:${run.server.port} answered MAIL FROM with 354 ` +
      'go ahead, which is neither a success nor a refusal; the session was closed.');
    assert.equal(run.client.alive, false);
    await run.server.done;
    await run.server.close();
    assert.equal(run.server.transcript.some((line) => line.startsWith('C: RCPT')), false);
  });

test('a recipient list given as a string is refused before MAIL', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply(), ...QUIT]);
  await run.client.connect();
  const envelope = { from: 'a@x.test', to: 'b@y.test' as unknown as string[] };
  await assert.rejects(run.client.send(envelope, 'x'), (error: unknown) =>
    error instanceof ConfigurationError && error.field === 'envelope.to');
  await finish(run);
  assert.equal(run.lines.some((line) => line.startsWith('C: MAIL')), false);
});

test('authenticate() without credentials sends no AUTH', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('AUTH PLAIN'), ...QUIT]);
  await run.client.connect();
  assert.equal(await run.client.authenticate(), undefined);
  await finish(run);
});

test('send() before connect() and on a closed session fails clearly', async () => {
  const client = new SmtpClient({ host: '127.0.0.1', port: 1 });
  await assert.rejects(client.send({ from: '', to: ['a@b'] }, 'x'), ConfigurationError);
  const run = await scripted([GREETING, EHLO, ...ehloReply(), ...QUIT]);
  await run.client.connect();
  await finish(run);
  await assert.rejects(run.client.send({ from: '', to: ['a@b'] }, 'x'), SmtpConnectionError);
});

test('a refused connection is SmtpConnectionError at stage connect', async () => {
  const run = await scripted([]);
  await run.server.close();
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpConnectionError && error.stage === 'connect');
});

const EHLO_RAW = '250-mx.test greets client.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n' +
  '250 ENHANCEDSTATUSCODES\r\n';

test('the EHLO reply split at every position gives the same capabilities', async () => {
  for (let cut = 1; cut < EHLO_RAW.length; cut++) {
    const run = await scripted([GREETING, EHLO, { send: EHLO_RAW }, ...QUIT], {},
      { split: cut });
    await run.client.connect();
    assert.equal(run.client.capabilities.size, 1000, `cut at ${cut}`);
    assert.equal(run.client.capabilities.enhancedStatusCodes, true);
    await finish(run);
  }
});

const PIPELINED_REPLIES = '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no such user\r\n' +
  '354 End data with <CR><LF>.<CR><LF>\r\n';

test('pipelined replies split at every position are matched in order', async () => {
  for (const split of ['byte', ...Array.from({ length: PIPELINED_REPLIES.length - 1 },
    (_, i) => i + 1)] as const) {
    const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'),
      'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'C: RCPT TO:<c@y.test>', 'C: DATA',
      { send: PIPELINED_REPLIES }, { expectData: true }, { send: '250 2.0.0 queued\r\n' },
      ...QUIT], {}, { split });
    await run.client.connect();
    const result = await run.client.send({ from: 'a@x.test', to: ['b@y.test', 'c@y.test'] },
      'x');
    assert.deepEqual(result.recipients.map((r) => r.status), ['accepted', 'rejected'],
      `split ${split}`);
    await finish(run);
  }
});

test('timeouts name their stage: connect (implicit TLS handshake never answered)',
  async () => {
    const run = await scripted([{ pause: true }], { secure: 'SslOnConnect',
      timeouts: { connect: 100 } });
    await assert.rejects(run.client.connect(), (error: unknown) =>
      error instanceof SmtpTimeoutError && error.stage === 'connect'
        && /TLS handshake/.test(error.message));
    await run.server.close();
  });

test('timeouts name their stage: tls-handshake after STARTTLS', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('STARTTLS'), 'C: STARTTLS',
    'S: 220 go ahead', { pause: true }], { secure: 'StartTls', timeouts: { connect: 100 } });
  await assert.rejects(run.client.connect(), (error: unknown) =>
    error instanceof SmtpTimeoutError && error.stage === 'tls-handshake');
  await run.server.close();
});

test('timeouts name their stage: data-block when the server stops reading', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', '8BITMIME'),
    { expect: /^MAIL/ }, 'C: RCPT TO:<b@y.test>', 'C: DATA', 'S: 250 ok', 'S: 250 ok',
    'S: 354 go', { pause: true }], { timeouts: { dataBlock: 200 } });
  await run.client.connect();
  await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
    Buffer.alloc(24 * 1024 * 1024, 'z')), (error: unknown) =>
    error instanceof SmtpTimeoutError && error.stage === 'data-block');
  assert.equal(run.client.usable, false);
  await run.server.close();
});

test('an aborted send closes the connection; nothing was handed over', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING'),
    { expect: /^MAIL/ }, 'C: RCPT TO:<b@y.test>', 'C: DATA', { stall: true }]);
  await run.client.connect();
  const controller = new AbortController();
  const sending = run.client.send({ from: 'a@x.test', to: ['b@y.test'] }, 'x',
    { signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(sending, (error: unknown) =>
    error instanceof SmtpConnectionError && /aborted/.test(error.message));
  assert.equal(run.client.usable, false);
  await run.server.done;
  await run.server.close();
});

test('an 8-bit octet in a stream sent by BDAT without 8BITMIME: refused, connection closed',
  async () => {
    const run = await scripted([GREETING, EHLO, ...ehloReply('PIPELINING', 'CHUNKING'),
      'C: MAIL FROM:<a@x.test>', 'C: RCPT TO:<b@y.test>', 'S: 250 ok', 'S: 250 ok',
      { stall: true }]);
    await run.client.connect();
    await assert.rejects(run.client.send({ from: 'a@x.test', to: ['b@y.test'] },
      Readable.from([Buffer.from([0x41, 0xe9])])), (error: unknown) =>
      error instanceof ConfigurationError && /8BITMIME/.test(error.message));
    assert.equal(run.client.usable, false);
    await run.server.done;
    await run.server.close();
    assert.equal(run.server.transcript.some((line) => line.startsWith('C: BDAT')), false);
  });

test('maxReplyLineLength and maxReplyLines bound what the server may send', async () => {
  const long = await scripted([`S: 220 ${'x'.repeat(200)}`, { stall: true }],
    { maxReplyLineLength: 100 });
  await assert.rejects(long.client.connect(), (error: unknown) =>
    error instanceof SmtpProtocolError && /longer than 100 octets/.test(error.message));
  await long.server.done;
  const many = await scripted([GREETING, EHLO,
    ...Array.from({ length: 30 }, (_, i) => `S: 250-line ${i}`), { stall: true }],
  { maxReplyLines: 20 });
  await assert.rejects(many.client.connect(), (error: unknown) =>
    error instanceof SmtpProtocolError && /more than 20 lines/.test(error.message));
  await many.server.done;
});

test('a 421 during AUTH closes the connection with SmtpConnectionError', async () => {
  const { Secret } = await import('../../src/secret.js');
  const run = await scripted([GREETING, EHLO, ...ehloReply('AUTH LOGIN'),
    'C: AUTH LOGIN', 'S: 421 4.3.2 shutting down'],
  { auth: { username: 'alice', password: new Secret('hunter2'), mechanisms: ['LOGIN'],
    allowInsecureAuth: true } });
  await run.client.connect();
  await assert.rejects(run.client.authenticate(), (error: unknown) =>
    error instanceof SmtpConnectionError && error.stage === 'auth' && error.reply?.code === 421);
  assert.equal(run.client.usable, false);
  await run.server.done;
  await run.server.close();
});

test('connect() twice is refused', async () => {
  const run = await scripted([GREETING, EHLO, ...ehloReply(), ...QUIT]);
  await run.client.connect();
  await assert.rejects(run.client.connect(), ConfigurationError);
  await finish(run);
});
