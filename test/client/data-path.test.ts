/**
 * The message data path end to end: a message (Buffer, string, stream, stream factory) goes
 * through the real client to a server that keeps the octets as they came off the wire, and
 * what arrived is checked against RFC 5321 §4.5.2 (every line ends CRLF, a `.` at a line
 * start doubled, one `CRLF.CRLF` at the end) and RFC 3030 (BDAT sizes exact, no stuffing),
 * with `SIZE=` (RFC 1870: CRLF counted, stuffing and the end mark not) and
 * `SendResult.size`. Cases: bare CR, bare LF, CR at the end, CR ending one stream chunk and
 * LF starting the next, dots after bare line ends, empty, 8-bit with and without 8BITMIME,
 * NUL, long lines, around 1 MiB, concurrent sends in the transaction window.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { SmtpClient } from '../../src/client/smtp-client.js';
import type { MessageSource, SendResult } from '../../src/client/types.js';
import {
  ConfigurationError,
  SmtpConnectionError,
  SmtpError,
  SmtpTimeoutError,
} from '../../src/errors.js';
import { startWireRecorder, type RecordedMessage, type WireRecorder } from './wire-recorder.js';

const MIB = 1024 * 1024;

/** What every line-oriented reader makes of the message: CR, LF and CRLF end a line. */
function reference(message: Buffer): Buffer {
  const lines = message.toString('latin1').split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  return Buffer.from(lines.map((line) => `${line}\r\n`).join(''), 'latin1');
}

/**
 * What a server makes of DATA octets (RFC 5321 §4.5.2): checks that every CR and LF is part
 * of a CRLF and that the octets end with the end mark, then removes the mark and one leading
 * `.` of each line.
 */
function unstuff(wire: Buffer): Buffer {
  for (let i = 0; i < wire.length; i++) {
    if (wire[i] === 0x0d) assert.equal(wire[i + 1], 0x0a, `bare CR at ${i}`);
    if (wire[i] === 0x0a) assert.equal(wire[i - 1], 0x0d, `bare LF at ${i}`);
  }
  const text = wire.toString('latin1');
  if (text === '.\r\n') return Buffer.alloc(0);
  assert.ok(text.endsWith('\r\n.\r\n'), 'DATA ends with CRLF.CRLF');
  const lines = text.slice(0, -5).split('\r\n');
  for (const line of lines) assert.notEqual(line, '.', 'a lone dot line before the end');
  return Buffer.from(lines.map((line) => `${line.startsWith('.') ? line.slice(1) : line}\r\n`)
    .join(''), 'latin1');
}

/** How the message is handed to `send()`. */
type SourceKind = 'buffer' | 'string' | 'stream' | 'string-stream' | 'factory';

/** The source and the octets the client is given (a string is its UTF-8). */
function source(kind: SourceKind, bytes: Buffer, cuts: number[]):
{ message: MessageSource; octets: Buffer } {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  switch (kind) {
    case 'buffer':
      return { message: Buffer.from(bytes), octets: bytes };
    case 'string': {
      const text = bytes.toString('latin1');
      return { message: text, octets: Buffer.from(text, 'utf8') };
    }
    case 'stream':
      return { message: Readable.from(pieces.filter((p) => p.length > 0)), octets: bytes };
    case 'string-stream': {
      const texts = pieces.map((p) => p.toString('latin1')).filter((t) => t !== '');
      return {
        message: Readable.from(texts, { objectMode: false }),
        octets: Buffer.concat(texts.map((t) => Buffer.from(t, 'utf8'))),
      };
    }
    case 'factory':
      return { message: () => Readable.from(pieces.filter((p) => p.length > 0)), octets: bytes };
  }
}

/** Message octets biased toward what matters: CR, LF, dots at line starts, 8-bit, NUL. */
const messageBytes = fc.array(fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('\r', '\n', '\r\n', '.', '..', '\n.\n', '\r.\r',
    '.\r\n', '\r\n.\r\n', 'a', ' ', '\r\n\r\n') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('\0', '\x7f', '\x80', '\xff') },
), { maxLength: 40 }).map((parts) => Buffer.from(parts.join(''), 'latin1'));

interface Server {
  recorder: WireRecorder;
  chunking: boolean;
  eightBitMime: boolean;
  pipelining: boolean;
  size: boolean;
}

