/**
 * The connection manager pipelines concurrent sends (issue 8): with MaxConnections=1 they
 * share the one session, up to its window; with more sessions they spread first, and share
 * only when `pool.sharedSessions` says so. The retry-once rule is unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { SmtpUnknownOutcomeError } from '../../src/errors.js';
import { startScriptedServer, type ScriptStep } from '../support/scripted-server.js';
import { startTestServer } from './smtp-test-server.js';

function message(n: number): string {
  return `Subject: ${n}\r\n\r\nbody ${n}\r\n`;
}

function bdatSteps(to: string, reset: boolean): ScriptStep[] {
  return [...(reset ? ['C: RSET'] : []), 'C: MAIL FROM:<a@x.test> SIZE=22',
    `C: RCPT TO:<${to}>`, 'C: BDAT 22 LAST', { expectBytes: 22 }];
}

test('MaxConnections=1: concurrent sends pipeline on the one session, in one write', async () => {
  const server = await startScriptedServer(['S: 220 mx.test ESMTP', 'C: EHLO client.test',
    'S: 250-mx.test', 'S: 250-PIPELINING', 'S: 250-SIZE 1000', 'S: 250 CHUNKING',
    ...bdatSteps('b@y.test', false), ...bdatSteps('c@y.test', true),
    ...bdatSteps('d@y.test', true),
    'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 1',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 2',
    'S: 250 2.0.0 Ok', 'S: 250 2.1.0 Ok', 'S: 250 2.1.5 Ok', 'S: 250 2.0.0 queued 3',
    'C: QUIT', 'S: 221 2.0.0 bye']);
  const manager = new SmtpConnectionManager({
    connectionString: `SmtpServer=127.0.0.1;Port=${server.port};EnableSsl=False;` +
      'MaxConnections=1;ClientDomain=client.test;',
  });
  try {
    const results = await Promise.all(['b', 'c', 'd'].map((user, i) =>
      manager.send({ from: 'a@x.test', to: [`${user}@y.test`] }, message(i + 1))));
    assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued 1', 'queued 2', 'queued 3']);
    assert.equal(manager.poolStats.opened, 1);
  } finally {
    await manager.close();
  }
  await server.done;
  await server.close();
  assert.deepEqual(server.errors, []);
  const envelope = (to: string, n: number, reset: boolean): string =>
    `${reset ? 'RSET\r\n' : ''}MAIL FROM:<a@x.test> SIZE=22\r\nRCPT TO:<${to}>\r\n` +
    `BDAT 22 LAST\r\n${message(n)}`;
  const reads = server.reads.map((read) => read.toString('latin1'));
  assert.ok(reads.includes(envelope('b@y.test', 1, false) + envelope('c@y.test', 2, true) +
    envelope('d@y.test', 3, true)), JSON.stringify(reads));
});

for (const sharedSessions of [undefined, true]) {
  test(`MaxConnections=4, 16 sends, sharedSessions ${sharedSessions}: spread over four ` +
    'sessions, every message received once', async () => {
    const server = await startTestServer({ noTls: true });
    const manager = new SmtpConnectionManager({
      connectionString: `SmtpServer=127.0.0.1;Port=${server.port};EnableSsl=False;` +
        'MaxConnections=4;',
      ...(sharedSessions === undefined ? {} : { pool: { sharedSessions } }),
    });
    try {
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) =>
        manager.send({ from: 'a@x.test', to: [`u${i}@y.test`] }, message(i))));
      assert.equal(results.length, 16);
      assert.equal(manager.poolStats.opened, 4);
    } finally {
      await manager.close();
      await server.close();
    }
    assert.equal(server.connections, 4);
    assert.deepEqual(server.messages.map((m) => m.to[0]).sort(),
      Array.from({ length: 16 }, (_, i) => `u${i}@y.test`).sort());
    // smtp-server offers PIPELINING but not CHUNKING: with shared sessions, a DATA body's
    // dot and the next envelope leave together, so some MAIL follows a dot in the log
    // without waiting; either way, every session was used.
  });
}

test('a shared session dropped mid-pipeline: unknown outcomes are not retried', async () => {
  const server = await startScriptedServer(['S: 220 mx.test ESMTP', 'C: EHLO client.test',
    'S: 250-mx.test', 'S: 250-PIPELINING', 'S: 250-SIZE 1000', 'S: 250 CHUNKING',
    ...bdatSteps('b@y.test', false), ...bdatSteps('c@y.test', true), { drop: true }]);
  const manager = new SmtpConnectionManager({
    connectionString: `SmtpServer=127.0.0.1;Port=${server.port};EnableSsl=False;` +
      'MaxConnections=1;ClientDomain=client.test;',
  });
  try {
    const outcomes = await Promise.allSettled(['b', 'c'].map((user, i) =>
      manager.send({ from: 'a@x.test', to: [`${user}@y.test`] }, message(i + 1))));
    for (const outcome of outcomes) {
      assert.ok(outcome.status === 'rejected'
        && outcome.reason instanceof SmtpUnknownOutcomeError, String(outcome));
    }
    assert.equal(manager.poolStats.opened, 1, 'no retry on a fresh connection');
  } finally {
    await manager.close();
  }
  await server.done;
  await server.close();
  assert.deepEqual(server.errors, []);
});
