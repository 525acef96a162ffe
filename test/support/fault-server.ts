/**
 * A fault-injection SMTP server for tests: each case is a small async handler that plays the
 * server side of one connection, and may misbehave at any step.
 *
 * ```ts
 * const server = await startFaultServer(async (peer) => {
 *   await peer.hello(['PIPELINING']);       // 220, then EHLO answered with these keywords
 *   await peer.expect(/^MAIL FROM:/);
 *   peer.drop();                            // or stall(), trickle(), flood(), stopReading()...
 * });
 * // ... run the client against 127.0.0.1:server.port ...
 * await server.close();
 * assert.deepEqual(server.errors, []);
 * ```
 *
 * Unlike the scripted server it serves every connection (a retry gets its own `FaultPeer`,
 * `index` 0, 1, ...), and it records the octets each connection received before TLS
 * (`plaintext`), so a test can assert that no credential or envelope crossed the wire in
 * clear text. A handler that throws (an unexpected client line) is recorded in `errors` and
 * its connection dropped. Every wait of the server is bounded by the test's own deadline:
 * `close()` destroys every socket, which ends any wait.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, createServer as createTlsServer, type SecureContextOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServerCertificate {
  key: string;
  cert: string;
}

export interface FaultServerOptions {
  /** Implicit TLS from the first byte (RFC 8314), with this certificate. */
  tls?: ServerCertificate & { maxVersion?: SecureContextOptions['maxVersion'] };
  /** Default 127.0.0.1. */
  host?: string;
}

export type FaultHandler = (peer: FaultPeer) => Promise<void>;

/** How `FaultPeer.serve()` behaves. */
export interface ServeOptions {
  /** EHLO keywords in clear text (and over TLS unless `tlsKeywords` is given). */
  keywords?: string[];
  /** EHLO keywords once the connection is encrypted. */
  tlsKeywords?: string[];
  /** Offered to STARTTLS; without it STARTTLS is refused with 454. */
  certificate?: ServerCertificate;
  /**
   * How AUTH ends once the client has sent its credentials: `accept` (235, the default),
   * `reject` (535 5.7.8), `stall` (no answer) or `drop` (the connection is closed).
   */
  auth?: 'accept' | 'reject' | 'stall' | 'drop';
}

export interface FaultServer {
  port: number;
  host: string;
  /** One per accepted connection, in order. */
  peers: FaultPeer[];
  /** Handler failures (an unexpected line, a closed connection where a line was expected). */
  errors: string[];
  /** Resolves when `n` connections have ended (their handler done and the socket closed). */
  ended(n?: number): Promise<void>;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/** Thrown inside a handler when the client did something the case did not expect. */
export class FaultScriptError extends Error {}

/** The server side of one connection. */
export class FaultPeer {
  /** Octets received while the connection was not encrypted (all of them, for plain TCP). */
  readonly plaintextChunks: Buffer[] = [];
  /** Every line the handler read, in order (clear text and TLS). */
  readonly lines: string[] = [];
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  #socket: Socket;
  #buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #ended = false;
  #secure: boolean;
  #markClosed!: () => void;

  constructor(
    readonly index: number,
    socket: Socket,
    secure: boolean,
  ) {
    this.#socket = socket;
    this.#secure = secure;
    this.closed = new Promise<void>((resolve) => {
      this.#markClosed = resolve;
    });
    this.#listen(socket);
  }

  /** The octets received in clear text, as one buffer. */
  get plaintext(): Buffer {
    return Buffer.concat(this.plaintextChunks);
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** True once the client closed the connection or it was dropped. */
  get isClosed(): boolean {
    return this.#ended;
  }

  #listen(socket: Socket): void {
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      if (!this.#secure) this.plaintextChunks.push(chunk);
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#markClosed();
      this.#wake?.();
    });
  }

