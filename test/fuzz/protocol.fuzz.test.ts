/**
 * Properties of the wire-level code, checked with fast-check on thousands of generated cases
 * (a failure prints the seed and the shrunk counter-example; rerun with `{ seed, path }`):
 * - the reply parser gives the same replies for any split of valid replies, and on random
 *   bytes either parses or throws `SmtpProtocolError`, synchronously;
 * - the capability parser never throws and reports what a generated EHLO reply holds;
 * - the DATA encoder's output decodes (un-dot-stuffed, terminator stripped) to the input with
 *   line endings normalised to CRLF, has no bare CR or LF and no lone `.` line before the end,
 *   whatever the input and however it is chunked; BDAT chunks concatenate to the same octets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SmtpProtocolError } from '../../src/errors.js';
import { parseCapabilities } from '../../src/protocol/capabilities.js';
import {
  BdatChunker,
  DataEncoder,
  encodeData,
  dataOctets,
  normaliseLineEndings,
  prepareMessage,
  type BdatChunk,
} from '../../src/protocol/data-encoder.js';
import { ReplyParser } from '../../src/protocol/reply-parser.js';
import type { SmtpReply } from '../../src/protocol/reply.js';

const RUNS = 3_000;

// --- Reply parser -----------------------------------------------------------------------------

/** Reply text: printable ASCII and some UTF-8, no CR or LF (RFC 5321 textstring, RFC 6531). */
const replyText = fc.string({ unit: fc.oneof(
  fc.constantFrom(...' !"#$%&()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~'.split('')),
  fc.constantFrom('é', 'ü', '✓', '\t'),
), maxLength: 60 });

const replyArb = fc.record({
  code: fc.integer({ min: 200, max: 559 }).filter((c) => c % 100 < 60 && c % 10 <= 9
    && Math.floor(c / 10) % 10 <= 5),
  lines: fc.array(replyText, { minLength: 1, maxLength: 5 }),
});

function wire(reply: { code: number; lines: string[] }): Buffer {
  return Buffer.from(reply.lines.map((text, i) =>
    `${reply.code}${i === reply.lines.length - 1 ? ' ' : '-'}${text}\r\n`).join(''), 'utf8');
}

function parseAll(chunks: Buffer[]): SmtpReply[] {
  const parser = new ReplyParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

/** Cuts `bytes` at the given (sorted, deduplicated) offsets. */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

test('reply parser: any split of valid replies gives the same replies as the whole', () => {
  fc.assert(fc.property(fc.array(replyArb, { minLength: 1, maxLength: 6 }),
    fc.array(fc.nat(), { maxLength: 20 }), (replies, offsets) => {
      const bytes = Buffer.concat(replies.map(wire));
      const whole = parseAll([bytes]);
      assert.equal(whole.length, replies.length);
      whole.forEach((reply, i) => assert.equal(reply.code, replies[i]!.code));
      assert.deepEqual(parseAll(cut(bytes, offsets)), whole);
      assert.deepEqual(parseAll([...bytes].map((b) => Buffer.from([b]))), whole);
    }), { numRuns: RUNS });
});

test('reply parser: the text survives, enhanced codes apart (RFC 2034)', () => {
  fc.assert(fc.property(replyArb, (reply) => {
    const [parsed] = parseAll([wire(reply)]);
    assert.equal(parsed!.lines.length, reply.lines.length);
    if (parsed!.enhancedCode === undefined) assert.deepEqual(parsed!.lines, reply.lines);
  }), { numRuns: RUNS });
});

test('reply parser: random bytes, split anywhere, parse or throw SmtpProtocolError', () => {
  const noise = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    // Mostly reply-shaped noise, to get past the first checks.
    fc.array(fc.oneof(fc.constantFrom('250', '250-', '354', '220 ', '\r\n', '\n', '\r', '-',
      ' ', '5.1.1 ', '\0', '999', 'x'), replyText), { maxLength: 30 })
      .map((parts) => new Uint8Array(Buffer.from(parts.join(''), 'utf8'))),
  );
  fc.assert(fc.property(noise, fc.array(fc.nat(), { maxLength: 10 }), (bytes, offsets) => {
    const parser = new ReplyParser({ maxLineLength: 128, maxLines: 8 });
    try {
      for (const chunk of cut(Buffer.from(bytes), offsets)) {
        for (const reply of parser.push(chunk)) {
          assert.ok(reply.code >= 200 && reply.code <= 559);
          assert.ok(reply.lines.length >= 1 && reply.lines.length <= 8);
          // No control character (but TAB) reaches a log or an error through a reply text.
          for (const line of reply.lines) assert.ok(!/[\x00-\x08\x0a-\x1f\x7f]/.test(line));
        }
      }
    } catch (error) {
      assert.ok(error instanceof SmtpProtocolError, String(error));
      assert.ok(!/[\r\n]/.test(error.message), 'the offending bytes are escaped');
    }
  }), { numRuns: RUNS });
});

