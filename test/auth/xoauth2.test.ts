import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XOAuth2Mechanism } from '../../src/auth/xoauth2.js';
import { accessTokenFromEnvironment } from '../../src/auth/token.js';
import { SmtpAuthenticationError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';

// Google's XOAUTH2 protocol page (developers.google.com/gmail/imap/xoauth2-protocol).
const GOOGLE_TOKEN = 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg';
const GOOGLE_RESPONSE =
  'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhk' +
  'SFJoZG1semRHRXVZMjl0Q2cBAQ==';

test("XOAUTH2 gives the initial response of Google's documentation", async () => {
  const xoauth2 = new XOAuth2Mechanism({
    username: 'someuser@example.com',
    accessToken: new Secret(GOOGLE_TOKEN),
  });
  assert.equal((await xoauth2.start()).toString('base64'), GOOGLE_RESPONSE);
});

test('XOAUTH2 asks a provider for the token, with refresh as told', async () => {
  const requests: boolean[] = [];
  const xoauth2 = new XOAuth2Mechanism({
    username: 'someuser@example.com',
    accessToken: async ({ refresh }) => {
      requests.push(refresh);
      return GOOGLE_TOKEN;
    },
    refresh: true,
  });
  assert.equal((await xoauth2.start()).toString('base64'), GOOGLE_RESPONSE);
  assert.deepEqual(requests, [true]);
});

test('XOAUTH2 answers the error challenge with an empty response and keeps its JSON', async () => {
  const xoauth2 = new XOAuth2Mechanism({ username: 'u@example.com', accessToken: new Secret('t') });
  await xoauth2.start();
  // Gmail's error challenge: {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}
  const json = '{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}';
  const answer = await xoauth2.next(Buffer.from(json));
  assert.equal(answer.length, 0);
  assert.deepEqual(xoauth2.errorChallenge, {
    status: '400',
    schemes: 'Bearer',
    scope: 'https://mail.google.com/',
  });
});

test('An environment-variable token is read at each use and never shown', async () => {
  const name = 'SMTPCM_TEST_TOKEN_XOAUTH2';
  const provider = accessTokenFromEnvironment(name);
  delete process.env[name];
  const missing = new XOAuth2Mechanism({ username: 'u@example.com', accessToken: provider });
  await assert.rejects(
    missing.start(),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'unavailable' &&
      error.message.includes(name),
  );
  process.env[name] = 'env-token-value';
  try {
    const token = await provider({ refresh: false });
    assert.equal(String(token), '********');
    const present = new XOAuth2Mechanism({ username: 'u@example.com', accessToken: provider });
    assert.match((await present.start()).toString(), /auth=Bearer env-token-value\x01\x01$/);
  } finally {
    delete process.env[name];
  }
});

test('XOAUTH2 refuses a token holding its %x01 separator, without showing it', async () => {
  const xoauth2 = new XOAuth2Mechanism({
    username: 'u@example.com',
    accessToken: new Secret('tok\x01auth=Bearer injected'),
  });
  await assert.rejects(
    xoauth2.start(),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'refused' &&
      error.message.includes('access token') &&
      !error.message.includes('injected'),
  );
});