const servers: WireRecorder[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

async function recorder(options: Omit<Server, 'recorder'>): Promise<Server> {
  const extensions = [
    ...(options.pipelining ? ['PIPELINING'] : []),
    ...(options.chunking ? ['CHUNKING'] : []),
    ...(options.eightBitMime ? ['8BITMIME'] : []),
    ...(options.size ? ['SIZE 10485760'] : []),
  ];
  const server = await startWireRecorder(extensions);
  servers.push(server);
  return { recorder: server, ...options };
}

function client(server: Server, pipelineWindow = 8): SmtpClient {
  return new SmtpClient({
    host: '127.0.0.1',
    port: server.recorder.port,
    secure: 'None',
    clientName: 'client.test',
    pipelineWindow,
    timeouts: { command: 10_000, dataBlock: 10_000, dataTermination: 10_000 },
  });
}

/**
 * Checks one message as the server got it against the octets the client was given: the
 * content, the BDAT sizes, `SIZE=` and `SendResult.size`.
 */
function checkReceived(server: Server, got: RecordedMessage, octets: Buffer,
  result: SendResult, inMemory: boolean): void {
  const expected = reference(octets);
  if (server.chunking) {
    assert.equal(got.method, 'BDAT');
    assert.deepEqual(got.wire, expected, 'BDAT carries the normalised octets as they are');
    assert.equal(got.chunks.reduce((sum, n) => sum + n, 0), got.wire.length);
    for (const chunk of got.chunks.slice(0, -1)) assert.equal(chunk, MIB);
    assert.equal(result.size, expected.length);
  } else {
    assert.equal(got.method, 'DATA');
    assert.deepEqual(unstuff(got.wire), expected);
    // The DATA octets sent, stuffed, without the final '.' line.
    assert.equal(result.size, got.wire.length - '.\r\n'.length,
      'size counts the DATA octets sent');
  }
  assert.equal(result.method, got.method);
  const size = /SIZE=(\d+)/.exec(got.mailLine)?.[1];
  if (server.size && inMemory) assert.equal(Number(size), expected.length, 'SIZE= (RFC 1870)');
  const eightBit = octets.some((byte) => byte > 0x7f);
  if (inMemory && server.eightBitMime) {
    assert.equal(/BODY=8BITMIME/.test(got.mailLine), eightBit, got.mailLine);
  }
}

const configurations = [
  { chunking: false, pipelining: true },
  { chunking: false, pipelining: false },
  { chunking: true, pipelining: true },
  { chunking: true, pipelining: false },
];

for (const { chunking, pipelining } of configurations) {
  const name = `${chunking ? 'BDAT' : 'DATA'}, PIPELINING ${pipelining ? 'on' : 'off'}`;
  describe(name, () => {
    test('any message, any source, one to four sends at once: the octets arrive intact',
      async () => {
        const eightBitServer = await recorder({ chunking, pipelining, eightBitMime: true,
          size: true });
        const sevenBitServer = await recorder({ chunking, pipelining, eightBitMime: false,
          size: false });
        await fc.assert(fc.asyncProperty(
          fc.array(fc.record({
            bytes: messageBytes,
            kind: fc.constantFrom<SourceKind>('buffer', 'string', 'stream', 'string-stream',
              'factory'),
            cuts: fc.array(fc.nat(), { maxLength: 6 }),
          }), { minLength: 1, maxLength: 4 }),
          fc.boolean(),
          async (sends, eightBitMime) => {
            const server = eightBitMime ? eightBitServer : sevenBitServer;
            const before = server.recorder.messages.length;
            const errorsBefore = server.recorder.errors.length;
            const smtp = client(server);
            await smtp.connect();
            try {
              const planned = sends.map((send) => ({ ...source(send.kind, send.bytes,
                send.cuts), inMemory: send.kind === 'buffer' || send.kind === 'string' }));
              const outcomes = await Promise.allSettled(planned.map((p) => smtp.send(
                { from: 'a@x.test', to: ['b@x.test'] }, p.message)));
              const received = server.recorder.messages.slice(before);
              let next = 0;
              outcomes.forEach((outcome, i) => {
                const { octets, inMemory } = planned[i]!;
                const eightBit = octets.some((byte) => byte > 0x7f);
                if (eightBit && !server.eightBitMime) {
                  // Refused before the end of data: never delivered (RFC 6152 §3).
                  assert.equal(outcome.status, 'rejected');
                  const error = (outcome as PromiseRejectedResult).reason as Error;
                  assert.ok(error instanceof ConfigurationError
                    || (!inMemory && error instanceof SmtpError), String(error));
                  return;
                }
                if (outcome.status === 'rejected') {
                  // A stream refused for 8-bit breaks the connection for what follows it.
                  const error = outcome.reason as Error;
                  assert.ok(error instanceof SmtpError, String(error));
                  const broken = planned.slice(0, i).some((p) => !p.inMemory
                    && p.octets.some((byte) => byte > 0x7f) && !server.eightBitMime);
                  assert.ok(broken, `send ${i} failed: ${error.message}`);
                  return;
                }
                const got = received[next++];
                assert.ok(got, `send ${i} resolved, and the server has its message`);
                checkReceived(server, got, octets, outcome.value, inMemory);
              });
              assert.equal(received.length, next, 'no message delivered twice or unasked');
              assert.deepEqual(server.recorder.errors.slice(errorsBefore), []);
            } finally {
              await smtp.quit();
            }
          }), { numRuns: 400 });
      });
  });
}

/** `size` octets of text whose normalised form has a CR, a bare LF and a dot at `at`. */
function largeMessage(size: number, at: number): Buffer {
  const bytes = Buffer.alloc(size, 'x');
  for (let i = 70; i < size; i += 71) bytes[i] = 0x0a; // bare LF lines of 70
  for (let i = 71; i < size; i += 71 * 5) bytes[i] = 0x2e; // a dot starting every fifth
  for (const offset of [at - 1, at, at + 1]) {
    if (offset >= 0 && offset < size) bytes[offset] = [0x0d, 0x2e, 0x0a][offset - at + 1]!;
  }
  return bytes;
}

/** Cuts `bytes` into pieces of `size` octets (the last may be shorter). */
function pieces(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    out.push(bytes.subarray(offset, offset + size));
  }
  return out;
}

