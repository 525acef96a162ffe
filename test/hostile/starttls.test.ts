/**
 * The client-side STARTTLS attack cases of Poddebniak et al., "Why TLS is better without
 * STARTTLS" (USENIX Security 2021), for each TLS mode: StartTls (TLS required),
 * StartTlsWhenAvailable (opportunistic) and SslOnConnect (implicit TLS) where the case
 * applies. docs/security.md lists every case with the outcome asserted here.
 *
 * The invariants checked in every case:
 * - the session ends in a secure abort (a typed SmtpError, the connection closed) or a
 *   correct session;
 * - when TLS is required, nothing but the greeting, EHLO/HELO and STARTTLS crosses the wire
 *   in clear text: no AUTH, no credential, no MAIL or RCPT;
 * - in no mode does a credential cross the wire in clear text (the client is configured
 *   with a password and without AllowInsecureAuth);
 * - bytes injected ahead of a command are never read as its reply;
 * - every case finishes within its timeouts plus a small margin.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { SecureSocketOptions } from '../../src/client/types.js';
import {
  SmtpAuthenticationError,
  SmtpCommandError,
  SmtpConnectionError,
  SmtpError,
  SmtpProtocolError,
  SmtpTlsError,
} from '../../src/errors.js';
import {
  startFaultServer,
  type FaultHandler,
  type FaultPeer,
  type FaultServer,
} from '../support/fault-server.js';
import { testCertificates } from '../support/test-ca.js';
import {
  ENVELOPE,
  MARGIN_MS,
  WAIT_MS,
  assertError,
  assertNoSecrets,
  faultClient,
  passwordAuth,
  runSession,
  within,
  type Outcome,
} from './helpers.js';

const servers: FaultServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const certificates = testCertificates();
const cert = certificates.valid;
const GREETING = '220 mx.fault.test ESMTP';
const KEYWORDS = ['PIPELINING', 'STARTTLS', 'AUTH PLAIN LOGIN'];
const TLS_KEYWORDS = ['PIPELINING', 'AUTH PLAIN LOGIN'];

type Mode = Extract<SecureSocketOptions, 'StartTls' | 'StartTlsWhenAvailable' | 'SslOnConnect'>;
const STARTTLS_MODES: Mode[] = ['StartTls', 'StartTlsWhenAvailable'];

interface CaseRun extends Outcome {
  peer: FaultPeer;
  lines: string[];
  server: FaultServer;
}

/**
 * Runs a session in `mode` with a password configured, against `handler` (over implicit TLS
 * for SslOnConnect), and checks the invariants common to every case.
 */
async function run(mode: Mode, handler: FaultHandler, options: { auth?: boolean } = {}):
  Promise<CaseRun> {
  const server = await startFaultServer(handler,
    mode === 'SslOnConnect' ? { tls: cert } : {});
  servers.push(server);
  const client = faultClient({
    port: server.port,
    secure: mode,
    tls: { ca: certificates.ca },
    ...(options.auth === false ? {} : { auth: passwordAuth() }),
  });
  const outcome = await within(4 * WAIT_MS + MARGIN_MS, () => runSession(client));
  await server.close();
  const peer = server.peers[0]!;
  const clear = peer.plaintext.toString('latin1');
  if (mode !== 'StartTlsWhenAvailable') {
    assert.ok(!/^(AUTH|MAIL|RCPT|DATA|BDAT)/m.test(clear),
      `TLS was required, yet the client sent in clear text: ${JSON.stringify(clear)}`);
  }
  assert.ok(!/^AUTH/m.test(clear), 'AUTH in clear text without AllowInsecureAuth');
  assertNoSecrets(clear, 'the clear-text wire');
  if (outcome.error !== undefined) assert.ok(outcome.error instanceof SmtpError);
  return { ...outcome, peer, lines: client.lines, server };
}

/**
 * The error expected of an opportunistic session in clear text with a password set: the
 * policy refuses to send it (`insecure`), or finds no mechanism at all after HELO
 * (`no-mechanism`). `run()` has checked that no AUTH reached the wire.
 */
