/**
 * Bounds: a timeout on every wait of a session (each case asserts the stage named and that it
 * fired within its timeout plus a small margin), and back-pressure: a server that stops
 * reading makes the data-block timeout fire while the client's memory stays flat, because
 * the client pulls message data from its source only as fast as the socket drains.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { SmtpTimeoutError, type SessionStage } from '../../src/errors.js';
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
} from './helpers.js';

const servers: FaultServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(handler: FaultHandler): Promise<FaultServer> {
  const server = await startFaultServer(handler);
  servers.push(server);
  return server;
}

const { ca } = testCertificates();

const envelopeTo = async (peer: Parameters<FaultHandler>[0], caps: string[]): Promise<void> => {
  await peer.hello(caps);
  await peer.expect(/^MAIL FROM/);
  peer.reply('250 Ok');
  await peer.expect(/^RCPT TO/);
  peer.reply('250 Ok');
};

const STALLS: Array<[SessionStage, FaultHandler, Partial<ClientSetup>]> = [
  ['connect', async (peer) => peer.stall(), { secure: 'SslOnConnect', tls: { ca } }],
  ['greeting', async (peer) => peer.stall(), {}],
  ['ehlo', async (peer) => {
    peer.reply('220 mx ESMTP');
    await peer.stall();
  }, {}],
  ['starttls', async (peer) => {
    await peer.hello(['STARTTLS']);
    await peer.stall();
  }, { secure: 'StartTls', tls: { ca } }],
  ['tls-handshake', async (peer) => {
    await peer.hello(['STARTTLS']);
    await peer.expect('STARTTLS');
    peer.reply('220 Go ahead');
    await peer.stall();
  }, { secure: 'StartTls', tls: { ca } }],
  ['auth', async (peer) => {
    await peer.hello(['AUTH PLAIN']);
    await peer.stall();
  }, { auth: passwordAuth({ allowInsecureAuth: true }) }],
  ['mail', async (peer) => {
    await peer.hello([]);
    await peer.stall();
  }, {}],
  ['rcpt', async (peer) => {
    await peer.hello([]);
    await peer.expect(/^MAIL FROM/);
    peer.reply('250 Ok');
    await peer.stall();
  }, {}],
  ['data', async (peer) => {
    await envelopeTo(peer, []);
    await peer.stall();
  }, {}],
  ['bdat', async (peer) => {
    await envelopeTo(peer, ['CHUNKING']);
    await peer.stall();
  }, {}],
];

for (const [stage, handler, setup] of STALLS) {
  test(`every wait is bounded: a server silent at ${stage} -> SmtpTimeoutError(${stage})`,
    async () => {
      const server = await serve(handler);
      const client = faultClient({ port: server.port, ...setup });
      const started = Date.now();
      // A first BDAT chunk that is not LAST (over 1 MiB, no PIPELINING) waits for its own
      // reply; a lone BDAT LAST would be the end of data (an unknown outcome, faults.test).
      const message = stage === 'bdat' ? `Subject: big\r\n\r\n${'b'.repeat(1_500_000)}\r\n`
        : undefined;
      const { error } = await within(WAIT_MS + MARGIN_MS, () => runSession(client, message));
      assertError(error, SmtpTimeoutError);
      assert.equal(error.stage, stage);
      assert.ok(Date.now() - started >= WAIT_MS - 50, 'it waited its timeout');
    });
}

for (const command of ['RSET', 'NOOP'] as const) {
  test(`every wait is bounded: a server silent at ${command}`, async () => {
    const server = await serve(async (peer) => {
      await peer.hello([]);
      await peer.stall();
    });
    const client = faultClient({ port: server.port });
    await within(2 * WAIT_MS + MARGIN_MS, async () => {
      await client.connect();
      const call = command === 'RSET' ? client.reset() : client.noop();
      await assert.rejects(call, (error: unknown) => error instanceof SmtpTimeoutError
        && error.stage === command.toLowerCase());
    });
  });
}

test('every wait is bounded: a server silent at QUIT; quit() resolves anyway', async () => {
  const server = await serve(async (peer) => {
    await peer.hello([]);
    await peer.stall();
  });
  const client = faultClient({ port: server.port });
  // quit() waits for the reply (command timeout), then at most 2 s for the socket to close.
  await within(2 * WAIT_MS + 2_000 + MARGIN_MS, async () => {
    await client.connect();
    await client.quit();
  });
});

test('back-pressure: a server that stops reading makes the data-block timeout fire, with flat ' +
  'memory', async () => {
  const server = await serve(async (peer) => {
    await envelopeTo(peer, ['PIPELINING']);
    await peer.expect('DATA');
    peer.reply('354 Go ahead');
    peer.stopReading();
    await peer.stall();
  });
  const client = faultClient({ port: server.port, timeouts: { dataBlock: 1_000 } });
  // 1 GiB offered lazily; only what the socket takes is ever produced.
  const total = 1024 * 1024 * 1024;
  const line = Buffer.from(`${'z'.repeat(1022)}\r\n`);
  const lines = Buffer.concat(Array.from({ length: 64 }, () => line));
  let produced = 0;
  const source = new Readable({
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      produced += lines.length;
      this.push(lines);
    },
  });
  global.gc?.();
  const before = process.memoryUsage();
  const started = Date.now();
  const { error } = await within(4 * WAIT_MS + 1_000 + MARGIN_MS, async () => {
    await client.connect();
    return client.send(ENVELOPE, source).then(() => ({ error: undefined }),
      (e: unknown) => ({ error: e }));
  });
  const after = process.memoryUsage();
  client.destroy();
  assertError(error, SmtpTimeoutError);
  assert.equal(error.stage, 'data-block');
  assert.ok(Date.now() - started >= 1_000);
  // The kernel's socket buffers and the streams' high-water marks hold a few MB; the client
  // pulled only that, not the gigabyte it was offered.
  assert.ok(produced < 64 * 1024 * 1024, `produced ${produced} octets`);
  const grown = (after.rss - before.rss) / 1024 / 1024;
  assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MB`);
});
