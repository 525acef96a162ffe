/**
 * The connection manager against the Postfix rig (scripts/rig/rig.sh start): testConnection on
 * each port and TLS mode, STARTTLS required against a port without it, and 1,000 messages
 * through a pool of 4 while the test cuts connections.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { kdestroy, kinit, listDeliveries, rig, rigSkipReason } from '../support/rig.js';

const PASSWORD_VARIABLE = 'SMTPCM_RIG_ALICE_PASSWORD';

function base(port: number, extra = ''): string {
  const r = rig()!;
  return `SmtpServer=${r.hostName};UseWindowsAuthentication=False;EnableSsl=True;Port=${port};` +
    `CaFile=${r.dir}/tls/ca.pem;${extra}`;
}

function credentials(): string {
  process.env[PASSWORD_VARIABLE] = rig()!.users.alice.password;
  return `UserName=alice;Password=env:${PASSWORD_VARIABLE};`;
}

/**
 * A TCP relay to the rig that closes a session, instead of forwarding, the moment the client's
 * bytes hold the n-th `MAIL FROM` (plain-text sessions only): it answers `421` as a server
 * shutting down does, and closes both sides. Nothing of that message reaches Postfix, and the
 * client knows it (the 421 answers the MAIL), which is exactly the failure the manager retries.
 * (A bare cut there would be an unknown outcome: with PIPELINING and CHUNKING the client has
 * sent MAIL, RCPT and `BDAT LAST` before the cut.)
 */
