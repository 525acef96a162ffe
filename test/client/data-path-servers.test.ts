/**
 * The message data path against servers of other people's making: the in-process
 * `smtp-server` (DATA with PIPELINING, its own un-stuffing) and, when it runs, the Postfix rig
 * (DATA and BDAT, RFC 3030). Generated messages (bare CR and LF, dots after them, NUL, 8-bit,
 * CR ending one stream chunk and LF starting the next) go through the real client, several
 * at once, and what the server stored is compared with the message's lines.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { SMTPServer } from 'smtp-server';
import { SmtpClient } from '../../src/client/smtp-client.js';
import type { MessageSource } from '../../src/client/types.js';
import {
  clientPart,
  listDeliveries,
  rig,
  rigSkipReason,
  waitForDelivery,
} from '../support/rig.js';
import { keepMessages, type ReceivedEnvelope } from '../support/smtp-handlers.js';

/** What every line-oriented reader makes of the message: CR, LF and CRLF end a line. */
function lines(message: Buffer): string[] {
  const all = message.toString('latin1').split(/\r\n|\r|\n/);
  if (all.at(-1) === '') all.pop();
  return all;
}

/** Body octets biased toward what matters: CR, LF, dots at line starts, 8-bit, NUL. */
const bodyBytes = fc.array(fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('\r', '\n', '\r\n', '.', '..', '\n.\n', '\r.\r',
    '.\r\n', '\r\n.\r\n', 'a', ' ', '\r\n\r\n') },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9 .]{0,20}$/) },
  { weight: 1, arbitrary: fc.constantFrom('\0', '\x7f', '\x80', '\xff') },
), { maxLength: 40 }).map((parts) => Buffer.from(parts.join(''), 'latin1'));

type SourceKind = 'buffer' | 'string' | 'stream' | 'factory';

/** The message as `kind`, cut at `cuts` when streamed; `octets` is what the client gets. */
function source(kind: SourceKind, bytes: Buffer, cuts: number[]):
{ message: MessageSource; octets: Buffer } {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) pieces.push(bytes.subarray(start, point));
    start = point;
  }
  if (kind === 'buffer') return { message: bytes, octets: bytes };
  if (kind === 'string') {
    const text = bytes.toString('latin1');
    return { message: text, octets: Buffer.from(text, 'utf8') };
  }
  if (kind === 'stream') return { message: Readable.from(pieces), octets: bytes };
  return { message: () => Readable.from(pieces), octets: bytes };
}

const sendArb = fc.record({
  body: bodyBytes,
  kind: fc.constantFrom<SourceKind>('buffer', 'string', 'stream', 'factory'),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
});

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
});