// --- Capability parser ------------------------------------------------------------------------

const KNOWN = ['PIPELINING', 'STARTTLS', '8BITMIME', 'SMTPUTF8', 'CHUNKING', 'DSN',
  'ENHANCEDSTATUSCODES', 'BINARYMIME', 'REQUIRETLS'];

test('capability parser: never throws; keywords upper case; AUTH without duplicates', () => {
  const keywordLine = fc.oneof(
    fc.constantFrom(...KNOWN).chain((k) => fc.constantFrom(k, k.toLowerCase())),
    fc.tuple(fc.constantFrom('AUTH ', 'auth ', 'AUTH=', 'SIZE '), replyText)
      .map(([k, v]) => k + v),
    replyText,
  );
  fc.assert(fc.property(fc.array(keywordLine, { maxLength: 20 }), (lines) => {
    const caps = parseCapabilities({ code: 250, lines: ['mx.test', ...lines] });
    for (const keyword of caps.keywords.keys()) assert.equal(keyword, keyword.toUpperCase());
    assert.equal(new Set(caps.auth).size, caps.auth.length);
    for (const mechanism of caps.auth) {
      assert.equal(mechanism, mechanism.toUpperCase());
      assert.ok(!/\s/.test(mechanism));
    }
    if (caps.size !== undefined) assert.ok(Number.isSafeInteger(caps.size) && caps.size > 0);
    const offered = new Set(lines.map((l) => l.trim().split(/\s+/)[0]!.toUpperCase()));
    assert.equal(caps.startTls, offered.has('STARTTLS'));
    assert.equal(caps.pipelining, offered.has('PIPELINING'));
    assert.equal(caps.chunking, offered.has('CHUNKING'));
  }), { numRuns: RUNS });
});

// --- DATA encoder -----------------------------------------------------------------------------

/** Message octets, biased toward what matters: CR, LF, dots at line starts, 8-bit. */
const messageBytes = fc.array(fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('\r', '\n', '\r\n', '.', '..', '\n.\n', '\r.\r',
    '.\r\n', 'a', ' ') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('é', '\0', '\x7f', '\xff') },
), { maxLength: 80 }).map((parts) => Buffer.from(parts.join(''), 'utf8'));

/** What a server does with DATA: strip the terminator, un-dot-stuff each line. */
function decodeData(encoded: Buffer): Buffer {
  const text = encoded.toString('latin1');
  assert.ok(text.endsWith('.\r\n'), 'ends with the terminator');
  const body = text.slice(0, -3);
  assert.ok(body === '' || body.endsWith('\r\n'), 'the body ends with CRLF');
  const lines = body === '' ? [] : body.slice(0, -2).split('\r\n');
  for (const line of lines) assert.notEqual(line, '.', 'a lone dot line before the end');
  return Buffer.from(lines.map((line) => (line.startsWith('.') ? line.slice(1) : line))
    .map((line) => `${line}\r\n`).join(''), 'latin1');
}

function assertOnlyCrlf(bytes: Buffer): void {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0d) assert.equal(bytes[i + 1], 0x0a, `bare CR at ${i}`);
    if (bytes[i] === 0x0a) assert.equal(bytes[i - 1], 0x0d, `bare LF at ${i}`);
  }
}

