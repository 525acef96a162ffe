/**
 * The socket layer of a session: TCP or implicit TLS, the STARTTLS upgrade, replies read in
 * order, writes that respect back-pressure, a timeout on every wait, and the transcript.
 *
 * It knows lines and replies, not what they mean: the client decides what to send and what a
 * reply means. Every failure closes the socket and rejects with an `SmtpError` naming the
 * stage: `SmtpTimeoutError` when a wait runs out, `SmtpConnectionError` when the connection
 * could not be made or was dropped, `SmtpProtocolError` for malformed replies (and bytes
 * injected before a STARTTLS handshake, which are an `SmtpTlsError`), `SmtpTlsError` when the
 * handshake or the certificate check fails.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import {
  describeSocketError,
  describeStage,
  formatEndpoint,
  SmtpConnectionError,
  SmtpError,
  SmtpProtocolError,
  SmtpTimeoutError,
  SmtpTlsError,
  type SessionStage,
} from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { ReplyParser } from '../protocol/reply-parser.js';
import type { SmtpReply } from '../protocol/reply.js';
import type { TlsInfo, TlsOptions } from '../client/types.js';
import { prepareTls } from './tls.js';
import { Transcript } from './transcript.js';

export interface TransportOptions {
  host: string;
  port: number;
  /** Set for implicit TLS (RFC 8314): the handshake is part of connecting. */
  implicitTls?: TlsOptions;
  localAddress?: string;
  /** TCP connect plus, for implicit TLS, the handshake. */
  connectTimeoutMs: number;
  transcript?: Transcript;
  logger?: Logger;
  maxReplyLineLength?: number;
  maxReplyLines?: number;
  /** Called when the TCP connection is up, before any TLS handshake. */
  onTcpConnected?(): void;
}

interface Waiter {
  resolve(reply: SmtpReply): void;
  reject(error: SmtpError): void;
  stage: SessionStage;
}

const CRLF = '\r\n';

export class SmtpTransport extends EventEmitter {
  readonly transcript: Transcript;
  readonly #options: TransportOptions;
  readonly #logger: Logger;
  #socket: Socket;
  #parser: ReplyParser;
  readonly #replies: SmtpReply[] = [];
  #waiter: Waiter | undefined;
  /** Set when the connection can no longer be used, with the error that says why. */
  #failure: SmtpError | undefined;
  #closed = false;
  #socketError: Error | undefined;
  #tlsInfo: TlsInfo | undefined;
  /** The stage of the last wait, named when the connection drops outside any wait. */
  #stage: SessionStage = 'connect';
  /** Replies still owed for what was written (one per command line); the greeting first. */
  #owed = 1;
  /** The first reply that came when none was owed (see `strayReply`). */
  #stray: SmtpReply | undefined;

  private constructor(socket: Socket, options: TransportOptions, transcript: Transcript) {
    super();
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.transcript = transcript;
    this.#socket = socket;
    this.#parser = this.#newParser();
    this.#attach(socket);
  }

