import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CramMd5Mechanism } from '../../src/auth/cram-md5.js';
import { SmtpAuthenticationError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';

test('CRAM-MD5 reproduces the RFC 2195 §2 example', async () => {
  const cram = new CramMd5Mechanism({ username: 'tim', password: new Secret('tanstaaftanstaaf') });
  assert.equal(await cram.start(), undefined);
  const challenge = Buffer.from(
    'PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+',
    'base64',
  );
  assert.equal(challenge.toString(), '<1896.697170952@postoffice.reston.mci.net>');
  const response = await cram.next(challenge);
  assert.equal(response.toString(), 'tim b913a602c7eda7a495b4e6e7334d3890');
  assert.equal(response.toString('base64'), 'dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw');
});

test('CRAM-MD5 refuses an empty or a second challenge', async () => {
  const cram = new CramMd5Mechanism({ username: 'tim', password: new Secret('x') });
  await assert.rejects(cram.next(Buffer.alloc(0)), SmtpAuthenticationError);
  await cram.next(Buffer.from('<1@x>'));
  await assert.rejects(cram.next(Buffer.from('<2@x>')), SmtpAuthenticationError);
});
