/**
 * Every mechanism against the real servers of the rig (scripts/rig/rig.sh): Postfix with
 * Dovecot SASL on 3525 (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, GSSAPI) and
 * Postfix with Cyrus SASL on 3625, the Exchange-like port (GSSAPI, NTLM, LOGIN after TLS),
 * with the MIT KDC of realm RIG.TEST. Each login relays a message to someone@example.com
 * (which these ports refuse without AUTH) and the test finds it in the rig's Maildir.
 * Every transcript line, log line and error message is kept and, at the end, searched for
 * the passwords: none may appear.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import type { AuthOptions } from '../../src/auth/mechanism.js';
import { SmtpClient } from '../../src/client/smtp-client.js';
import { SmtpAuthenticationError, SmtpError } from '../../src/errors.js';
import { formatTranscriptLine, type Logger } from '../../src/log.js';
import { Secret } from '../../src/secret.js';
import { kdestroy, kinit, rig, rigSkipReason, waitForDelivery } from '../support/rig.js';

const skip = rigSkipReason;
const WRONG_PASSWORD = 'wrong-Password-9';
const RECIPIENT = 'someone@example.com';

/** Everything the runs below printed or threw, searched for secrets at the end. */
const seen: string[] = [];
const logger: Logger = {
  debug: (fields, message) => seen.push(message, JSON.stringify(fields)),
  info: (fields, message) => seen.push(message, JSON.stringify(fields)),
  warn: (fields, message) => seen.push(message, JSON.stringify(fields)),
  error: (fields, message) => seen.push(message, JSON.stringify(fields)),
};

interface Run {
  mechanism: string | undefined;
  transcript: string[];
}

/**
 * Connects with STARTTLS (the rig's CA, its host name), logs in with `auth`, relays one
 * message carrying a fresh token, quits, and checks the message arrived.
 */
async function deliver(
  port: number,
  auth: AuthOptions,
  deliverIt = true,
  host = rig()!.hostName,
): Promise<Run> {
  const r = rig()!;
  const transcript: string[] = [];
  const client = new SmtpClient({
    host,
    port,
    secure: 'StartTls',
    tls: { ca: r.ca, servername: host },
    auth,
    logger,
    transcript: (line) => {
      transcript.push(formatTranscriptLine(line));
      seen.push(formatTranscriptLine(line));
    },
  });
  const token = randomUUID();
  try {
    await client.connect();
    const mechanism = await client.authenticate();
    if (deliverIt) {
      const message =
        `From: alice@rig.test\r\nTo: ${RECIPIENT}\r\nSubject: rig-auth ${token}\r\n\r\n` +
        `Sent after AUTH ${mechanism}.\r\n`;
      await client.send({ from: 'alice@rig.test', to: [RECIPIENT] }, message);
    }
    await client.quit();
    if (deliverIt) await waitForDelivery(RECIPIENT, token);
    assertMasked(transcript);
    return { mechanism, transcript };
  } catch (error) {
    if (error instanceof SmtpError) seen.push(error.message, ...error.transcript);
    if (error instanceof SmtpAuthenticationError) seen.push(...error.tried);
    await client.quit().catch(() => {});
    throw error;
  }
}

/**
 * The AUTH exchange in the transcript is masked: `C: AUTH <MECH>` (plus `********` when an
 * initial response went with it), every later client line `C: ********` and every
 * challenge `S: 334 ********`, up to the server's final reply.
 */
function assertMasked(transcript: string[]): void {
  const start = transcript.findIndex((line) => line.startsWith('C: AUTH '));
  assert.ok(start >= 0, 'the transcript has an AUTH command');
  assert.match(transcript[start]!, /^C: AUTH [A-Z0-9-]+( \*{8})?$/);
  let end = start + 1;
  for (; end < transcript.length && !/^S: [245]\d\d /.test(transcript[end]!); end += 1) {
    assert.match(transcript[end]!, /^(C: \*{8}|S: 334 \*{8})$/);
  }
  assert.ok(end > start + 1 || /\*{8}$/.test(transcript[start]!), 'data went masked');
}

function password(user: 'alice' | 'ulrich', mechanism: string, value?: string): AuthOptions {
  const r = rig()!;
  return {
    username: r.users[user].username,
    password: new Secret(value ?? r.users[user].password),
    mechanisms: [mechanism],
  };
}

