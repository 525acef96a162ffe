import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { main } from '../../examples/send-mail-from-code.js';

describe('examples', () => {
  it('send-mail-from-code.ts sends to every recipient, Bcc only in the envelope', async () => {
    const { result, captured } = await main();
    assert.deepEqual(result.accepted, [
      'data@example.com',
      'ops@example.com',
      'archive@example.com',
    ]);
    const parsed = await simpleParser(await readFile(captured));
    assert.equal(parsed.subject, 'Load finished: 1 204 rows');
    assert.equal(parsed.text?.trim(), 'Load finished: 1 204 rows.');
    assert.match(String(parsed.html), /<b>1 204<\/b>/);
    assert.equal(parsed.headers.get('bcc'), undefined);
    await rm(dirname(captured), { recursive: true, force: true });
  });
});
