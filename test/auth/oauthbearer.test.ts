import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OAuthBearerMechanism } from '../../src/auth/oauthbearer.js';
import { Secret } from '../../src/secret.js';

// RFC 7628 §4.1 and §4.4 use this token and user.
const TOKEN = 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==';

test('OAUTHBEARER reproduces the RFC 7628 §4.4 SMTP initial response', async () => {
  const bearer = new OAuthBearerMechanism({
    username: 'user@example.com',
    accessToken: new Secret(TOKEN),
    host: 'server.example.com',
    port: 587,
  });
  assert.equal(
    (await bearer.start()).toString('base64'),
    'bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVy' +
      'IHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB',
  );
});

test('OAUTHBEARER reproduces the RFC 7628 §4.1 IMAP initial response (port 143)', async () => {
  const bearer = new OAuthBearerMechanism({
    username: 'user@example.com',
    accessToken: new Secret(TOKEN),
    host: 'server.example.com',
    port: 143,
  });
  assert.equal(
    (await bearer.start()).toString('base64'),
    'bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVy' +
      'IHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB',
  );
});

test('OAUTHBEARER answers the RFC 7628 §4.4 error challenge with AQ== (%x01)', async () => {
  const bearer = new OAuthBearerMechanism({ accessToken: new Secret(TOKEN) });
  await bearer.start();
  const challenge = Buffer.from(
    'eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6ImJlYXJlciBtYWMiLCJzY29wZSI6Imh0dHBzOi8v' +
      'bWFpbC5leGFtcGxlLmNvbS8ifQ==',
    'base64',
  );
  assert.equal((await bearer.next(challenge)).toString('base64'), 'AQ==');
  assert.deepEqual(bearer.errorChallenge, {
    status: 'invalid_token',
    schemes: 'bearer mac',
    scope: 'https://mail.example.com/',
  });
});

test('OAUTHBEARER without a user name sends an empty authzid', async () => {
  const bearer = new OAuthBearerMechanism({ accessToken: new Secret('t'), host: 'h' });
  assert.equal((await bearer.start()).toString(), 'n,,\x01host=h\x01auth=Bearer t\x01\x01');
});