function isBadCredentials(mechanism: string) {
  return (error: unknown): boolean => {
    if (!(error instanceof SmtpAuthenticationError)) return false;
    seen.push(error.message, ...error.tried);
    return (
      error.reason === 'credentials' &&
      error.mechanism === mechanism &&
      error.reply?.code === 535 &&
      error.message.includes(mechanism) &&
      error.message.includes('535')
    );
  };
}

const DOVECOT_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256'];

for (const mechanism of DOVECOT_MECHANISMS) {
  test(`${mechanism} on Dovecot (3525, STARTTLS) relays a message`, { skip }, async () => {
    const run = await deliver(rig()!.ports.plain, password('alice', mechanism));
    assert.equal(run.mechanism, mechanism);
    const authLine = run.transcript.find((line) => line.startsWith(`C: AUTH ${mechanism}`));
    assert.ok(authLine, 'the AUTH command is in the transcript');
    assert.match(authLine, new RegExp(`^C: AUTH ${mechanism}( \\*{8})?$`));
  });

  test(`${mechanism} with the non-ASCII password of ulrich (UTF-8)`, { skip }, async () => {
    const run = await deliver(rig()!.ports.plain, password('ulrich', mechanism));
    assert.equal(run.mechanism, mechanism);
  });

  test(`${mechanism} with a wrong password fails clearly, at once`, { skip }, async () => {
    await assert.rejects(
      deliver(rig()!.ports.plain, password('alice', mechanism, WRONG_PASSWORD), false),
      isBadCredentials(mechanism),
    );
  });
}

test('the strongest mechanism Dovecot offers is chosen: SCRAM-SHA-256', { skip }, async () => {
  const r = rig()!;
  const auth = { username: 'alice', password: new Secret(r.users.alice.password) };
  const run = await deliver(r.ports.plain, auth);
  assert.equal(run.mechanism, 'SCRAM-SHA-256');
});

test('NTLM (NTLMv2) on Cyrus SASL (3625, STARTTLS) relays a message', { skip }, async () => {
  const run = await deliver(rig()!.ports.exchange, password('alice', 'NTLM'));
  assert.equal(run.mechanism, 'NTLM');
});

test('NTLM with the domain RIG relays a message', { skip }, async () => {
  const run = await deliver(rig()!.ports.exchange, { ...password('alice', 'NTLM'), domain: 'RIG' });
  assert.equal(run.mechanism, 'NTLM');
});

test('NTLM on the client frontend (3687, STARTTLS required)', { skip }, async () => {
  const run = await deliver(rig()!.ports.exchangeClient, password('alice', 'NTLM'));
  assert.equal(run.mechanism, 'NTLM');
});

test('NTLM with a wrong password fails clearly', { skip }, async () => {
  await assert.rejects(
    deliver(rig()!.ports.exchange, password('alice', 'NTLM', WRONG_PASSWORD), false),
    isBadCredentials('NTLM'),
  );
});

