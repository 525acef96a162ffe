/**
 * The pool's shared sessions (issue 8): shared callers join a busy session while its window
 * has room, spread before they stack, respect the message quota, and a session released as
 * broken closes only when its last holder is done.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { SmtpClient } from '../../src/client/smtp-client.js';
import { ConnectionPool, type PoolOptions } from '../../src/connection/pool.js';
import { silentLogger } from '../../src/log.js';

/** The members of SmtpClient the pool reads, with a window of `maxInFlight`. */
class FakeClient extends EventEmitter {
  alive = true;
  usable = true;
  maxInFlight = 3;
  messagesSent = 0;
  destroyed = false;
  quits = 0;

  async noop(): Promise<void> {}

  async quit(): Promise<void> {
    this.quits++;
    this.alive = false;
    this.usable = false;
  }

  destroy(): void {
    this.destroyed = true;
    this.alive = false;
    this.usable = false;
  }
}

function makePool(overrides: Partial<PoolOptions> = {}) {
  const clients: FakeClient[] = [];
  const pool = new ConnectionPool({
    maxConnections: 1,
    maxMessagesPerConnection: 100,
    idleTimeoutMs: 60_000,
    healthCheckAfterMs: 60_000,
    healthCheckTimeoutMs: 1000,
    acquireTimeoutMs: 2000,
    logger: silentLogger,
    name: 'test',
    open: async () => {
      const client = new FakeClient();
      clients.push(client);
      return client as unknown as SmtpClient;
    },
    ...overrides,
  });
  return { pool, clients };
}

test('shared callers join one session up to its window; the next one waits', async () => {
  const { pool, clients } = makePool();
  const held = await Promise.all([1, 2, 3].map(() => pool.acquire({ shared: true })));
  assert.deepEqual(held.map((c) => c.id), [1, 1, 1]);
  assert.equal(clients.length, 1);
  let fourth: number | undefined;
  const waiting = pool.acquire({ shared: true }).then((c) => {
    fourth = c.id;
    return c;
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(fourth, undefined, 'the window of 3 is full');
  pool.release(held[0]!);
  pool.release(held[0]!); // twice: ignored
  const joined = await waiting;
  assert.equal(joined.id, 1);
  for (const c of [held[1]!, held[2]!, joined]) pool.release(c);
  assert.deepEqual(pool.stats, { idle: 1, busy: 0, opening: 0, waiting: 0, opened: 1 });
  await pool.close();
});

test('a session lent without shared is never joined', async () => {
  const { pool } = makePool({ acquireTimeoutMs: 50 });
  const alone = await pool.acquire();
  await assert.rejects(pool.acquire({ shared: true }), /became free/);
  pool.release(alone);
  await pool.close();
});

test('shared callers spread over new sessions before they stack, least loaded first',
  async () => {
    const { pool } = makePool({ maxConnections: 2 });
    const a = await pool.acquire({ shared: true });
    const b = await pool.acquire({ shared: true });
    assert.notEqual(a.id, b.id);
    const c = await pool.acquire({ shared: true });
    const d = await pool.acquire({ shared: true });
    assert.equal(c.id, a.id);
    assert.equal(d.id, b.id, 'joins the session with fewer holders');
    for (const x of [a, b, c, d]) pool.release(x);
    assert.equal(pool.stats.idle, 2);
    await pool.close();
  });

test('the message quota counts the holders: no more join than it allows', async () => {
  const { pool, clients } = makePool({ maxMessagesPerConnection: 2, acquireTimeoutMs: 50 });
  const a = await pool.acquire({ shared: true });
  const b = await pool.acquire({ shared: true });
  assert.equal(a.id, b.id);
  await assert.rejects(pool.acquire({ shared: true }), /became free/);
  clients[0]!.messagesSent = 2;
  pool.release(a);
  pool.release(b);
  assert.equal(clients[0]!.quits, 1, 'spent: closed politely');
  await pool.close();
});

test('released as broken by one holder: closes when the last holder is done', async () => {
  const { pool, clients } = makePool();
  const a = await pool.acquire({ shared: true });
  const b = await pool.acquire({ shared: true });
  pool.release(a, { broken: true });
  assert.equal(clients[0]!.destroyed, false, 'b still has a send on it');
  const next = pool.acquire({ shared: true });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(pool.stats.waiting, 1, 'a retiring session takes no newcomer');
  pool.release(b);
  assert.equal(clients[0]!.destroyed, true);
  const c = await next;
  assert.equal(c.id, 2, 'the newcomer gets a new session');
  pool.release(c);
  await pool.close();
});
