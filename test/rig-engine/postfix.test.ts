/**
 * SmtpClient against Postfix on loopback (the rig): plain, STARTTLS with the rig CA,
 * implicit TLS, the 1 MB SIZE port, CHUNKING in one round trip, and the rig's bad
 * certificates. Skipped, loudly, when the rig is not running.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { SmtpClient } from '../../src/client/smtp-client.js';
import type { SmtpClientOptions } from '../../src/client/types.js';
import {
  ConfigurationError, SmtpCommandError, SmtpRecipientsError, SmtpTlsError,
} from '../../src/errors.js';
import { formatTranscriptLine } from '../../src/log.js';
import { clientPart, rig, rigSkipReason, waitForDelivery } from '../support/rig.js';

/** A recipient of this test's own, so parallel test files never share a mailbox. */
function recipientFor(token: string): string {
  return `engine-${token}@rig.test`;
}

const skip = rigSkipReason;

function newClient(port: number, options: Partial<SmtpClientOptions> = {}): {
  client: SmtpClient; lines: string[] } {
  const info = rig()!;
  const lines: string[] = [];
  const client = new SmtpClient({
    host: info.connectHost,
    port,
    secure: 'None',
    transcript: (line) => lines.push(formatTranscriptLine(line)),
    ...options,
  });
  return { client, lines };
}

function message(token: string, body: string): string {
  return `From: <alice@rig.test>\r\nTo: <bob@rig.test>\r\nSubject: engine ${token}\r\n\r\n${body}`;
}

test('plain (3525): CHUNKING and PIPELINING, the send is one round trip', { skip }, async () => {
  const info = rig()!;
  const { client, lines } = newClient(info.ports.plain);
  await client.connect();
  assert.equal(client.capabilities.chunking, true);
  assert.equal(client.capabilities.pipelining, true);
  const token = randomUUID();
  const text = message(token, 'Hello\n.leading dot\nbare LF\rbare CR\r\n');
  const before = lines.length;
  const result = await client.send({ from: 'alice@rig.test', to: [recipientFor(token)] },
    Buffer.from(text));
  assert.equal(result.method, 'BDAT');
  // One round trip: every client line of the send left before the first server reply.
  const sendLines = lines.slice(before);
  const firstReply = sendLines.findIndex((line) => line.startsWith('S:'));
  assert.deepEqual(sendLines.slice(0, firstReply).map((line) => line.split(' ')[1]),
    ['MAIL', 'RCPT', 'BDAT']);
  assert.match(sendLines[firstReply - 1]!, /^C: BDAT \d+ LAST$/);
  assert.ok(sendLines.slice(firstReply).every((line) => line.startsWith('S:')));
  await client.quit();
  const delivered = clientPart(await waitForDelivery(recipientFor(token), token));
  assert.equal(delivered.toString('latin1'), text.replace(/\r\n|\r|\n/g, '\n'));
});

test('plain (3525) with DATA: dot-stuffed, arrives byte-identical', { skip }, async () => {
  const info = rig()!;
  const { client, lines } = newClient(info.ports.plain, { chunking: false });
  await client.connect();
  const token = randomUUID();
  const text = message(token, '.\n..\n.x\r\nend');
  const result = await client.send({ from: 'alice@rig.test', to: [recipientFor(token)] },
    text);
  assert.equal(result.method, 'DATA');
  assert.ok(lines.includes('C: DATA'));
  await client.quit();
  const delivered = clientPart(await waitForDelivery(recipientFor(token), token));
  assert.equal(delivered.toString('latin1'), `${text.replace(/\r\n|\r|\n/g, '\n')}\n`);
});