function assertInsecureAuthRefused(outcome: Outcome): void {
  assert.equal(outcome.failedAt, 'authenticate', String(outcome.error));
  assertError(outcome.error, SmtpAuthenticationError);
  assert.ok(['insecure', 'no-mechanism'].includes(outcome.error.reason), outcome.error.reason);
}

// --- STARTTLS stripped: not offered ---------------------------------------------------------

test('STARTTLS not offered: StartTls aborts before AUTH or MAIL', async () => {
  const { error, failedAt } = await run('StartTls', async (peer) => {
    peer.reply(GREETING);
    await peer.serve({ keywords: ['PIPELINING', 'AUTH PLAIN LOGIN'] });
  });
  assert.equal(failedAt, 'connect');
  assertError(error, SmtpTlsError);
});

test('STARTTLS not offered: StartTlsWhenAvailable stays in clear text and sends no password',
  async () => {
    const outcome = await run('StartTlsWhenAvailable', async (peer) => {
      peer.reply(GREETING);
      await peer.serve({ keywords: ['PIPELINING', 'AUTH PLAIN LOGIN'] });
    });
    assertInsecureAuthRefused(outcome);
  });

test('STARTTLS not offered, anonymous: StartTlsWhenAvailable delivers in clear text (its promise)',
  async () => {
    const { result, peer } = await run('StartTlsWhenAvailable', async (p) => {
      p.reply(GREETING);
      await p.serve({ keywords: ['PIPELINING'] });
    }, { auth: false });
    assert.deepEqual(result?.accepted, ENVELOPE.to);
    assert.equal(peer.secure, false);
  });

test('SslOnConnect against a clear-text server: SmtpTlsError before any command', async () => {
  const server = await startFaultServer(async (peer) => {
    peer.reply(GREETING);
    await peer.serve({ keywords: KEYWORDS });
  });
  servers.push(server);
  const client = faultClient({ port: server.port, secure: 'SslOnConnect',
    tls: { ca: certificates.ca }, auth: passwordAuth() });
  const { error } = await within(WAIT_MS + MARGIN_MS, () => runSession(client));
  assertError(error, SmtpTlsError);
  assert.ok(!/EHLO|AUTH|MAIL/.test(server.peers[0]!.plaintext.toString('latin1')));
});

// --- STARTTLS refused or answered oddly ------------------------------------------------------

const REFUSALS = ['502 5.5.1 Not implemented', '454 4.7.0 TLS not available',
  '500 5.5.2 Syntax error', '530 5.7.0 Must issue STARTTLS first', '554 5.7.1 No'];
const ODD_ANSWERS = ['250 2.0.0 Ok', '354 Go ahead', '334 VXNlcm5hbWU6', '221 2.0.0 Bye',
  '235 2.7.0 Authenticated'];

for (const answer of [...REFUSALS, ...ODD_ANSWERS]) {
  const code = answer.slice(0, 3);
  const handler: FaultHandler = async (peer) => {
    peer.reply(GREETING);
    await peer.expect(/^EHLO/);
    peer.ehloReply(KEYWORDS);
    await peer.expect('STARTTLS');
    peer.reply(answer);
    await peer.serve({ keywords: KEYWORDS });
  };

  test(`STARTTLS answered ${code}: StartTls aborts with SmtpTlsError`, async () => {
    const { error, failedAt } = await run('StartTls', handler);
    assert.equal(failedAt, 'connect');
    assertError(error, SmtpTlsError);
  });

  if (REFUSALS.includes(answer)) {
    test(`STARTTLS refused with ${code}: StartTlsWhenAvailable goes on in clear text, ` +
      'no password', async () => {
      assertInsecureAuthRefused(await run('StartTlsWhenAvailable', handler));
    });
  } else {
    test(`STARTTLS answered ${code} (not a refusal): StartTlsWhenAvailable aborts, the ` +
      'server state is unknown', async () => {
      const { error, failedAt, peer } = await run('StartTlsWhenAvailable', handler);
      assert.equal(failedAt, 'connect');
      assertError(error, SmtpProtocolError);
      assert.ok(!peer.lines.some((line) => /^(AUTH|MAIL)/.test(line)));
    });
  }
}

