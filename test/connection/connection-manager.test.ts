import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCaptureServer } from '../../src/capture/capture-server.js';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import {
  ConfigurationError,
  SmtpConnectionError,
  SmtpTlsError,
  SmtpUnknownOutcomeError,
} from '../../src/errors.js';
import type { PooledConnection } from '../../src/connection/pool.js';
import type { TranscriptLine } from '../../src/log.js';
import { fingerprint256, testCertificates } from '../support/test-ca.js';
import { startTestServer, USER, type TestServer } from './smtp-test-server.js';

const PASSWORD_VARIABLE = 'SMTPCM_TEST_MANAGER_PASSWORD';

function message(id: string | number): Buffer {
  return Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${id}\r\n` +
    `X-Test-Id: ${id}\r\n\r\nBody of ${id}.\r\n`);
}

const envelope = { from: 'a@example.com', to: ['b@example.com'] };

describe('SmtpConnectionManager against smtp-server', () => {
  let dir = '';
  let caFile = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smtpcm-manager-'));
    caFile = join(dir, 'ca.pem');
    await writeFile(caFile, testCertificates().ca);
    process.env[PASSWORD_VARIABLE] = USER.password;
  });
  after(async () => {
    delete process.env[PASSWORD_VARIABLE];
    await rm(dir, { recursive: true, force: true });
  });

  const connectionString = (server: TestServer, extra = ''): string =>
    `SmtpServer=127.0.0.1;UseWindowsAuthentication=False;EnableSsl=True;Port=${server.port};` +
    `CaFile=${caFile};UserName=${USER.username};Password=env:${PASSWORD_VARIABLE};${extra}`;

  async function withServer(
    options: Parameters<typeof startTestServer>[0],
    run: (server: TestServer) => Promise<void>,
  ): Promise<void> {
    const server = await startTestServer(options);
    try {
      await run(server);
    } finally {
      await server.close();
    }
  }

  test('properties and connection string stay in sync both ways', () => {
    const manager = new SmtpConnectionManager({
      name: 'Relay',
      connectionString: 'SmtpServer=mail.example.com;UseWindowsAuthentication=False;' +
        'EnableSsl=False;UserName=u;Password=hunter2;',
    });
    assert.match(manager.id, /^\{[0-9A-F-]{36}\}$/);
    manager.properties.port = 587;
    manager.properties.enableSsl = true;
    assert.equal(manager.connectionString, 'SmtpServer=mail.example.com;' +
      'UseWindowsAuthentication=False;EnableSsl=True;Port=587;UserName=u;Password=hunter2;');
    assert.equal(manager.toString(), 'SmtpServer=mail.example.com;' +
      'UseWindowsAuthentication=False;EnableSsl=True;Port=587;UserName=u;Password=********;');
    manager.connectionString = 'smtp2.example.com';
    assert.equal(manager.properties.smtpServer, 'smtp2.example.com');
    assert.equal(manager.properties.port, undefined);
    assert.throws(() => {
      manager.properties.port = 0;
    }, ConfigurationError);
    manager.properties.secureSocketOptions = 'SslOnConnect';
    assert.equal(manager.properties.enableSsl, true, 'EnableSsl follows the chosen mode');
    manager.properties.secureSocketOptions = 'None';
    assert.equal(manager.properties.enableSsl, false);
    assert.throws(() => {
      manager.properties.enableSsl = true;
    }, ConfigurationError);
    assert.equal(manager.properties.enableSsl, false, 'a refused change changes nothing');
    manager.properties.secureSocketOptions = undefined;
    assert.equal(manager.connectionString,
      'SmtpServer=smtp2.example.com;UseWindowsAuthentication=False;EnableSsl=False;');
  });

  test('an incomplete manager loads, and validate() says what is missing', async () => {
    const manager = new SmtpConnectionManager({ connectionString: '' });
    assert.deepEqual(manager.validate().errors.map((p) => p.field), ['SmtpServer']);
    await assert.rejects(manager.acquireConnection(), ConfigurationError);
    const report = await manager.testConnection();
    assert.equal(report.success, false);
    assert.equal(report.failedStep, 'configuration');
  });

  test('acquire, release and reuse one authenticated STARTTLS session', () =>
    withServer({}, async (server) => {
      const manager = new SmtpConnectionManager({ connectionString: connectionString(server) });
      try {
        const first = await manager.acquireConnection();
        assert.equal(first.client.usable, true);
        assert.equal(first.client.secure, true);
        assert.equal(first.client.mechanism !== undefined, true);
        assert.deepEqual(manager.poolStats, { idle: 0, busy: 1, opening: 0, waiting: 0,
          opened: 1 });
        manager.releaseConnection(first);
        assert.equal(manager.poolStats.idle, 1);
        const again = await manager.acquireConnection();
        assert.equal(again.id, first.id);
        manager.releaseConnection(again);
        assert.equal(server.connections, 1);
      } finally {
        await manager.close();
      }
      assert.ok(server.commands.includes('C: QUIT'), 'close() ends sessions with QUIT');
    }));

  test('MaxConnections bounds the pool; a waiting caller gets the next session released', () =>
    withServer({}, async (server) => {
      const manager = new SmtpConnectionManager({
        connectionString: connectionString(server, 'MaxConnections=2;'),
      });
      try {
        const a = await manager.acquireConnection();
        const b = await manager.acquireConnection();
        const got: { third?: PooledConnection } = {};
        const waiting = manager.acquireConnection().then((c) => (got.third = c));
        await sleep(50);
        assert.equal(got.third, undefined);
        assert.equal(manager.poolStats.waiting, 1);
        manager.releaseConnection(b);
        const third = await waiting;
        assert.equal(third.id, b.id);
        manager.releaseConnection(a);
        manager.releaseConnection(third);
        assert.equal(server.connections, 2);
      } finally {
        await manager.close();
      }
    }));

  test('a caller waits at most Timeout for a free session; close() fails waiting callers', () =>
    withServer({}, async (server) => {
      const manager = new SmtpConnectionManager({
        connectionString: connectionString(server, 'Timeout=1;'),
      });
      const held = await manager.acquireConnection();
      try {
        const started = Date.now();
        await assert.rejects(manager.acquireConnection(), (error: Error) =>
          error.name === 'SmtpTimeoutError' && /MaxConnections=1/.test(error.message));
        assert.ok(Date.now() - started >= 900, 'waited about the Timeout');
        const waiting = manager.acquireConnection();
        await sleep(20);
        const closing = manager.close();
        await assert.rejects(waiting, SmtpConnectionError);
        manager.releaseConnection(held);
        await closing;
      } finally {
        manager.releaseConnection(held);
        await manager.close();
      }
      assert.equal(server.connections, 1);
    }));

  test('MaxMessagesPerConnection replaces a session after its quota', () =>
    withServer({}, async (server) => {
      const manager = new SmtpConnectionManager({
        connectionString: connectionString(server, 'MaxMessagesPerConnection=3;'),
      });
      try {
        for (let i = 0; i < 7; i++) await manager.send(envelope, message(i));
      } finally {
        await manager.close();
      }
      assert.equal(server.messages.length, 7);
      assert.equal(server.connections, 3);
      assert.deepEqual([...new Set(server.messages.map((m) => m.sessionId))].length, 3);
    }));

  test('a session idle past the threshold is checked with NOOP; a dead one is replaced', () =>
    withServer({}, async (server) => {
      const manager = new SmtpConnectionManager({
        connectionString: connectionString(server),
        pool: { healthCheckAfterMs: 0 },
      });
      try {
        await manager.send(envelope, message('one'));
        await manager.send(envelope, message('two'));
        assert.ok(server.commands.includes('C: NOOP'), 'NOOP before reuse');
        assert.equal(server.connections, 1);
        server.dropAll();
        await sleep(50);
        await manager.send(envelope, message('three'));
        assert.equal(server.connections, 2);
        assert.equal(server.messages.length, 3);
      } finally {
        await manager.close();
      }
    }));

  test('an idle session is closed with QUIT after the idle timeout', () =>
    withServer({}, async (server) => {
      const manager = new SmtpConnectionManager({
        connectionString: connectionString(server),
        pool: { idleTimeoutMs: 100 },
      });
      try {
        await manager.send(envelope, message('idle'));
        assert.equal(manager.poolStats.idle, 1);
        for (let i = 0; i < 50 && manager.poolStats.idle > 0; i++) await sleep(20);
        assert.equal(manager.poolStats.idle, 0);
        for (let i = 0; i < 50 && !server.commands.includes('C: QUIT'); i++) await sleep(20);
        assert.ok(server.commands.includes('C: QUIT'));
      } finally {
        await manager.close();
      }
    }));

  test('a connection dropped before the message was handed over is retried once', () =>
    withServer({ dropAtMail: (count) => count === 1 }, async (server) => {
      const manager = new SmtpConnectionManager({ connectionString: connectionString(server) });
      try {
        const result = await manager.send(envelope, () => Readable.from([message('retry')]));
        assert.deepEqual(result.accepted, ['b@example.com']);
      } finally {
        await manager.close();
      }
      assert.equal(server.messages.length, 1);
      assert.equal(server.connections, 2);
    }));

  test('when the retry fails too, the error says both attempts failed', () =>
    withServer({ dropAtMail: () => true }, async (server) => {
      const manager = new SmtpConnectionManager({ connectionString: connectionString(server) });
      try {
        await assert.rejects(manager.send(envelope, message('never')), (error: Error) => {
          assert.ok(error instanceof SmtpConnectionError);
          assert.match(error.message, /second attempt/);
          return true;
        });
      } finally {
        await manager.close();
      }
      assert.equal(server.commands.filter((c) => c.startsWith('C: MAIL')).length, 2);
    }));

  test('a send the caller aborts is not retried on a fresh connection', () =>
    withServer({}, async (server) => {
      const manager = new SmtpConnectionManager({ connectionString: connectionString(server) });
      const controller = new AbortController();
      let streams = 0;
      // The message stalls after its first chunk; the caller gives up while it is being sent.
      const stalled = (): Readable => {
        streams += 1;
        let pushed = false;
        return new Readable({ read() {
          if (pushed) return;
          pushed = true;
          this.push('From: a@example.com\r\nSubject: stalled\r\n\r\n');
          setImmediate(() => controller.abort());
        } });
      };
      try {
        await assert.rejects(manager.send(envelope, stalled, { signal: controller.signal }),
          (error: Error) => {
            assert.ok(error instanceof SmtpConnectionError);
            assert.equal(error.message, 'The send was aborted (SendOptions.signal) before its ' +
              'end of data was written: nothing of it was delivered.');
            return true;
          });
      } finally {
        await manager.close();
      }
      assert.equal(streams, 1);
      assert.equal(server.connections, 1);
      assert.equal(server.messages.length, 0);
    }));

  test('the log names an IPv6 server in brackets before its port', async () => {
    const capture = await startCaptureServer({ dir: join(dir, 'ipv6'), host: '::1' });
    const opened: unknown[] = [];
    const logger = { info() {}, warn() {}, error() {},
      debug(fields: Record<string, unknown>, text: string) {
        if (text.startsWith('Opened an SMTP session')) opened.push(fields.server);
      } };
    const manager = new SmtpConnectionManager({ logger,
      connectionString: `SmtpServer=[::1];Port=${capture.port};` });
    try {
      await manager.send(envelope, message('ipv6'));
    } finally {
      await manager.close();
      await capture.close();
    }
    assert.deepEqual(opened, [`[::1]:${capture.port}`]);
  });

  test('an unknown outcome is never retried', () =>
    withServer({ dropAtDataEnd: () => true }, async (server) => {
      const manager = new SmtpConnectionManager({ connectionString: connectionString(server) });
      try {
        await assert.rejects(manager.send(envelope, message('maybe')), SmtpUnknownOutcomeError);
      } finally {
        await manager.close();
      }
      assert.equal(server.commands.filter((c) => c.startsWith('C: MAIL')).length, 1);
    }));

  // The server kills the session at every 150th MAIL FROM: a point where nothing was delivered.
  // (A kill after the final dot would be an unknown outcome, which must not be retried.)
  test('1,000 messages through a pool of 4, connections killed mid-run: none lost', () =>
    withServer({ dropAtMail: (count) => count % 150 === 0 }, async (server) => {
      const manager = new SmtpConnectionManager({
        connectionString: connectionString(server, 'MaxConnections=4;'),
      });
      const total = 1000;
      try {
        const results = await Promise.all(Array.from({ length: total }, (_, i) =>
          manager.send(envelope, message(`m${i}`))));
        assert.equal(results.length, total);
      } finally {
        await manager.close();
      }
      const ids = server.messages.map((m) => /X-Test-Id: (\S+)/.exec(m.data.toString())![1]);
      assert.equal(server.messages.length, total);
      assert.equal(new Set(ids).size, total, 'each message exactly once');
      assert.ok(server.maxConcurrent <= 4, `at most 4 sessions at once (${server.maxConcurrent})`);
      assert.ok(server.connections > 4, 'dropped sessions were replaced');
    }));

  test('testConnection reports each step, TLS, extensions, mechanism, masked transcript', () =>
    withServer({}, async (server) => {
      const lines: TranscriptLine[] = [];
      const manager = new SmtpConnectionManager({
        name: 'Test',
        connectionString: connectionString(server),
        transcript: (line) => lines.push(line),
      });
      const report = await manager.testConnection();
      assert.equal(report.success, true, JSON.stringify(report.error));
      assert.equal(report.resolvedAddress, '127.0.0.1');
      assert.deepEqual(report.server, { host: '127.0.0.1', port: server.port, secure: 'StartTls' });
      const names = report.steps.map((s) => s.name);
      for (const name of ['configuration', 'connect', 'greeting', 'ehlo', 'starttls', 'auth',
        'quit']) {
        assert.ok(names.includes(name), `step ${name} in ${names.join(',')}`);
      }
      assert.ok(report.steps.every((s) => s.ok && s.durationMs >= 0));
      assert.match(report.tls!.protocol, /^TLSv1\.[23]$/);
      assert.ok(report.tls!.cipher.length > 0);
      assert.equal(report.tls!.verified, true);
      assert.equal(report.tls!.certificate?.fingerprint256,
        fingerprint256(testCertificates().valid.cert));
      assert.ok(report.extensions.some((e) => e.startsWith('AUTH ')), report.extensions.join());
      assert.ok(report.mechanism && ['PLAIN', 'LOGIN'].includes(report.mechanism));
      assert.match(report.greeting!, /^220 /);
      assert.ok(report.transcript.some((l) => l.startsWith('C: AUTH')));
      const wire = report.transcript.join('\n');
      assert.ok(!wire.includes(USER.password));
      assert.ok(!wire.includes(Buffer.from(`\0alice\0${USER.password}`).toString('base64')));
      assert.ok(!report.connection.connectionString.includes(USER.password));
      assert.equal(lines.length, report.transcript.length, 'the injected transcript got it all');
    }));

  test('testConnection names the failed step and the reason', () =>
    withServer({}, async (server) => {
      const manager = new SmtpConnectionManager({
        connectionString: `SmtpServer=127.0.0.1;EnableSsl=True;Port=${server.port};` +
          `CaFile=${caFile};UserName=alice;Password=wrong-password;`,
      });
      const report = await manager.testConnection();
      assert.equal(report.success, false);
      assert.equal(report.failedStep, 'auth');
      assert.equal(report.error?.code, 'EAUTH');
      assert.ok(report.tls, 'TLS facts are kept for a failed login');
      assert.ok(!report.transcript.join('\n').includes('wrong-password'));
    }));

  test('EnableSsl=True against a server without STARTTLS fails before AUTH or MAIL', () =>
    withServer({ noTls: true }, async (server) => {
      const manager = new SmtpConnectionManager({ connectionString: connectionString(server) });
      try {
        await assert.rejects(manager.send(envelope, message('secret')), SmtpTlsError);
        const report = await manager.testConnection();
        assert.equal(report.success, false);
        assert.equal(report.failedStep, 'starttls');
        assert.equal(report.error?.code, 'ETLS');
      } finally {
        await manager.close();
      }
      assert.ok(server.commands.some((c) => c.startsWith('C: EHLO')), 'the session started');
      assert.deepEqual(server.commands.filter((c) => /^C: (AUTH|MAIL|RCPT|DATA)/.test(c)), []);
      assert.equal(server.messages.length, 0);
    }));
});
