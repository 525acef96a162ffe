/**
 * The AUTH loop against a scripted SaslExchange: selection order, fallback on 504,
 * plaintext refusal, OAuth2 refresh after an error challenge, bad credentials stopping at
 * once, Windows authentication, and no secret in any error or log line.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { authenticate } from '../../src/auth/authenticate.js';
import type { AuthContext, AuthOptions } from '../../src/auth/mechanism.js';
import { SmtpAuthenticationError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { Secret } from '../../src/secret.js';
import { ScriptedExchange, challenge, decodeLine, reply } from './fake-exchange.js';
import { scramServer } from './scram-server.js';

const PASSWORD = 'alice-Secret-1';
const TOKENS = ['first-token-value', 'refreshed-token-value'];
const SECRETS = [PASSWORD, ...TOKENS];

/** Every error message and log line of this file, checked for secrets at the end. */
const seen: string[] = [];
const logger: Logger = {
  debug: (fields, message) => seen.push(message, JSON.stringify(fields)),
  info: (fields, message) => seen.push(message, JSON.stringify(fields)),
  warn: (fields, message) => seen.push(message, JSON.stringify(fields)),
  error: (fields, message) => seen.push(message, JSON.stringify(fields)),
};

async function run(exchange: ScriptedExchange, auth: AuthOptions, context: AuthContext) {
  try {
    return await authenticate(exchange, auth, context, logger);
  } catch (error) {
    if (error instanceof SmtpAuthenticationError) {
      seen.push(error.message, ...error.tried, JSON.stringify(error));
    }
    throw error;
  }
}

const password: AuthOptions = { username: 'alice', password: new Secret(PASSWORD) };
const context = (offered: string, secure = true): AuthContext => ({
  host: 'mail.example.com',
  port: 587,
  secure,
  offered: offered.split(' '),
});

test('the strongest offered mechanism is used: SCRAM-SHA-256, verified, then 235', async () => {
  const [first, final] = scramServer({ password: PASSWORD, hash: 'sha256' });
  const exchange = new ScriptedExchange([
    first!,
    final!,
    reply('235 2.7.0 Authentication successful'),
  ]);
  const offered = context('PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256');
  const result = await run(exchange, password, offered);
  assert.deepEqual(result, { mechanism: 'SCRAM-SHA-256' });
  assert.match(exchange.lines[0]!, /^AUTH SCRAM-SHA-256 [A-Za-z0-9+/=]+$/);
  assert.match(decodeLine(exchange.lines[0]!), /^n,,n=alice,r=/);
  assert.match(decodeLine(exchange.lines[1]!), /^c=biws,r=.*server-part,p=/);
  assert.equal(exchange.lines[2], '', 'the server-final is answered with an empty line');
  assert.ok(exchange.sent.every((entry) => entry.secret));
});

test('with TLS 1.3 channel binding, SCRAM-SHA-256-PLUS comes first and is bound', async () => {
  const binding = Buffer.alloc(32, 7);
  const [first, final] = scramServer({
    password: PASSWORD,
    hash: 'sha256',
    expectedChannelBinding: Buffer.concat([Buffer.from('p=tls-exporter,,'), binding]),
  });
  const exchange = new ScriptedExchange([first!, final!, reply('235 2.7.0 Authenticated')]);
  const result = await run(exchange, password, {
    ...context('SCRAM-SHA-256 SCRAM-SHA-256-PLUS PLAIN'),
    channelBinding: binding,
  });
  assert.equal(result.mechanism, 'SCRAM-SHA-256-PLUS');
  assert.match(decodeLine(exchange.lines[0]!), /^p=tls-exporter,,n=alice,r=/);
});

test('a SCRAM server with a wrong signature is rejected at once (server-proof)', async () => {
  const [first, final] = scramServer({ password: PASSWORD, hash: 'sha1', signature: 'wrong' });
  const exchange = new ScriptedExchange([
    first!,
    final!,
    reply('501 5.5.2 Authentication cancelled'),
  ]);
  await assert.rejects(
    run(exchange, password, context('SCRAM-SHA-1 PLAIN')),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'server-proof' &&
      error.mechanism === 'SCRAM-SHA-1',
  );
  assert.equal(exchange.lines[2], '*', 'the exchange is cancelled');
  assert.equal(exchange.lines.length, 3, 'PLAIN is not tried after an impostor');
});

test('a SCRAM server that says 235 without a signature is rejected (server-proof)', async () => {
  const [first, final] = scramServer({ password: PASSWORD, hash: 'sha256', signature: 'none' });
  const exchange = new ScriptedExchange([first!, final!]);
  await assert.rejects(run(exchange, password, context('SCRAM-SHA-256')), /without proving/);
});