// --- ESMTP hidden: EHLO refused, HELO fallback ----------------------------------------------

const hidesEsmtp: FaultHandler = async (peer) => {
  peer.reply('220 mx.fault.test SMTP');
  await peer.expect(/^EHLO/);
  peer.reply('502 5.5.2 Error: command not recognized');
  await peer.serve({ keywords: KEYWORDS });
};

test('ESMTP hidden (EHLO 502, HELO): StartTls aborts, STARTTLS cannot be offered after HELO',
  async () => {
    const { error, peer } = await run('StartTls', hidesEsmtp);
    assertError(error, SmtpTlsError);
    assert.ok(peer.lines.some((line) => line.startsWith('HELO ')));
  });

test('ESMTP hidden: StartTlsWhenAvailable uses HELO in clear text, no password', async () => {
  assertInsecureAuthRefused(await run('StartTlsWhenAvailable', hidesEsmtp));
});

test('ESMTP hidden over implicit TLS: SslOnConnect delivers after HELO', async () => {
  const { result, peer } = await run('SslOnConnect', hidesEsmtp, { auth: false });
  assert.deepEqual(result?.accepted, ENVELOPE.to);
  assert.equal(peer.secure, true);
});

// --- Response injection -----------------------------------------------------------------------

const INJECTED = '250-mx.fault.test\r\n250 AUTH PLAIN LOGIN\r\n';

for (const mode of STARTTLS_MODES) {
  test(`plaintext injected after the 220 to STARTTLS (same packet): ${mode} aborts`,
    async () => {
      const { error, peer } = await run(mode, async (p) => {
        p.reply(GREETING);
        await p.expect(/^EHLO/);
        p.ehloReply(KEYWORDS);
        await p.expect('STARTTLS');
        p.write(`220 2.0.0 Ready\r\n${INJECTED}`);
        await p.serve({ keywords: TLS_KEYWORDS, certificate: cert });
      });
      assertError(error, SmtpTlsError);
      assert.match(error.message, /injection/);
      assert.equal(peer.secure, false, 'no handshake over a poisoned buffer');
    });

  test(`the 220 to STARTTLS injected ahead of the command: ${mode} never acts on it`,
    async () => {
      const { error, peer } = await run(mode, async (p) => {
        p.reply(GREETING);
        await p.expect(/^EHLO/);
        p.write(`${['mx.fault.test', ...KEYWORDS].map((k, i, all) =>
          `250${i === all.length - 1 ? ' ' : '-'}${k}`).join('\r\n')}\r\n220 2.0.0 Ready\r\n`);
        await p.serve({ keywords: TLS_KEYWORDS, certificate: cert });
      });
      assertError(error, SmtpTlsError);
      assert.ok(!peer.lines.includes('STARTTLS'), 'STARTTLS not sent over a poisoned buffer');
    });

  test(`replies sent over TLS before EHLO: ${mode} aborts instead of reading them as the ` +
    'EHLO reply', async () => {
    const { error } = await run(mode, async (p) => {
      p.reply(GREETING);
      await p.expect(/^EHLO/);
      p.ehloReply(KEYWORDS);
      await p.expect('STARTTLS');
      p.reply('220 2.0.0 Ready');
      // TLS 1.2: the server's Finished comes last, so the injected record follows it in the
      // same flight and is there before the client can send EHLO (with TLS 1.3 the client
      // may write EHLO first, and the case would test the timing, not the client).
      if (!(await p.startTls({ ...cert, maxVersion: 'TLSv1.2' }))) return;
      p.write(INJECTED);
      await p.serve({ keywords: TLS_KEYWORDS });
    });
    assertError(error, SmtpProtocolError);
  });
}

test('SslOnConnect: the greeting followed at once by an EHLO reply nobody asked for aborts',
  async () => {
    const { error } = await run('SslOnConnect', async (p) => {
      p.write(`${GREETING}\r\n${INJECTED}`);
      await p.serve({ keywords: TLS_KEYWORDS });
    });
    assertError(error, SmtpProtocolError);
  });

