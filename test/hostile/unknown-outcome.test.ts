/**
 * The unknown outcome (RFC 1047), through `SmtpConnectionManager.send`: when the connection
 * dies after the final `.` or `BDAT LAST` and before the reply, the message may have been
 * accepted, so the recipients are `unknown` and the manager never sends it again; when the
 * failure is known to have delivered nothing (a drop before the end of data, a 421), the
 * manager sends it once more on a fresh connection.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import {
  SmtpConnectionError,
  SmtpTimeoutError,
  SmtpUnknownOutcomeError,
} from '../../src/errors.js';
import { startFaultServer, type FaultHandler, type FaultPeer, type FaultServer }
  from '../support/fault-server.js';
import { ENVELOPE, MARGIN_MS, MESSAGE, assertError, within } from './helpers.js';

const servers: FaultServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** Timeout=1 (second) applies to every wait of the manager's sessions. */
const TIMEOUT_MS = 1_000;

async function manager(handler: FaultHandler, caps: string[] = ['PIPELINING']): Promise<{
  cm: SmtpConnectionManager; server: FaultServer; }> {
  const server = await startFaultServer(async (peer) => {
    if (peer.index > 0) {
      peer.reply('220 mx.fault.test ESMTP');
      await peer.serve({ keywords: caps });
      return;
    }
    await handler(peer);
  });
  servers.push(server);
  const cm = new SmtpConnectionManager({
    connectionString: `SmtpServer=127.0.0.1;Port=${server.port};SecureSocketOptions=None;` +
      'Timeout=1;',
    pool: { healthCheckTimeoutMs: 200 },
  });
  return { cm, server };
}

/** 220, EHLO, and the pipelined envelope up to DATA's 354. */
async function upToData(peer: FaultPeer): Promise<void> {
  await peer.hello(['PIPELINING']);
  await peer.expect(/^MAIL FROM:/);
  await peer.expect(/^RCPT TO:/);
  await peer.expect('DATA');
  peer.reply('250 2.1.0 Ok', '250 2.1.5 Ok', '354 Go ahead');
}

/** Messages the well-behaved connections received (the faulty first one excluded). */
function delivered(server: FaultServer): number {
  return server.peers.slice(1).reduce((n, peer) => n + peer.messages.length, 0);
}

async function send(cm: SmtpConnectionManager, message: Parameters<
  SmtpConnectionManager['send']>[1] = MESSAGE, waits = 4): Promise<unknown> {
  try {
    return await within(waits * TIMEOUT_MS + MARGIN_MS, () => cm.send(ENVELOPE, message));
  } catch (error) {
    return error;
  } finally {
    await cm.close();
  }
}

test('dropped after the final dot: unknown outcome, never sent again', async () => {
  const { cm, server } = await manager(async (peer) => {
    await upToData(peer);
    await peer.data();
    peer.drop();
  });
  const outcome = await send(cm);
  assertError(outcome, SmtpUnknownOutcomeError);
  assert.deepEqual(outcome.recipients, [{ recipient: ENVELOPE.to[0], status: 'unknown' }]);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.peers.length, 1, 'no second connection: a resend could deliver twice');
});

test('dropped after BDAT LAST: unknown outcome, never sent again', async () => {
  const { cm, server } = await manager(async (peer) => {
    await peer.hello(['PIPELINING', 'CHUNKING']);
    await peer.expect(/^MAIL FROM:/);
    await peer.expect(/^RCPT TO:/);
    const bdat = await peer.expect(/^BDAT \d+ LAST$/);
    await peer.bytes(Number(bdat.split(' ')[1]));
    peer.reply('250 2.1.0 Ok', '250 2.1.5 Ok');
    peer.drop();
  }, ['PIPELINING', 'CHUNKING']);
  const outcome = await send(cm);
  assertError(outcome, SmtpUnknownOutcomeError);
  assert.deepEqual(outcome.recipients.map((r) => r.status), ['unknown']);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.peers.length, 1);
});

test('no reply after the final dot within Timeout: unknown outcome, never sent again',
  async () => {
    const { cm, server } = await manager(async (peer) => {
      await upToData(peer);
      await peer.data();
      await peer.stall();
    });
    const outcome = await send(cm);
    assertError(outcome, SmtpUnknownOutcomeError);
    assertError(outcome.cause, SmtpTimeoutError);
    assert.equal(server.peers.length, 1);
  });

