import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmtpProtocolError } from '../../src/errors.js';
import { ReplyParser, quoteLine } from '../../src/protocol/reply-parser.js';
import type { SmtpReply } from '../../src/protocol/reply.js';

// Replies as Postfix and Exchange send them (RFC 5321 §4.2, RFC 2034 enhanced codes).
const wire = Buffer.from(
  '220-mail.rig.test ESMTP Postfix\r\n' +
    '220 second line\r\n' +
    '250-mail.rig.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 ENHANCEDSTATUSCODES\r\n' +
    '354\r\n' +
    '334\r\n' +
    '334 VXNlcm5hbWU6\r\n' +
    '550 5.1.1 <reject@rig.test>: Recipient address rejected: User unknown\r\n' +
    '451-4.3.0 first\r\n451 4.3.0 second\r\n' +
    '250 2.0.0 Ok: queued as 4Qx ünïcödé\r\n' +
    '250 5.1.1 class differs so this stays text\r\n',
  'utf8',
);

const expected: SmtpReply[] = [
  { code: 220, lines: ['mail.rig.test ESMTP Postfix', 'second line'] },
  { code: 250, lines: ['mail.rig.test', 'PIPELINING', 'SIZE 10240000', 'ENHANCEDSTATUSCODES'] },
  { code: 354, lines: [''] },
  { code: 334, lines: [''] },
  { code: 334, lines: ['VXNlcm5hbWU6'] },
  {
    code: 550,
    enhancedCode: { class: 5, subject: 1, detail: 1 },
    lines: ['<reject@rig.test>: Recipient address rejected: User unknown'],
  },
  { code: 451, enhancedCode: { class: 4, subject: 3, detail: 0 }, lines: ['first', 'second'] },
  {
    code: 250,
    enhancedCode: { class: 2, subject: 0, detail: 0 },
    lines: ['Ok: queued as 4Qx ünïcödé'],
  },
  { code: 250, lines: ['5.1.1 class differs so this stays text'] },
];

function feed(chunks: Buffer[]): SmtpReply[] {
  const parser = new ReplyParser();
  const out: SmtpReply[] = [];
  for (const chunk of chunks) out.push(...parser.push(chunk));
  assert.equal(parser.pending, false);
  return out;
}

test('parses replies delivered whole', () => {
  assert.deepEqual(feed([wire]), expected);
});

test('parses replies delivered byte by byte', () => {
  assert.deepEqual(feed([...wire].map((b) => Buffer.from([b]))), expected);
});

test('parses replies split at every position', () => {
  for (let i = 1; i < wire.length; i++) {
    assert.deepEqual(feed([wire.subarray(0, i), wire.subarray(i)]), expected, `split at ${i}`);
  }
});

test('accepts a bare LF line ending', () => {
  assert.deepEqual(feed([Buffer.from('250-a\n250 b\n')]), [{ code: 250, lines: ['a', 'b'] }]);
});

test('pending is true inside a multi-line reply and a partial line', () => {
  const parser = new ReplyParser();
  assert.deepEqual(parser.push(Buffer.from('250-first\r\n')), []);
  assert.equal(parser.pending, true);
  assert.deepEqual(parser.push(Buffer.from('250 la')), []);
  assert.equal(parser.pending, true);
  assert.deepEqual(parser.push(Buffer.from('st\r\n')), [{ code: 250, lines: ['first', 'last'] }]);
  assert.equal(parser.pending, false);
});

function rejects(input: string, pattern: RegExp, options = {}): void {
  const parser = new ReplyParser(options);
  assert.throws(() => parser.push(Buffer.from(input, 'latin1')),
    (error: unknown) => error instanceof SmtpProtocolError && pattern.test(error.message));
}

test('refuses malformed lines, quoting them escaped', () => {
  rejects('hello\r\n', /malformed.*"hello"/);
  rejects('25\r\n', /three digits/);
  rejects('2x0 ok\r\n', /"2x0 ok"/);
  rejects('600 no such class\r\n', /"600 no such class"/);
  rejects('199 too low\r\n', /three digits/);
  // RFC 5321 §4.2: 2yz to 5yz, and y (the category) 0 to 5; 299 and 999 have three digits
  // but are no reply codes, and the message says which rule they break.
  rejects('299 weird ok\r\n', new RegExp('\\(it does not start with a reply code of RFC 5321 ' +
    '§4\\.2, three digits from 200 to 559 with a middle digit from 0 to 5\\): "299 weird ok"'));
  rejects('999 weird\r\n', /from 200 to 559.*"999 weird"/);
  rejects('250_ok\r\n', /not followed by a space/);
  rejects('250\x00bad\r\n', /"250\\x00bad"/);
});

test('refuses a code that changes inside a reply', () => {
  rejects('250-one\r\n251 two\r\n', /code 251 inside a 250 reply/);
});

test('bounds the line length, complete or partial', () => {
  rejects(`250 ${'x'.repeat(100)}\r\n`, /longer than 50 octets/, { maxLineLength: 50 });
  rejects(`250 ${'x'.repeat(100)}`, /longer than 50 octets/, { maxLineLength: 50 });
  // Exactly at the limit (CRLF included) is fine.
  const parser = new ReplyParser({ maxLineLength: 10 });
  assert.deepEqual(parser.push(Buffer.from('250 abcd\r\n')), [{ code: 250, lines: ['abcd'] }]);
});

test('bounds the number of lines of one reply', () => {
  rejects('250-a\r\n250-b\r\n250-c\r\n250 d\r\n', /more than 3 lines/, { maxLines: 3 });
  const byteByByte = new ReplyParser({ maxLineLength: 8 });
  assert.throws(() => {
    for (const b of Buffer.from('250 abcdefghijk')) byteByByte.push(Buffer.from([b]));
  }, SmtpProtocolError);
});

test('quoteLine escapes and truncates', () => {
  assert.equal(quoteLine('a"b\\c\r\n\t\x1b'), '"a\\"b\\\\c\\r\\n\\t\\x1b"');
  assert.equal(quoteLine('y'.repeat(200)), `"${'y'.repeat(80)}"...`);
});
