/**
 * A broken or hostile server at every step of a session: drops, stalls, trickles, endless
 * replies, garbage, 421 anywhere, TLS handshake and certificate failures. Each case asserts
 * the error class (and stage) the client's contract names, and that it finished within its
 * configured timeouts plus a small margin: nothing hangs.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import {
  SmtpCommandError,
  SmtpConnectionError,
  SmtpProtocolError,
  SmtpRecipientsError,
  SmtpTimeoutError,
  SmtpTlsError,
  SmtpUnknownOutcomeError,
  type SessionStage,
} from '../../src/errors.js';
import { startFaultServer, type FaultHandler, type FaultServer } from '../support/fault-server.js';
import { testCertificates } from '../support/test-ca.js';
import {
  ENVELOPE,
  MARGIN_MS,
  WAIT_MS,
  assertError,
  faultClient,
  passwordAuth,
  runSession,
  within,
  type ClientSetup,
  type Outcome,
} from './helpers.js';

const servers: FaultServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(handler: FaultHandler,
  options: Parameters<typeof startFaultServer>[1] = {}): Promise<FaultServer> {
  const server = await startFaultServer(handler, options);
  servers.push(server);
  return server;
}

/** Runs one session against `handler` within `WAIT_MS` per wait plus the margin. */
async function against(handler: FaultHandler, setup: Partial<ClientSetup> = {},
  message?: Parameters<typeof runSession>[1], waits = 1): Promise<Outcome & {
    server: FaultServer; lines: string[]; }> {
  const server = await serve(handler, setup.tls && 'serverTls' in setup ? {} : {});
  const client = faultClient({ port: server.port, ...setup });
  const outcome = await within(waits * WAIT_MS + MARGIN_MS, () => runSession(client, message));
  return { ...outcome, server, lines: client.lines };
}

const CAPS = ['PIPELINING', '8BITMIME', 'AUTH PLAIN LOGIN'];

/** 220, EHLO, then the envelope up to DATA's 354 (pipelined). */
async function upToData(peer: Parameters<FaultHandler>[0]): Promise<void> {
  await peer.hello(CAPS);
  await peer.expect(/^MAIL FROM:/);
  await peer.expect(/^RCPT TO:/);
  await peer.expect('DATA');
  peer.reply('250 2.1.0 Ok', '250 2.1.5 Ok', '354 End data with <CR><LF>.<CR><LF>');
}

function stageOf(error: unknown): SessionStage | undefined {
  if (error instanceof SmtpTimeoutError || error instanceof SmtpConnectionError) {
    return error.stage;
  }
  return undefined;
}

// --- Drops --------------------------------------------------------------------------------

test('dropped before the greeting: SmtpConnectionError at the greeting', async () => {
  const { error, failedAt } = await against(async (peer) => peer.drop());
  assertError(error, SmtpConnectionError);
  assert.equal(failedAt, 'connect');
  assert.equal(stageOf(error), 'greeting');
  assert.match((error as Error).message, new RegExp('^The connection to 127\\.0\\.0\\.1:\\d+ ' +
    'was closed (by the server )?before the greeting \\(greeting\\)'));
});

test('dropped right after the EHLO reply: the send fails as a connection error', async () => {
  const { error, failedAt, server } = await against(async (peer) => {
    await peer.hello(CAPS);
    peer.drop();
  });
  assertError(error, SmtpConnectionError, 'nothing was handed over: safe to retry');
  assert.ok(failedAt === 'send' || failedAt === 'connect');
  assert.ok(!server.peers[0]!.plaintext.toString().includes('MAIL FROM'));
});

test('dropped inside AUTH (after the user name): a connection error, no MAIL', async () => {
  const { error, failedAt, server } = await against(async (peer) => {
    await peer.hello(['AUTH LOGIN']);
    await peer.expect('AUTH LOGIN');
    peer.reply('334 VXNlcm5hbWU6');
    await peer.line();
    peer.drop();
  }, { auth: passwordAuth({ allowInsecureAuth: true, mechanisms: ['LOGIN'] }) });
  assert.equal(failedAt, 'authenticate');
  assertError(error, SmtpConnectionError);
  assert.ok(!server.peers[0]!.plaintext.toString().includes('MAIL FROM'));
});

