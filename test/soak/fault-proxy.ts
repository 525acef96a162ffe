/**
 * A fault-injecting SMTP proxy for the soak: it relays clear-text SMTP between a client and a
 * real server, and at random drops connections or answers in the server's place, always in a
 * way whose truth is known, so that the soak can check the client's reports against what
 * the server delivered:
 *
 * - drop a command: both connections close before the command reaches the server;
 * - drop a reply: both connections close instead of relaying the server's reply (when that
 *   reply was the one to the end of data, the server has the message and the client cannot
 *   know: the unknown outcome);
 * - 421: a command is answered `421` by the proxy (never relayed), after the replies to the
 *   commands before it, and both connections close;
 * - 451 to MAIL: the transaction is refused by the proxy; the rest of it (RCPT, DATA, BDAT and
 *   its octets) is answered `503` without reaching the server, until RSET or QUIT;
 * - 451 to the end of data: the final `.` (or the `BDAT LAST` chunk) is not relayed (the
 *   server discards the unfinished message when the connection closes), the client gets
 *   `451`, and both connections close.
 *
 * It understands PIPELINING (replies are matched to commands in order, the proxy's own
 * replies queued among the server's), DATA (after a relayed 354) and BDAT (the octet count).
 * It does not understand STARTTLS: clients must not encrypt through it.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface FaultRates {
  /** Per client command: close both sides instead of relaying it. */
  dropCommand: number;
  /** Per server reply: close both sides instead of relaying it. */
  dropReply: number;
  /** Per client command: answer 421 and close. */
  reply421: number;
  /** Per MAIL command: answer 451 and refuse the transaction. */
  reply451Mail: number;
  /** Per end of data (the final dot, or BDAT LAST): answer 451, do not relay it, close. */
  reply451Data: number;
}

export interface FaultProxyStats {
  connections: number;
  droppedCommands: number;
  droppedReplies: number;
  injected421: number;
  injected451Mail: number;
  injected451Data: number;
}

export interface FaultProxy {
  port: number;
  stats: FaultProxyStats;
  close(): Promise<void>;
}

type Expected = { from: 'server' } | { from: 'proxy'; text: string; close: boolean };

const CRLF = Buffer.from('\r\n');
const END_OF_DATA = Buffer.from('\r\n.\r\n');

/** Relays one connection. */
class Relay {
  readonly #client: Socket;
  readonly #server: Socket;
  readonly #rates: FaultRates;
  readonly #stats: FaultProxyStats;
  readonly #random: () => number;
  readonly #expected: Expected[] = [{ from: 'server' }];
  #fromClient = Buffer.alloc(0);
  #fromServer = Buffer.alloc(0);
  #replyLines: Buffer[] = [];
  #mode: 'command' | 'data' | 'bdat' = 'command';
  #bdatLeft = 0;
  /** The BDAT LAST chunk being read is refused by the proxy (451 when it is complete). */
  #bdatRefused = false;
  /** The proxy refused the transaction (451 to MAIL): answer for the server until RSET. */
  #refusing = false;
  /** A closing answer is queued: nothing more from the client is relayed or parsed. */
  #stopped = false;
  #dead = false;

  constructor(client: Socket, server: Socket, rates: FaultRates, stats: FaultProxyStats,
    random: () => number) {
    this.#client = client;
    this.#server = server;
    this.#rates = rates;
    this.#stats = stats;
    this.#random = random;
    client.on('data', (chunk: Buffer) => this.#onClient(chunk));
    server.on('data', (chunk: Buffer) => this.#onServer(chunk));
    for (const socket of [client, server]) {
      socket.on('error', () => this.#kill());
      socket.on('close', () => this.#kill());
    }
  }

  #kill(): void {
    this.#dead = true;
    this.#client.destroy();
    this.#server.destroy();
  }

  #chance(rate: number): boolean {
    return rate > 0 && this.#random() < rate;
  }

  #toServer(bytes: Buffer, expectReply: boolean): void {
    this.#server.write(bytes);
    if (expectReply) this.#expected.push({ from: 'server' });
  }

  #answer(text: string, close = false): void {
    if (close) this.#stopped = true;
    this.#expected.push({ from: 'proxy', text, close });
    this.#pump();
  }

