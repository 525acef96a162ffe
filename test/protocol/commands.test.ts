import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigurationError } from '../../src/errors.js';
import * as commands from '../../src/protocol/commands.js';

test('builds the RFC 5321 command lines', () => {
  assert.equal(commands.ehlo('client.example.com'), 'EHLO client.example.com');
  assert.equal(commands.helo('[127.0.0.1]'), 'HELO [127.0.0.1]');
  assert.equal(commands.mailFrom(''), 'MAIL FROM:<>');
  assert.equal(commands.mailFrom('a@b.test', { SIZE: 1234, BODY: '8BITMIME', SMTPUTF8: true,
    RET: undefined }), 'MAIL FROM:<a@b.test> SIZE=1234 BODY=8BITMIME SMTPUTF8');
  assert.equal(commands.rcptTo('b@c.test', { NOTIFY: 'SUCCESS,FAILURE' }),
    'RCPT TO:<b@c.test> NOTIFY=SUCCESS,FAILURE');
  assert.equal(commands.data(), 'DATA');
  assert.equal(commands.bdat(0, true), 'BDAT 0 LAST');
  assert.equal(commands.bdat(1048576, false), 'BDAT 1048576');
  assert.equal(commands.rset(), 'RSET');
  assert.equal(commands.noop(), 'NOOP');
  assert.equal(commands.quit(), 'QUIT');
  assert.equal(commands.startTls(), 'STARTTLS');
  assert.equal(commands.auth('plain', 'AGFsaWNlAHNlY3JldA=='), 'AUTH PLAIN AGFsaWNlAHNlY3JldA==');
  assert.equal(commands.auth('LOGIN'), 'AUTH LOGIN');
  assert.equal(commands.auth('XOAUTH2', '='), 'AUTH XOAUTH2 =');
});

function refused(build: () => string, field: RegExp): void {
  assert.throws(build, (error: unknown) => error instanceof ConfigurationError
    && field.test(error.field));
}

test('refuses CR, LF and NUL in every argument, naming the field', () => {
  for (const bad of ['\r', '\n', '\r\n', '\0']) {
    refused(() => commands.ehlo(`host${bad}RSET`), /^clientName$/);
    refused(() => commands.helo(`host${bad}`), /^clientName$/);
    refused(() => commands.mailFrom(`a@b${bad}RCPT TO:<x@y>`), /^envelope\.from$/);
    refused(() => commands.rcptTo(`a@b${bad}DATA`), /^envelope\.to$/);
    refused(() => commands.mailFrom('a@b', { ENVID: `x${bad}` }), /ENVID/);
    refused(() => commands.auth(`PLAIN${bad}`), /^auth\.mechanism$/);
    refused(() => commands.auth('PLAIN', `AAAA${bad}QUIT`), /^auth\.initialResponse$/);
  }
});

test('refuses other control characters, brackets, spaces where the RFC forbids them', () => {
  refused(() => commands.mailFrom('a\tb@c'), /^envelope\.from$/);
  refused(() => commands.rcptTo('a\x7f@c'), /^envelope\.to$/);
  refused(() => commands.rcptTo('a>@c'), /^envelope\.to$/);
  refused(() => commands.rcptTo(''), /^envelope\.to$/);
  refused(() => commands.ehlo('two words'), /^clientName$/);
  refused(() => commands.ehlo(''), /^clientName$/);
  refused(() => commands.mailFrom('a@b', { 'BAD KEY': '1' }), /MAIL parameter/);
  refused(() => commands.mailFrom('a@b', { ENVID: 'a=b' }), /ENVID/);
  refused(() => commands.bdat(-1, true), /bdat/);
});

test('an AUTH refusal never quotes the response, which may be a secret', () => {
  try {
    commands.auth('PLAIN', 'hunter2 secret\r\n');
    assert.fail('expected a refusal');
  } catch (error) {
    assert.ok(error instanceof ConfigurationError);
    assert.doesNotMatch(error.message, /hunter2/);
  }
});

test('xtext encodes as RFC 3461 §4 says', () => {
  assert.equal(commands.xtext('abc-123@x'), 'abc-123@x');
  assert.equal(commands.xtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  assert.equal(commands.xtext('é\r'), '+C3+A9+0D');
});

test('addresses must have the RFC 5321 Mailbox shape; Postmaster alone as a recipient', () => {
  for (const bad of ['not an address', 'user', '@example.com', 'user@', 'a b@example.com']) {
    assert.throws(() => commands.mailFrom(bad), (error: ConfigurationError) =>
      error.field === 'envelope.from' && /not an e-mail address/.test(error.message), bad);
    assert.throws(() => commands.rcptTo(bad), (error: ConfigurationError) =>
      error.field === 'envelope.to', bad);
  }
  assert.equal(commands.mailFrom(''), 'MAIL FROM:<>');
  assert.equal(commands.rcptTo('Postmaster'), 'RCPT TO:<Postmaster>');
  assert.equal(commands.rcptTo('"john doe"@example.com'), 'RCPT TO:<"john doe"@example.com>');
  assert.equal(commands.rcptTo('jörg@bücher.example'), 'RCPT TO:<jörg@bücher.example>');
  assert.throws(() => commands.mailFrom('Postmaster'), ConfigurationError);
});