test('dropped while an in-memory message is written: SmtpConnectionError, never unknown',
  async () => {
    // 32 MB cannot fit the socket buffers of a server that stopped reading, so the write
    // holding the final dot is still pending when the server drops: nothing was delivered.
    const { error, failedAt } = await against(async (peer) => {
      await upToData(peer);
      while (peer.unread < 8_192 && !peer.isClosed) await new Promise((r) => setTimeout(r, 5));
      peer.stopReading();
      await new Promise((r) => setTimeout(r, 100));
      peer.drop();
    }, {}, Buffer.alloc(32 * 1024 * 1024, 'a'));
    assert.equal(failedAt, 'send');
    assertError(error, SmtpConnectionError, 'the final dot was never written');
    assert.ok(!(error instanceof SmtpUnknownOutcomeError));
    assert.match((error as Error).message, new RegExp('was closed( by the server)? while the ' +
      'message was being sent \\(data-block\\)(: .*\\((ECONNRESET|EPIPE)\\))?\\.$'));
  });

test('dropped mid-DATA (message not complete): SmtpConnectionError, never unknown', async () => {
  let droppedAt = 0;
  const { error, failedAt } = await against(async (peer) => {
    await upToData(peer);
    while (peer.unread < 8_192 && !peer.isClosed) await new Promise((r) => setTimeout(r, 5));
    droppedAt = peer.unread;
    peer.drop();
  }, {}, () => {
    // 16 KiB at once, then the rest only after the server dropped: the end of data cannot
    // have been written before the drop.
    let step = 0;
    return new Readable({
      read() {
        step += 1;
        if (step === 1) this.push(Buffer.alloc(16_384, 'a'));
        else if (step < 40) setTimeout(() => this.push(Buffer.from('more\r\n')), 20);
        else this.push(null);
      },
    });
  }, 2);
  assert.equal(failedAt, 'send');
  assert.ok(droppedAt >= 8_192);
  assertError(error, SmtpConnectionError, 'the final dot was never written');
  assert.match((error as Error).message,
    /closed while the message was read from its stream; the end of data was not sent\./);
  assert.ok(!(error instanceof SmtpUnknownOutcomeError));
});

test('dropped after the final dot, before the reply: unknown outcome for the recipients',
  async () => {
    const { error } = await against(async (peer) => {
      await upToData(peer);
      await peer.data();
      peer.drop();
    });
    assertError(error, SmtpUnknownOutcomeError);
    assert.deepEqual(error.recipients.map((r) => [r.recipient, r.status]),
      [['rcpt@fault.test', 'unknown']]);
    assert.equal(error.transient, false);
  });

test('dropped after BDAT LAST, before the reply: unknown outcome', async () => {
  const body = 'Subject: fault\r\n\r\nHello.\r\n';
  const { error } = await against(async (peer) => {
    await peer.hello(['PIPELINING', 'CHUNKING']);
    await peer.expect(/^MAIL FROM:/);
    await peer.expect(/^RCPT TO:/);
    await peer.expect(`BDAT ${body.length} LAST`);
    await peer.bytes(body.length);
    peer.reply('250 2.1.0 Ok', '250 2.1.5 Ok');
    peer.drop();
  }, {}, body);
  assertError(error, SmtpUnknownOutcomeError);
  assert.deepEqual(error.recipients.map((r) => r.status), ['unknown']);
});

// --- Stalls and trickles --------------------------------------------------------------------

test('a server that says nothing: the greeting timeout fires', async () => {
  const { error, elapsedMs } = await against(async (peer) => peer.stall());
  assertError(error, SmtpTimeoutError);
  assert.equal(error.stage, 'greeting');
  assert.ok(elapsedMs >= WAIT_MS - 50, `fired after ${elapsedMs} ms`);
});

