import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCapabilities } from '../../src/protocol/capabilities.js';

test('parses the EHLO reply of Postfix 3.7 (the rig, port 3525)', () => {
  const caps = parseCapabilities({
    code: 250,
    lines: ['mail.rig.test', 'PIPELINING', 'SIZE 52428800', 'ETRN', 'STARTTLS',
      'AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256 GSSAPI', 'ENHANCEDSTATUSCODES',
      '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'],
  });
  assert.equal(caps.size, 52428800);
  assert.deepEqual(caps.auth, ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256',
    'GSSAPI']);
  assert.equal(caps.startTls, true);
  assert.equal(caps.pipelining, true);
  assert.equal(caps.eightBitMime, true);
  assert.equal(caps.smtpUtf8, true);
  assert.equal(caps.chunking, true);
  assert.equal(caps.dsn, true);
  assert.equal(caps.enhancedStatusCodes, true);
  assert.equal(caps.binaryMime, false);
  assert.equal(caps.requireTls, false);
  assert.equal(caps.keywords.get('ETRN'), '');
});

test('is case-insensitive, merges the old AUTH= form, keeps unknown keywords', () => {
  const caps = parseCapabilities({
    code: 250,
    lines: ['mx.example.com Hello', 'auth login plain', 'AUTH=LOGIN XOAUTH2', 'starttls',
      'x-exps GSSAPI NTLM', 'BinaryMime', 'requiretls', 'size'],
  });
  assert.deepEqual(caps.auth, ['LOGIN', 'PLAIN', 'XOAUTH2']);
  assert.equal(caps.startTls, true);
  assert.equal(caps.binaryMime, true);
  assert.equal(caps.requireTls, true);
  assert.equal(caps.keywords.get('X-EXPS'), 'GSSAPI NTLM');
  // RFC 1870: SIZE without a number (or 0) means no fixed limit.
  assert.equal(caps.keywords.has('SIZE'), true);
  assert.equal(caps.size, undefined);
});

test('a one-line EHLO reply offers nothing', () => {
  const caps = parseCapabilities({ code: 250, lines: ['mx.example.com'] });
  assert.equal(caps.keywords.size, 0);
  assert.deepEqual(caps.auth, []);
  assert.equal(caps.pipelining, false);
});