test('504 moves on to the next mechanism, and the error lists what was tried', async () => {
  const exchange = new ScriptedExchange([
    reply('504 5.5.4 Unrecognized authentication type'),
    challenge('<1896.697170952@postoffice.reston.mci.net>'),
    reply('235 2.7.0 Authentication successful'),
  ]);
  const result = await run(exchange, password, context('SCRAM-SHA-256 CRAM-MD5 PLAIN'));
  assert.equal(result.mechanism, 'CRAM-MD5');
  assert.match(exchange.lines[0]!, /^AUTH SCRAM-SHA-256 /);
  assert.equal(exchange.lines[1], 'AUTH CRAM-MD5');
  assert.match(decodeLine(exchange.lines[2]!), /^alice [0-9a-f]{32}$/);
});

test('when every mechanism is refused, the error is "refused" with each reply', async () => {
  const exchange = new ScriptedExchange([
    reply('504 5.5.4 Unrecognized authentication type'),
    reply('534 5.7.9 Authentication mechanism is too weak'),
  ]);
  await assert.rejects(
    run(exchange, password, context('CRAM-MD5 PLAIN')),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'refused' &&
      error.tried.length === 2 &&
      error.tried[0] === 'CRAM-MD5: 504 5.5.4 Unrecognized authentication type' &&
      error.tried[1] === 'PLAIN: 534 5.7.9 Authentication mechanism is too weak',
  );
});

test('a mechanism that cannot answer cancels with * and the next one is tried', async () => {
  const exchange = new ScriptedExchange([
    challenge(''), // CRAM-MD5 with an empty challenge: malformed
    reply('501 5.7.0 Authentication aborted'),
    reply('235 2.7.0 Authentication successful'),
  ]);
  const result = await run(exchange, password, context('CRAM-MD5 PLAIN'));
  assert.equal(result.mechanism, 'PLAIN');
  assert.deepEqual(exchange.sent[1], { line: '*', secret: false });
  assert.equal(decodeLine(exchange.lines[2]!), `\0alice\0${PASSWORD}`);
});

test('bad credentials (535 5.7.8) stop at once, naming the mechanism and the reply', async () => {
  const exchange = new ScriptedExchange([
    challenge('<1896.697170952@postoffice.reston.mci.net>'),
    reply('535 5.7.8 Error: authentication failed: authentication failure'),
  ]);
  await assert.rejects(
    run(exchange, password, context('CRAM-MD5 PLAIN LOGIN')),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'credentials' &&
      error.mechanism === 'CRAM-MD5' &&
      error.reply?.code === 535 &&
      error.transient === false &&
      error.message.includes('CRAM-MD5') &&
      error.message.includes('535 5.7.8 Error: authentication failed') &&
      !error.message.includes(PASSWORD),
  );
  assert.equal(exchange.lines.length, 2, 'PLAIN and LOGIN are not tried');
});

test('a 4xx stops the loop as a transient failure', async () => {
  const exchange = new ScriptedExchange([reply('454 4.7.0 Temporary authentication failure')]);
  await assert.rejects(
    run(exchange, password, context('PLAIN LOGIN')),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError && error.transient && error.reply?.code === 454,
  );
  assert.equal(exchange.lines.length, 1);
});

test('no credential goes over an unencrypted session without AllowInsecureAuth', async () => {
  const exchange = new ScriptedExchange([]);
  await assert.rejects(
    run(exchange, password, context('PLAIN LOGIN CRAM-MD5', false)),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'insecure' &&
      error.message.includes('AllowInsecureAuth'),
  );
  assert.equal(exchange.lines.length, 0, 'nothing was sent');

  const allowed = new ScriptedExchange([reply('235 2.7.0 Authentication successful')]);
  const result = await run(
    allowed,
    { ...password, allowInsecureAuth: true },
    context('PLAIN LOGIN', false),
  );
  assert.equal(result.mechanism, 'PLAIN');
});

test('LOGIN answers both prompts', async () => {
  const exchange = new ScriptedExchange([
    challenge('Username:'),
    challenge('Password:'),
    reply('235 2.7.0 Authentication successful'),
  ]);
  await run(exchange, password, context('LOGIN'));
  assert.deepEqual(exchange.lines.map((line, i) => (i === 0 ? line : decodeLine(line))), [
    'AUTH LOGIN',
    'alice',
    PASSWORD,
  ]);
});

const XOAUTH2_ERROR = '{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}';

test('XOAUTH2: error challenge, empty answer, 535, one retry with a refreshed token', async () => {
  const requests: boolean[] = [];
  const auth: AuthOptions = {
    username: 'someuser@example.com',
    accessToken: async ({ refresh }) => {
      requests.push(refresh);
      return new Secret(refresh ? TOKENS[1]! : TOKENS[0]!);
    },
  };
  const exchange = new ScriptedExchange([
    challenge(XOAUTH2_ERROR),
    reply('535 5.7.8 Username and Password not accepted.'),
    reply('235 2.7.0 Accepted'),
  ]);
  const result = await run(exchange, auth, context('LOGIN PLAIN XOAUTH2 OAUTHBEARER'));
  assert.equal(result.mechanism, 'XOAUTH2');
  assert.deepEqual(requests, [false, true]);
  assert.match(decodeLine(exchange.lines[0]!), /auth=Bearer first-token-value/);
  assert.equal(exchange.lines[1], '', 'the error challenge is answered with an empty line');
  assert.match(decodeLine(exchange.lines[2]!), /auth=Bearer refreshed-token-value/);
});

