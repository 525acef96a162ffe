/** `host:port` in messages: an IPv6 address is bracketed, or the port reads as part of it. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { SmtpClient } from '../../src/client/smtp-client.js';
import { SmtpConnectionError, formatEndpoint } from '../../src/errors.js';

test('formatEndpoint brackets IPv6 addresses only (RFC 3986 §3.2.2)', () => {
  assert.equal(formatEndpoint('::1', 25), '[::1]:25');
  assert.equal(formatEndpoint('2001:db8::7', 587), '[2001:db8::7]:587');
  assert.equal(formatEndpoint('[::1]', 25), '[::1]:25');
  assert.equal(formatEndpoint('127.0.0.1', 2525), '127.0.0.1:2525');
  assert.equal(formatEndpoint('mail.example.com', 465), 'mail.example.com:465');
});

test('a refused connection to ::1 names [::1]:port', async () => {
  // A port that was free a moment ago: nothing listens on it now.
  const probe = createServer().listen(0, '::1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  const client = new SmtpClient({ host: '::1', port, secure: 'None' });
  await assert.rejects(client.connect(), (error: unknown) =>
    error instanceof SmtpConnectionError &&
    error.message.startsWith(`Could not connect to [::1]:${port}: `));
});