test('a greeting trickled at one byte per second does not stretch the greeting timeout',
  async () => {
    const greetingMs = 1_500;
    const started = Date.now();
    const server = await serve(async (peer) => peer.trickle('220 mx.fault.test ESMTP\r\n',
      1_000));
    const client = faultClient({ port: server.port, timeouts: { greeting: greetingMs } });
    const { error } = await within(greetingMs + MARGIN_MS, () => runSession(client));
    assertError(error, SmtpTimeoutError);
    assert.equal(error.stage, 'greeting');
    assert.ok(Date.now() - started < greetingMs + MARGIN_MS);
  });

for (const [stage, handler, setup] of [
  ['ehlo', async (peer) => {
    peer.reply('220 mx.fault.test ESMTP');
    await peer.expect(/^EHLO/);
    await peer.stall();
  }, {}],
  ['auth', async (peer) => {
    await peer.hello(['AUTH LOGIN']);
    await peer.expect('AUTH LOGIN');
    await peer.stall();
  }, { auth: passwordAuth({ allowInsecureAuth: true, mechanisms: ['LOGIN'] }) }],
  ['mail', async (peer) => {
    await peer.hello([]);
    await peer.expect(/^MAIL FROM/);
    await peer.stall();
  }, {}],
  ['data', async (peer) => {
    await peer.hello(CAPS);
    await peer.expect(/^MAIL FROM/);
    await peer.expect(/^RCPT TO/);
    await peer.expect('DATA');
    peer.reply('250 2.1.0 Ok', '250 2.1.5 Ok');
    await peer.stall();
  }, {}],
] as Array<[SessionStage, FaultHandler, Partial<ClientSetup>]>) {
  test(`a server that stalls at ${stage}: SmtpTimeoutError naming ${stage}`, async () => {
    const { error } = await against(handler, setup);
    assertError(error, SmtpTimeoutError);
    assert.equal(error.stage, stage);
  });
}

test('a server that stalls after the final dot: unknown outcome caused by the timeout',
  async () => {
    const { error } = await against(async (peer) => {
      await upToData(peer);
      await peer.data();
      await peer.stall();
    });
    assertError(error, SmtpUnknownOutcomeError);
    assertError(error.cause, SmtpTimeoutError);
    assert.equal(error.cause.stage, 'data-termination');
  });

// --- Endless replies, garbage, NUL ----------------------------------------------------------

test('an endless reply line is cut at the line limit: SmtpProtocolError', async () => {
  let sent = 0;
  const { error } = await against(async (peer) => {
    peer.write('220 ');
    sent = await peer.flood('x'.repeat(1024), 64 * 1024 * 1024);
  });
  assertError(error, SmtpProtocolError);
  assert.match(error.message, /longer than 4096 octets/);
  assert.ok(sent < 64 * 1024 * 1024, 'the client stopped reading long before the cap');
});

test('an endless multi-line EHLO reply is cut at the line-count limit', async () => {
  const { error } = await against(async (peer) => {
    peer.reply('220 mx.fault.test ESMTP');
    await peer.expect(/^EHLO/);
    await peer.flood('250-X-PADDING\r\n', 64 * 1024 * 1024);
  });
  assertError(error, SmtpProtocolError);
  assert.match(error.message, /more than 1000 lines/);
});

test('a multi-line reply within limits set lower by the caller is still refused', async () => {
  const { error } = await against(async (peer) => {
    peer.reply('220 mx.fault.test ESMTP');
    await peer.expect(/^EHLO/);
    peer.reply(...Array.from({ length: 20 }, () => '250-X-PADDING'), '250 OK');
    await peer.stall();
  }, { maxReplyLines: 10 });
  assertError(error, SmtpProtocolError);
});