test('XOAUTH2 with a fixed token fails naming the challenge status, not the token', async () => {
  const exchange = new ScriptedExchange([
    challenge(XOAUTH2_ERROR),
    reply('535 5.7.8 Username and Password not accepted.'),
  ]);
  await assert.rejects(
    run(
      exchange,
      { username: 'someuser@example.com', accessToken: new Secret(TOKENS[0]!) },
      context('XOAUTH2'),
    ),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'credentials' &&
      /status 400, scope https:\/\/mail\.google\.com\//.test(error.message),
  );
  assert.equal(exchange.lines.length, 2);
});

test('OAUTHBEARER: the error challenge is answered with %x01, then one refresh', async () => {
  let calls = 0;
  const exchange = new ScriptedExchange([
    challenge('{"status":"invalid_token","scope":"example_scope"}'),
    reply('535 5.7.8 Authentication credentials invalid'),
    reply('235 2.7.0 Accepted'),
  ]);
  const result = await run(
    exchange,
    { accessToken: async () => TOKENS[calls++]! },
    context('OAUTHBEARER'),
  );
  assert.equal(result.mechanism, 'OAUTHBEARER');
  assert.equal(exchange.lines[1], 'AQ==');
  assert.equal(
    decodeLine(exchange.lines[0]!),
    'n,,\x01host=mail.example.com\x01port=587\x01auth=Bearer first-token-value\x01\x01',
  );
});

test('Windows auth never picks PLAIN or LOGIN, even if they alone are offered', async () => {
  const exchange = new ScriptedExchange([]);
  await assert.rejects(
    run(exchange, { ...password, windowsAuthentication: true }, context('PLAIN LOGIN CRAM-MD5')),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'no-mechanism' &&
      error.message.includes('the server offers PLAIN LOGIN CRAM-MD5') &&
      error.message.includes('the settings allow GSSAPI NTLM'),
  );
  assert.equal(exchange.lines.length, 0);
});

test('Windows authentication without a Kerberos ticket falls back to NTLM', async () => {
  const saved = { cache: process.env.KRB5CCNAME, config: process.env.KRB5_CONFIG };
  process.env.KRB5CCNAME = 'FILE:/nonexistent/smtpcm-test-no-ticket';
  try {
    // MS-NLMP §4.2.4.3's CHALLENGE_MESSAGE, played as the server's 334.
    const specChallenge = Buffer.from(
      '4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef000000000000000024002400' +
        '44000000060070170000000f53006500720076006500720002000c0044006f006d00610069006e000100' +
        '0c0053006500720076006500720000000000',
      'hex',
    );
    const exchange = new ScriptedExchange([
      challenge(specChallenge),
      reply('235 2.7.0 Authentication successful'),
    ]);
    const result = await run(
      exchange,
      { ...password, windowsAuthentication: true, domain: 'RIG' },
      context('PLAIN LOGIN GSSAPI NTLM'),
    );
    assert.equal(result.mechanism, 'NTLM');
    assert.match(exchange.lines[0]!, /^AUTH NTLM TlRMTVNTUAAB/);
    const authenticateMessage = Buffer.from(exchange.lines[1]!, 'base64');
    assert.equal(authenticateMessage.readUInt32LE(8), 3);
    assert.ok(exchange.lines.every((line) => !/PLAIN|LOGIN/.test(line)));
  } finally {
    restore('KRB5CCNAME', saved.cache);
    restore('KRB5_CONFIG', saved.config);
  }
});

test('Windows authentication with neither a ticket nor a password is "unavailable"', async () => {
  const saved = process.env.KRB5CCNAME;
  process.env.KRB5CCNAME = 'FILE:/nonexistent/smtpcm-test-no-ticket';
  try {
    const exchange = new ScriptedExchange([]);
    await assert.rejects(
      run(exchange, { windowsAuthentication: true }, context('GSSAPI NTLM')),
      (error: unknown) =>
        error instanceof SmtpAuthenticationError &&
        error.reason === 'unavailable' &&
        error.tried.some((line) => line.startsWith('NTLM: needs UserName and Password')) &&
        error.tried.some((line) => line.startsWith('GSSAPI: ') && /kinit/.test(line)),
    );
    assert.equal(exchange.lines.length, 0);
  } finally {
    restore('KRB5CCNAME', saved);
  }
});

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

after(() => {
  // Every error message, tried entry and log line above, checked for the secrets used.
  assert.ok(seen.length > 20, 'the tests produced messages to check');
  for (const line of seen) {
    for (const secret of SECRETS) {
      assert.ok(!line.includes(secret), `a secret appeared in: ${line}`);
    }
  }
});