/** Runs `body` with a Kerberos ticket for alice (or none), restoring the environment. */
async function withTicket<T>(ticket: boolean, body: () => Promise<T>): Promise<T> {
  const saved = { config: process.env.KRB5_CONFIG, cache: process.env.KRB5CCNAME };
  const env = ticket ? await kinit('alice') : undefined;
  process.env.KRB5_CONFIG = rig()!.krb5Config;
  process.env.KRB5CCNAME = env?.KRB5CCNAME ?? `FILE:/nonexistent/smtpcm-no-ticket-${randomUUID()}`;
  try {
    return await body();
  } finally {
    if (env) await kdestroy(env);
    for (const [name, value] of [
      ['KRB5_CONFIG', saved.config],
      ['KRB5CCNAME', saved.cache],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

test('GSSAPI on Dovecot (3525) with a ticket from kinit relays a message', { skip }, async () => {
  const run = await withTicket(true, () =>
    deliver(rig()!.ports.plain, { mechanisms: ['GSSAPI'], windowsAuthentication: true }),
  );
  assert.equal(run.mechanism, 'GSSAPI');
});

test('GSSAPI on Cyrus (3625) with a ticket relays a message', {
  skip: skip ?? (rig()?.hostName !== 'mail.rig.test'
    ? 'Cyrus accepts only smtp/mail.rig.test, which does not resolve here'
    : undefined),
}, async () => {
  const run = await withTicket(true, () =>
    deliver(rig()!.ports.exchange, { mechanisms: ['GSSAPI'], windowsAuthentication: true }),
  );
  assert.equal(run.mechanism, 'GSSAPI');
});

test('GSSAPI with the explicit TargetName smtp/<host> form', { skip }, async () => {
  const r = rig()!;
  const run = await withTicket(true, () =>
    deliver(r.ports.plain, {
      mechanisms: ['GSSAPI'],
      windowsAuthentication: true,
      targetName: `smtp/${r.hostName}`,
    }),
  );
  assert.equal(run.mechanism, 'GSSAPI');
});

test('GSSAPI without a ticket fails clearly: kinit or a keytab is needed', { skip }, async () => {
  await withTicket(false, () =>
    assert.rejects(
      deliver(rig()!.ports.plain, { mechanisms: ['GSSAPI'], windowsAuthentication: true }, false),
      (error: unknown) =>
        error instanceof SmtpAuthenticationError &&
        error.reason === 'unavailable' &&
        error.tried.some((line) => line.startsWith('GSSAPI:') && /kinit/.test(line)),
    ),
  );
});

test('Windows authentication picks GSSAPI when a ticket exists', { skip }, async () => {
  const r = rig()!;
  const auth: AuthOptions = {
    windowsAuthentication: true,
    username: 'alice',
    password: new Secret(r.users.alice.password),
  };
  const port = r.hostName === 'mail.rig.test' ? r.ports.exchange : r.ports.plain;
  const run = await withTicket(true, () => deliver(port, auth));
  assert.equal(run.mechanism, 'GSSAPI');
});

test('Windows authentication picks NTLM when there is no ticket', { skip }, async () => {
  const r = rig()!;
  const auth: AuthOptions = {
    windowsAuthentication: true,
    username: 'alice',
    password: new Secret(r.users.alice.password),
  };
  const run = await withTicket(false, () => deliver(r.ports.exchange, auth));
  assert.equal(run.mechanism, 'NTLM');
  assert.ok(run.transcript.every((line) => !/^C: AUTH (PLAIN|LOGIN)/.test(line)));
});

test('Windows authentication falls back to NTLM when Cyrus refuses the ticket', {
  skip: skip ?? (rig()?.hostName !== 'mail.rig.test'
    ? 'needs mail.rig.test, the only service principal Cyrus accepts'
    : undefined),
}, async () => {
  // Connected as "localhost", the ticket is for smtp/localhost, which Cyrus (3625) refuses
  // with 535: that is no verdict on the password, so NTLM comes next.
  const r = rig()!;
  const auth: AuthOptions = {
    windowsAuthentication: true,
    username: 'alice',
    password: new Secret(r.users.alice.password),
  };
  const run = await withTicket(true, () =>
    deliver(r.ports.exchange, auth, true, 'localhost'),
  );
  assert.equal(run.mechanism, 'NTLM');
  const auths = run.transcript.filter((line) => line.startsWith('C: AUTH '));
  assert.deepEqual(auths.map((line) => line.split(' ')[2]), ['GSSAPI', 'NTLM']);
  assert.ok(run.transcript.some((line) => /^S: 535 /.test(line)), 'GSSAPI got a 535');
});

test('Windows authentication never uses LOGIN, though Cyrus offers it', { skip }, async () => {
  const r = rig()!;
  const auth: AuthOptions = {
    windowsAuthentication: true,
    username: 'alice',
    password: new Secret(WRONG_PASSWORD),
  };
  await withTicket(false, () =>
    assert.rejects(deliver(r.ports.exchange, auth, false), isBadCredentials('NTLM')),
  );
});

after(() => {
  if (skip) return;
  const secrets = [
    WRONG_PASSWORD,
    rig()!.users.alice.password,
    rig()!.users.ulrich.password,
    Buffer.from(rig()!.users.alice.password).toString('base64'),
  ];
  assert.ok(seen.some((line) => line.startsWith('C: AUTH')), 'transcripts were collected');
  for (const line of seen) {
    for (const secret of secrets) {
      assert.ok(!line.includes(secret), `a password appeared in: ${line}`);
    }
  }
});