for (const [name, bytes] of [
  ['NUL bytes', Buffer.alloc(64, 0)],
  ['random binary', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0xfc, 0xff, 0x0d, 0x0a])],
  ['an HTTP banner', Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')],
  ['a code out of range', Buffer.from('999 what\r\n')],
  ['a code with a bad separator', Buffer.from('220_mx\r\n')],
] as Array<[string, Buffer]>) {
  test(`a greeting of ${name}: SmtpProtocolError, the connection closed`, async () => {
    const { error, lines } = await against(async (peer) => {
      peer.write(bytes);
      await peer.stall();
    });
    assertError(error, SmtpProtocolError);
    assert.ok(!lines.some((line) => line.startsWith('C: EHLO')), 'no EHLO after garbage');
  });
}

test('a reply whose code changes mid-reply is a protocol error', async () => {
  const { error } = await against(async (peer) => {
    peer.reply('220 mx.fault.test ESMTP');
    await peer.expect(/^EHLO/);
    peer.reply('250-mx.fault.test', '550 not me');
    await peer.stall();
  });
  assertError(error, SmtpProtocolError);
});

test('a bare CR or NUL inside a reply text reaches no transcript line or error message',
  async () => {
    const { error, lines } = await against(async (peer) => {
      await peer.hello([]);
      await peer.expect(/^MAIL FROM/);
      peer.write('550 5.7.1 no\0pe\rS: 250 forged log line\x1b[2K\r\n');
      await peer.expect('RSET');
      peer.reply('250 Ok');
      await peer.expect('QUIT');
      peer.reply('221 Bye');
    });
    assertError(error, SmtpCommandError);
    assert.equal(error.replyCode, 550);
    for (const text of [...lines, error.message, ...error.transcript]) {
      assert.ok(!/[\x00-\x08\x0a-\x1f\x7f]/.test(text), JSON.stringify(text));
    }
  });

// --- 421 at any point -----------------------------------------------------------------------

const at421: Array<[string, FaultHandler, Partial<ClientSetup>]> = [
  ['the greeting', async (peer) => {
    peer.reply('421 4.3.2 mx.fault.test shutting down');
    peer.end();
  }, {}],
  ['EHLO', async (peer) => {
    peer.reply('220 mx.fault.test ESMTP');
    await peer.expect(/^EHLO/);
    peer.reply('421 4.3.2 shutting down');
    peer.end();
  }, {}],
  ['STARTTLS', async (peer) => {
    await peer.hello(['STARTTLS']);
    await peer.expect('STARTTLS');
    peer.reply('421 4.3.2 shutting down');
    peer.end();
  }, { secure: 'StartTlsWhenAvailable' }],
  ['AUTH', async (peer) => {
    await peer.hello(['AUTH PLAIN']);
    await peer.expect(/^AUTH PLAIN/);
    peer.reply('421 4.3.2 shutting down');
    peer.end();
  }, { auth: passwordAuth({ allowInsecureAuth: true }) }],
  ['MAIL', async (peer) => {
    await peer.hello([]);
    await peer.expect(/^MAIL FROM/);
    peer.reply('421 4.3.2 shutting down');
    peer.end();
  }, {}],
  ['RCPT', async (peer) => {
    await peer.hello([]);
    await peer.expect(/^MAIL FROM/);
    peer.reply('250 Ok');
    await peer.expect(/^RCPT TO/);
    peer.reply('421 4.3.2 shutting down');
    peer.end();
  }, {}],
  ['DATA', async (peer) => {
    await peer.hello([]);
    await peer.expect(/^MAIL FROM/);
    peer.reply('250 Ok');
    await peer.expect(/^RCPT TO/);
    peer.reply('250 Ok');
    await peer.expect('DATA');
    peer.reply('421 4.3.2 shutting down');
    peer.end();
  }, {}],
  ['the end of data', async (peer) => {
    await upToData(peer);
    await peer.data();
    peer.reply('421 4.3.2 shutting down');
    peer.end();
  }, {}],
];

for (const [where, handler, setup] of at421) {
  test(`421 at ${where}: SmtpConnectionError carrying the 421, the connection closed`,
    async () => {
      const { error } = await against(handler, setup);
      assertError(error, SmtpConnectionError);
      assert.equal(error.reply?.code, 421);
      assert.ok(!(error instanceof SmtpUnknownOutcomeError));
    });
}

