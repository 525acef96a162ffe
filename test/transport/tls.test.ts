import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigurationError } from '../../src/errors.js';
import { normaliseThumbprint, prepareTls } from '../../src/transport/tls.js';

const HEX = 'AB'.repeat(32);

test('a SHA-256 thumbprint is accepted with or without colons, any case', () => {
  assert.equal(normaliseThumbprint(HEX.toLowerCase()), HEX);
  assert.equal(normaliseThumbprint(HEX.match(/../g)!.join(':')), HEX);
  assert.throws(() => normaliseThumbprint('AB'.repeat(20)), ConfigurationError); // SHA-1 size
  assert.throws(() => normaliseThumbprint('zz'.repeat(32)), ConfigurationError);
});

test('defaults: TLS 1.2 minimum, Node verifies, SNI only for host names', () => {
  const named = prepareTls('mail.example.com', 25).options;
  assert.equal(named.minVersion, 'TLSv1.2');
  assert.equal(named.rejectUnauthorized, true);
  assert.equal(named.servername, 'mail.example.com');
  const ip = prepareTls('127.0.0.1', 25).options;
  assert.equal(ip.servername, undefined);
  assert.equal(prepareTls('127.0.0.1', 25, { servername: 'mx.test' }).options.servername,
    'mx.test');
  assert.equal(prepareTls('::1', 25, { minVersion: 'TLSv1.3' }).options.minVersion, 'TLSv1.3');
});

test('a pin or trustServerCertificate moves the check after the handshake', () => {
  assert.equal(prepareTls('h.test', 25, { certificateThumbprint: HEX }).options
    .rejectUnauthorized, false);
  assert.equal(prepareTls('h.test', 25, { trustServerCertificate: true }).options
    .rejectUnauthorized, false);
});
