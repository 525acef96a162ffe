import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthContext, AuthOptions } from '../../src/auth/mechanism.js';
import { planAuthentication } from '../../src/auth/policy.js';
import { Secret } from '../../src/secret.js';

const EVERYTHING = [
  'PLAIN',
  'LOGIN',
  'CRAM-MD5',
  'SCRAM-SHA-1',
  'SCRAM-SHA-256',
  'NTLM',
  'GSSAPI',
  'XOAUTH2',
  'OAUTHBEARER',
];
const secure: AuthContext = { host: 'mail.example.com', secure: true, offered: EVERYTHING };
const password = { username: 'alice', password: new Secret('alice-Secret-1') };

function names(auth: AuthOptions, context: AuthContext = secure): string[] {
  return planAuthentication(auth, context).candidates.map((candidate) => candidate.name);
}

test('a password login tries SCRAM-SHA-256 > SCRAM-SHA-1 > CRAM-MD5 > PLAIN > LOGIN', () => {
  assert.deepEqual(names(password), ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN', 'LOGIN']);
});

test('only what the server offers is tried, in our order, whatever the server order', () => {
  const context = { ...secure, offered: ['login', 'PLAIN', 'CRAM-MD5'] };
  assert.deepEqual(names(password, context), ['CRAM-MD5', 'PLAIN', 'LOGIN']);
});

test('NTLM joins a password login, before PLAIN, only when a domain is given', () => {
  assert.ok(!names(password).includes('NTLM'));
  assert.deepEqual(names({ ...password, domain: 'RIG' }), [
    'SCRAM-SHA-256',
    'SCRAM-SHA-1',
    'CRAM-MD5',
    'NTLM',
    'PLAIN',
    'LOGIN',
  ]);
});

test('an explicit allow-list is tried alone and in its own order', () => {
  assert.deepEqual(names({ ...password, mechanisms: ['login', 'PLAIN', 'BOGUS'] }), [
    'LOGIN',
    'PLAIN',
  ]);
});

test('Windows authentication tries GSSAPI then NTLM, never PLAIN, LOGIN or CRAM-MD5', () => {
  const windows = { ...password, windowsAuthentication: true };
  assert.deepEqual(names(windows), ['GSSAPI', 'NTLM']);
  assert.deepEqual(names({ ...windows, mechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'NTLM'] }), [
    'NTLM',
  ]);
  const plan = planAuthentication({ windowsAuthentication: true }, secure);
  assert.deepEqual(plan.candidates.map((c) => c.name), ['GSSAPI']);
  assert.deepEqual(plan.skipped, ['NTLM: needs UserName and Password']);
});

test('an access token uses XOAUTH2 before OAUTHBEARER, and XOAUTH2 needs the mailbox', () => {
  const accessToken = new Secret('token');
  assert.deepEqual(names({ username: 'u@example.com', accessToken }), ['XOAUTH2', 'OAUTHBEARER']);
  const plan = planAuthentication({ accessToken }, secure);
  assert.deepEqual(plan.candidates.map((c) => c.name), ['OAUTHBEARER']);
  assert.deepEqual(plan.skipped, ['XOAUTH2: needs UserName (the mailbox)']);
});

test('without TLS only GSSAPI may run, unless AllowInsecureAuth is set', () => {
  const clear = { ...secure, secure: false };
  const plan = planAuthentication({ ...password, windowsAuthentication: true }, clear);
  assert.deepEqual(plan.candidates.map((c) => c.name), ['GSSAPI']);
  assert.equal(plan.blockedByInsecure, true);
  assert.match(plan.skipped[0]!, /^NTLM: not used over an unencrypted connection/);
  assert.match(plan.skipped[0]!, /AllowInsecureAuth/);
  assert.deepEqual(names(password, clear), []);
  assert.deepEqual(names({ ...password, allowInsecureAuth: true }, clear), [
    'SCRAM-SHA-256',
    'SCRAM-SHA-1',
    'CRAM-MD5',
    'PLAIN',
    'LOGIN',
  ]);
});

test('-PLUS variants come first only when the session has channel binding', () => {
  const offered = { ...secure, offered: ['SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256-PLUS', 'PLAIN'] };
  assert.deepEqual(names(password, offered), ['PLAIN']);
  assert.match(
    planAuthentication(password, offered).skipped[0]!,
    /^SCRAM-SHA-256-PLUS: needs TLS 1\.3 channel binding/,
  );
  const bound = { ...offered, channelBinding: Buffer.alloc(32) };
  assert.deepEqual(names(password, bound), ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'PLAIN']);
});