test('STARTTLS (3525) verified with the rig CA; per-recipient results', { skip }, async () => {
  const info = rig()!;
  const { client, lines } = newClient(info.ports.plain, {
    secure: 'StartTls', tls: { ca: info.ca, servername: info.hostName } });
  await client.connect();
  assert.equal(client.secure, true);
  assert.equal(client.tlsInfo?.verified, true);
  assert.ok(lines.filter((line) => line === 'C: STARTTLS').length === 1);
  const token = randomUUID();
  const result = await client.send({ from: 'alice@rig.test',
    to: [recipientFor(token), 'reject@rig.test'] }, message(token, 'over TLS\r\n'));
  assert.deepEqual(result.accepted, [recipientFor(token)]);
  assert.equal(result.rejected[0]?.recipient, 'reject@rig.test');
  assert.equal(result.rejected[0]?.reply?.code, 550);
  assert.deepEqual(result.rejected[0]?.reply?.enhancedCode, { class: 5, subject: 1, detail: 1 });
  await assert.rejects(client.send({ from: 'alice@rig.test', to: ['reject@rig.test'] }, 'x'),
    SmtpRecipientsError);
  assert.equal(client.usable, true);
  await client.noop();
  await client.quit();
  await waitForDelivery(recipientFor(token), token);
});

test('implicit TLS (3465): connect and EHLO, certificate verified', { skip }, async () => {
  const info = rig()!;
  const { client } = newClient(info.ports.smtps, {
    secure: 'SslOnConnect', tls: { ca: info.ca, servername: info.hostName } });
  await client.connect();
  assert.equal(client.secure, true);
  assert.equal(client.tlsInfo?.verified, true);
  assert.ok(client.capabilities.auth.includes('PLAIN'));
  await client.quit();
});

test('SIZE-limited port (3526): a 2 MB message is refused locally', { skip }, async () => {
  const info = rig()!;
  const { client, lines } = newClient(info.ports.sizeLimited);
  await client.connect();
  assert.equal(client.capabilities.size, 1048576);
  await assert.rejects(client.send({ from: 'alice@rig.test', to: ['bob@rig.test'] },
    Buffer.alloc(2_000_000, 'a')), (error: unknown) => error instanceof ConfigurationError
      && /larger than the 1048576 octets/.test(error.message));
  assert.equal(lines.some((line) => line.startsWith('C: MAIL')), false);
  await client.quit();
});

test('SIZE-limited port (3526): a 2 MB stream of unknown size fails with the chunk refusal',
  { skip }, async () => {
    // Postfix refuses the chunk that crosses the limit with 552 5.3.4 and then answers
    // BDAT LAST with 551 "discarded after earlier error": the 552 is the reason to report.
    const info = rig()!;
    const { client } = newClient(info.ports.sizeLimited);
    await client.connect();
    const stream = Readable.from((function* () {
      for (let i = 0; i < 40; i++) yield Buffer.alloc(50_000, 'a');
    })());
    await assert.rejects(client.send({ from: 'alice@rig.test', to: ['bob@rig.test'] }, stream),
      (error: unknown) => error instanceof SmtpCommandError && error.replyCode === 552
        && error.enhancedCode === '5.3.4');
    // The session is still usable after the refused transaction.
    await client.noop();
    await client.quit();
  });

test('the rig ports with bad certificates are refused (3466 name, 3467 self-signed)',
  { skip }, async () => {
    const info = rig()!;
    for (const [port, code] of [[info.ports.badName, /ALTNAME/], [info.ports.selfSigned,
      /SELF_SIGNED|UNABLE_TO_VERIFY/]] as const) {
      const { client } = newClient(port, { secure: 'SslOnConnect',
        tls: { ca: info.ca, servername: info.hostName } });
      await assert.rejects(client.connect(), (error: unknown) =>
        error instanceof SmtpTlsError && code.test(error.message));
    }
  });

test('the bare port (3527): no PIPELINING or CHUNKING, DATA one command at a time',
  { skip }, async () => {
    const info = rig()!;
    const { client, lines } = newClient(info.ports.bare);
    await client.connect();
    assert.equal(client.capabilities.pipelining, false);
    assert.equal(client.capabilities.chunking, false);
    const token = randomUUID();
    const result = await client.send({ from: 'alice@rig.test', to: [recipientFor(token)] },
      message(token, 'bare\r\n'));
    assert.equal(result.method, 'DATA');
    const mail = lines.findIndex((line) => line.startsWith('C: MAIL'));
    assert.match(lines[mail + 1]!, /^S: 250/);
    await client.quit();
    await waitForDelivery(recipientFor(token), token);
  });
