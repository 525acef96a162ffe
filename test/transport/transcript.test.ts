import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TranscriptLine } from '../../src/log.js';
import { Transcript, TRANSCRIPT_TAIL, maskAuthLine } from '../../src/transport/transcript.js';

test('maskAuthLine keeps AUTH and the mechanism, masks everything else', () => {
  assert.equal(maskAuthLine('AUTH PLAIN AGFsaWNlAHNlY3JldA=='), 'AUTH PLAIN ********');
  assert.equal(maskAuthLine('AUTH LOGIN'), 'AUTH LOGIN');
  assert.equal(maskAuthLine('auth xoauth2 dXNlcj1h'), 'auth xoauth2 ********');
  assert.equal(maskAuthLine('YWxpY2U='), '********');
  assert.equal(maskAuthLine('*'), '********');
  assert.equal(maskAuthLine(''), '********');
});

test('inside an AUTH exchange client lines and 334 challenges are masked', () => {
  const seen: TranscriptLine[] = [];
  const transcript = new Transcript((line) => seen.push(line));
  transcript.client('EHLO client.test');
  transcript.beginAuth();
  transcript.client('AUTH CRAM-MD5');
  // RFC 2195's example challenge.
  transcript.server({ code: 334,
    lines: ['PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+'] });
  transcript.client('dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw');
  transcript.server({ code: 334, lines: [''] });
  transcript.server({ code: 235, enhancedCode: { class: 2, subject: 7, detail: 0 },
    lines: ['Authentication successful'] });
  transcript.endAuth();
  transcript.client('MAIL FROM:<a@b>');
  assert.deepEqual(seen.map((line) => `${line.direction}: ${line.text}`), [
    'C: EHLO client.test', 'C: AUTH CRAM-MD5', 'S: 334 ********', 'C: ********', 'S: 334',
    'S: 235 2.7.0 Authentication successful', 'C: MAIL FROM:<a@b>',
  ]);
});

test('multi-line replies are logged line by line with their separators', () => {
  const transcript = new Transcript();
  transcript.server({ code: 250, lines: ['mx.test', 'PIPELINING', 'SIZE 10'] });
  assert.deepEqual(transcript.recent(), ['S: 250-mx.test', 'S: 250-PIPELINING', 'S: 250 SIZE 10']);
});

test('keeps only the last lines for errors', () => {
  const transcript = new Transcript();
  for (let i = 0; i < 25; i++) transcript.note(`line ${i}`);
  assert.equal(TRANSCRIPT_TAIL, 10);
  assert.deepEqual(transcript.recent(), Array.from({ length: 10 }, (_, i) => `*: line ${i + 15}`));
});
