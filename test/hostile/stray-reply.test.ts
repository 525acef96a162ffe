/**
 * A reply nobody asked for, between transactions. With CHUNKING and PIPELINING a session
 * that read it as the next MAIL's reply would shift every later reply by one: MAIL gets the
 * stray 250, RCPT gets MAIL's, `BDAT LAST` gets RCPT's, and a message the server refused
 * (554) is reported as taken. The transport counts the replies owed for what was written; a
 * reply that comes when none is owed makes the session unusable, and the next send goes on
 * a fresh one.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { SmtpCommandError, SmtpConnectionError } from '../../src/errors.js';
import { startFaultServer, type FaultPeer, type FaultServer }
  from '../support/fault-server.js';
import { ENVELOPE, MESSAGE, faultClient } from './helpers.js';

const servers: FaultServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

/**
 * A fault server whose every connection greets, offers PIPELINING and CHUNKING, reads one
 * pipelined transaction, then goes on as `after` says.
 */
async function chunkingServer(after: (peer: FaultPeer) => Promise<void>): Promise<FaultServer> {
  const server = await startFaultServer(async (peer) => {
    await peer.hello(['PIPELINING', 'CHUNKING']);
    await readTransaction(peer);
    await after(peer);
  });
  servers.push(server);
  return server;
}

/** Reads one pipelined `MAIL RCPT BDAT n LAST <n octets>` transaction. */
async function readTransaction(peer: FaultPeer): Promise<void> {
  await peer.expect(/^MAIL FROM:<sender@fault\.test>/);
  await peer.expect('RCPT TO:<rcpt@fault.test>');
  const bdat = await peer.expect(/^BDAT \d+ LAST$/);
  await peer.bytes(Number(bdat.split(' ')[1]));
}

test('client: a reply after the last one owed makes the session unusable; the next send ' +
  'fails with nothing sent', async () => {
  const server = await chunkingServer(async (peer) => {
    peer.write('250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.0.0 ok 1\r\n250 2.0.0 stray\r\n');
    await peer.stall();
  });
  const client = faultClient({ port: server.port });
  try {
    await client.connect();
    const first = await client.send(ENVELOPE, MESSAGE);
    assert.equal(first.reply.lines[0], 'ok 1');
    await sleep(20);
    assert.equal(client.alive, false);
    await assert.rejects(client.send(ENVELOPE, MESSAGE), (error: unknown) =>
      error instanceof SmtpConnectionError && error.stage === 'idle' &&
      error.message === `127.0.0.1:${server.port} sent 250 2.0.0 stray when no command was ` +
        'waiting for a reply (possible response injection), so the session was closed ' +
        'before this send: nothing of it was sent.');
  } finally {
    client.destroy();
  }
  // One transaction only: the second MAIL never left.
  assert.equal(server.peers[0]!.lines.filter((line) => line.startsWith('MAIL')).length, 1);
});

test('connection manager: after a stray reply the next message goes on a fresh session and ' +
  'its refusal is reported, not the stray 250', async () => {
  const server = await chunkingServer(async (peer) => {
    if (peer.index === 0) {
      peer.write('250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.0.0 ok 1\r\n250 2.0.0 stray\r\n');
      await peer.stall();
      return;
    }
    peer.write('250 2.1.0 ok\r\n250 2.1.5 ok\r\n554 5.7.1 rejected: spam\r\n');
    await peer.serve();
  });
  const manager = new SmtpConnectionManager({ name: 'stray',
    connectionString: `SmtpServer=127.0.0.1;Port=${server.port};EnableSsl=False;Timeout=5;` });
  try {
    const first = await manager.send(ENVELOPE, MESSAGE);
    assert.equal(first.reply.lines[0], 'ok 1');
    await sleep(20);
    await assert.rejects(manager.send(ENVELOPE, MESSAGE), (error: unknown) =>
      error instanceof SmtpCommandError && error.replyCode === 554);
  } finally {
    await manager.close();
  }
  assert.equal(server.peers.length, 2);
  assert.equal(server.peers[0]!.lines.filter((line) => line.startsWith('MAIL')).length, 1);
  assert.deepEqual(server.errors, []);
});

test('connection manager: an unasked 421 on an idle session that stays open is not read as ' +
  'the next MAIL reply; the message goes once, on a fresh session', async () => {
  const server = await chunkingServer(async (peer) => {
    peer.write('250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.0.0 ok 1\r\n');
    if (peer.index === 0) {
      await sleep(10);
      peer.write('421 4.3.2 shutting down\r\n');
      // Open still: a MAIL written now would be taken (and the message sent twice).
      await peer.stall();
      return;
    }
    await peer.serve();
  });
  const manager = new SmtpConnectionManager({ name: 'idle-421',
    connectionString: `SmtpServer=127.0.0.1;Port=${server.port};EnableSsl=False;Timeout=5;` });
  try {
    await manager.send(ENVELOPE, MESSAGE);
    await sleep(40);
    const second = await manager.send(ENVELOPE, MESSAGE);
    assert.equal(second.reply.lines[0], 'ok 1');
  } finally {
    await manager.close();
  }
  assert.equal(server.peers.length, 2);
  assert.equal(server.peers[0]!.lines.filter((line) => line.startsWith('MAIL')).length, 1);
  assert.deepEqual(server.errors, []);
});
