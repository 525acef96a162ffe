/**
 * A TCP proxy on loopback that adds a fixed delay to each direction, standing in for `netem`
 * (which this kernel lacks) so the benchmark can put a server a few milliseconds away.
 *
 * Each chunk read from one side is written to the other side at its arrival time plus the
 * delay of that direction: the delay is not cumulative, so a burst of chunks keeps its own
 * spacing, and order is preserved. Memory is bounded: when more than `maxQueuedBytes` wait in
 * one direction of a connection, reading from that side pauses until half has drained.
 *
 * The proxy also counts turns per connection: a turn is a server-to-client chunk arriving
 * after at least one client-to-server chunk since the previous server-to-client chunk, that
 * is, a client write answered by the server. A client that writes and then waits for the
 * reply makes one turn per wait; see docs/benchmarks.md for what the count means for a client
 * that keeps several transactions in flight.
 *
 * Timers have millisecond granularity, so each chunk leaves at its due time or up to about a
 * millisecond later (more when the event loop is busy); never earlier.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface DelayProxyOptions {
  /** The server that connections are forwarded to. */
  targetHost: string;
  targetPort: number;
  /** Delay added to client-to-server data, in milliseconds. */
  upstreamDelayMs: number;
  /** Delay added to server-to-client data, in milliseconds. */
  downstreamDelayMs: number;
  /** The address to listen on. Default `127.0.0.1`. */
  listenHost?: string;
  /**
   * Bytes allowed to wait in one direction of one connection before reading from the sending
   * side pauses. Default 8 MiB.
   */
  maxQueuedBytes?: number;
}

/** Counters since the proxy started or since the last `resetStats()`. */
export interface DelayProxyStats {
  /** Connections accepted. */
  connections: number;
  /** Client-to-server octets forwarded. */
  bytesUpstream: number;
  /** Server-to-client octets forwarded. */
  bytesDownstream: number;
  /** Client writes answered by the server, summed over connections (see the file comment). */
  turns: number;
  /** Turns of each connection, in the order connections were accepted. */
  turnsPerConnection: number[];
  /** The most octets that waited in one direction of one connection at once. */
  peakQueuedBytes: number;
}

interface DelayedChunk {
  /** `null` stands for the end of the stream. */
  chunk: Buffer | null;
  due: number;
}

/**
 * One direction of one connection: chunks wait in arrival order until their due time, then
 * are written in order, respecting the destination's back-pressure.
 */
class DelayLine {
  private readonly queue: DelayedChunk[] = [];
  private head = 0;
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private closed = false;

  constructor(
    private readonly source: Socket,
    private readonly destination: Socket,
    private readonly delayMs: number,
    private readonly maxQueuedBytes: number,
    private readonly onQueued: (bytes: number) => void,
  ) {
    destination.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
  }

  push(chunk: Buffer | null): void {
    if (this.closed) return;
    this.queue.push({ chunk, due: performance.now() + this.delayMs });
    if (chunk !== null) {
      this.queuedBytes += chunk.length;
      this.onQueued(this.queuedBytes);
      if (this.queuedBytes > this.maxQueuedBytes) this.source.pause();
    }
    if (this.timer === undefined && !this.waitingForDrain) this.flush();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.head = 0;
  }

  private flush(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = performance.now();
    while (this.head < this.queue.length && !this.waitingForDrain) {
      const next = this.queue[this.head];
      if (next.due > now) break;
      this.head += 1;
      if (next.chunk === null) {
        this.destination.end();
        this.close();
        return;
      }
      this.queuedBytes -= next.chunk.length;
      if (!this.destination.write(next.chunk)) this.waitingForDrain = true;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.source.isPaused() && this.queuedBytes <= this.maxQueuedBytes / 2) {
      this.source.resume();
    }
    if (this.waitingForDrain || this.head >= this.queue.length) return;
    const wait = Math.max(1, Math.ceil(this.queue[this.head].due - now));
    this.timer = setTimeout(() => this.flush(), wait);
  }
}

/**
 * The proxy. `start()` listens (port 0 by default) and resolves with the port; `close()`
 * stops listening and destroys every open connection. It does not retry a failed connection
 * to the target: the client's socket is destroyed, as a refused connection would be.
 */
export class DelayProxy {
  private readonly options: Required<DelayProxyOptions>;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private counters: DelayProxyStats = emptyStats();

  constructor(options: DelayProxyOptions) {
    this.options = {
      listenHost: '127.0.0.1',
      maxQueuedBytes: 8 * 1024 * 1024,
      ...options,
    };
  }

  /** Listens on `port` (0: any free port) and resolves with the port. */
  async start(port = 0): Promise<number> {
    const server = createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return this.port;
  }

  /** The port listened on; throws before `start()`. */
  get port(): number {
    const address = this.server?.address();
    if (address === null || address === undefined || typeof address === 'string') {
      throw new Error('The delay proxy is not listening; call start() first.');
    }
    return address.port;
  }

  /** A copy of the counters. */
  stats(): DelayProxyStats {
    return { ...this.counters, turnsPerConnection: [...this.counters.turnsPerConnection] };
  }

  /** Zeroes the counters; connections already open keep counting into the new totals. */
  resetStats(): void {
    this.counters = emptyStats();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const { targetHost, targetPort, upstreamDelayMs, downstreamDelayMs, maxQueuedBytes } =
      this.options;
    const server = connect({ host: targetHost, port: targetPort, allowHalfOpen: true });
    client.setNoDelay(true);
    server.setNoDelay(true);
    this.sockets.add(client);
    this.sockets.add(server);

    let counters = this.counters;
    counters.connections += 1;
    let index = counters.turnsPerConnection.push(0) - 1;
    // Counters may be replaced by resetStats() while the connection lives.
    const current = (): DelayProxyStats => {
      if (counters !== this.counters) {
        counters = this.counters;
        index = counters.turnsPerConnection.push(0) - 1;
      }
      return counters;
    };
    const onQueued = (bytes: number): void => {
      const stats = current();
      if (bytes > stats.peakQueuedBytes) stats.peakQueuedBytes = bytes;
    };
    const up = new DelayLine(client, server, upstreamDelayMs, maxQueuedBytes, onQueued);
    const down = new DelayLine(server, client, downstreamDelayMs, maxQueuedBytes, onQueued);
    let clientSpokeLast = false;

    client.on('data', (chunk: Buffer) => {
      current().bytesUpstream += chunk.length;
      clientSpokeLast = true;
      up.push(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      const stats = current();
      stats.bytesDownstream += chunk.length;
      if (clientSpokeLast) {
        stats.turns += 1;
        stats.turnsPerConnection[index] += 1;
        clientSpokeLast = false;
      }
      down.push(chunk);
    });
    client.on('end', () => up.push(null));
    server.on('end', () => down.push(null));

    const teardown = (): void => {
      up.close();
      down.close();
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    client.on('error', teardown);
    server.on('error', teardown);
    client.on('close', () => {
      if (server.writableEnded || server.destroyed) teardown();
    });
    server.on('close', () => {
      if (client.writableEnded || client.destroyed) teardown();
    });
  }
}

function emptyStats(): DelayProxyStats {
  return {
    connections: 0,
    bytesUpstream: 0,
    bytesDownstream: 0,
    turns: 0,
    turnsPerConnection: [],
    peakQueuedBytes: 0,
  };
}
