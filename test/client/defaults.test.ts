import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import {
  DEFAULT_TIMEOUTS,
  defaultClientName,
  isValidFqdn,
  resolveSecureMode,
} from '../../src/client/smtp-client.js';

test('isValidFqdn wants a dot and valid labels', () => {
  assert.equal(isValidFqdn('mail.example.com'), true);
  assert.equal(isValidFqdn('a-b.c1.example'), true);
  assert.equal(isValidFqdn('host.'), false);
  assert.equal(isValidFqdn('localhost'), false);
  assert.equal(isValidFqdn('-bad.example.com'), false);
  assert.equal(isValidFqdn('under_score.example.com'), false);
  assert.equal(isValidFqdn('10.0.0.1'), false);
  assert.equal(isValidFqdn(`${'a'.repeat(64)}.example.com`), false);
});

test('the default EHLO name: this FQDN, else an address literal (RFC 5321 §4.1.3)', () => {
  if (isValidFqdn(hostname())) {
    assert.equal(defaultClientName('127.0.0.1'), hostname());
    return;
  }
  assert.equal(defaultClientName('127.0.0.1'), '[127.0.0.1]');
  assert.equal(defaultClientName('::ffff:127.0.0.1'), '[127.0.0.1]');
  assert.equal(defaultClientName('::1'), '[IPv6:::1]');
  assert.equal(defaultClientName(undefined), '[127.0.0.1]');
});

test('Auto is SslOnConnect on 465, StartTlsWhenAvailable elsewhere', () => {
  assert.equal(resolveSecureMode('Auto', 465), 'SslOnConnect');
  assert.equal(resolveSecureMode(undefined, 587), 'StartTlsWhenAvailable');
  assert.equal(resolveSecureMode(undefined, undefined), 'StartTlsWhenAvailable');
  assert.equal(resolveSecureMode('StartTls', 465), 'StartTls');
});

test('default timeouts follow RFC 5321 §4.5.3.2', () => {
  assert.deepEqual({ ...DEFAULT_TIMEOUTS }, { connect: 30_000, greeting: 300_000,
    command: 300_000, dataInitiation: 120_000, dataBlock: 180_000, dataTermination: 600_000 });
});
