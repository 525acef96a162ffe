import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SmtpClient } from '../../src/client/smtp-client.js';
import { ConnectionPool, type PoolOptions } from '../../src/connection/pool.js';
import { SmtpConnectionError, SmtpTimeoutError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';

/** Stands in for SmtpClient: the members the pool uses, and a record of what it was asked. */
class FakeClient extends EventEmitter {
  usable = true;
  messagesSent = 0;
  noops = 0;
  quits = 0;
  destroyed = false;
  noopFails = false;

  async noop(): Promise<void> {
    this.noops++;
    if (this.noopFails) throw new SmtpConnectionError('dropped', 'noop');
  }

  async quit(): Promise<void> {
    this.quits++;
    this.usable = false;
  }

  destroy(): void {
    this.destroyed = true;
    this.usable = false;
  }

  /** As the server closing the connection. */
  drop(): void {
    this.usable = false;
    this.emit('close');
  }
}

function makePool(overrides: Partial<PoolOptions> = {}) {
  const clients: FakeClient[] = [];
  let failNextOpen = false;
  const pool = new ConnectionPool({
    maxConnections: 2,
    maxMessagesPerConnection: 100,
    idleTimeoutMs: 60_000,
    healthCheckAfterMs: 60_000,
    healthCheckTimeoutMs: 1000,
    acquireTimeoutMs: 5000,
    logger: silentLogger,
    name: 'test',
    open: async () => {
      await sleep(1);
      if (failNextOpen) {
        failNextOpen = false;
        throw new SmtpConnectionError('refused', 'connect');
      }
      const client = new FakeClient();
      clients.push(client);
      return client as unknown as SmtpClient;
    },
    ...overrides,
  });
  return { pool, clients, failOpen: () => (failNextOpen = true) };
}

const fake = (connection: { client: SmtpClient }): FakeClient =>
  connection.client as unknown as FakeClient;

describe('ConnectionPool', () => {
  test('waiting callers are served in order', async () => {
    const { pool } = makePool();
    const a = await pool.acquire();
    const b = await pool.acquire();
    const order: string[] = [];
    const first = pool.acquire().then((c) => (order.push('first'), c));
    const second = pool.acquire().then((c) => (order.push('second'), c));
    await sleep(5);
    pool.release(a);
    pool.release(b);
    const [one, two] = await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(one.id, a.id);
    assert.equal(two.id, b.id);
    await pool.close();
  });

  test('a failed open gives its place back', async () => {
    const { pool, failOpen } = makePool({ maxConnections: 1 });
    failOpen();
    await assert.rejects(pool.acquire(), SmtpConnectionError);
    const connection = await pool.acquire();
    assert.equal(pool.stats.busy, 1);
    pool.release(connection);
    await pool.close();
  });

  test('a session the server closed while idle leaves the pool at once', async () => {
    const { pool, clients } = makePool({ maxConnections: 1 });
    const connection = await pool.acquire();
    pool.release(connection);
    clients[0]!.drop();
    assert.equal(pool.stats.idle, 0);
    const next = await pool.acquire();
    assert.notEqual(next.id, connection.id);
    pool.release(next);
    await pool.close();
  });

  test('a failed NOOP check drops the session and opens another', async () => {
    const { pool, clients } = makePool({ healthCheckAfterMs: 0 });
    const connection = await pool.acquire();
    pool.release(connection);
    clients[0]!.noopFails = true;
    const next = await pool.acquire();
    assert.equal(clients[0]!.noops, 1);
    assert.equal(clients[0]!.destroyed, true);
    assert.equal(next.client, clients[1] as unknown as SmtpClient);
    pool.release(next);
    await pool.close();
  });

  test('a session that sent its quota is closed politely on release', async () => {
    const { pool } = makePool({ maxMessagesPerConnection: 2 });
    const connection = await pool.acquire();
    fake(connection).messagesSent = 2;
    pool.release(connection);
    assert.equal(fake(connection).quits, 1);
    assert.equal(pool.stats.idle, 0);
    await pool.close();
  });

  test('broken sessions are destroyed without QUIT; double release does nothing', async () => {
    const { pool } = makePool();
    const connection = await pool.acquire();
    pool.release(connection, { broken: true });
    pool.release(connection);
    assert.equal(fake(connection).destroyed, true);
    assert.equal(fake(connection).quits, 0);
    assert.deepEqual(pool.stats, { idle: 0, busy: 0, opening: 0, waiting: 0, opened: 1 });
    await pool.close();
  });

  test('a fresh acquire at capacity closes an idle session rather than reuse it', async () => {
    const { pool } = makePool({ maxConnections: 1 });
    const old = await pool.acquire();
    pool.release(old);
    const fresh = await pool.acquire({ fresh: true });
    assert.notEqual(fresh.id, old.id);
    assert.equal(fake(old).quits, 1);
    pool.release(fresh);
    await pool.close();
  });

  test('close() quits idle sessions and refuses new callers', async () => {
    const { pool, clients } = makePool();
    const connection = await pool.acquire();
    pool.release(connection);
    await pool.close();
    assert.equal(clients[0]!.quits, 1);
    await assert.rejects(pool.acquire(), (error: unknown) =>
      error instanceof SmtpConnectionError && error.message === 'The connection manager test ' +
        'was closed (close()) before this send had a session: nothing of it was sent. Send it ' +
        'again: a send() after close() opens new connections.');
  });

  test('a caller that finds every session busy for the whole wait is told why and what to do',
    async () => {
      const { pool } = makePool({ maxConnections: 1, acquireTimeoutMs: 50 });
      const held = await pool.acquire();
      await assert.rejects(pool.acquire(), (error: unknown) =>
        error instanceof SmtpTimeoutError && error.stage === 'connect' && error.message ===
          'No SMTP session of test became free within 50 ms (MaxConnections=1): every ' +
          'session was busy with other sends, and nothing of this one was sent. Raise ' +
          'MaxConnections or Timeout, or send fewer messages at once.');
      pool.release(held);
      await pool.close();
    });

  test('a caller that aborts while waiting for a session leaves the line at once', async () => {
    const { pool } = makePool({ maxConnections: 1 });
    const held = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire({ signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    const expected = (error: unknown): boolean => error instanceof SmtpConnectionError &&
      error.message === 'The send was aborted (SendOptions.signal) while it waited for a ' +
        'session of test: nothing of it was sent.';
    await assert.rejects(waiting, expected);
    await assert.rejects(pool.acquire({ signal: controller.signal }), expected);
    // The line is empty: the session goes to the next caller, not to the aborted ones.
    pool.release(held);
    const next = await pool.acquire();
    pool.release(next);
    await pool.close();
  });

  test('close() fails a caller waiting for a session, saying nothing of it was sent', async () => {
    const { pool } = makePool({ maxConnections: 1 });
    const held = await pool.acquire();
    const waiting = pool.acquire();
    await new Promise((resolve) => setImmediate(resolve));
    const closed = pool.close();
    await assert.rejects(waiting, (error: unknown) =>
      error instanceof SmtpConnectionError && error.message === 'The connection manager test ' +
        'was closed (close()) while this send waited for a session: nothing of it was sent. ' +
        'Send it again: a send() after close() opens new connections.');
    pool.release(held);
    await closed;
  });
});