  /**
   * Opens the connection (and, for implicit TLS, completes and checks the handshake).
   * Throws `SmtpTimeoutError` (stage `connect`), `SmtpConnectionError` or `SmtpTlsError`.
   */
  static async connect(options: TransportOptions): Promise<SmtpTransport> {
    const transcript = options.transcript ?? new Transcript();
    const { host, port } = options;
    const server = formatEndpoint(host, port);
    const tls = options.implicitTls === undefined
      ? undefined
      : prepareTls(host, port, options.implicitTls, options.logger);
    const plain = netConnect({ host, port, localAddress: options.localAddress });
    let socket: Socket = plain;
    let handshaking = false;

    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        plain.destroy();
        reject(new SmtpTimeoutError('connect', options.connectTimeoutMs,
          `Timed out after ${options.connectTimeoutMs} ms connecting to ${server}` +
            `${handshaking ? ' (TLS handshake)' : ''}.`, { transcript: transcript.recent() }));
      }, options.connectTimeoutMs);
      const onTcp = (): void => {
        options.onTcpConnected?.();
        if (!tls) {
          cleanup();
          resolve();
          return;
        }
        handshaking = true;
        plain.removeListener('error', onError);
        socket = tlsConnect({ ...tls.options, socket: plain });
        socket.once('secureConnect', onSecure);
        socket.once('error', onError);
      };
      const onSecure = (): void => {
        cleanup();
        resolve();
      };
      const onError = (error: NodeJS.ErrnoException): void => {
        cleanup();
        socket.destroy();
        plain.destroy();
        reject(handshaking
          ? new SmtpTlsError(`The TLS handshake with ${server} failed: ` +
              `${error.message}${error.code ? ` (${error.code})` : ''}.`,
            { transcript: transcript.recent(), cause: error })
          : new SmtpConnectionError(`Could not connect to ${server}: ${error.message}.`,
            'connect', { transcript: transcript.recent(), cause: error, syscall: error.syscall }));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        plain.removeListener('connect', onTcp);
        plain.removeListener('error', onError);
        socket.removeListener('secureConnect', onSecure);
        socket.removeListener('error', onError);
      };
      plain.once('connect', onTcp);
      plain.once('error', onError);
    });

    socket.setNoDelay(true);
    const transport = new SmtpTransport(socket, options, transcript);
    if (tls) {
      try {
        transport.#tlsInfo = tls.verify(socket as TLSSocket, () => transcript.recent());
      } catch (error) {
        transport.destroy();
        throw error;
      }
    }
    return transport;
  }

  get secure(): boolean {
    return this.#tlsInfo !== undefined;
  }

  get tlsInfo(): TlsInfo | undefined {
    return this.#tlsInfo;
  }

  /** The TLS socket once encrypted, for channel binding; undefined in clear text. */
  get tlsSocket(): TLSSocket | undefined {
    return this.#tlsInfo === undefined ? undefined : (this.#socket as TLSSocket);
  }

  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }

  /** True once the connection is closed or failed; nothing more can be sent. */
  get closed(): boolean {
    return this.#closed || this.#failure !== undefined;
  }

  /**
   * True when a reply (or part of one) has arrived that no one has read yet, including octets
   * the socket holds that have not reached the parser (right after a TLS handshake).
   */
  get hasUnreadReplies(): boolean {
    return this.#replies.length > 0 || this.#parser.pending || this.#socket.readableLength > 0;
  }

  /**
   * The first reply that came when every command written had had its reply: a server (or a
   * machine on the path) ahead of the conversation. Read as the reply to the next command,
   * it would shift every later reply by one (a refused message reported as taken), so the
   * session must not be used again. That holds for a 421 too (a server may send it unasked
   * before closing, RFC 5321 §3.8): one that keeps the connection open would otherwise
   * answer the next MAIL, and the transaction the server then took be sent again.
   */
  get strayReply(): SmtpReply | undefined {
    return this.#stray;
  }

  /**
   * Counts `count` more replies owed, for commands written as raw octets (`write`,
   * `writeAll`): pipelined command lines, and the `.` that ends message data. `writeLines`
   * counts its own lines.
   */
  expectReplies(count: number): void {
    this.#owed += count;
  }

  /**
   * The next reply, in order. Throws `SmtpTimeoutError` after `timeoutMs` (and closes the
   * connection), `SmtpConnectionError` when the connection closes first, or the
   * `SmtpProtocolError` that broke the connection.
   */
  readReply(stage: SessionStage, timeoutMs: number): Promise<SmtpReply> {
    this.#stage = stage;
    const queued = this.#replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(this.#closedError(stage));
    if (this.#waiter) {
      return Promise.reject(new SmtpProtocolError('Two reads of one reply at once (a bug).'));
    }
    return new Promise<SmtpReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        const error = new SmtpTimeoutError(stage, timeoutMs, undefined,
          { transcript: this.transcript.recent() });
        this.#fail(error);
        reject(error);
      }, timeoutMs);
      this.#waiter = {
        stage,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  /**
   * Writes command lines, and optionally octets after them (a BDAT chunk), as one write
   * (corked, so they leave together); logs each line; waits for the socket to drain, or with
   * `reuse` until the trailer was handed to the system (so its buffer may be reused).
   */
  async writeLines(lines: string[], stage: SessionStage, timeoutMs: number,
    trailer?: Buffer, reuse = false): Promise<void> {
    const text = lines.map((line) => line + CRLF).join('');
    this.#owed += lines.length;
    for (const line of lines) this.transcript.client(line);
    if (trailer === undefined || trailer.length === 0) {
      await this.write(Buffer.from(text, 'utf8'), stage, timeoutMs);
      return;
    }
    if (this.closed) {
      await this.write(Buffer.alloc(0), stage, timeoutMs);
      return;
    }
    this.#socket.cork();
    this.#socket.write(text, 'utf8');
    const done = reuse
      ? this.writeFlushed(trailer, stage, timeoutMs)
      : this.write(trailer, stage, timeoutMs);
    this.#socket.uncork();
    await done;
  }

  /**
   * Writes several buffers corked, so that they leave in one system call where the system
   * allows (pipelined transactions: one body's end and the next envelope together). Logs
   * nothing: the caller logs what the buffers mean. Resolves as `write` does for the last.
   */
  async writeAll(chunks: Buffer[], stage: SessionStage, timeoutMs: number): Promise<void> {
    if (chunks.length === 0 || this.closed) {
      await this.write(Buffer.alloc(0), stage, timeoutMs);
      return;
    }
    this.#socket.cork();
    for (const chunk of chunks.slice(0, -1)) this.#socket.write(chunk);
    const done = this.write(chunks.at(-1)!, stage, timeoutMs);
    this.#socket.uncork();
    await done;
  }

  /**
   * Writes raw octets (message data is not logged). Resolves at once when the socket's buffer
   * has room, else when it drains; `SmtpTimeoutError` when it does not drain in `timeoutMs`.
   */
  write(bytes: Buffer, stage: SessionStage, timeoutMs: number): Promise<void> {
    this.#stage = stage;
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(this.#closedError(stage));
    if (this.#socket.write(bytes)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const socket = this.#socket;
      const timer = setTimeout(() => {
        cleanup();
        const error = new SmtpTimeoutError(stage, timeoutMs,
          `Timed out after ${timeoutMs} ms waiting for the server to take data (${stage}).`,
          { transcript: this.transcript.recent() });
        this.#fail(error);
        reject(error);
      }, timeoutMs);
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(this.#failure ?? this.#closedError(stage));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.removeListener('drain', onDrain);
        this.removeListener('close', onClose);
      };
      socket.once('drain', onDrain);
      this.once('close', onClose);
    });
  }

  /**
   * Writes octets and resolves only once the socket has handed them to the system (the
   * write callback), so that the caller may reuse `bytes`. `SmtpTimeoutError` after
   * `timeoutMs`; the connection error when it closes first. Not logged.
   */
  writeFlushed(bytes: Buffer, stage: SessionStage, timeoutMs: number): Promise<void> {
    this.#stage = stage;
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(this.#closedError(stage));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: SmtpError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.removeListener('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => {
        const error = new SmtpTimeoutError(stage, timeoutMs,
          `Timed out after ${timeoutMs} ms waiting for the server to take data (${stage}).`,
          { transcript: this.transcript.recent() });
        this.#fail(error);
        settle(error);
      }, timeoutMs);
      const onClose = (): void => settle(this.#failure ?? this.#closedError(stage));
      this.once('close', onClose);
      this.#socket.write(bytes, (error) => {
        if (error) settle(this.#failure ?? this.#closedError(stage));
        else settle();
      });
    });
  }

  /**
   * Upgrades the connection to TLS after the server's 220 to STARTTLS (RFC 3207). Fails with
   * `SmtpTlsError` when the server sent anything after that 220 and before the handshake
   * (response injection: those bytes are discarded, never read as replies), when the
   * handshake fails or takes longer than `timeoutMs`, or when the certificate is refused.
   * Afterwards replies are parsed afresh: nothing from before the handshake is kept.
   */
  async upgrade(settings: TlsOptions, timeoutMs: number): Promise<TlsInfo> {
    const { host, port } = this.#options;
    const server = formatEndpoint(host, port);
    const plain = this.#socket;
    plain.pause();
    plain.removeListener('data', this.#onData);
    if (this.hasUnreadReplies || plain.readableLength > 0) {
      const error = new SmtpTlsError(
        `${server} sent data after its 220 reply to STARTTLS and before the TLS ` +
          'handshake; it was discarded and the connection closed (possible response ' +
          'injection by a machine on the path).',
        { transcript: this.transcript.recent() });
      this.#fail(error);
      throw error;
    }
    this.#detach(plain);
    const tls = prepareTls(host, port, settings, this.#logger);
    const secure = tlsConnect({ ...tls.options, socket: plain });
    this.#stage = 'tls-handshake';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(new SmtpTimeoutError('tls-handshake', timeoutMs, undefined,
            { transcript: this.transcript.recent() }));
        }, timeoutMs);
        const onReady = (): void => {
          cleanup();
          resolve();
        };
        const onError = (error: NodeJS.ErrnoException): void => {
          cleanup();
          reject(new SmtpTlsError(`The TLS handshake with ${server} failed: ` +
            `${error.message}${error.code ? ` (${error.code})` : ''}.`,
          { transcript: this.transcript.recent(), cause: error }));
        };
        const onClose = (): void => {
          cleanup();
          reject(new SmtpTlsError(`${server} closed the connection during the TLS ` +
            'handshake.', { transcript: this.transcript.recent() }));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          secure.removeListener('secureConnect', onReady);
          secure.removeListener('error', onError);
          secure.removeListener('close', onClose);
        };
        secure.once('secureConnect', onReady);
        secure.once('error', onError);
        secure.once('close', onClose);
      });
      this.#tlsInfo = tls.verify(secure, () => this.transcript.recent());
    } catch (error) {
      secure.destroy();
      plain.destroy();
      this.#socket = secure;
      this.#fail(error as SmtpError);
      this.#markClosed();
      throw error;
    }
    this.#socket = secure;
    this.#parser = this.#newParser();
    this.#attach(secure);
    return this.#tlsInfo;
  }

  /** Half-closes politely (after QUIT); the 'close' event follows. */
  end(): void {
    if (!this.#closed) this.#socket.end();
  }

  /** Closes the connection at once. Pending reads reject with `error` or a connection error. */
  destroy(error?: SmtpError): void {
    if (error && !this.#failure) this.#failure = error;
    this.#socket.destroy();
    if (!this.#closed && this.#socket.destroyed) {
      // 'close' comes asynchronously; reject now so no caller waits on a dead socket.
      this.#rejectWaiter(error ?? this.#closedError(this.#stage));
    }
  }

  #newParser(): ReplyParser {
    return new ReplyParser({
      maxLineLength: this.#options.maxReplyLineLength,
      maxLines: this.#options.maxReplyLines,
    });
  }

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  #detach(socket: Socket): void {
    socket.removeListener('data', this.#onData);
    socket.removeListener('error', this.#onError);
    socket.removeListener('close', this.#onClose);
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#failure) return;
    let replies: SmtpReply[];
    try {
      replies = this.#parser.push(chunk);
    } catch (error) {
      const failure = error instanceof SmtpProtocolError
        ? new SmtpProtocolError(`${error.message} (from ` +
            `${formatEndpoint(this.#options.host, this.#options.port)})`,
        { transcript: this.transcript.recent() })
        : (error as SmtpError);
      this.#fail(failure);
      return;
    }
    for (const reply of replies) {
      this.transcript.server(reply);
      if (this.#owed > 0) this.#owed -= 1;
      else this.#stray ??= reply;
      const waiter = this.#waiter;
      if (waiter) {
        this.#waiter = undefined;
        waiter.resolve(reply);
      } else {
        this.#replies.push(reply);
      }
    }
  };

  readonly #onError = (error: Error): void => {
    this.#socketError = error;
  };

  readonly #onClose = (): void => {
    this.#markClosed();
  };

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rejectWaiter(this.#failure ?? this.#closedError(this.#stage));
    this.emit('close');
  }

  #rejectWaiter(error: SmtpError): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }

  /** Records the failure, closes the socket and rejects whoever waits. */
  #fail(error: SmtpError): void {
    if (!this.#failure) this.#failure = error;
    this.#socket.destroy();
    this.#rejectWaiter(error);
  }

  #closedError(stage: SessionStage): SmtpConnectionError {
    const cause = this.#socketError;
    const { host, port } = this.#options;
    const server = formatEndpoint(host, port);
    const by = cause ? '' : ' by the server';
    const why = cause ? `: ${describeSocketError(cause)}` : '';
    return new SmtpConnectionError(`The connection to ${server} was closed${by} ` +
      `${describeStage(stage)} (${stage})${why}.`,
      stage,
      { transcript: this.transcript.recent(), cause });
  }
}