test('DATA encoder: decode(encode(m)) is m with CRLF line ends; no bare CR/LF, no lone dot',
  () => {
    fc.assert(fc.property(messageBytes, (message) => {
      const encoded = encodeData(message);
      assertOnlyCrlf(encoded);
      const normalised = normaliseLineEndings(message);
      assertOnlyCrlf(normalised);
      assert.deepEqual(decodeData(encoded), normalised);
      // Normalising is what a CRLF-only reader of the input sees: same lines.
      const lines = message.toString('latin1').split(/\r\n|\r|\n/);
      if (lines.at(-1) === '') lines.pop();
      assert.deepEqual(normalised.toString('latin1'),
        lines.map((line) => `${line}\r\n`).join(''));
    }), { numRuns: RUNS });
  });

test('prepareMessage and dataOctets (the client\'s in-memory path) agree with encodeData',
  () => {
    fc.assert(fc.property(messageBytes, (message) => {
      const prepared = prepareMessage(message);
      assert.deepEqual(prepared.normalised, normaliseLineEndings(message));
      assert.equal(prepared.eightBit, message.some((byte) => byte > 0x7f));
      const startsWithDot = prepared.normalised.toString('latin1').split('\r\n')
        .some((line) => line.startsWith('.'));
      assert.equal(prepared.needsStuffing, startsWithDot);
      // Already normalised: the message itself, not a copy.
      if (prepared.normalised.equals(message)) assert.equal(prepared.normalised, message);
      assert.deepEqual(Buffer.concat(dataOctets(prepared)), encodeData(message));
    }), { numRuns: RUNS });
  });

/** Messages mostly in CRLF already (what composers write), so most pieces pass unchanged. */
const crlfMessage = fc.array(fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('text line', '', 'base64QUJD+/=', 'é') },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', '.dot', 'bare\rcr', 'bare\nlf') },
), { maxLength: 40 }).map((lines) => Buffer.from(lines.map((l) => `${l}\r\n`).join(''),
  'utf8'));

test('DATA encoder and BDAT chunker: CRLF messages cut anywhere (also inside a CRLF)',
  async () => {
    await fc.assert(fc.asyncProperty(crlfMessage, fc.array(fc.nat(), { maxLength: 12 }),
      async (message, offsets) => {
        const pieces = cut(message, offsets);
        const data = Buffer.concat(await streamed<Buffer>(new DataEncoder(), pieces));
        assert.deepEqual(decodeData(data), normaliseLineEndings(message));
        assert.deepEqual(data, encodeData(message));
        const chunks = await streamed<BdatChunk>(new BdatChunker({ chunkSize: 64 }), pieces);
        assert.deepEqual(Buffer.concat(chunks.map((c) => c.data)), normaliseLineEndings(message));
        const encoder = new DataEncoder();
        await streamed<Buffer>(encoder, pieces);
        assert.equal(encoder.eightBit, message.some((byte) => byte > 0x7f));
      }), { numRuns: 2_000 });
  });

async function streamed<T>(transform: DataEncoder | BdatChunker, chunks: Buffer[]):
  Promise<T[]> {
  const out: T[] = [];
  const done = (async () => {
    for await (const piece of transform) out.push(piece as T);
  })();
  for (const chunk of chunks) transform.write(chunk);
  transform.end();
  await done;
  return out;
}

test('DATA encoder and BDAT chunker: any chunking of the input gives the same octets',
  async () => {
    await fc.assert(fc.asyncProperty(messageBytes, fc.array(fc.nat(), { maxLength: 8 }),
      fc.integer({ min: 1, max: 16 }), async (message, offsets, chunkSize) => {
        const pieces = cut(message, offsets);
        const data = Buffer.concat(await streamed<Buffer>(new DataEncoder(), pieces));
        assert.deepEqual(data, encodeData(message));
        const chunks = await streamed<BdatChunk>(new BdatChunker({ chunkSize }), pieces);
        assert.equal(chunks.filter((c) => c.last).length, 1);
        assert.equal(chunks.at(-1)!.last, true);
        for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.data.length, chunkSize);
        assert.deepEqual(Buffer.concat(chunks.map((c) => c.data)), normaliseLineEndings(message));
      }), { numRuns: 1_500 });
  });