test('dropped mid-DATA: nothing was delivered, sent once more on a fresh connection',
  async () => {
    const { cm, server } = await manager(async (peer) => {
      await upToData(peer);
      peer.drop();
    });
    const big = `Subject: big\r\n\r\n${'x'.repeat(998)}\r\n`.repeat(2_000);
    const result = await send(cm, big);
    assert.ok(!(result instanceof Error), String(result));
    assert.equal(server.peers.length, 2);
    assert.equal(delivered(server), 1);
  });

test('dropped after RCPT, before DATA: sent once more, delivered once', async () => {
  const { cm, server } = await manager(async (peer) => {
    await peer.hello(['PIPELINING']);
    await peer.expect(/^MAIL FROM:/);
    await peer.expect(/^RCPT TO:/);
    peer.drop();
  });
  const result = await send(cm);
  assert.ok(!(result instanceof Error), String(result));
  assert.equal(server.peers.length, 2);
  assert.equal(delivered(server), 1);
});

test('421 after the final dot: the server said it did not take it, so it is sent again',
  async () => {
    const { cm, server } = await manager(async (peer) => {
      await upToData(peer);
      await peer.data();
      peer.reply('421 4.3.2 Shutting down, message not accepted');
      peer.end();
    });
    const result = await send(cm);
    assert.ok(!(result instanceof Error), String(result));
    assert.equal(server.peers.length, 2);
    assert.equal(delivered(server), 1);
  });

test('a stream already read cannot be sent again: the drop is reported, not retried',
  async () => {
    const { cm, server } = await manager(async (peer) => {
      await upToData(peer);
      await peer.bytes(10);
      peer.drop();
    });
    let pushed = 0;
    const stream = new Readable({
      read() {
        pushed += 1;
        if (pushed < 200) setTimeout(() => this.push(Buffer.alloc(4_096, 'y')), 2);
        else this.push(null);
      },
    });
    const outcome = await send(cm, stream);
    assertError(outcome, SmtpConnectionError);
    assert.equal(server.peers.length, 1);
  });

test('both attempts dropped before the data: SmtpConnectionError naming the second attempt',
  async () => {
    const server = await startFaultServer(async (peer) => {
      await peer.hello(['PIPELINING']);
      await peer.expect(/^MAIL FROM:/);
      peer.drop();
    });
    servers.push(server);
    const cm = new SmtpConnectionManager({
      connectionString: `SmtpServer=127.0.0.1;Port=${server.port};SecureSocketOptions=None;` +
        'Timeout=1;',
    });
    const outcome = await send(cm);
    assertError(outcome, SmtpConnectionError);
    assert.match(outcome.message, /second attempt/);
    assert.equal(server.peers.length, 2);
  });

test('an idle pooled session the server ended with 421: the next send uses a fresh one',
  async () => {
    const { cm, server } = await manager(async (peer) => {
      await peer.hello(['PIPELINING']);
      await peer.expect(/^MAIL FROM:/);
      await peer.expect(/^RCPT TO:/);
      await peer.expect('DATA');
      peer.reply('250 2.1.0 Ok', '250 2.1.5 Ok', '354 Go ahead');
      await peer.data();
      peer.reply('250 2.0.0 Ok: queued');
      // Unasked, while the session is idle in the pool (RFC 5321 §3.8).
      peer.reply('421 4.4.2 mx.fault.test Error: timeout exceeded');
      await peer.drain();
    });
    try {
      const first = await within(TIMEOUT_MS + MARGIN_MS, () => cm.send(ENVELOPE, MESSAGE));
      assert.deepEqual(first.accepted, ENVELOPE.to);
      await new Promise((r) => setTimeout(r, 50));
      const second = await within(2 * TIMEOUT_MS + MARGIN_MS, () => cm.send(ENVELOPE, MESSAGE));
      assert.deepEqual(second.accepted, ENVELOPE.to);
      assert.equal(server.peers.length, 2);
      assert.equal(delivered(server), 1, 'the second message went through the fresh session');
    } finally {
      await cm.close();
    }
  });