async function startCuttingRelay(
  target: number,
  cutAt: (mailCount: number) => boolean,
): Promise<{ port: number; cuts: number; server: Server }> {
  let mails = 0;
  const state = { port: 0, cuts: 0, server: undefined as unknown as Server };
  const sockets = new Set<Socket>();
  state.server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: target });
    sockets.add(client).add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', () => client.end());
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      const count = text.match(/^MAIL FROM:/gim)?.length ?? 0;
      for (let i = 0; i < count; i++) {
        mails++;
        if (cutAt(mails)) {
          state.cuts++;
          upstream.destroy();
          client.end('421 4.3.2 Test relay closing the connection\r\n');
          return;
        }
      }
      upstream.write(chunk);
    });
  });
  state.server.on('close', () => {
    for (const socket of sockets) socket.destroy();
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.port = (state.server.address() as { port: number }).port;
  return state;
}

describe('SmtpConnectionManager against the Postfix rig', { skip: rigSkipReason }, () => {
  test('3525, EnableSsl=True: STARTTLS, anonymous', async () => {
    const report = await new SmtpConnectionManager({ connectionString: base(3525) })
      .testConnection();
    assert.equal(report.success, true, JSON.stringify(report.error));
    assert.equal(report.resolvedAddress, '127.0.0.1');
    assert.ok(report.steps.some((s) => s.name === 'starttls'));
    assert.match(report.tls!.protocol, /^TLSv1\.[23]$/);
    assert.equal(report.tls!.verified, true);
    assert.equal(report.mechanism, undefined);
    assert.ok(report.transcript.every((l) => !l.startsWith('C: AUTH')));
    assert.ok(report.extensions.some((e) => e.startsWith('AUTH ')));
  });

  test('3587 submission with UserName and Password', async () => {
    const report = await new SmtpConnectionManager({
      connectionString: base(3587, credentials()),
    }).testConnection();
    assert.equal(report.success, true, JSON.stringify(report.error));
    assert.match(report.tls!.protocol, /^TLSv1\.[23]$/);
    const offered = report.extensions.find((e) => e.startsWith('AUTH '))!.split(' ').slice(1);
    assert.ok(report.mechanism && offered.includes(report.mechanism),
      `${report.mechanism} among ${offered.join(' ')}`);
    assert.ok(!report.transcript.join('\n').includes(rig()!.users.alice.password));
  });

  test('3465 with SecureSocketOptions=SslOnConnect', async () => {
    const r = rig()!;
    const report = await new SmtpConnectionManager({
      connectionString: `SmtpServer=${r.hostName};Port=3465;SecureSocketOptions=SslOnConnect;` +
        `CaFile=${r.dir}/tls/ca.pem;${credentials()}`,
    }).testConnection();
    assert.equal(report.success, true, JSON.stringify(report.error));
    assert.equal(report.server?.secure, 'SslOnConnect');
    assert.ok(report.steps.some((s) => s.name === 'tls-handshake' || s.name === 'connect'));
    assert.ok(!report.steps.some((s) => s.name === 'starttls'));
    assert.match(report.tls!.protocol, /^TLSv1\.[23]$/);
    assert.ok(report.mechanism);
  });

  test('EnableSsl=True on 3524 (no TLS) fails before any credential or envelope', async () => {
    const manager = new SmtpConnectionManager({ connectionString: base(3524, credentials()) });
    const report = await manager.testConnection();
    assert.equal(report.success, false);
    assert.equal(report.failedStep, 'starttls');
    assert.equal(report.error?.code, 'ETLS');
    assert.deepEqual(report.transcript.filter((l) => /^C: (AUTH|MAIL|RCPT|DATA)/.test(l)), []);
    await assert.rejects(manager.send({ from: 'alice@rig.test', to: ['bob@rig.test'] },
      'Subject: never\r\n\r\nnever\r\n'), { code: 'ETLS' });
    await manager.close();
  });

  test('UseWindowsAuthentication=True: GSSAPI with a Kerberos ticket, NTLM without', async () => {
    const r = rig()!;
    const ssis = `SmtpServer=${r.hostName};UseWindowsAuthentication=True;EnableSsl=True;` +
      `Port=${r.ports.exchange};CaFile=${r.dir}/tls/ca.pem;`;
    const saved = { KRB5_CONFIG: process.env.KRB5_CONFIG, KRB5CCNAME: process.env.KRB5CCNAME };
    const tickets = await kinit('alice');
    try {
      Object.assign(process.env, tickets);
      const kerberos = await new SmtpConnectionManager({ connectionString: ssis })
        .testConnection();
      assert.equal(kerberos.success, true, JSON.stringify(kerberos.error));
      assert.equal(kerberos.mechanism, 'GSSAPI');

      await kdestroy(tickets);
      const ntlm = await new SmtpConnectionManager({
        connectionString: `${ssis}${credentials()}Domain=RIG;`,
      }).testConnection();
      assert.equal(ntlm.success, true, JSON.stringify(ntlm.error));
      assert.equal(ntlm.mechanism, 'NTLM');
      assert.ok(ntlm.transcript.every((l) => !/^C: AUTH (PLAIN|LOGIN)/.test(l)),
        'Windows authentication never uses PLAIN or LOGIN');
    } finally {
      await kdestroy(tickets);
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('1,000 messages through a pool of 4, sessions cut mid-run: all delivered', async () => {
    const relay = await startCuttingRelay(rig()!.ports.plain, (n) => n % 97 === 0);
    const recipient = `pool-${randomUUID().slice(0, 8)}@rig.test`;
    const manager = new SmtpConnectionManager({
      connectionString: `SmtpServer=127.0.0.1;UseWindowsAuthentication=False;EnableSsl=False;` +
        `Port=${relay.port};MaxConnections=4;`,
    });
    const total = 1000;
    try {
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: total }, (_, i) => manager.send(
        { from: 'alice@rig.test', to: [recipient] },
        `From: alice@rig.test\r\nTo: ${recipient}\r\nSubject: pool ${i}\r\n` +
          `X-Pool-Id: ${i}\r\n\r\nMessage ${i}.\r\n`)));
      assert.equal(results.filter((r) => r.accepted.length === 1).length, total);
      process.stderr.write(`rig pool: ${total} accepted by Postfix in ${Date.now() - started} ` +
        `ms through 4 sessions, ${relay.cuts} sessions cut\n`);
    } finally {
      await manager.close();
      relay.server.close();
    }
    assert.ok(relay.cuts >= 10, `the relay cut ${relay.cuts} sessions`);
    let delivered: string[] = [];
    for (let i = 0; i < 600; i++) {
      delivered = await listDeliveries(recipient);
      if (delivered.length >= total) break;
      await sleep(200);
    }
    assert.equal(delivered.length, total);
    const ids = new Set<string>();
    for (const path of delivered) {
      ids.add(/^X-Pool-Id: (\d+)$/m.exec(await readFile(path, 'latin1'))![1]!);
    }
    assert.equal(ids.size, total, 'each message delivered exactly once');
  });
});