describe('large messages and chunk edges', () => {
  // Sizes around a BDAT chunk (1 MiB) and the in-memory window limit, before and after
  // normalising (bare LFs grow it); a CR lands on the chunk edge.
  const sizes = [MIB - 1, MIB, MIB + 1, 5_000_000];
  for (const chunking of [false, true]) {
    for (const size of sizes) {
      test(`${chunking ? 'BDAT' : 'DATA'}, ${size} octets: buffer, 64 KiB stream, odd pieces`,
        async () => {
          const server = await recorder({ chunking, pipelining: true, eightBitMime: true,
            size: true });
          const bytes = largeMessage(size, MIB - 1);
          const sources: Array<{ message: MessageSource; inMemory: boolean }> = [
            { message: bytes, inMemory: true },
            { message: Readable.from(pieces(bytes, 64 * 1024)), inMemory: false },
            { message: () => Readable.from(pieces(bytes, 65_537)), inMemory: false },
            { message: Readable.from([bytes]), inMemory: false },
          ];
          const smtp = client(server);
          await smtp.connect();
          try {
            const results = await Promise.all(sources.map((s) => smtp.send(
              { from: 'a@x.test', to: ['b@x.test'] }, s.message)));
            const received = server.recorder.messages;
            assert.equal(received.length, sources.length);
            results.forEach((result, i) => {
              checkReceived(server, received[i]!, bytes, result, sources[i]!.inMemory);
            });
            assert.deepEqual(server.recorder.errors, []);
          } finally {
            await smtp.quit();
          }
        });
    }
  }

  test('a stream of one-octet chunks across the 1 MiB BDAT edge, CR then LF split', async () => {
    const server = await recorder({ chunking: true, pipelining: true, eightBitMime: true,
      size: false });
    const bytes = largeMessage(MIB + 10, MIB - 1);
    const head = pieces(bytes.subarray(0, MIB - 20), 64 * 1024);
    const tail = pieces(bytes.subarray(MIB - 20), 1);
    const smtp = client(server);
    await smtp.connect();
    try {
      const result = await smtp.send({ from: 'a@x.test', to: ['b@x.test'] },
        Readable.from([...head, ...tail]));
      checkReceived(server, server.recorder.messages[0]!, bytes, result, false);
    } finally {
      await smtp.quit();
    }
  });
});

