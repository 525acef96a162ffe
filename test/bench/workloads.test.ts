import assert from 'node:assert/strict';
import { test } from 'node:test';
import MailComposer from 'nodemailer/lib/mail-composer';
import { bodyText, messageDefinition, recipientsOf, WORKLOADS } from '../../bench/workloads.js';

test('bodyText has exactly the octets asked for, in CRLF lines of at most 72 characters', () => {
  for (const size of [2, 3, 73, 74, 75, 76, 1750, 100_000]) {
    const text = bodyText(size);
    assert.equal(Buffer.byteLength(text), size, `size ${size}`);
    assert.ok(text.endsWith('\r\n'));
    for (const line of text.split('\r\n').slice(0, -1)) {
      assert.ok(line.length <= 73 && !line.includes('\n') && !line.includes('\r'));
    }
  }
  assert.throws(() => bodyText(1), RangeError);
});

test('the 2 KB message is 2 KB as MailComposer composes it, sent as 7bit', async () => {
  const workload = WORKLOADS['small-2kb'];
  const message = await new MailComposer(
    messageDefinition(workload, 0, bodyText(workload.textBytes)),
  ).compile().build();
  assert.ok(Math.abs(message.length - 2048) < 100, `composed ${message.length} octets`);
  assert.match(message.toString(), /^Content-Transfer-Encoding: 7bit\r$/m);
});

test('the 5-recipient workload addresses five distinct recipients', () => {
  const to = recipientsOf(WORKLOADS['rcpt-5']);
  assert.equal(new Set(to).size, 5);
});

test('a workload with an attachment needs the file path', () => {
  assert.throws(() => messageDefinition(WORKLOADS['attachment-300mb'], 0, 'x\r\n'), /path/);
});
