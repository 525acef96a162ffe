import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PlainMechanism } from '../../src/auth/plain.js';
import { SmtpAuthenticationError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';

test('PLAIN gives RFC 4616 §4 first example as the initial response', async () => {
  const plain = new PlainMechanism({ username: 'tim', password: new Secret('tanstaaftanstaaf') });
  assert.equal((await plain.start()).toString('utf8'), '\0tim\0tanstaaftanstaaf');
});

test('PLAIN with an authorization id gives RFC 4616 §4 second example', async () => {
  const plain = new PlainMechanism({
    authorizationId: 'Ursel',
    username: 'Kurt',
    password: new Secret('xipj3plmq'),
  });
  assert.equal((await plain.start()).toString('utf8'), 'Ursel\0Kurt\0xipj3plmq');
});

test('PLAIN sends non-ASCII names and passwords as UTF-8', async () => {
  const plain = new PlainMechanism({ username: 'ulrich', password: new Secret('Pässwörd-€-3') });
  const message = await plain.start();
  assert.deepEqual(message, Buffer.from('\0ulrich\0P\u00e4ssw\u00f6rd-\u20ac-3', 'utf8'));
  assert.equal(message.length, 1 + 6 + 1 + 16);
});

test('PLAIN refuses a NUL in the password without showing it', () => {
  assert.throws(
    () => new PlainMechanism({ username: 'tim', password: new Secret('se\0cret') }),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'refused' &&
      !error.message.includes('se\0cret') &&
      /password contains a NUL/.test(error.message),
  );
});

test('PLAIN refuses a challenge after its message', async () => {
  const plain = new PlainMechanism({ username: 'tim', password: new Secret('x') });
  await plain.start();
  await assert.rejects(plain.next(Buffer.from('more')), SmtpAuthenticationError);
});