describe('streams that fail', () => {
  for (const chunking of [false, true]) {
    const method = chunking ? 'BDAT' : 'DATA';
    test(`${method}: a stream that errors midway closes the connection and delivers nothing`,
      async () => {
        const server = await recorder({ chunking, pipelining: true, eightBitMime: true,
          size: false });
        const smtp = client(server);
        await smtp.connect();
        async function* failing(): AsyncGenerator<Buffer> {
          yield Buffer.alloc(MIB + 100, 'y');
          yield Buffer.from('\r\n.\r\n');
          throw new Error('disk read failed');
        }
        const first = smtp.send({ from: 'a@x.test', to: ['b@x.test'] }, Readable.from(failing()));
        const second = smtp.send({ from: 'a@x.test', to: ['c@x.test'] },
          'Subject: 2\r\n\r\n2\r\n');
        const outcomes = await Promise.allSettled([first, second]);
        assert.equal(outcomes[0].status, 'rejected');
        const error = (outcomes[0] as PromiseRejectedResult).reason as Error;
        assert.ok(error instanceof SmtpConnectionError, String(error));
        assert.match(error.message, /disk read failed/);
        // The transaction the first left open must not take the second's envelope or octets
        // (with BDAT: its chunk and the second message delivered as one, to both recipients).
        assert.equal(outcomes[1].status, 'rejected');
        const next = (outcomes[1] as PromiseRejectedResult).reason as Error;
        assert.ok(next instanceof SmtpConnectionError, String(next));
        assert.ok(!(next instanceof SmtpTimeoutError), 'refused at once, not after a timeout');
        assert.equal(smtp.alive, false);
        assert.deepEqual(server.recorder.messages, []);
        smtp.destroy();
      });

    test(`${method}: Uint8Array chunks (an object-mode stream) arrive intact`, async () => {
      const server = await recorder({ chunking, pipelining: true, eightBitMime: true,
        size: false });
      const bytes = Buffer.from('Subject: u8\r\n\r\nline\n.dot\r\nend\r\n', 'latin1');
      const smtp = client(server);
      await smtp.connect();
      try {
        const result = await smtp.send({ from: 'a@x.test', to: ['b@x.test'] },
          Readable.from([new Uint8Array(bytes.subarray(0, 7)), new Uint8Array(bytes.subarray(7))]));
        checkReceived(server, server.recorder.messages[0]!, bytes, result, false);
      } finally {
        await smtp.quit();
      }
    });

    test(`${method}: a stream of objects that are not octets fails and delivers nothing`,
      async () => {
        const server = await recorder({ chunking, pipelining: true, eightBitMime: true,
          size: false });
        const smtp = client(server);
        await smtp.connect();
        await assert.rejects(smtp.send({ from: 'a@x.test', to: ['b@x.test'] },
          Readable.from(['Subject: x\r\n\r\n', { body: 'lost' }, 'end\r\n'])),
        ConfigurationError);
        assert.deepEqual(server.recorder.messages, []);
        smtp.destroy();
      });
  }

  for (const chunking of [false, true]) {
    const method = chunking ? 'BDAT' : 'DATA';
    test(`${method}: a stream already read to its end is refused, not sent as an empty message`,
      async () => {
        const server = await recorder({ chunking, pipelining: true, eightBitMime: true,
          size: false });
        const smtp = client(server);
        await smtp.connect();
        try {
          const used = Readable.from([Buffer.from('Subject: x\r\n\r\nbody\r\n')]);
          for await (const chunk of used) assert.ok(chunk);
          await assert.rejects(smtp.send({ from: 'a@x.test', to: ['b@x.test'] }, used),
            ConfigurationError);
          const failed = new Readable({ read() {} });
          failed.on('error', () => {});
          failed.destroy(new Error('gone'));
          await assert.rejects(smtp.send({ from: 'a@x.test', to: ['b@x.test'] }, failed),
            ConfigurationError);
          // Refused before anything was sent: the session goes on.
          assert.equal(smtp.alive, true);
          // A factory's stream is opened after DATA or BDAT began: refused, the session closes.
          await assert.rejects(smtp.send({ from: 'a@x.test', to: ['b@x.test'] }, () => used),
            ConfigurationError);
          assert.deepEqual(server.recorder.messages, []);
        } finally {
          smtp.destroy();
        }
      });
  }

  for (const chunking of [false, true]) {
    const method = chunking ? 'BDAT' : 'DATA';
    test(`${method}: string chunks that cut a surrogate pair in two still send the character`,
      async () => {
        const server = await recorder({ chunking, pipelining: true, eightBitMime: true,
          size: false });
        const smtp = client(server);
        await smtp.connect();
        try {
          const text = 'Subject: x\r\n\r\nsmile \u{1F600}\r\n\u{1F600}';
          const cut = text.indexOf('\uDE00');
          const last = text.lastIndexOf('\uDE00');
          const result = await smtp.send({ from: 'a@x.test', to: ['b@x.test'] }, Readable.from([
            text.slice(0, cut), text.slice(cut, last), text.slice(last), Buffer.from('!\r\n'),
          ]));
          const octets = Buffer.from(`${text}!\r\n`, 'utf8');
          checkReceived(server, server.recorder.messages[0]!, octets, result, false);
        } finally {
          await smtp.quit();
        }
      });
  }

  test('a message that is neither Buffer, string nor stream is refused before MAIL', async () => {
    const server = await recorder({ chunking: true, pipelining: true, eightBitMime: true,
      size: false });
    const smtp = client(server);
    await smtp.connect();
    try {
      const bytes = new Uint8Array(Buffer.from('Subject: x\r\n\r\nb\r\n'));
      await assert.rejects(smtp.send({ from: 'a@x.test', to: ['b@x.test'] },
        bytes as unknown as MessageSource), ConfigurationError);
      assert.equal(smtp.alive, true, 'nothing was sent, the session goes on');
      await smtp.send({ from: 'a@x.test', to: ['b@x.test'] }, Buffer.from(bytes));
      assert.equal(server.recorder.messages.length, 1);
    } finally {
      await smtp.quit();
    }
  });

  for (const chunking of [false, true]) {
    const method = chunking ? 'BDAT' : 'DATA';
    test(`${method}: a stalled stream does not outlive the connection`, { timeout: 10_000 },
      async () => {
        const server = await recorder({ chunking, pipelining: true, eightBitMime: true,
          size: false });
        const smtp = client(server);
        await smtp.connect();
        const stalled = new Readable({ read() {} });
        stalled.push(Buffer.alloc(MIB + 1, 'a'));
        const sent = smtp.send({ from: 'a@x.test', to: ['b@x.test'] }, stalled);
        // The server gives up on the data (as Postfix does after smtpd_timeout) and closes.
        await new Promise((resolve) => setTimeout(resolve, 100));
        await server.recorder.close();
        await assert.rejects(sent, SmtpConnectionError);
        assert.equal(stalled.destroyed, true);
        assert.deepEqual(server.recorder.messages, []);
      });

    for (const first of [true, false]) {
    test(`${method}: a stream that gives nothing for the data-block timeout fails the send` +
      (first ? ' (after a first chunk)' : ' (not even a first chunk)'),
    { timeout: 10_000 }, async () => {
        const server = await recorder({ chunking, pipelining: true, eightBitMime: true,
          size: false });
        const smtp = new SmtpClient({
          host: '127.0.0.1',
          port: server.recorder.port,
          secure: 'None',
          clientName: 'client.test',
          timeouts: { command: 10_000, dataBlock: 300, dataTermination: 10_000 },
        });
        await smtp.connect();
        const stalled = new Readable({ read() {} });
        if (first) stalled.push('Subject: x\r\n\r\nthe first line, then nothing\r\n');
        const error = await smtp.send({ from: 'a@x.test', to: ['b@x.test'] }, stalled)
          .then(() => undefined, (e: unknown) => e);
        assert.ok(error instanceof SmtpTimeoutError, String(error));
        assert.equal(error.stage, 'data-block');
        assert.equal(error.timeoutMs, 300);
        assert.match(error.message, /gave no data for 300 ms/);
        assert.equal(stalled.destroyed, true);
        // The transaction was open: the connection is closed, and nothing was delivered.
        assert.equal(smtp.alive, false);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(server.recorder.messages, []);
      });
    }
  }
});