  /** Writes the proxy's own replies that are next in line. */
  #pump(): void {
    while (!this.#dead && this.#expected[0]?.from === 'proxy') {
      const entry = this.#expected.shift() as Extract<Expected, { from: 'proxy' }>;
      this.#client.write(`${entry.text}\r\n`);
      if (entry.close) {
        this.#dead = true;
        this.#client.end();
        this.#server.destroy();
      }
    }
  }

  #onServer(chunk: Buffer): void {
    if (this.#dead) return;
    this.#fromServer = Buffer.concat([this.#fromServer, chunk]);
    for (;;) {
      const end = this.#fromServer.indexOf(CRLF);
      if (end < 0) return;
      const line = this.#fromServer.subarray(0, end + 2);
      this.#fromServer = this.#fromServer.subarray(end + 2);
      this.#replyLines.push(line);
      if (line.length > 5 && line[3] === 0x2d) continue;
      const reply = Buffer.concat(this.#replyLines);
      this.#replyLines = [];
      this.#onReply(reply);
      if (this.#dead) return;
    }
  }

  #onReply(reply: Buffer): void {
    const head = this.#expected.shift();
    if (head?.from !== 'server') {
      // A reply nobody asked for (or out of order): nothing sensible can follow.
      this.#kill();
      return;
    }
    if (this.#chance(this.#rates.dropReply)) {
      this.#stats.droppedReplies += 1;
      this.#kill();
      return;
    }
    this.#client.write(reply);
    if (reply.subarray(0, 3).toString() === '354') this.#mode = 'data';
    this.#pump();
    if (this.#mode === 'data' && this.#fromClient.length > 0) this.#onClient(Buffer.alloc(0));
  }

  #onClient(chunk: Buffer): void {
    if (this.#dead || this.#stopped) return;
    this.#fromClient = Buffer.concat([this.#fromClient, chunk]);
    while (!this.#dead && !this.#stopped && this.#fromClient.length > 0) {
      if (this.#mode === 'bdat') {
        const take = Math.min(this.#bdatLeft, this.#fromClient.length);
        const relay = !this.#refusing && !this.#bdatRefused;
        if (relay) this.#toServer(this.#fromClient.subarray(0, take), false);
        this.#fromClient = this.#fromClient.subarray(take);
        this.#bdatLeft -= take;
        if (this.#bdatLeft === 0) {
          this.#mode = 'command';
          if (this.#bdatRefused) this.#answer('451 4.3.0 fault proxy: local error', true);
        }
        continue;
      }
      if (this.#mode === 'data') {
        if (!this.#onData()) return;
        continue;
      }
      const end = this.#fromClient.indexOf(CRLF);
      if (end < 0) return;
      const line = this.#fromClient.subarray(0, end).toString('latin1');
      this.#fromClient = this.#fromClient.subarray(end + 2);
      this.#onCommand(line);
    }
  }

  /** Relays message data; returns false when it needs more octets. */
  #onData(): boolean {
    const end = this.#fromClient.indexOf(END_OF_DATA);
    if (end < 0) {
      // Keep four octets back: they may be the start of the end-of-data mark.
      const safe = Math.max(0, this.#fromClient.length - 4);
      this.#toServer(this.#fromClient.subarray(0, safe), false);
      this.#fromClient = this.#fromClient.subarray(safe);
      return false;
    }
    this.#toServer(this.#fromClient.subarray(0, end + 2), false);
    this.#fromClient = this.#fromClient.subarray(end + 5);
    this.#mode = 'command';
    if (this.#chance(this.#rates.dropCommand)) {
      this.#stats.droppedCommands += 1;
      this.#kill();
    } else if (this.#chance(this.#rates.reply451Data)) {
      this.#stats.injected451Data += 1;
      this.#answer('451 4.3.0 fault proxy: local error in processing', true);
    } else {
      this.#toServer(Buffer.from('.\r\n'), true);
    }
    return true;
  }

  #onCommand(line: string): void {
    const verb = line.split(' ')[0]!.toUpperCase();
    if (verb === 'BDAT') {
      this.#bdatLeft = Number(line.split(' ')[1]);
      if (this.#bdatLeft > 0) this.#mode = 'bdat';
    }
    if (this.#refusing) {
      if (verb === 'RSET' || verb === 'QUIT') {
        this.#refusing = false;
      } else {
        this.#answer('503 5.5.1 Error: need MAIL command (fault proxy)');
        return;
      }
    }
    if (this.#chance(this.#rates.dropCommand)) {
      this.#stats.droppedCommands += 1;
      this.#kill();
      return;
    }
    if (this.#chance(this.#rates.reply421)) {
      this.#stats.injected421 += 1;
      this.#mode = 'command';
      this.#answer('421 4.3.2 fault proxy: service shutting down', true);
      return;
    }
    if (verb === 'BDAT' && /\sLAST$/i.test(line) && this.#chance(this.#rates.reply451Data)) {
      // The last chunk never reaches the server, which drops the transaction when the
      // connection closes; the 451 is sent once the chunk's octets have been read.
      this.#stats.injected451Data += 1;
      this.#bdatRefused = true;
      if (this.#bdatLeft === 0) this.#answer('451 4.3.0 fault proxy: local error', true);
      return;
    }
    if (verb === 'MAIL' && this.#chance(this.#rates.reply451Mail)) {
      this.#stats.injected451Mail += 1;
      this.#refusing = true;
      this.#answer('451 4.3.0 fault proxy: try again later');
      return;
    }
    this.#toServer(Buffer.from(`${line}\r\n`, 'latin1'), true);
  }
}

/** Starts the proxy on 127.0.0.1, port 0, relaying to `target`. */
export async function startFaultProxy(target: { host: string; port: number },
  rates: FaultRates, random: () => number): Promise<FaultProxy> {
  const stats: FaultProxyStats = { connections: 0, droppedCommands: 0, droppedReplies: 0,
    injected421: 0, injected451Mail: 0, injected451Data: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    stats.connections += 1;
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    new Relay(client, upstream, rates, stats, random);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    stats,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A small seeded PRNG (mulberry32), so a soak run can be repeated with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