test('clear text: a 421 queued with the greeting is the server closing, not a protocol error',
  async () => {
    const { error } = await run('StartTlsWhenAvailable', async (p) => {
      p.write(`${GREETING}\r\n421 4.3.2 Shutting down\r\n`);
      await p.serve({ keywords: KEYWORDS });
    });
    assertError(error, SmtpConnectionError);
    assert.equal(error.reply?.code, 421);
  });

// --- Capabilities that differ before and after TLS ------------------------------------------

for (const mode of STARTTLS_MODES) {
  test(`capabilities differ after TLS: ${mode} uses only what EHLO over TLS offered`,
    async () => {
      const { result, peer, lines } = await run(mode, async (p) => {
        p.reply(GREETING);
        await p.serve({
          keywords: ['PIPELINING', 'CHUNKING', 'SIZE 10', 'STARTTLS', 'AUTH PLAIN'],
          tlsKeywords: ['AUTH LOGIN'],
          certificate: cert,
        });
      });
      assert.deepEqual(result?.accepted, ENVELOPE.to);
      assert.deepEqual(peer.authSeen, [{ line: 'AUTH LOGIN', secure: true }]);
      assert.ok(lines.some((line) => line === 'C: DATA'), 'no BDAT: CHUNKING was not offered ' +
        'over TLS');
      assert.ok(lines.some((line) => /^C: MAIL FROM:<[^>]+>$/.test(line)), 'no SIZE=');
    });
}

// --- Many odd AUTH mechanism names without TLS -----------------------------------------------

// About 3,700 octets: within the 4,096-octet line limit, so the policy (not the parser) decides.
const ODD_MECHANISMS = Array.from({ length: 300 }, (_, i) =>
  ['X-', 'PLAIN-', 'LOGIN_', 'SCRAM-SHA-1-', '%', 'A'.repeat(20)][i % 6] + String(i));

for (const mode of STARTTLS_MODES) {
  test(`300 odd AUTH mechanism names, no TLS offered: ${mode} sends no AUTH`, async () => {
    const outcome = await run(mode, async (p) => {
      p.reply(GREETING);
      await p.serve({ keywords: [`AUTH ${ODD_MECHANISMS.join(' ')}`, 'AUTH=PLAIN LOGIN'] });
    });
    if (mode === 'StartTls') {
      assertError(outcome.error, SmtpTlsError);
    } else {
      assert.equal(outcome.failedAt, 'authenticate');
      assertError(outcome.error, SmtpAuthenticationError);
    }
  });
}

// --- Every unexpected code to the greeting, EHLO, HELO, STARTTLS, RSET and QUIT --------------

const CODES = [211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421, 450, 451, 452, 454, 500,
  501, 502, 503, 504, 521, 530, 535, 550, 554, 555];

type ErrorClass = abstract new (...args: never[]) => SmtpError;

/** The class of outcome the client's contract promises for `code` in answer to `command`. */
function expectedFor(command: 'greeting' | 'EHLO' | 'HELO', code: number):
  'ok' | 'helo' | ErrorClass {
  if (code === 421) return SmtpConnectionError;
  if (command === 'greeting') {
    if (code === 220) return 'ok';
    return code === 554 ? SmtpConnectionError : SmtpProtocolError;
  }
  if (code >= 200 && code < 300) return 'ok';
  if (command === 'EHLO' && (code === 500 || code === 502)) return 'helo';
  return SmtpCommandError;
}