describe('smtp-server (DATA, its own un-stuffing)', () => {
  for (const pipelining of [true, false]) {
    test(`PIPELINING ${pipelining ? 'on' : 'off'}: one to four sends at once arrive intact`,
      async () => {
        const received: ReceivedEnvelope[] = [];
        const server = new SMTPServer({
          logger: false,
          disableReverseLookup: true,
          authOptional: true,
          disabledCommands: ['STARTTLS', 'AUTH'],
          hidePIPELINING: !pipelining,
          onData: keepMessages((message) => {
            received.push(message);
          }),
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
        const port = (server.server.address() as { port: number }).port;

        await fc.assert(fc.asyncProperty(fc.array(sendArb, { minLength: 1, maxLength: 4 }),
          async (sends) => {
            received.length = 0;
            const smtp = new SmtpClient({ host: '127.0.0.1', port, secure: 'None',
              clientName: 'client.test' });
            await smtp.connect();
            try {
              const planned = sends.map((s, i) => ({ ...source(s.kind, s.body, s.cuts),
                to: `r${i}@x.test` }));
              const results = await Promise.all(planned.map((p) => smtp.send(
                { from: 'a@x.test', to: [p.to] }, p.message)));
              assert.equal(received.length, planned.length);
              planned.forEach((p, i) => {
                const got = received.find((r) => r.to[0] === p.to);
                assert.ok(got, `message ${i} arrived`);
                assert.equal(got.raw.toString('latin1'),
                  lines(p.octets).map((line) => `${line}\r\n`).join(''));
                assert.equal(results[i]!.method, 'DATA');
              });
            } finally {
              await smtp.quit();
            }
          }), { numRuns: 60 });
      });
  }
});

describe('Postfix rig (DATA and BDAT; the stored file has LF line ends)',
  { skip: rigSkipReason }, () => {
    test('BDAT: a stream that fails after a chunk, then a send on the same client: neither '
      + 'is delivered (Postfix would append the second to the open transaction)', async () => {
      const r = rig()!;
      const recipient = `data-path-${randomUUID().slice(0, 8)}@rig.test`;
      const tokens = [randomUUID(), randomUUID(), randomUUID()];
      const smtp = new SmtpClient({ host: r.hostName, port: r.ports.noTls, secure: 'None',
        clientName: 'client.test' });
      await smtp.connect();
      async function* failing(): AsyncGenerator<Buffer> {
        yield Buffer.from(`Subject: ${tokens[0]}\r\n\r\n`);
        yield Buffer.alloc(1024 * 1024, 'y');
        throw new Error('disk read failed');
      }
      const outcomes = await Promise.allSettled([
        smtp.send({ from: 'alice@rig.test', to: [recipient] }, Readable.from(failing())),
        smtp.send({ from: 'alice@rig.test', to: [recipient] },
          `Subject: ${tokens[1]}\r\n\r\nx\r\n`),
      ]);
      assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected']);
      smtp.destroy();
      // A later message on a fresh connection is delivered; nothing before it was.
      const next = new SmtpClient({ host: r.hostName, port: r.ports.noTls, secure: 'None',
        clientName: 'client.test' });
      await next.connect();
      await next.send({ from: 'alice@rig.test', to: [recipient] },
        `Subject: ${tokens[2]}\r\n\r\nlater\r\n`);
      await next.quit();
      await waitForDelivery(recipient, tokens[2]!);
      const delivered = await listDeliveries(recipient);
      assert.equal(delivered.length, 1, 'only the later message was delivered');
    });

    for (const chunking of [true, false]) {
      test(`${chunking ? 'BDAT' : 'DATA'}: generated messages, several at once, as sent`,
        async () => {
          const r = rig()!;
          const recipient = `data-path-${randomUUID().slice(0, 8)}@rig.test`;
          await fc.assert(fc.asyncProperty(fc.array(sendArb, { minLength: 1, maxLength: 3 }),
            async (sends) => {
              const smtp = new SmtpClient({ host: r.hostName, port: r.ports.noTls,
                secure: 'None', chunking, clientName: 'client.test' });
              await smtp.connect();
              const planned = sends.map((s) => {
                const token = randomUUID();
                const head = `From: alice@rig.test\r\nTo: ${recipient}\r\n` +
                  `Date: Thu, 03 Dec 2026 19:00:00 +0000\r\nMessage-ID: <${token}@rig.test>\r\n` +
                  `Subject: ${token}\r\n\r\n`;
                return { token, ...source(s.kind, Buffer.concat([Buffer.from(head), s.body]),
                  s.cuts) };
              });
              try {
                const results = await Promise.all(planned.map((p) => smtp.send(
                  { from: 'alice@rig.test', to: [recipient] }, p.message)));
                for (const result of results) {
                  assert.equal(result.method, chunking ? 'BDAT' : 'DATA');
                }
              } finally {
                await smtp.quit();
              }
              for (const p of planned) {
                const stored = clientPart(await waitForDelivery(recipient, p.token));
                assert.equal(stored.toString('latin1'),
                  lines(p.octets).map((line) => `${line}\n`).join(''));
              }
            }), { numRuns: 25 });
        });
    }
  
    test('STARTTLS: 1 MiB exactly (BDAT 0 LAST after a full chunk), 1 MiB + 1 and 5 MB, '
      + 'streamed and in memory, stored as sent', async () => {
      const r = rig()!;
      const recipient = `data-path-${randomUUID().slice(0, 8)}@rig.test`;
      const smtp = new SmtpClient({ host: r.hostName, port: r.ports.plain, secure: 'StartTls',
        tls: { ca: r.ca }, clientName: 'client.test' });
      await smtp.connect();
      const planned = [1024 * 1024, 1024 * 1024 + 1, 5_000_000].flatMap((size) => {
        const token = randomUUID();
        const head = Buffer.from(`Subject: ${token}\r\n\r\n`);
        const body = Buffer.alloc(size - head.length, 'z');
        for (let i = 68; i < body.length; i += 70) body[i] = 0x0d;
        for (let i = 69; i < body.length; i += 70) body[i] = 0x0a;
        for (let i = 70; i < body.length; i += 70 * 7) body[i] = 0x2e;
        body[body.length - 2] = 0x0d;
        body[body.length - 1] = 0x0a;
        const bytes = Buffer.concat([head, body]);
        const cut: Buffer[] = [];
        for (let offset = 0; offset < bytes.length; offset += 4093) {
          cut.push(bytes.subarray(offset, offset + 4093));
        }
        return [
          { token, bytes, message: Readable.from(cut) as MessageSource },
          { token, bytes, message: bytes as MessageSource },
        ];
      });
      try {
        for (const p of planned) {
          const result = await smtp.send({ from: 'alice@rig.test', to: [recipient] }, p.message);
          assert.equal(result.method, 'BDAT');
          assert.equal(result.size, p.bytes.length);
        }
      } finally {
        await smtp.quit();
      }
      for (const p of planned) {
        const stored = clientPart(await waitForDelivery(recipient, p.token));
        assert.equal(stored.toString('latin1'), lines(p.bytes).map((line) => `${line}\n`).join(''));
      }
      assert.equal((await listDeliveries(recipient)).length, planned.length, 'each once');
    });
  
    for (const chunking of [true, false]) {
      test(`${chunking ? 'BDAT' : 'DATA'}: a stream over the SIZE limit is refused (552), not `
        + 'delivered, and the session goes on', async () => {
        const r = rig()!;
        const recipient = `data-path-${randomUUID().slice(0, 8)}@rig.test`;
        const smtp = new SmtpClient({ host: r.hostName, port: r.ports.sizeLimited,
          secure: 'None', chunking, clientName: 'client.test' });
        await smtp.connect();
        const tooLarge = randomUUID();
        const fine = randomUUID();
        try {
          const big = Buffer.alloc(3 * 1024 * 1024, 'q');
          for (let i = 70; i < big.length; i += 72) big.write('\r\n', i - 2, 'latin1');
          await assert.rejects(smtp.send({ from: 'alice@rig.test', to: [recipient] },
            Readable.from([Buffer.from(`Subject: ${tooLarge}\r\n\r\n`), big])),
          (error: Error & { replyCode?: number }) => error.replyCode === 552);
          assert.equal(smtp.alive, true);
          await smtp.send({ from: 'alice@rig.test', to: [recipient] },
            `Subject: ${fine}\r\n\r\nsmall\r\n`);
        } finally {
          await smtp.quit();
        }
        await waitForDelivery(recipient, fine);
        assert.equal((await listDeliveries(recipient)).length, 1, 'only the small message');
      });
    }
  });