  async #until(ready: () => boolean): Promise<boolean> {
    while (!ready()) {
      if (this.#ended) return false;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
    return true;
  }

  /** Sends reply lines, CRLF added to each: `reply('250-mx', '250 SIZE 100')`. */
  reply(...lines: string[]): void {
    if (this.#socket.destroyed) return;
    this.#socket.write(lines.map((line) => `${line}\r\n`).join(''));
  }

  /** Sends octets as they are. */
  write(bytes: Buffer | string): void {
    if (!this.#socket.destroyed) this.#socket.write(bytes);
  }

  /** The next client line without CRLF; undefined when the client closed first. */
  async line(): Promise<string | undefined> {
    const ok = await this.#until(() => this.#buffer.includes('\r\n'));
    if (!ok) return undefined;
    const end = this.#buffer.indexOf('\r\n');
    const line = this.#buffer.subarray(0, end).toString('utf8');
    this.#buffer = this.#buffer.subarray(end + 2);
    this.lines.push(line);
    return line;
  }

  /** The next client line, which must match; throws `FaultScriptError` otherwise. */
  async expect(pattern: string | RegExp): Promise<string> {
    const line = await this.line();
    if (line === undefined) {
      throw new FaultScriptError(`expected ${String(pattern)}, but the client closed`);
    }
    const ok = typeof pattern === 'string' ? line === pattern : pattern.test(line);
    if (!ok) throw new FaultScriptError(`expected ${String(pattern)}, got ${JSON.stringify(line)}`);
    return line;
  }

  /** DATA octets up to the lone `.` (still dot-stuffed); undefined when the client closed. */
  async data(): Promise<Buffer | undefined> {
    const ok = await this.#until(() => this.#buffer.includes('\r\n.\r\n'));
    if (!ok) return undefined;
    const end = this.#buffer.indexOf('\r\n.\r\n');
    const out = this.#buffer.subarray(0, end + 2);
    this.#buffer = this.#buffer.subarray(end + 5);
    return out;
  }

  /** Exactly `n` octets (a BDAT chunk); undefined when the client closed first. */
  async bytes(n: number): Promise<Buffer | undefined> {
    const ok = await this.#until(() => this.#buffer.length >= n);
    if (!ok) return undefined;
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /** Octets received and not read yet. */
  get unread(): number {
    return this.#buffer.length;
  }

  /** The 220 greeting, then `EHLO` answered with `keywords` (a 250 line each). */
  async hello(keywords: string[] = [], greeting = '220 mx.fault.test ESMTP'): Promise<void> {
    this.reply(greeting);
    await this.expect(/^EHLO /);
    this.ehloReply(keywords);
  }

  /** The EHLO reply with `keywords`. */
  ehloReply(keywords: string[]): void {
    const lines = ['mx.fault.test', ...keywords];
    this.reply(...lines.map((text, i) => `250${i === lines.length - 1 ? ' ' : '-'}${text}`));
  }

  /** Becomes the TLS server on this connection (after a 220 to STARTTLS). */
  async startTls(certificate: ServerCertificate & {
    maxVersion?: SecureContextOptions['maxVersion'];
  }): Promise<boolean> {
    if (this.#buffer.length > 0) throw new FaultScriptError('client data before the handshake');
    this.#socket.removeAllListeners('data');
    this.#socket.removeAllListeners('close');
    const secure = new TLSSocket(this.#socket, { isServer: true, ...certificate });
    this.#socket = secure;
    this.#secure = true;
    this.#listen(secure);
    try {
      await once(secure, 'secure');
      return true;
    } catch {
      return false;
    }
  }

  /** Stops reading: the kernel buffers fill and the client's writes stop draining. */
  stopReading(): void {
    this.#socket.pause();
    this.#socket.removeAllListeners('data');
  }

  /** Closes the connection at once (RST-like: destroy, no FIN handshake wait). */
  drop(): void {
    this.#socket.destroy();
  }

  /** Closes politely (FIN) after what was written. */
  end(): void {
    this.#socket.end();
  }

  /** Sends nothing more; resolves when the client gives up and closes. */
  async stall(): Promise<void> {
    await this.closed;
  }

  /**
   * Sends `bytes` one octet every `intervalMs`, stopping when the client closes; resolves
   * then (or when all were sent).
   */
  async trickle(bytes: Buffer | string, intervalMs: number): Promise<void> {
    const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1');
    for (let i = 0; i < data.length && !this.#ended; i++) {
      this.write(data.subarray(i, i + 1));
      await Promise.race([sleep(intervalMs), this.closed]);
    }
  }

  /**
   * Sends `unit` again and again (an endless line or an endless multi-line reply), respecting
   * back-pressure, until the client closes or `maxBytes` were sent. Returns the octets sent.
   */
  async flood(unit: Buffer | string, maxBytes: number): Promise<number> {
    const one = Buffer.isBuffer(unit) ? unit : Buffer.from(unit, 'latin1');
    // Batches of about 16 KiB, and a turn of the event loop after each: the client usually
    // runs in this same process, and loopback writes succeed at once until the kernel's
    // buffers are full, so a loop that only waited for 'drain' would starve it.
    const data = Buffer.concat(Array.from({ length: Math.max(1, Math.floor(16_384 / one.length)) },
      () => one));
    let sent = 0;
    while (sent < maxBytes && !this.#ended && !this.#socket.destroyed) {
      sent += data.length;
      if (!this.#socket.write(data)) {
        await Promise.race([once(this.#socket, 'drain'), this.closed]);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return sent;
  }

  /**
   * Plays a well-behaved server from here on, until QUIT or the client closes: EHLO and HELO
   * (keywords from `keywords`, or `tlsKeywords` once encrypted), STARTTLS (220, then the
   * handshake with `certificate`; 454 without one), AUTH (235 for any PLAIN or LOGIN exchange,
   * recorded in `authSeen`), MAIL, RCPT, DATA (the message kept in `messages`), BDAT, RSET,
   * NOOP and QUIT. Anything else is answered 502.
   */
  async serve(options: ServeOptions = {}): Promise<void> {
    for (;;) {
      const line = await this.line();
      if (line === undefined) return;
      const verb = line.split(' ')[0]!.toUpperCase();
      if (verb === 'EHLO') {
        this.ehloReply((this.#secure ? options.tlsKeywords : undefined) ?? options.keywords ?? []);
      } else if (verb === 'HELO') {
        this.reply('250 mx.fault.test');
      } else if (verb === 'STARTTLS') {
        if (!options.certificate || this.#secure) {
          this.reply('454 4.7.0 TLS not available');
          continue;
        }
        this.reply('220 2.0.0 Ready to start TLS');
        if (!(await this.startTls(options.certificate))) return;
      } else if (verb === 'AUTH') {
        this.authSeen.push({ line, secure: this.#secure });
        if (/^AUTH LOGIN$/i.test(line)) {
          this.reply('334 VXNlcm5hbWU6');
          await this.line();
          this.reply('334 UGFzc3dvcmQ6');
          await this.line();
        } else if (/^AUTH (PLAIN|XOAUTH2|OAUTHBEARER)$/i.test(line)) {
          this.reply('334 ');
          await this.line();
        }
        const ending = options.auth ?? 'accept';
        if (ending === 'stall') return this.stall();
        if (ending === 'drop') return this.drop();
        if (ending === 'reject' && /^AUTH (XOAUTH2|OAUTHBEARER)/i.test(line)) {
          // RFC 7628 §3.2.2: the error as a JSON challenge, answered by an empty line.
          this.reply(`334 ${Buffer.from('{"status":"invalid_token"}').toString('base64')}`);
          await this.line();
        }
        this.reply(ending === 'reject' ? '535 5.7.8 Authentication credentials invalid'
          : '235 2.7.0 Authentication successful');
      } else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') {
        this.reply('250 2.0.0 Ok');
      } else if (verb === 'DATA') {
        this.reply('354 End data with <CR><LF>.<CR><LF>');
        const data = await this.data();
        if (data === undefined) return;
        this.messages.push(data);
        this.reply('250 2.0.0 Ok: queued');
      } else if (verb === 'BDAT') {
        const [, size, last] = line.split(' ');
        const data = await this.bytes(Number(size));
        if (data === undefined) return;
        this.messages.push(data);
        this.reply(last ? '250 2.0.0 Ok: queued' : `250 2.0.0 ${size} octets received`);
      } else if (verb === 'QUIT') {
        this.reply('221 2.0.0 Bye');
        this.end();
        return;
      } else {
        this.reply('502 5.5.2 Error: command not recognized');
      }
    }
  }

  /** AUTH commands seen by `serve()`, and whether the connection was encrypted then. */
  readonly authSeen: Array<{ line: string; secure: boolean }> = [];
  /** Messages received by `serve()` (DATA still dot-stuffed; BDAT chunks as sent). */
  readonly messages: Buffer[] = [];

  /** Reads and discards everything until the client closes (after the script). */
  async drain(): Promise<void> {
    await this.#until(() => false);
  }

  /** Destroys the socket; used by `close()`. */
  destroy(): void {
    this.#socket.destroy();
  }
}

/** Starts a fault server on port 0; `handler` plays every connection. */
export async function startFaultServer(
  handler: FaultHandler,
  options: FaultServerOptions = {},
): Promise<FaultServer> {
  const peers: FaultPeer[] = [];
  const errors: string[] = [];
  const endings: Array<Promise<void>> = [];
  let endedCount = 0;
  let onEnded: (() => void) | undefined;

  const onConnection = (socket: Socket): void => {
    socket.setNoDelay(true);
    const peer = new FaultPeer(peers.length, socket, options.tls !== undefined);
    peers.push(peer);
    const ending = handler(peer)
      .catch((error: unknown) => {
        errors.push(`connection ${peer.index}: ${error instanceof Error ? error.message
          : String(error)}`);
        peer.drop();
      })
      .then(() => peer.closed)
      .then(() => {
        endedCount += 1;
        onEnded?.();
      });
    endings.push(ending);
  };
  const server: Server = options.tls
    ? createTlsServer({ ...options.tls }, onConnection)
    : createServer(onConnection);
  server.on('tlsClientError', () => {});
  const host = options.host ?? '127.0.0.1';
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');

  return {
    port: address.port,
    host,
    peers,
    errors,
    async ended(n = 1) {
      while (endedCount < n) {
        await new Promise<void>((resolve) => {
          onEnded = resolve;
        });
      }
    },
    async close() {
      for (const peer of peers) peer.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(endings);
    },
  };
}