test('421 in answer to RSET and NOOP on an idle session closes it cleanly', async () => {
  const server = await serve(async (peer) => {
    await peer.hello([]);
    await peer.expect('NOOP');
    peer.reply('250 Ok');
    await peer.expect('RSET');
    peer.reply('421 4.3.2 idle too long');
    peer.end();
  });
  const client = faultClient({ port: server.port });
  await within(3 * WAIT_MS + MARGIN_MS, async () => {
    await client.connect();
    await client.noop();
    await assert.rejects(client.reset(), (error: unknown) =>
      error instanceof SmtpConnectionError && error.reply?.code === 421);
    assert.equal(client.usable, false);
    await client.quit();
  });
});

test('QUIT answered with garbage or nothing never throws and never hangs', async () => {
  for (const reply of ['\0\0\0\r\n', '', '599 odd\r\n']) {
    const server = await serve(async (peer) => {
      await peer.hello([]);
      await peer.expect('QUIT');
      if (reply) peer.write(reply);
      await peer.stall();
    });
    const client = faultClient({ port: server.port });
    await within(2 * WAIT_MS + MARGIN_MS + 2_000, async () => {
      await client.connect();
      await client.quit();
    });
  }
});

// --- TLS ------------------------------------------------------------------------------------

test('SslOnConnect to a server speaking clear text: SmtpTlsError, nothing sent', async () => {
  const { ca } = testCertificates();
  const { error, server } = await against(async (peer) => {
    peer.reply('220 mx.fault.test ESMTP');
    await peer.stall();
  }, { secure: 'SslOnConnect', tls: { ca }, auth: passwordAuth() });
  assertError(error, SmtpTlsError);
  const wire = server.peers[0]!.plaintext.toString('latin1');
  assert.ok(!/EHLO|AUTH|MAIL/.test(wire));
});

test('the server closes during the STARTTLS handshake: SmtpTlsError', async () => {
  const { ca } = testCertificates();
  const { error } = await against(async (peer) => {
    await peer.hello(['STARTTLS']);
    await peer.expect('STARTTLS');
    peer.reply('220 2.0.0 Ready to start TLS');
    await new Promise((r) => setTimeout(r, 20));
    peer.drop();
  }, { secure: 'StartTls', tls: { ca } });
  assertError(error, SmtpTlsError);
});

test('a server that only speaks TLS 1.1: the handshake fails (minimum TLS 1.2)', async () => {
  const { ca, valid } = testCertificates();
  const server = await serve(async (peer) => peer.stall(),
    { tls: { ...valid, maxVersion: 'TLSv1.1' } });
  const client = faultClient({ port: server.port, secure: 'SslOnConnect', tls: { ca } });
  const { error } = await within(WAIT_MS + MARGIN_MS, () => runSession(client));
  assertError(error, SmtpTlsError);
});

for (const kind of ['expired', 'selfSigned', 'wrongHost'] as const) {
  test(`implicit TLS with a ${kind} certificate: SmtpTlsError, no EHLO`, async () => {
    const certificates = testCertificates();
    const server = await serve(async (peer) => {
      peer.reply('220 mx.fault.test ESMTP');
      await peer.line();
      throw new Error('the client sent a command over a refused certificate');
    }, { tls: certificates[kind] });
    const client = faultClient({ port: server.port, secure: 'SslOnConnect',
      tls: { ca: certificates.ca }, auth: passwordAuth() });
    const { error } = await within(WAIT_MS + MARGIN_MS, () => runSession(client));
    assertError(error, SmtpTlsError);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(server.errors, []);
  });

  test(`STARTTLS with a ${kind} certificate: SmtpTlsError, no AUTH or MAIL anywhere`,
    async () => {
      const certificates = testCertificates();
      const { error, server } = await against(async (peer) => {
        await peer.hello(['STARTTLS', 'AUTH PLAIN LOGIN']);
        await peer.expect('STARTTLS');
        peer.reply('220 2.0.0 Ready to start TLS');
        if (!(await peer.startTls(certificates[kind]))) return;
        const line = await peer.line();
        if (line !== undefined) throw new Error(`the client sent ${line}`);
      }, { secure: 'StartTlsWhenAvailable', tls: { ca: certificates.ca },
        auth: passwordAuth() }, undefined, 2);
      assertError(error, SmtpTlsError);
      const wire = server.peers[0]!.plaintext.toString('latin1');
      assert.ok(!/AUTH|MAIL/.test(wire), 'no fallback to clear text after a refused certificate');
      assert.deepEqual(server.errors, []);
    });
}

