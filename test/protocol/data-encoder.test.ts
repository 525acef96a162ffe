import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigurationError } from '../../src/errors.js';
import {
  BdatChunker,
  DataEncoder,
  encodeData,
  normaliseLineEndings,
  type BdatChunk,
} from '../../src/protocol/data-encoder.js';

async function encode(chunks: Buffer[], options = {}): Promise<{ out: Buffer; bytesOut: number }> {
  const encoder = new DataEncoder(options);
  const parts: Buffer[] = [];
  const done = (async () => {
    for await (const part of encoder) parts.push(part as Buffer);
  })();
  for (const chunk of chunks) encoder.write(chunk);
  encoder.end();
  await done;
  return { out: Buffer.concat(parts), bytesOut: encoder.bytesOut };
}

// An independent, obviously-correct reference: split on any line ending, stuff, join.
function reference(message: string): string {
  const lines = message.split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => (line.startsWith('.') ? `.${line}` : line) + '\r\n').join('')
    + '.\r\n';
}

const cases: Array<[string, string]> = [
  ['', '.\r\n'],
  ['a', 'a\r\n.\r\n'],
  ['a\r\n', 'a\r\n.\r\n'],
  ['a\nb\rc\r\nd', 'a\r\nb\r\nc\r\nd\r\n.\r\n'],
  ['.', '..\r\n.\r\n'],
  ['.\r\n', '..\r\n.\r\n'],
  ['x\n.\n', 'x\r\n..\r\n.\r\n'],
  ['x\r.y', 'x\r\n..y\r\n.\r\n'],
  ['x\r\r\n', 'x\r\n\r\n.\r\n'],
  ['x\n\r', 'x\r\n\r\n.\r\n'],
  ['a.b\r\n..c', 'a.b\r\n...c\r\n.\r\n'],
];

test('normalises line endings, stuffs dots, ends with one CRLF.CRLF (whole)', async () => {
  for (const [input, output] of cases) {
    const { out, bytesOut } = await encode([Buffer.from(input, 'latin1')]);
    assert.equal(out.toString('latin1'), output, JSON.stringify(input));
    assert.equal(bytesOut, out.length);
    assert.equal(encodeData(Buffer.from(input, 'latin1')).toString('latin1'), output);
    assert.equal(reference(input), output, 'the reference agrees');
  }
});

test('gives the same bytes byte by byte and split at every position', async () => {
  const message = cases.map(([input]) => input).join('|');
  const whole = (await encode([Buffer.from(message, 'latin1')])).out;
  const bytes = Buffer.from(message, 'latin1');
  const oneByOne = (await encode([...bytes].map((b) => Buffer.from([b])))).out;
  assert.deepEqual(oneByOne, whole);
  for (let i = 1; i < bytes.length; i++) {
    const split = (await encode([bytes.subarray(0, i), bytes.subarray(i)])).out;
    assert.deepEqual(split, whole, `split at ${i}`);
  }
  assert.equal(whole.toString('latin1'), reference(message));
});

test('never lets a bare CR or LF reach the wire (property)', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.constantFrom('a', '.', '\r', '\n', '\r\n', 'é', ' '), { maxLength: 40 }),
    fc.integer({ min: 1, max: 7 }),
    async (parts, cut) => {
      const message = parts.join('');
      const bytes = Buffer.from(message, 'utf8');
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += cut) chunks.push(bytes.subarray(i, i + cut));
      const { out } = await encode(chunks);
      const text = out.toString('utf8');
      assert.equal(text, reference(message));
      assert.doesNotMatch(text.replace(/\r\n/g, ''), /[\r\n]/);
      assert.equal(text.endsWith('\r\n.\r\n') || text === '.\r\n', true);
      assert.equal(text.slice(0, -3).includes('\r\n.\r\n'), false);
    }), { numRuns: 300 });
});

test('without terminate, ends after the CRLF', async () => {
  assert.equal((await encode([Buffer.from('a\n.b')], { terminate: false })).out.toString(),
    'a\r\n..b\r\n');
});

test('rejectEightBit fails the stream with ConfigurationError', async () => {
  await assert.rejects(encode([Buffer.from('abc\r\n'), Buffer.from([0xc3, 0xa9])],
    { rejectEightBit: true }), ConfigurationError);
  assert.equal((await encode([Buffer.from('abc')], { rejectEightBit: true })).out.toString(),
    'abc\r\n.\r\n');
});

test('keeps memory constant: 20 MB through the encoder in small chunks', async () => {
  const line = Buffer.from('.dot line\nbare lf\rbare cr\r\n');
  let inputBytes = 0;
  const source = Readable.from((function* () {
    for (let i = 0; i < 20 * 1024 * 1024 / line.length; i++) {
      inputBytes += line.length;
      yield line;
    }
  })());
  const encoder = new DataEncoder();
  let outBytes = 0;
  let maxChunk = 0;
  for await (const chunk of source.pipe(encoder)) {
    outBytes += (chunk as Buffer).length;
    maxChunk = Math.max(maxChunk, (chunk as Buffer).length);
  }
  // Each input line becomes '..dot line\r\nbare lf\r\nbare cr\r\n': 30 octets for 27.
  assert.equal(line.length, 27);
  assert.equal(outBytes, (inputBytes / line.length) * 30 + 3);
  // Reads may join buffered chunks, but never beyond a few stream buffers (16 KiB each
  // before Node 22, 64 KiB from Node 22 on): bounded, whatever the message size.
  const buffer = Math.max(encoder.readableHighWaterMark, encoder.writableHighWaterMark);
  assert.ok(maxChunk <= 4 * buffer, `largest chunk ${maxChunk}, stream buffer ${buffer}`);
});

async function chunk(message: Buffer[], chunkSize: number): Promise<BdatChunk[]> {
  const chunker = new BdatChunker({ chunkSize });
  const out: BdatChunk[] = [];
  const done = (async () => {
    for await (const c of chunker) out.push(c as BdatChunk);
  })();
  for (const part of message) chunker.write(part);
  chunker.end();
  await done;
  return out;
}

test('BdatChunker: normalised chunks of the given size, no stuffing, one LAST', async () => {
  const message = Buffer.from('.a\nbb\r.c');
  const expected = normaliseLineEndings(message);
  assert.equal(expected.toString(), '.a\r\nbb\r\n.c\r\n');
  for (const size of [1, 2, 3, 5, 13, 14, 100]) {
    for (const parts of [[message], [...message].map((b) => Buffer.from([b]))]) {
      const chunks = await chunk(parts, size);
      assert.deepEqual(Buffer.concat(chunks.map((c) => c.data)), expected, `size ${size}`);
      assert.deepEqual(chunks.map((c) => c.last), chunks.map((_, i) => i === chunks.length - 1));
      for (const c of chunks.slice(0, -1)) assert.equal(c.data.length, size);
      assert.ok(chunks.at(-1)!.data.length > 0 && chunks.at(-1)!.data.length <= size);
    }
  }
  const empty = await chunk([], 10);
  assert.deepEqual(empty.map((c) => [c.data.length, c.last]), [[0, true]]);
});