for (const mode of ['StartTls', 'StartTlsWhenAvailable', 'SslOnConnect'] as Mode[]) {
  for (const command of ['greeting', 'EHLO', 'HELO'] as const) {
    test(`every code in answer to ${command}, ${mode}: abort or a correct session`,
      async () => {
        for (const code of CODES) {
          const expected = expectedFor(command, code);
          const { error, peer } = await run(mode, async (p) => {
            if (command === 'greeting') {
              p.reply(`${code} mx.fault.test odd greeting`);
            } else {
              p.reply(GREETING);
              await p.expect(/^EHLO/);
              if (command === 'HELO') {
                p.reply('502 5.5.2 no EHLO here');
                await p.expect(/^HELO/);
              }
              p.reply(`${code} odd answer`);
            }
            await p.serve({ keywords: KEYWORDS, tlsKeywords: TLS_KEYWORDS, certificate: cert });
          }, { auth: false });
          const label = `${code} to ${command} (${mode})`;
          if (expected === 'ok' || expected === 'helo') {
            // The session went on; TLS as the mode requires, or a typed abort.
            if (error !== undefined) assert.ok(error instanceof SmtpError, label);
            if (expected === 'helo') {
              assert.ok(peer.lines.some((line) => line.startsWith('HELO')), label);
            }
            if (mode !== 'StartTlsWhenAvailable' && error === undefined) {
              assert.ok(peer.secure, `${label}: delivered without TLS`);
            }
          } else {
            assert.ok(error instanceof expected, `${label}: expected ${expected.name}, got ` +
              `${String(error)}`);
          }
        }
      });
  }
}

test('every code in answer to STARTTLS: StartTls aborts unless 220', async () => {
  for (const code of CODES) {
    const { error, peer } = await run('StartTls', async (p) => {
      p.reply(GREETING);
      await p.expect(/^EHLO/);
      p.ehloReply(KEYWORDS);
      await p.expect('STARTTLS');
      p.reply(`${code} odd answer`);
      if (code === 220 && !(await p.startTls(cert))) return;
      await p.serve({ keywords: TLS_KEYWORDS });
    }, { auth: false });
    if (code === 220) {
      assert.equal(error, undefined, String(error));
      assert.equal(peer.secure, true);
    } else {
      assert.ok(error instanceof SmtpTlsError || (code === 421
        && error instanceof SmtpConnectionError), `${code}: ${String(error)}`);
    }
  }
});

test('every code in answer to STARTTLS: StartTlsWhenAvailable continues only after a refusal',
  async () => {
    for (const code of CODES) {
      const { error, peer } = await run('StartTlsWhenAvailable', async (p) => {
        p.reply(GREETING);
        await p.expect(/^EHLO/);
        p.ehloReply(KEYWORDS);
        await p.expect('STARTTLS');
        p.reply(`${code} odd answer`);
        if (code === 220 && !(await p.startTls(cert))) return;
        await p.serve({ keywords: TLS_KEYWORDS });
      }, { auth: false });
      const label = `${code} to STARTTLS`;
      if (code === 220) {
        assert.equal(error, undefined, `${label}: ${String(error)}`);
        assert.equal(peer.secure, true);
      } else if (code === 421) {
        assertError(error, SmtpConnectionError, label);
      } else if (code >= 400) {
        assert.equal(error, undefined, `${label}: ${String(error)}`);
        assert.equal(peer.secure, false);
      } else {
        assertError(error, SmtpProtocolError, label);
      }
    }
  });

test('every code in answer to RSET: usable only after 2xx; 421 closes; others refuse',
  async () => {
    for (const code of CODES) {
      const server = await startFaultServer(async (p) => {
        await p.hello([]);
        await p.expect('RSET');
        p.reply(`${code} odd answer`);
        await p.serve();
      });
      servers.push(server);
      const client = faultClient({ port: server.port });
      await within(3 * WAIT_MS + MARGIN_MS, async () => {
        await client.connect();
        const outcome = await client.reset().then(() => undefined, (error: unknown) => error);
        const label = `${code} to RSET`;
        if (code >= 200 && code < 300) assert.equal(outcome, undefined, label);
        else if (code === 421) assertError(outcome, SmtpConnectionError, label);
        else assertError(outcome, SmtpCommandError, label);
        await client.quit();
      });
    }
  });

test('every code in answer to QUIT: quit() resolves, the connection closes', async () => {
  for (const code of CODES) {
    const server = await startFaultServer(async (p) => {
      await p.hello([]);
      await p.expect('QUIT');
      p.reply(`${code} odd answer`);
      await p.drain();
    });
    servers.push(server);
    const client = faultClient({ port: server.port });
    await within(2 * WAIT_MS + MARGIN_MS + 2_000, async () => {
      await client.connect();
      await client.quit();
      assert.equal(client.usable, false);
    });
  }
});