test('envelope sent on the wire only once per case (sanity of the fault server)', async () => {
  const { result, server } = await against(async (peer) => {
    await upToData(peer);
    await peer.data();
    peer.reply('250 2.0.0 Ok: queued as F00');
    await peer.expect('QUIT');
    peer.reply('221 Bye');
  });
  assert.deepEqual(result?.accepted, ENVELOPE.to);
  assert.equal(server.peers.length, 1);
});

// --- Unexpected codes inside the transaction ---------------------------------------------------

const TRANSACTION_CODES = [211, 220, 221, 235, 250, 251, 334, 354, 421, 450, 451, 452, 500, 501,
  502, 503, 521, 550, 552, 553, 554];

for (const stage of ['MAIL', 'RCPT', 'DATA', 'end of data'] as const) {
  test(`every code in answer to ${stage}: delivered only after the replies RFC 5321 requires`,
    async () => {
      for (const code of TRANSACTION_CODES) {
        const { result, error, server } = await against(async (peer) => {
          await peer.hello([]);
          await peer.expect(/^MAIL FROM/);
          if (stage === 'MAIL') {
            peer.reply(`${code} odd answer`);
          } else {
            peer.reply('250 2.1.0 Ok');
            await peer.expect(/^RCPT TO/);
            if (stage === 'RCPT') {
              peer.reply(`${code} odd answer`);
            } else {
              peer.reply('250 2.1.5 Ok');
              await peer.expect('DATA');
              if (stage === 'DATA') {
                peer.reply(`${code} odd answer`);
                if (code === 354) {
                  const data = await peer.data();
                  if (data) peer.messages.push(data);
                  peer.reply('250 2.0.0 Ok: queued');
                }
              } else {
                peer.reply('354 Go ahead');
                const data = await peer.data();
                if (data) peer.messages.push(data);
                peer.reply(`${code} odd answer`);
              }
            }
          }
          await peer.serve();
        });
        const peer = server.peers[0]!;
        const label = `${code} to ${stage}`;
        // Message text reaches the server only after 250 to MAIL and RCPT and 354 to DATA.
        const allowed = (stage === 'MAIL' || stage === 'RCPT') ? code >= 200 && code < 300
          : stage === 'DATA' ? code === 354 : true;
        if (!allowed) {
          assert.equal(peer.messages.length, 0, `${label}: the message was sent`);
          assert.ok(!peer.lines.some((line) => line.startsWith('Subject:')), label);
        }
        const accepted = allowed && (stage !== 'end of data' || (code >= 200 && code < 300));
        if (accepted) {
          assert.equal(error, undefined, `${label}: ${String(error)}`);
          assert.deepEqual(result?.accepted, ENVELOPE.to, label);
        } else if (code === 421) {
          assertError(error, SmtpConnectionError, label);
        } else if (stage === 'DATA' && code < 400) {
          // Neither 354 nor a refusal: the server broke the protocol; the session is closed.
          assertError(error, SmtpProtocolError, label);
        } else if ((stage === 'MAIL' || stage === 'RCPT') && code < 400) {
          // A 3xx to MAIL or RCPT (354: what follows may be taken as message text) leaves
          // no later reply to trust: a protocol error, and the session is closed.
          assertError(error, SmtpProtocolError, label);
        } else {
          assert.ok(error instanceof SmtpCommandError
            || error instanceof SmtpRecipientsError, `${label}: ${String(error)}`);
          assert.ok(!(error instanceof SmtpUnknownOutcomeError), label);
        }
      }
    });
}
