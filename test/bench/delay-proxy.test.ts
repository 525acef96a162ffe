import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { DelayProxy } from '../../bench/delay-proxy.js';

const servers: Server[] = [];
const proxies: DelayProxy[] = [];

after(async () => {
  for (const proxy of proxies) await proxy.close();
  for (const server of servers) server.close();
});

/** A loopback server on port 0 that runs `onSocket` for each connection. */
async function listen(onSocket: (socket: Socket) => void): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, onSocket);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

async function startProxy(
  targetPort: number,
  upstreamDelayMs: number,
  downstreamDelayMs: number,
  maxQueuedBytes?: number,
): Promise<DelayProxy> {
  const proxy = new DelayProxy({
    targetHost: '127.0.0.1',
    targetPort,
    upstreamDelayMs,
    downstreamDelayMs,
    maxQueuedBytes,
  });
  proxies.push(proxy);
  await proxy.start();
  return proxy;
}

async function dial(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/** Reads until `length` octets have arrived; resolves with them and the arrival time. */
function readExactly(socket: Socket, length: number): Promise<{ data: Buffer; at: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= length) {
        socket.off('data', onData);
        resolve({ data: Buffer.concat(chunks), at: performance.now() });
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

test('delays client-to-server data by at least the upstream delay', async () => {
  let arrivedAt = 0;
  const port = await listen((socket) => {
    socket.once('data', () => {
      arrivedAt = performance.now();
      socket.end('ok');
    });
  });
  const proxy = await startProxy(port, 40, 0);
  const client = await dial(proxy.port);
  const reply = readExactly(client, 2);
  const sentAt = performance.now();
  client.write('x');
  await reply;
  assert.ok(arrivedAt - sentAt >= 40, `upstream took ${arrivedAt - sentAt} ms`);
  client.destroy();
});

test('delays server-to-client data by at least the downstream delay', async () => {
  let sentAt = 0;
  const port = await listen((socket) => {
    socket.once('data', () => {
      sentAt = performance.now();
      socket.write('pong');
    });
  });
  const proxy = await startProxy(port, 0, 40);
  const client = await dial(proxy.port);
  const reply = readExactly(client, 4);
  client.write('ping');
  const { data, at } = await reply;
  assert.equal(data.toString(), 'pong');
  assert.ok(at - sentAt >= 40, `downstream took ${at - sentAt} ms`);
  client.destroy();
});

test('a request and its reply take at least both delays together', async () => {
  const port = await listen((socket) => socket.pipe(socket));
  const proxy = await startProxy(port, 15, 25);
  const client = await dial(proxy.port);
  const reply = readExactly(client, 5);
  const sentAt = performance.now();
  client.write('hello');
  const { data, at } = await reply;
  assert.equal(data.toString(), 'hello');
  assert.ok(at - sentAt >= 40, `round trip took ${at - sentAt} ms`);
  client.destroy();
});

test('forwards bytes identical and in order, with back-pressure under a small queue', async () => {
  const port = await listen((socket) => socket.pipe(socket));
  // A 64 KiB bound makes the proxy pause and resume reading many times for 4 MiB.
  const proxy = await startProxy(port, 2, 3, 64 * 1024);
  const client = await dial(proxy.port);
  const payload = randomBytes(4 * 1024 * 1024);
  const echoed = readExactly(client, payload.length);
  for (let offset = 0; offset < payload.length; offset += 10_000) {
    client.write(payload.subarray(offset, offset + 10_000));
  }
  const { data } = await echoed;
  assert.equal(data.length, payload.length);
  assert.ok(data.equals(payload), 'echoed bytes differ from the bytes sent');
  const stats = proxy.stats();
  assert.equal(stats.bytesUpstream, payload.length);
  assert.equal(stats.bytesDownstream, payload.length);
  client.destroy();
});

test('counts one turn per client write answered by the server, not the greeting', async () => {
  const port = await listen((socket) => {
    socket.write('220 ready\r\n');
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let end = buffered.indexOf('\n');
      while (end >= 0) {
        buffered = buffered.slice(end + 1);
        socket.write('250 ok\r\n');
        end = buffered.indexOf('\n');
      }
    });
  });
  const proxy = await startProxy(port, 1, 1);
  const client = await dial(proxy.port);
  await readExactly(client, '220 ready\r\n'.length);
  // Three lock-step exchanges: three turns.
  for (let i = 0; i < 3; i += 1) {
    const reply = readExactly(client, 8);
    client.write(`CMD ${i}\r\n`);
    await reply;
  }
  // Two pipelined commands in one write, answered together: one more turn.
  const replies = readExactly(client, 16);
  client.write('CMD a\r\nCMD b\r\n');
  await replies;
  const stats = proxy.stats();
  assert.equal(stats.connections, 1);
  assert.equal(stats.turns, 4);
  assert.deepEqual(stats.turnsPerConnection, [4]);
  proxy.resetStats();
  assert.equal(proxy.stats().turns, 0);
  client.destroy();
});

test('passes a half-close through after the data before it', async () => {
  const port = await listen((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => socket.end(`got ${Buffer.concat(chunks).length}`));
  });
  const proxy = await startProxy(port, 5, 5);
  const client = await dial(proxy.port);
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  client.end('abcdef');
  await once(client, 'end');
  assert.equal(Buffer.concat(chunks).toString(), 'got 6');
  client.destroy();
});
