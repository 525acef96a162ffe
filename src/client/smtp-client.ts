/**
 * `SmtpClient`: one SMTP session over the transport. Greeting, EHLO (HELO only after 500 or
 * 502), the TLS policy, AUTH through the SASL loop, the envelope and the message with
 * per-recipient results, RSET, NOOP and QUIT.
 *
 * Supported: RFC 5321, 3207 (STARTTLS), 8314 (implicit TLS), 4954 (AUTH), 2920 (PIPELINING),
 * 1870 (SIZE), 6152 (8BITMIME), 6531 (SMTPUTF8), 3030 (CHUNKING), 3461 (DSN), 2034/3463
 * (enhanced status codes).
 *
 * A send is one transaction object: the commands are queued, flushed (in one write when the
 * server offers PIPELINING) and their replies read in order. The client does not retry,
 * pool or reconnect: a caller (the connection manager) does that from the error classes:
 * - `SmtpCommandError`: refused; the session is still usable.
 * - `SmtpRecipientsError`: nobody was accepted (after RSET); the session is still usable.
 * - `SmtpConnectionError`: dropped (or 421) before the message was handed over: nothing was
 *   delivered, safe to retry on a new connection.
 * - `SmtpUnknownOutcomeError`: dropped after the final `.` or `BDAT LAST` and before the
 *   reply; never retry silently.
 * - `SmtpTimeoutError`, `SmtpProtocolError`, `SmtpTlsError`: the connection is closed.
 * - `ConfigurationError`: bad input, found before anything was sent.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import { Readable } from 'node:stream';
import { authenticate } from '../auth/authenticate.js';
import type { AuthContext, SaslExchange } from '../auth/mechanism.js';
import {
  ConfigurationError,
  SmtpCommandError,
  SmtpConnectionError,
  SmtpError,
  SmtpProtocolError,
  SmtpAuthenticationError,
  SmtpRecipientsError,
  SmtpTimeoutError,
  SmtpTlsError,
  SmtpUnknownOutcomeError,
  type RecipientResult,
  type SessionStage,
  formatEndpoint,
} from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { Secret } from '../secret.js';
import { noCapabilities, parseCapabilities, type Capabilities } from '../protocol/capabilities.js';
import * as commands from '../protocol/commands.js';
import {
  dataOctets,
  LineEndingNormaliser,
  prepareMessage,
  type BdatChunk,
  type PreparedMessage,
} from '../protocol/data-encoder.js';
import { ReplyCode } from '../protocol/reply-codes.js';
import { formatReply, isPositiveCompletion, type SmtpReply } from '../protocol/reply.js';
import { SmtpTransport } from '../transport/smtp-transport.js';
import { Transcript } from '../transport/transcript.js';
import type {
  Envelope,
  MessageSource,
  SecureSocketOptions,
  SendOptions,
  SendResult,
  SessionStep,
  SmtpClientOptions,
  SmtpTimeouts,
  TlsInfo,
} from './types.js';

/** RFC 5321 §4.5.3.2, and 30 s to connect. */
export const DEFAULT_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({
  connect: 30_000,
  greeting: 300_000,
  command: 300_000,
  dataInitiation: 120_000,
  dataBlock: 180_000,
  dataTermination: 600_000,
});

/** The largest BDAT chunk, and the largest message sent as a single `BDAT n LAST`. */
export const BDAT_CHUNK_SIZE = 1024 * 1024;
/** The slices in which in-memory message data is written (each waits for drain). */
const WRITE_SLICE = 64 * 1024;
const DATA_TERMINATOR = Buffer.from('.\r\n');
/** How long a polite QUIT may take when the session is being abandoned. */
const QUIT_GRACE_MS = 5_000;

export interface ConnectHooks {
  /** Called as each setup step completes. */
  onStep?(step: SessionStep): void;
}

/** `SslOnConnect` on 465, else `StartTlsWhenAvailable` (MailKit's `Auto`). */
export function resolveSecureMode(secure: SecureSocketOptions | undefined,
  port: number | undefined): Exclude<SecureSocketOptions, 'Auto'> {
  if (secure === undefined || secure === 'Auto') {
    return port === 465 ? 'SslOnConnect' : 'StartTlsWhenAvailable';
  }
  return secure;
}

const SECURE_MODES: readonly SecureSocketOptions[] =
  ['None', 'Auto', 'StartTls', 'StartTlsWhenAvailable', 'SslOnConnect'];

/**
 * Refuses options that cannot work, before anything is sent: JavaScript callers and options
 * read from JSON get past the types (`secure: true` would otherwise have meant no TLS).
 * Throws `ConfigurationError` naming the option and the fix.
 */
function checkClientOptions(options: SmtpClientOptions): void {
  if (typeof options.host !== 'string' || options.host.trim() === '') {
    throw new ConfigurationError('host', 'is empty.', 'Give the SMTP server host name.');
  }
  const { port, secure, timeouts, pipelineWindow, auth } = options;
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new ConfigurationError('port', `is ${JSON.stringify(port)}, not a TCP port.`,
      'Give a whole number from 1 to 65535 (25, 587 or 465), or leave it out.');
  }
  if (secure !== undefined && !SECURE_MODES.includes(secure)) {
    throw new ConfigurationError('secure', `is ${JSON.stringify(secure)}, not one of ` +
      `${SECURE_MODES.join(', ')}.`, 'Use StartTls to require STARTTLS, SslOnConnect for ' +
      'implicit TLS (port 465), or leave it out (Auto).');
  }
  for (const [name, value] of Object.entries(timeouts ?? {})) {
    if (!(name in DEFAULT_TIMEOUTS)) {
      throw new ConfigurationError(`timeouts.${name}`, 'is not a timeout of the client.',
        `Use one of ${Object.keys(DEFAULT_TIMEOUTS).join(', ')}.`);
    }
    if (value !== undefined && !(typeof value === 'number' && value > 0 &&
      Number.isFinite(value))) {
      throw new ConfigurationError(`timeouts.${name}`, `is ${JSON.stringify(value)}, not a ` +
        'number of milliseconds.', `Give a positive number (default ${
        DEFAULT_TIMEOUTS[name as keyof SmtpTimeouts]}).`);
    }
  }
  if (pipelineWindow !== undefined && !(Number.isInteger(pipelineWindow) &&
    pipelineWindow >= 1)) {
    throw new ConfigurationError('pipelineWindow', `is ${JSON.stringify(pipelineWindow)}, ` +
      'not a number of transactions.', 'Give a whole number of 1 or more (1 sends one ' +
      `transaction at a time; default ${DEFAULT_PIPELINE_WINDOW}).`);
  }
  for (const key of ['password', 'accessToken'] as const) {
    const value: unknown = auth?.[key];
    if (typeof value === 'string') {
      throw new ConfigurationError(`auth.${key}`, 'is a plain string.',
        'Wrap it as a Secret (toSecret(value)), so that it is never logged or printed.');
    }
  }
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** True for a name with a dot, valid labels, and a last label that is not all digits. */
export function isValidFqdn(name: string): boolean {
  const bare = name.replace(/\.$/, '');
  if (bare.length > 253 || !bare.includes('.')) return false;
  const labels = bare.split('.');
  return labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(labels.at(-1)!);
}

/** This host's FQDN when `os.hostname()` is one, else an address literal of `localAddress`. */
export function defaultClientName(localAddress: string | undefined): string {
  const name = hostname();
  if (isValidFqdn(name)) return name.replace(/\.$/, '');
  let address = localAddress ?? '127.0.0.1';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1]!;
  if (isIPv6(address)) return `[IPv6:${address}]`;
  if (isIPv4(address)) return `[${address}]`;
  return '[127.0.0.1]';
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A chunk of a message stream that is not a string as octets (an object-mode stream may
 * give Uint8Arrays). Throws `ConfigurationError` for anything else: skipping it would send a
 * message with a part missing.
 */
function streamOctets(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) {
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  throw new ConfigurationError('message', 'is a stream that gave something other than ' +
    'octets or text.', 'Make the stream give Buffers, Uint8Arrays or strings.');
}

/**
 * Throws `ConfigurationError` for a stream that has ended or been destroyed: read, it would
 * give no octets, and an empty message would be delivered in place of the real one.
 */
function requireUnended(stream: Readable): void {
  if (!stream.readableEnded && !stream.destroyed) return;
  throw new ConfigurationError('message', 'is a stream that has already ended or been ' +
    'destroyed; sending it would deliver an empty message.',
  'Pass a new stream, or a function that returns a new stream for each attempt.');
}

/** The state of one message transaction; nothing of it lives in client fields. */
interface Transaction {
  mailLine: string;
  recipients: RecipientResult[];
  rcptLines: string[];
  method: 'DATA' | 'BDAT';
  /** The message normalised to CRLF (no stuffing), when it was given in memory. */
  normalised?: Buffer;
  /** What DATA needs to know of `normalised` (whether a line starts with a dot). */
  prepared?: PreparedMessage;
  /** Produces the stream, when it was not in memory. */
  openStream?: () => Readable;
  /** Fail the send when an 8-bit octet turns up in a stream (no 8BITMIME). */
  rejectEightBit: boolean;
  pipelining: boolean;
  /** The final `.` or `BDAT LAST` was written: from here a drop means an unknown outcome. */
  handedOver: boolean;
  /** The reply to the end of data, once read. */
  finalReply?: SmtpReply;
  /** The first refusal of a BDAT chunk before the last: the real reason the message failed. */
  chunkRefusal?: SmtpReply;
  bytesOut: number;
  mailError?: SmtpCommandError;
  dataError?: SmtpCommandError;
  /** DATA got 354. */
  dataReady: boolean;
  /** Something of the transaction went on the wire. */
  started: boolean;
  /**
   * Pipelined: written, and its replies not all read, so the server may yet be left
   * mid-transaction (MAIL taken, no end of data): a transaction written now starts with RSET.
   */
  unsettled?: boolean;
  /** Pipelined: the number of the last write this transaction queued. */
  lastWrite?: number;
}

/** One command of a transaction: its line, its wait, and what its reply means. */
interface QueuedCommand {
  line: string;
  stage: SessionStage;
  timeoutMs: number;
  /** Octets written right after the line (a BDAT chunk). */
  trailer?: Buffer;
  /** Returns false when the commands after this one must not be sent. */
  onReply(reply: SmtpReply): boolean;
}

/**
 * A send's place in the connection's order: it writes after the previous send opens the
 * gate, and reads its replies after the previous send has read all of its own.
 */
interface Slot {
  previousGate: Promise<void>;
  releaseGate(): void;
  previousTurn: Promise<void>;
  releaseTurn(): void;
}

/** Octets waiting for the next flush, with what to log and mark just before they leave. */
interface OutboxPart {
  bytes: Buffer[];
  stage: SessionStage;
  timeoutMs: number;
  onWrite(): void;
  resolve(): void;
  reject(error: unknown): void;
}

/** The default `pipelineWindow`: transactions in flight on one connection. */
export const DEFAULT_PIPELINE_WINDOW = 8;

export class SmtpClient extends EventEmitter {
  readonly #options: SmtpClientOptions;
  readonly #timeouts: SmtpTimeouts;
  readonly #mode: Exclude<SecureSocketOptions, 'Auto'>;
  readonly #port: number;
  readonly #logger: Logger;
  readonly #transcript: Transcript;
  #transport: SmtpTransport | undefined;
  #greeting: SmtpReply | undefined;
  #capabilities: Capabilities = noCapabilities();
  #mechanism: string | undefined;
  #broken = false;
  #busy = false;
  #messagesSent = 0;
  /** Sends admitted and not finished; `#exclusive` when the one running needs the wire alone. */
  #inFlight = 0;
  #exclusive = false;
  readonly #admissions: Array<{ exclusive: boolean; admit(): void }> = [];
  readonly #idleWaiters: Array<() => void> = [];
  #writeGate: Promise<void> = Promise.resolve();
  #readTurn: Promise<void> = Promise.resolve();
  /** Pipelined transactions that may yet leave the server mid-transaction. */
  #unsettled = 0;
  #writeCount = 0;
  #outbox: OutboxPart[] = [];
  #flushScheduled = false;
  /** The 421 that ended the session: nothing written after the command it answers was read. */
  #closedWith: SmtpReply | undefined;

  /** Checks nothing on the network; `connect()` does the work. */
  constructor(options: SmtpClientOptions) {
    super();
    checkClientOptions(options);
    this.#options = options;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.#mode = resolveSecureMode(options.secure, options.port);
    this.#port = options.port ?? (this.#mode === 'SslOnConnect' ? 465 : 25);
    this.#logger = options.logger ?? silentLogger;
    this.#transcript = new Transcript(options.transcript);
  }

  /** What the server offered after the last EHLO (nothing after HELO or before connect). */
  get capabilities(): Capabilities {
    return this.#capabilities;
  }

  /** The 220 greeting; undefined before `connect()` has read it. */
  get greeting(): SmtpReply | undefined {
    return this.#greeting;
  }

  get tlsInfo(): TlsInfo | undefined {
    return this.#transport?.tlsInfo;
  }

  /** True when the session is encrypted (implicit TLS or after STARTTLS). */
  get secure(): boolean {
    return this.#transport?.secure ?? false;
  }

  get remoteAddress(): string | undefined {
    return this.#transport?.remoteAddress;
  }

  /** The SASL mechanism that logged in, if any. */
  get mechanism(): string | undefined {
    return this.#mechanism;
  }

  /**
   * Can accept another `send()` now: alive, no other command (AUTH, NOOP, RSET, QUIT) in
   * flight, no streamed message on the wire, and a free place in the pipeline window.
   */
  get usable(): boolean {
    return this.alive && !this.#busy && !this.#exclusive
      && this.#inFlight + this.#admissions.length < this.maxInFlight;
  }

  /** Connected and not broken; sends may be in flight. */
  get alive(): boolean {
    return this.#transport !== undefined && !this.#transport.closed && !this.#broken
      && this.#greeting !== undefined && this.#transport.strayReply === undefined;
  }

  /** Sends accepted and not yet settled: on the wire or waiting for their turn. */
  get inFlight(): number {
    return this.#inFlight + this.#admissions.length;
  }

  /**
   * How many transactions may be in flight at once: `pipelineWindow` (default 8) when the
   * server offers PIPELINING and it is not switched off, else 1.
   */
  get maxInFlight(): number {
    if (!this.#capabilities.pipelining || this.#options.pipelining === false) return 1;
    const window = Math.floor(this.#options.pipelineWindow ?? DEFAULT_PIPELINE_WINDOW);
    return Number.isFinite(window) && window > 1 ? window : 1;
  }

  get messagesSent(): number {
    return this.#messagesSent;
  }

  /** The last lines of the masked transcript, oldest first. */
  get recentTranscript(): string[] {
    return this.#transcript.recent();
  }

  /**
   * Opens the session: socket (TLS at once for `SslOnConnect`), the 220 greeting, EHLO (HELO
   * after 500/502 only), STARTTLS as `secure` says, and EHLO again after it. Throws
   * `SmtpConnectionError` (refused, dropped, 421 or 554 greeting), `SmtpTlsError` (STARTTLS
   * required but not offered, refused or not 220; handshake or certificate failure; bytes
   * injected before the handshake), `SmtpTimeoutError`, `SmtpProtocolError`,
   * `SmtpCommandError` (EHLO and HELO refused) or `ConfigurationError`. On failure the
   * connection is closed.
   */
  async connect(hooks: ConnectHooks = {}): Promise<void> {
    if (this.#transport) {
      throw new ConfigurationError('connect', 'was already called on this client.',
        'Create a new SmtpClient for a new connection.');
    }
    if (this.#options.clientName !== undefined) commands.ehlo(this.#options.clientName);
    const tls = this.#options.tls ?? {};
    let started = Date.now();
    const step = (name: SessionStep['name'], detail?: string): void => {
      const now = Date.now();
      hooks.onStep?.({ name, durationMs: now - started, ...(detail ? { detail } : {}) });
      started = now;
    };
    const implicit = this.#mode === 'SslOnConnect';
    try {
      const transport = await SmtpTransport.connect({
        host: this.#options.host,
        port: this.#port,
        implicitTls: implicit ? tls : undefined,
        localAddress: this.#options.localAddress,
        connectTimeoutMs: this.#timeouts.connect,
        transcript: this.#transcript,
        logger: this.#logger,
        maxReplyLineLength: this.#options.maxReplyLineLength,
        maxReplyLines: this.#options.maxReplyLines,
        onTcpConnected: () => step('connect', this.#server),
      });
      this.#transport = transport;
      transport.once('close', () => {
        this.#broken = true;
        this.emit('close');
      });
      if (implicit) step('tls-handshake', transport.tlsInfo?.protocol);

      const greeting = await this.#read('greeting', this.#timeouts.greeting);
      if (greeting.code !== ReplyCode.ServiceReady) {
        const error = greeting.code === ReplyCode.TransactionFailed
          ? new SmtpConnectionError(`${this.#server} refused the session: ` +
              `${formatReply(greeting)}`, 'greeting',
            { reply: greeting, transcript: this.#transcript.recent() })
          : new SmtpProtocolError(`${this.#server} greeted with ${formatReply(greeting)} ` +
              'instead of 220.', { transcript: this.#transcript.recent() });
        return await this.#abandon(error, greeting.code === ReplyCode.TransactionFailed);
      }
      this.#greeting = greeting;
      step('greeting', formatReply(greeting));

      await this.#hello(step);
      const wantsTls = this.#mode === 'StartTls'
        || (this.#mode === 'StartTlsWhenAvailable' && this.#capabilities.startTls);
      if (wantsTls) await this.#startTls(tls, step);
      await this.#refuseUnsolicited(transport, 'mail',
        'after its reply to EHLO, answering nothing that was asked');
    } catch (error) {
      this.#broken = true;
      this.#transport?.destroy();
      throw error;
    }
  }

  /**
   * Logs in with `options.auth` through `src/auth/authenticate.ts`; returns the mechanism
   * used. Returns `undefined` without sending AUTH when there is no user name, no access
   * token and `windowsAuthentication` is not true. Every client line of the exchange after
   * the mechanism name, and every 334 challenge, is masked in the transcript. Throws what
   * the SASL loop throws (`SmtpAuthenticationError`; with reason `server-proof` the
   * connection is closed first), or a connection-level error.
   */
  /**
   * Registers what one line of an AUTH exchange carries as secrets of the transcript: the
   * base64 text itself, and the parts of its decoded form (PLAIN's `\0user\0password`,
   * XOAUTH2's `auth=Bearer <token>`), so that an echo in any later reply is masked.
   */
  #registerSaslSecrets(line: string): void {
    const data = /^AUTH\s+\S+\s+(\S+)$/i.exec(line)?.[1] ?? (/^AUTH\s/i.test(line) ? '' : line);
    if (data === '' || data === '=' || data === '*') return;
    this.#transcript.addSecret(data);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return;
    const decoded = Buffer.from(data, 'base64').toString('utf8');
    this.#transcript.addSecret(decoded);
    const username = this.#options.auth?.username;
    for (const part of decoded.split(/[\0\x01]/)) {
      // The user name and the OAuth headers are not secret; masking them would garble the
      // rest of the transcript (MAIL FROM often carries the user name).
      if (part === username || /^(user|host|port)=|^n,/i.test(part)) continue;
      this.#transcript.addSecret(part.replace(/^auth=Bearer /i, ''));
    }
  }

  async authenticate(): Promise<string | undefined> {
    const auth = this.#options.auth;
    // GSSAPI needs no user name (the ticket names the user), so an allow-list naming it is
    // a request to authenticate too.
    const wanted = auth !== undefined && (auth.username || auth.accessToken
      || auth.windowsAuthentication === true || auth.mechanisms?.includes('GSSAPI'));
    if (!auth || !wanted) {
      return undefined;
    }
    const transport = this.#requireUsable('authenticate');
    const exchange: SaslExchange = {
      command: async (line) => {
        if (/[\r\n\0]/.test(line)) {
          throw new ConfigurationError('auth', 'a SASL line contains CR, LF or NUL ' +
            '(not shown: it may hold a secret).', 'This is a bug in the mechanism.');
        }
        this.#registerSaslSecrets(line);
        await transport.writeLines([line], 'auth', this.#timeouts.command);
        // Masked by #read, but for a 334 challenge, which is the mechanism's input.
        return this.#read('auth', this.#timeouts.command);
      },
    };
    if (auth.password) this.#transcript.addSecret(auth.password.reveal());
    if (auth.accessToken instanceof Secret) this.#transcript.addSecret(auth.accessToken.reveal());
    const context: AuthContext = {
      host: this.#options.host,
      port: this.#port,
      secure: transport.secure,
      offered: [...this.#capabilities.auth],
    };
    const binding = channelBinding(transport);
    if (binding) context.channelBinding = binding;
    this.#busy = true;
    this.#transcript.beginAuth();
    try {
      const { mechanism } = await authenticate(exchange, auth, context, this.#logger);
      this.#mechanism = mechanism;
      await this.#refuseUnsolicited(transport, 'mail',
        'after its reply to AUTH, answering nothing that was asked');
      return mechanism;
    } catch (error) {
      // The AUTH loop knows nothing of the transcript; the error still carries its tail.
      if (error instanceof SmtpError && error.transcript.length === 0) {
        error.transcript.push(...this.#transcript.recent());
      }
      // A server that failed to prove itself (SCRAM) may be an impostor: stop talking to it.
      if (error instanceof SmtpAuthenticationError && error.reason === 'server-proof') {
        this.destroy();
      }
      throw error;
    } finally {
      this.#transcript.endAuth();
      this.#busy = false;
    }
  }

  /**
   * Sends one message: MAIL FROM (with SIZE, BODY, SMTPUTF8 and DSN parameters as needed and
   * offered), every RCPT TO, then DATA or BDAT. Resolves with every recipient's result when
   * at least one was accepted and the server took the message. See the class comment for
   * the errors; an envelope or message the server cannot take (too large for its SIZE,
   * 8-bit without 8BITMIME, non-ASCII addresses without SMTPUTF8, CR/LF in an address) is a
   * `ConfigurationError` before anything is sent.
   *
   * May be called again before earlier sends settle: sends run in call order, up to
   * `maxInFlight` transactions on the wire at once when the server offers PIPELINING (the
   * next envelope and `BDAT n LAST` written before the previous replies arrive; with DATA,
   * the next envelope leaves with the previous body's final dot), one after another
   * otherwise. A streamed or large message has the connection to itself. Every send gets its
   * own outcome; see docs/pipelining.md. Aborting a send closes the connection, so every
   * send in flight fails as for a dropped connection.
   */
  async send(envelope: Envelope, message: MessageSource,
    options: SendOptions = {}): Promise<SendResult> {
    const transport = this.#requireUsable('send', true);
    const tx = this.#plan(envelope, message, options);
    const pipelined = this.#pipelinable(tx);
    const slot = this.#reserve();
    const onAbort = (): void => {
      transport.destroy(new SmtpConnectionError('A send on this connection was aborted ' +
        '(SendOptions.signal), which closed the connection.', 'data',
      { transcript: this.#transcript.recent(), cause: options.signal?.reason }));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let admitted = false;
    try {
      await this.#admit(!pipelined);
      admitted = true;
      if (options.signal?.aborted) onAbort();
      let result: SendResult;
      if (pipelined) {
        result = await this.#pipelined(transport, tx, slot);
      } else {
        await slot.previousGate;
        await slot.previousTurn;
        this.#requireAlive();
        result = await this.#transact(transport, tx);
      }
      this.#messagesSent += 1;
      return result;
    } catch (error) {
      const outcome = this.#outcomeError(tx, error);
      if (options.signal?.aborted && !(outcome instanceof SmtpUnknownOutcomeError)) {
        // Its own abort, not a fault of the server or of another send.
        throw new SmtpConnectionError(`The send was aborted (SendOptions.signal) before its ` +
          `end of data was written: nothing of it was delivered.`, 'data',
        { transcript: this.#transcript.recent(), cause: options.signal.reason });
      }
      throw outcome;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.#settle(tx);
      slot.releaseGate();
      slot.releaseTurn();
      if (admitted) this.#leave(!pipelined);
    }
  }

  /** RSET: ends any transaction. Throws `SmtpCommandError` when refused. */
  async reset(): Promise<void> {
    await this.#simple(commands.rset(), 'rset');
  }

  /** NOOP: checks the session is alive. Throws `SmtpCommandError` when refused. */
  async noop(): Promise<void> {
    await this.#simple(commands.noop(), 'noop');
  }

  /** QUIT, wait for the reply (errors ignored), then close. Never throws. */
  async quit(): Promise<void> {
    const transport = this.#transport;
    if (!transport || transport.closed) return;
    // Sends in flight finish first (each bounded by its own timeouts).
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      if (transport.closed) return;
    }
    this.#busy = true;
    try {
      await transport.writeLines([commands.quit()], 'quit', this.#timeouts.command);
      await transport.readReply('quit', this.#timeouts.command);
    } catch {
      // The server may close without a reply; the session ends either way.
    } finally {
      this.#busy = false;
      this.#broken = true;
      await closeTransport(transport);
    }
  }

  /** Closes the connection at once, without QUIT. */
  destroy(): void {
    this.#broken = true;
    this.#transport?.destroy();
  }

  get #server(): string {
    return formatEndpoint(this.#options.host, this.#port);
  }

  #requireUsable(what: string, send = false): SmtpTransport {
    const transport = this.#transport;
    if (!transport || this.#greeting === undefined) {
      throw new ConfigurationError(what, 'was called before connect().',
        'Call connect() first.');
    }
    if (this.#busy || (!send && this.inFlight > 0)) {
      throw new ConfigurationError(what, 'was called while another command is in flight.',
        'Wait for the previous call to finish.');
    }
    if (transport.closed || this.#broken) {
      throw new SmtpConnectionError(`The session with ${this.#server} is closed.`, 'idle',
        { transcript: this.#transcript.recent() });
    }
    const stray = transport.strayReply;
    if (stray !== undefined && this.inFlight === 0) {
      this.#broken = true;
      transport.destroy();
      const said = stray.code === ReplyCode.ServiceNotAvailable
        ? `closed the session with ${formatReply(stray)} while it was idle`
        : `sent ${formatReply(stray)} when no command was waiting for a reply (possible ` +
          'response injection)';
      throw new SmtpConnectionError(`${this.#server} ${said}, so the session was closed ` +
        `before this ${what}: nothing of it was sent.`, 'idle',
      { ...(stray.code === ReplyCode.ServiceNotAvailable ? { reply: stray } : {}),
        transcript: this.#transcript.recent() });
    }
    return transport;
  }

  /** Reads a reply; a 421 closes the connection and throws `SmtpConnectionError`. */
  async #read(stage: SessionStage, timeoutMs: number): Promise<SmtpReply> {
    const transport = this.#transport!;
    // A read after the session has failed gets that failure: when it is another
    // transaction's timeout (its end of data never answered), this transaction lost its
    // connection; it did not time out itself, and may be sent again if not handed over.
    const failedBefore = transport.closed && !transport.hasUnreadReplies;
    let reply: SmtpReply;
    try {
      reply = await transport.readReply(stage, timeoutMs);
    } catch (error) {
      this.#broken = true;
      if (failedBefore && error instanceof SmtpTimeoutError) {
        throw new SmtpConnectionError(`The session with ${this.#server} failed while an ` +
          `earlier transaction on it waited for a reply (${error.message.replace(/\.$/, '')}), ` +
          `before this one's reply (${stage}) came.`, stage,
        { transcript: this.#transcript.recent(), cause: error });
      }
      throw error;
    }
    // Any reply may quote what the server received (a 421 or 535 echoing an AUTH line):
    // once secrets are registered they are masked in its text, as in the transcript. A 334
    // challenge is the SASL mechanism's input and stays as sent.
    if (this.#transcript.hasSecrets && reply.code !== 334) {
      reply = { ...reply, lines: reply.lines.map((text) => this.#transcript.redact(text)) };
    }
    if (reply.code === ReplyCode.ServiceNotAvailable) {
      this.#broken = true;
      this.#closedWith ??= reply;
      transport.destroy();
      const said = formatReply(reply);
      throw new SmtpConnectionError(`${this.#server} closed the session with ${said}` +
        (/[.!?]$/.test(said) ? '' : '.'), stage, { reply, transcript: this.#transcript.recent() });
    }
    return reply;
  }

  async #simple(line: string, stage: SessionStage): Promise<void> {
    const transport = this.#requireUsable(line);
    this.#busy = true;
    try {
      await transport.writeLines([line], stage, this.#timeouts.command);
      const reply = await this.#read(stage, this.#timeouts.command);
      if (!isPositiveCompletion(reply)) {
        throw new SmtpCommandError(line, reply, { transcript: this.#transcript.recent() });
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Sends QUIT when the server is still talking to us, closes, and throws `error`. */
  async #abandon(error: SmtpError, polite = true): Promise<never> {
    const transport = this.#transport;
    this.#broken = true;
    if (transport && !transport.closed && polite) {
      try {
        const grace = Math.min(this.#timeouts.command, QUIT_GRACE_MS);
        await transport.writeLines([commands.quit()], 'quit', grace);
        await transport.readReply('quit', grace);
      } catch {
        // Best effort: the error below is what matters.
      }
    }
    transport?.destroy();
    throw error;
  }

  /**
   * A reply waiting when none is owed answers nothing we asked: the server, or a machine on
   * the path, is ahead of the conversation. Before EHLO (after the greeting, or right after a
   * TLS handshake) it would be read as the EHLO reply; after the EHLO or AUTH reply it would
   * answer the next command and shift every later reply by one (MAIL answered by a stray
   * 250, DATA by RCPT's). `when` says where it came, for the message. A queued 421 is the
   * server closing (`SmtpConnectionError`); anything else is an `SmtpProtocolError`. The
   * connection is closed either way.
   */
  async #refuseUnsolicited(transport: SmtpTransport, stage: SessionStage,
    when: string): Promise<void> {
    // One turn of the event loop first, so that octets already in the socket are seen.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!transport.hasUnreadReplies) return;
    const early = await this.#read(stage, this.#timeouts.command);
    await this.#abandon(new SmtpProtocolError(`${this.#server} sent ${formatReply(early)} ` +
      `${when} (possible response injection); the session was closed.`,
    { transcript: this.#transcript.recent() }), false);
  }

  async #hello(step: (name: SessionStep['name'], detail?: string) => void): Promise<void> {
    const transport = this.#transport!;
    const name = this.#options.clientName ?? defaultClientName(transport.localAddress);
    const ehloLine = commands.ehlo(name);
    await this.#refuseUnsolicited(transport, 'ehlo',
      'before the EHLO command it would answer');
    await transport.writeLines([ehloLine], 'ehlo', this.#timeouts.command);
    const reply = await this.#read('ehlo', this.#timeouts.command);
    if (isPositiveCompletion(reply)) {
      this.#capabilities = parseCapabilities(reply);
      step('ehlo', name);
      return;
    }
    if (reply.code !== ReplyCode.CommandUnrecognized
      && reply.code !== ReplyCode.CommandNotImplemented) {
      await this.#abandon(new SmtpCommandError(ehloLine, reply,
        { transcript: this.#transcript.recent() }));
    }
    const heloLine = commands.helo(name);
    await transport.writeLines([heloLine], 'helo', this.#timeouts.command);
    const heloReply = await this.#read('helo', this.#timeouts.command);
    if (!isPositiveCompletion(heloReply)) {
      await this.#abandon(new SmtpCommandError(heloLine, heloReply,
        { transcript: this.#transcript.recent() }));
    }
    this.#capabilities = noCapabilities();
    step('helo', name);
  }

  async #startTls(tls: NonNullable<SmtpClientOptions['tls']>,
    step: (name: SessionStep['name'], detail?: string) => void): Promise<void> {
    const transport = this.#transport!;
    const required = this.#mode === 'StartTls';
    if (!this.#capabilities.startTls) {
      await this.#abandon(new SmtpTlsError(`${this.#server} does not offer STARTTLS, which ` +
        'EnableSsl=True (secure: StartTls) requires: the session was closed before any AUTH ' +
        'or MAIL.',
      { transcript: this.#transcript.recent() }));
    }
    const line = commands.startTls();
    if (transport.hasUnreadReplies) {
      await this.#abandon(new SmtpTlsError(`${this.#server} sent a reply before STARTTLS was ` +
        'sent (possible response injection by a machine on the path): the session was ' +
        'closed before any AUTH or MAIL.', { transcript: this.#transcript.recent() }), false);
    }
    await transport.writeLines([line], 'starttls', this.#timeouts.command);
    const reply = await this.#read('starttls', this.#timeouts.command);
    if (reply.code !== ReplyCode.ServiceReady) {
      if (!required && reply.code < 400) {
        // Not a refusal: the server is in a state we cannot know (354 would swallow our next
        // commands as message text); going on in clear text would act on a forged answer.
        await this.#abandon(new SmtpProtocolError(`${this.#server} answered STARTTLS with ` +
          `${formatReply(reply)}, which is neither 220 nor a refusal; the session was closed.`,
        { transcript: this.#transcript.recent() }), false);
      }
      if (required) {
        await this.#abandon(new SmtpTlsError(`${this.#server} answered STARTTLS with ` +
          `${formatReply(reply)}, and EnableSsl=True (secure: StartTls) requires TLS: the ` +
          'session was closed before any AUTH or MAIL.',
        { transcript: this.#transcript.recent(), cause: new SmtpCommandError(line, reply) }));
      }
      this.#logger.warn({ server: this.#server, reply: formatReply(reply) },
        `${this.#server} refused STARTTLS (${formatReply(reply)}); continuing without TLS ` +
          'because secure is StartTlsWhenAvailable.');
      return;
    }
    const info = await transport.upgrade(tls, this.#timeouts.connect);
    step('starttls', `${info.protocol} ${info.cipher}`);
    // RFC 3207 §4.2: forget everything learnt before TLS.
    this.#capabilities = noCapabilities();
    await this.#hello(step);
  }

  /** Checks the envelope and message against the session; builds every command line. */
  #plan(envelope: Envelope, message: MessageSource, options: SendOptions): Transaction {
    const caps = this.#capabilities;
    if (typeof envelope !== 'object' || envelope === null) {
      throw new ConfigurationError('envelope', 'is missing.',
        'Pass { from: "sender@example.com", to: ["ops@example.com"] }.');
    }
    if (typeof envelope.from !== 'string') {
      throw new ConfigurationError('envelope.from', `is ${String(envelope.from)}, not an ` +
        'address.', 'Give the sender address as a string, such as from: "etl@example.com".');
    }
    if (!Array.isArray(envelope.to)) {
      // A string would be spread into its characters, one "recipient" each.
      throw new ConfigurationError('envelope.to', 'is not a list of addresses.',
        'Pass an array, such as to: ["ops@example.com"].');
    }
    if (envelope.to.some((to: unknown) => typeof to !== 'string')) {
      throw new ConfigurationError('envelope.to', 'holds a value that is not an address.',
        'Give each recipient as a string, such as to: ["ops@example.com"].');
    }
    const recipients = [...new Set(envelope.to)];
    if (recipients.length === 0) {
      throw new ConfigurationError('envelope.to', 'is empty.', 'Give at least one recipient.');
    }
    const utf8 = [envelope.from, ...recipients].some((address) => NON_ASCII.test(address));
    if (utf8 && !caps.smtpUtf8) {
      throw new ConfigurationError('envelope', `has a non-ASCII address, and ${this.#server} ` +
        'does not offer SMTPUTF8.', 'Use ASCII addresses (punycode for the domain) or a ' +
        'server that offers SMTPUTF8.');
    }

    let prepared: PreparedMessage | undefined;
    let openStream: (() => Readable) | undefined;
    let eightBit: boolean;
    let size = options.size;
    if (typeof message === 'string' || Buffer.isBuffer(message)) {
      prepared = prepareMessage(typeof message === 'string' ? Buffer.from(message, 'utf8')
        : message);
      // The caller may reuse its buffer once send() returns; the message may wait in the
      // window longer than that. A copy costs one memcpy (the normalised copy is new already).
      if (prepared.normalised === message) prepared.normalised = Buffer.from(message);
      size = prepared.normalised.length;
      eightBit = options.eightBit ?? prepared.eightBit;
    } else {
      if (typeof message !== 'function' && !(message instanceof Readable)) {
        // Found here, before MAIL; found when the stream is opened, it costs the connection.
        throw new ConfigurationError('message', 'is not a Buffer, string or Readable stream.',
          'Pass the message as one of those.');
      }
      if (message instanceof Readable) requireUnended(message);
      openStream = typeof message === 'function' ? message : () => message;
      eightBit = options.eightBit ?? caps.eightBitMime;
    }
    let rejectEightBit = false;
    if (eightBit && !caps.eightBitMime) {
      if (prepared !== undefined || options.eightBit === true) {
        throw new ConfigurationError('message', `has 8-bit octets, and ${this.#server} does ` +
          'not offer 8BITMIME.', 'Encode the message as 7-bit (quoted-printable or base64) ' +
          'or use a server that offers 8BITMIME.');
      }
    }
    if (!caps.eightBitMime && prepared === undefined) rejectEightBit = true;

    if (caps.size !== undefined && size !== undefined && size > caps.size) {
      // "At least": SIZE= counts neither dot-stuffing nor, for a caller's estimate, encoding.
      throw new ConfigurationError('message', `is at least ${size} octets, larger than the ` +
        `${caps.size} octets ${this.#server} accepts (SIZE).`,
      'Send a smaller message (fewer or smaller attachments), or use another server.');
    }

    const mailParams: commands.CommandParameters = {};
    if (caps.keywords.has('SIZE') && size !== undefined) mailParams.SIZE = size;
    if (eightBit && caps.eightBitMime) mailParams.BODY = '8BITMIME';
    if (utf8) mailParams.SMTPUTF8 = true;
    const rcptParams: commands.CommandParameters = {};
    if (envelope.dsn) {
      const { ret, envelopeId, notify } = envelope.dsn;
      if (notify && (notify as string[]).includes('NEVER') && notify.length > 1) {
        throw new ConfigurationError('envelope.dsn.notify', 'combines NEVER with other values.',
          'Use NEVER alone, or any of SUCCESS, FAILURE and DELAY.');
      }
      if (!caps.dsn) {
        this.#logger.warn({ server: this.#server }, `${this.#server} does not offer DSN; ` +
          'the delivery status notification request is not sent.');
      } else {
        if (ret) mailParams.RET = ret;
        if (envelopeId !== undefined) mailParams.ENVID = commands.xtext(envelopeId);
        if (notify && notify.length > 0) rcptParams.NOTIFY = notify.join(',');
      }
    }
    // ORCPT (RFC 3461 §4.2) carries each address as the sender gave it, so a report names it
    // even after aliases and forwarding rewrote the recipient. The rfc822 type is ASCII only;
    // a UTF-8 address goes without it (RFC 6533's utf-8 type is not sent).
    const orcpt = envelope.dsn !== undefined && caps.dsn;
    const rcptLine = (to: string): string => commands.rcptTo(to,
      orcpt && !NON_ASCII.test(to) ? { ...rcptParams, ORCPT: `rfc822;${commands.xtext(to)}` }
        : rcptParams);

    return {
      mailLine: commands.mailFrom(envelope.from, mailParams),
      rcptLines: recipients.map(rcptLine),
      recipients: recipients.map((recipient) => ({ recipient, status: 'unknown' })),
      method: caps.chunking && this.#options.chunking !== false ? 'BDAT' : 'DATA',
      normalised: prepared?.normalised,
      prepared,
      openStream,
      rejectEightBit,
      pipelining: caps.pipelining && this.#options.pipelining !== false,
      handedOver: false,
      bytesOut: 0,
      dataReady: false,
      started: false,
    };
  }

  /**
   * Runs a queue of commands: all in one write and then every reply in order (PIPELINING),
   * or one at a time, stopping when a reply handler says so. Only the last command may
   * carry a trailer (BDAT LAST); `onWritten` runs once it is on its way.
   */
  async #run(transport: SmtpTransport, queue: QueuedCommand[], pipelined: boolean,
    onWritten?: () => void): Promise<void> {
    if (pipelined) {
      await transport.writeLines(queue.map((c) => c.line), queue[0]!.stage,
        this.#timeouts.command, queue.at(-1)!.trailer);
      onWritten?.();
      for (const command of queue) command.onReply(await this.#read(command.stage,
        command.timeoutMs));
      return;
    }
    for (const command of queue) {
      await transport.writeLines([command.line], command.stage, this.#timeouts.command,
        command.trailer);
      if (command.trailer !== undefined) onWritten?.();
      if (!command.onReply(await this.#read(command.stage, command.timeoutMs))) return;
    }
  }

  /**
   * MAIL or RCPT answered with neither a 2xx nor a refusal (a 354, say: the server may now
   * take what follows as message text): no later reply can be trusted. Closes the session
   * and throws `SmtpProtocolError`.
   */
  #refuseOddReply(command: string, reply: SmtpReply): never {
    this.#broken = true;
    this.#transport?.destroy();
    throw new SmtpProtocolError(`${this.#server} answered ${command} with ` +
      `${formatReply(reply)}, which is neither a success nor a refusal; the session was ` +
      'closed.', { transcript: this.#transcript.recent() });
  }

  /** MAIL FROM and every RCPT TO of a transaction, with what their replies mean. */
  #envelopeCommands(tx: Transaction): QueuedCommand[] {
    const timeouts = this.#timeouts;
    const transcript = (): string[] => this.#transcript.recent();
    const queue: QueuedCommand[] = [{
      line: tx.mailLine,
      stage: 'mail',
      timeoutMs: timeouts.command,
      onReply: (reply) => {
        if (isPositiveCompletion(reply)) return true;
        if (reply.code < 400) this.#refuseOddReply('MAIL FROM', reply);
        tx.mailError = new SmtpCommandError(tx.mailLine, reply, { transcript: transcript() });
        return false;
      },
    }];
    tx.rcptLines.forEach((line, index) => {
      const result = tx.recipients[index]!;
      queue.push({
        line,
        stage: 'rcpt',
        timeoutMs: timeouts.command,
        onReply: (reply) => {
          if (reply.code < 400 && !isPositiveCompletion(reply)) {
            this.#refuseOddReply('RCPT TO', reply);
          }
          result.status = isPositiveCompletion(reply) ? 'accepted' : 'rejected';
          result.reply = reply;
          return true;
        },
      });
    });
    return queue;
  }

  /** The whole in-memory message as one `BDAT n LAST`; its reply is the final one. */
  #bdatLastCommand(tx: Transaction): QueuedCommand {
    const body = tx.normalised!;
    return {
      line: commands.bdat(body.length, true),
      stage: 'bdat',
      timeoutMs: this.#timeouts.dataTermination,
      trailer: body,
      onReply: (reply) => {
        tx.finalReply = reply;
        return true;
      },
    };
  }

  /** One transaction with the connection to itself (streams, large messages, no window). */
  async #transact(transport: SmtpTransport, tx: Transaction): Promise<SendResult> {
    const timeouts = this.#timeouts;
    const transcript = (): string[] => this.#transcript.recent();
    tx.started = true;
    const queue = this.#envelopeCommands(tx);
    // With PIPELINING the end of the envelope goes in the same write: DATA, or the whole
    // message as one BDAT LAST when it is in memory and small enough.
    const singleBdat = tx.method === 'BDAT' && tx.normalised !== undefined
      && tx.normalised.length <= BDAT_CHUNK_SIZE && tx.pipelining;
    if (tx.pipelining && tx.method === 'DATA') queue.push(this.#dataCommand(tx));
    if (singleBdat) queue.push(this.#bdatLastCommand(tx));
    await this.#run(transport, queue, tx.pipelining, () => {
      if (singleBdat) {
        tx.handedOver = true;
        tx.bytesOut = tx.normalised!.length;
      }
    });

    const accepted = tx.recipients.filter((r) => r.status === 'accepted');
    if (tx.mailError || accepted.length === 0) {
      if (tx.dataReady) await this.#endEmptyData(transport);
      await this.#resetAfterFailure(transport);
      if (tx.mailError) throw tx.mailError;
      throw new SmtpRecipientsError(`${this.#server} accepted none of the ` +
        `${tx.recipients.length} recipient(s).`, tx.recipients, { transcript: transcript() });
    }

    if (!singleBdat) {
      if (tx.method === 'DATA') {
        if (!tx.pipelining) await this.#run(transport, [this.#dataCommand(tx)], false);
        if (tx.dataError) {
          await this.#refuseOddDataReply(tx.dataError);
          await this.#resetAfterFailure(transport);
          throw tx.dataError;
        }
        await this.#refuseEarlyReply(transport);
        await this.#writeData(transport, tx);
        tx.finalReply = await this.#read('data-termination', timeouts.dataTermination);
      } else {
        await this.#writeBdat(transport, tx);
      }
    }
    return this.#outcome(tx, accepted);
  }

  /**
   * The result once the end of data was answered: every accepted recipient gets the final
   * reply; a refusal of the message is a `SmtpCommandError` (the end of data clears the
   * server's transaction either way: RFC 5321 §4.1.1.4, RFC 3030 §2).
   */
  #outcome(tx: Transaction, accepted: RecipientResult[]): SendResult {
    const transcript = (): string[] => this.#transcript.recent();
    const final = tx.finalReply!;
    if (!isPositiveCompletion(final)) {
      // After a refused chunk the server's answer to BDAT LAST only says "discarded after
      // an earlier error"; the refusal of the chunk says why (552 5.3.4 too large).
      const refusal = tx.chunkRefusal ?? final;
      const command = tx.chunkRefusal ? 'BDAT'
        : tx.method === 'DATA' ? '<end of data>' : 'BDAT LAST';
      for (const result of accepted) {
        result.status = 'rejected';
        result.reply = refusal;
      }
      throw new SmtpCommandError(command, refusal, { transcript: transcript() });
    }
    for (const result of accepted) result.reply = final;
    return {
      accepted: accepted.map((r) => r.recipient),
      rejected: tx.recipients.filter((r) => r.status === 'rejected'),
      recipients: tx.recipients,
      reply: final,
      size: tx.bytesOut,
      method: tx.method,
    };
  }

  /**
   * True when the transaction can share the wire: the window allows more than one, and the
   * message is in memory and fits one `BDAT n LAST` (or one DATA body of the same size).
   */
  #pipelinable(tx: Transaction): boolean {
    return this.maxInFlight > 1 && tx.pipelining && tx.normalised !== undefined
      && tx.normalised.length <= BDAT_CHUNK_SIZE;
  }

  /** Takes the next place in the write order and the reply order (call order). */
  #reserve(): Slot {
    let releaseGate!: () => void;
    let releaseTurn!: () => void;
    const gate = new Promise<void>((resolve) => {
      releaseGate = resolve;
    });
    const turn = new Promise<void>((resolve) => {
      releaseTurn = resolve;
    });
    const slot: Slot = { previousGate: this.#writeGate, releaseGate,
      previousTurn: this.#readTurn, releaseTurn };
    this.#writeGate = gate;
    this.#readTurn = turn;
    return slot;
  }

  /**
   * Waits, in call order, for a place in the window; an `exclusive` send waits until
   * nothing else is in flight and keeps the connection to itself.
   */
  #admit(exclusive: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#admissions.push({ exclusive, admit: resolve });
      this.#admitNext();
    });
  }

  #admitNext(): void {
    for (;;) {
      const next = this.#admissions[0];
      if (next === undefined || this.#exclusive) break;
      if (next.exclusive ? this.#inFlight > 0 : this.#inFlight >= this.maxInFlight) break;
      this.#admissions.shift();
      this.#inFlight += 1;
      this.#exclusive = next.exclusive;
      next.admit();
    }
    if (this.#inFlight === 0 && this.#admissions.length === 0) {
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  #leave(exclusive: boolean): void {
    this.#inFlight -= 1;
    if (exclusive) this.#exclusive = false;
    this.#admitNext();
  }

  /** Throws `SmtpConnectionError` (nothing of this send was written) once the session ended. */
  #requireAlive(): void {
    if (!this.alive) {
      throw new SmtpConnectionError(`The session with ${this.#server} closed before this ` +
        'message was sent; nothing of it was written.', 'idle',
      { transcript: this.#transcript.recent() });
    }
  }

  /** The transaction can no longer leave the server mid-transaction (read, reset or ended). */
  #settle(tx: Transaction): void {
    if (!tx.unsettled) return;
    tx.unsettled = false;
    this.#unsettled -= 1;
  }

  /**
   * Queues octets for the next flush. Everything queued before the event loop turns leaves
   * in one corked write (so several transactions go in one TCP segment). `onWrite` runs
   * just before the octets leave (to log lines and mark a message handed over).
   */
  #enqueue(tx: Transaction, bytes: Buffer[], stage: SessionStage, timeoutMs: number,
    onWrite: () => void): Promise<void> {
    tx.lastWrite = ++this.#writeCount;
    const written = new Promise<void>((resolve, reject) => {
      this.#outbox.push({ bytes, stage, timeoutMs, onWrite, resolve, reject });
    });
    // Awaited later (after the read turn); a rejection must not go unhandled meanwhile.
    written.catch(() => {});
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    return written;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const parts = this.#outbox.splice(0);
    const transport = this.#transport;
    if (parts.length === 0 || transport === undefined) return;
    let done: Promise<void>;
    if (transport.closed) {
      done = transport.write(Buffer.alloc(0), parts[0]!.stage, this.#timeouts.command);
    } else {
      for (const part of parts) part.onWrite();
      done = transport.writeAll(parts.flatMap((part) => part.bytes), parts.at(-1)!.stage,
        Math.max(...parts.map((part) => part.timeoutMs)));
    }
    done.then(() => {
      for (const part of parts) part.resolve();
    }, (error: unknown) => {
      for (const part of parts) part.reject(error);
    });
  }

  /**
   * Queues lines (logged as they leave) and optionally octets after them; returns the
   * write's promise.
   */
  #enqueueLines(tx: Transaction, lines: string[], stage: SessionStage,
    trailer?: Buffer, onWrite?: () => void): Promise<void> {
    const text = lines.map((line) => `${line}\r\n`).join('');
    const bytes: Buffer[] = [Buffer.from(text, 'utf8')];
    if (trailer !== undefined) bytes.push(trailer);
    return this.#enqueue(tx, bytes, stage, this.#timeouts.command, () => {
      this.#transport?.expectReplies(lines.length);
      for (const line of lines) this.#transcript.client(line);
      onWrite?.();
    });
  }

  /**
   * RSET after a failed pipelined transaction that may have left the server
   * mid-transaction, unless a later transaction was already written (it starts with its
   * own RSET). A refused RSET closes the connection.
   */
  async #resetIfLast(tx: Transaction): Promise<void> {
    if (tx.lastWrite !== this.#writeCount) {
      this.#settle(tx);
      return;
    }
    const written = this.#enqueueLines(tx, [commands.rset()], 'rset');
    this.#settle(tx);
    await written;
    const reply = await this.#read('rset', this.#timeouts.command);
    if (!isPositiveCompletion(reply)) {
      this.#broken = true;
      this.#transport?.destroy();
    }
  }

  /**
   * One transaction in the pipeline window. Written after the previous send opened the
   * gate: `[RSET] MAIL RCPT... BDAT n LAST <message>` in one write (the gate opens at once
   * for the next), or `MAIL RCPT... DATA`, then after 354 the body and its dot (the gate
   * opens then, so the next envelope leaves in the same write). Its replies are read after
   * the previous send has read all of its own, strictly in order.
   */
  async #pipelined(transport: SmtpTransport, tx: Transaction, slot: Slot): Promise<SendResult> {
    const bdat = tx.method === 'BDAT';
    const queue = this.#envelopeCommands(tx);
    queue.push(bdat ? this.#bdatLastCommand(tx) : this.#dataCommand(tx));
    await slot.previousGate;
    this.#requireAlive();
    // An earlier transaction whose replies are unread may fail with MAIL taken and no end of
    // data (all recipients refused): the server would then refuse this MAIL as nested, and
    // take our RCPTs into that envelope. RSET first makes this transaction independent.
    const reset = this.#unsettled > 0;
    const lines = [...(reset ? [commands.rset()] : []), ...queue.map((c) => c.line)];
    tx.started = true;
    const body = tx.normalised!;
    const written = this.#enqueueLines(tx, lines, 'mail', bdat ? body : undefined, () => {
      if (!bdat) return;
      tx.handedOver = true;
      tx.bytesOut = body.length;
    });
    tx.unsettled = true;
    this.#unsettled += 1;
    if (bdat) slot.releaseGate();

    await slot.previousTurn;
    await written;
    if (reset) {
      const reply = await this.#read('rset', this.#timeouts.command);
      if (!isPositiveCompletion(reply)) {
        this.#broken = true;
        transport.destroy();
        throw new SmtpProtocolError(`${this.#server} refused RSET (${formatReply(reply)}) ` +
          'between pipelined transactions; the connection was closed.',
        { transcript: this.#transcript.recent() });
      }
    }
    for (const command of queue) {
      command.onReply(await this.#read(command.stage, command.timeoutMs));
    }

    const accepted = tx.recipients.filter((r) => r.status === 'accepted');
    if (tx.mailError || accepted.length === 0 || tx.dataError) {
      if (tx.dataError) await this.#refuseOddDataReply(tx.dataError);
      if (tx.dataReady) {
        // 354 although nobody was accepted: end the data at once, empty.
        const ended = this.#enqueue(tx, [Buffer.from('.\r\n')], 'data-termination',
          this.#timeouts.dataBlock, () => {
            transport.expectReplies(1);
            this.#transcript.client('.');
          });
        await ended;
        await this.#read('data-termination', this.#timeouts.dataTermination);
      }
      await this.#resetIfLast(tx);
      if (tx.mailError) throw tx.mailError;
      if (accepted.length === 0) {
        const refusal = tx.finalReply ? ` (${formatReply(tx.finalReply)})` : '';
        throw new SmtpRecipientsError(`${this.#server} accepted none of the ` +
          `${tx.recipients.length} recipient(s)${refusal}.`, tx.recipients,
        { transcript: this.#transcript.recent() });
      }
      throw tx.dataError;
    }

    if (!bdat) {
      await this.#refuseEarlyReply(transport);
      const wire = dataOctets(tx.prepared!);
      // The message's octets as sent (stuffed), without the `.` that ends them.
      const octets = wire.reduce((sum, part) => sum + part.length, 0) - DATA_TERMINATOR.length;
      const sent = this.#enqueue(tx, wire, 'data-block', this.#timeouts.dataBlock, () => {
        transport.expectReplies(1);
        tx.handedOver = true;
        tx.bytesOut = octets;
        this.#transcript.note(`${octets} octets of message data`);
        this.#transcript.client('.');
      });
      // The final dot ends the server's transaction whatever it answers.
      this.#settle(tx);
      slot.releaseGate();
      await sent;
      tx.finalReply = await this.#read('data-termination', this.#timeouts.dataTermination);
    }
    this.#settle(tx);
    return this.#outcome(tx, accepted);
  }

  #dataCommand(tx: Transaction): QueuedCommand {
    const line = commands.data();
    return {
      line,
      stage: 'data',
      timeoutMs: this.#timeouts.dataInitiation,
      onReply: (reply) => {
        if (reply.code === ReplyCode.StartMailInput) {
          tx.dataReady = true;
          return true;
        }
        tx.dataError = new SmtpCommandError(line, reply,
          { transcript: this.#transcript.recent() });
        return false;
      },
    };
  }

  /**
   * DATA answered with neither 354 nor a 4xx/5xx refusal (a 250, say): the server does not
   * follow the protocol, and whatever state it is in, it is not ours. Closes the session.
   */
  async #refuseOddDataReply(error: SmtpCommandError): Promise<void> {
    if (error.replyCode >= 400) return;
    await this.#abandon(new SmtpProtocolError(`${this.#server} answered DATA with ` +
      `${formatReply(error.reply)} instead of 354.`, { transcript: this.#transcript.recent() }));
  }

  /**
   * A reply that has arrived while the message data is not yet all written answers nothing:
   * the server cannot have taken a message it has not received to its final dot (RFC 5321
   * §4.1.1.4), and reading that reply as the final one would report a message delivered that
   * was cut short (a 354 and a 250 in one packet, say). The connection is closed without the
   * dot, so that the server discards what it has, and the send fails. A 421 stays what it
   * is: the server closing (`SmtpConnectionError`, from `#read`).
   */
  async #refuseEarlyReply(transport: SmtpTransport): Promise<void> {
    if (!transport.hasUnreadReplies) return;
    const early = await this.#read('data-block', Math.min(this.#timeouts.command, QUIT_GRACE_MS));
    await this.#abandon(new SmtpProtocolError(`${this.#server} sent ${formatReply(early)} ` +
      'before the end of the message data had been sent; the message was not completed ' +
      '(nothing was delivered unless the server keeps a cut message), and the session was ' +
      'closed.', { transcript: this.#transcript.recent() }), false);
  }

  /** A 354 came although nobody was accepted (pipelining): end the data at once, empty. */
  async #endEmptyData(transport: SmtpTransport): Promise<void> {
    await transport.writeLines(['.'], 'data-termination', this.#timeouts.dataBlock);
    await this.#read('data-termination', this.#timeouts.dataTermination);
  }

  /** RSET after a refused MAIL, RCPT or DATA; a refused RSET breaks the session. */
  async #resetAfterFailure(transport: SmtpTransport): Promise<void> {
    await transport.writeLines([commands.rset()], 'rset', this.#timeouts.command);
    const reply = await this.#read('rset', this.#timeouts.command);
    if (!isPositiveCompletion(reply)) {
      this.#broken = true;
      transport.destroy();
    }
  }

  /** The message after 354: normalised, dot-stuffed, `.` last; back-pressure respected. */
  async #writeData(transport: SmtpTransport, tx: Transaction): Promise<void> {
    const blockMs = this.#timeouts.dataBlock;
    if (tx.prepared !== undefined) {
      let octets = 0;
      transport.expectReplies(1);
      for (const part of dataOctets(tx.prepared)) {
        for (let offset = 0; offset < part.length; offset += WRITE_SLICE) {
          const end = Math.min(offset + WRITE_SLICE, part.length);
          await this.#refuseEarlyReply(transport);
          await transport.write(part.subarray(offset, end), 'data-block', blockMs);
        }
        octets += part.length;
      }
      // Only once the write that ends with the terminator has completed: a write that
      // failed (EPIPE, reset) never put the final `.` on the wire, so nothing was delivered.
      tx.handedOver = true;
      tx.bytesOut = octets - DATA_TERMINATOR.length;
    } else {
      // A piece that needs no change (CRLF already, no dot to stuff: base64, most text) is
      // written as it is; the next is read once the socket has room (back-pressure), so
      // memory stays flat for a message of any size.
      const normaliser = new LineEndingNormaliser({ dotStuff: true,
        rejectEightBit: tx.rejectEightBit });
      let total = 0;
      await this.#pump(tx, async (piece) => {
        const wire = normaliser.encode(piece);
        total += wire.length;
        await this.#refuseEarlyReply(transport);
        if (wire.length > 0) await transport.write(wire, 'data-block', blockMs);
      });
      const tail = Buffer.concat([normaliser.finish(), DATA_TERMINATOR]);
      await this.#refuseEarlyReply(transport);
      transport.expectReplies(1);
      await transport.write(tail, 'data-block', blockMs);
      tx.handedOver = true;
      tx.bytesOut = total + tail.length - DATA_TERMINATOR.length;
    }
    this.#transcript.note(`${tx.bytesOut} octets of message data`);
    this.#transcript.client('.');
  }

  /** The message as BDAT chunks; the last is `BDAT n LAST`, whose reply is the final one. */
  async #writeBdat(transport: SmtpTransport, tx: Transaction): Promise<void> {
    let pendingReads = 0;
    let firstError: SmtpCommandError | undefined;
    const sendChunk = async (chunk: BdatChunk, reused = false): Promise<void> => {
      const line = commands.bdat(chunk.data.length, chunk.last);
      await transport.writeLines([line], 'bdat', this.#timeouts.dataBlock, chunk.data, reused);
      if (chunk.last) tx.handedOver = true;
      tx.bytesOut += chunk.data.length;
      if (chunk.last) return;
      if (tx.pipelining) {
        pendingReads += 1;
        // Replies that have already come back: RFC 3030 §4.2, once a chunk is refused the
        // client sends no more chunks (a 552 for a message over the size limit, say).
        while (pendingReads > 0 && transport.hasUnreadReplies) {
          const early = await this.#read('bdat', this.#timeouts.command);
          pendingReads -= 1;
          if (!isPositiveCompletion(early)) {
            throw new SmtpCommandError('BDAT', early, { transcript: this.#transcript.recent() });
          }
        }
        return;
      }
      const reply = await this.#read('bdat', this.#timeouts.command);
      if (!isPositiveCompletion(reply)) {
        throw new SmtpCommandError(line, reply, { transcript: this.#transcript.recent() });
      }
    };
    try {
      if (tx.normalised !== undefined) {
        const body = tx.normalised;
        let offset = 0;
        do {
          const end = Math.min(offset + BDAT_CHUNK_SIZE, body.length);
          await sendChunk({ data: body.subarray(offset, end), last: end === body.length });
          offset = end;
        } while (offset < body.length);
      } else {
        // Gathered in one reused buffer; a full buffer goes as `BDAT n`, what is left at
        // the end as `BDAT n LAST` (possibly `BDAT 0 LAST`, RFC 3030 allows it).
        const normaliser = new LineEndingNormaliser({ dotStuff: false,
          rejectEightBit: tx.rejectEightBit });
        const scratch = Buffer.allocUnsafe(BDAT_CHUNK_SIZE);
        let used = 0;
        const gather = async (octets: Buffer): Promise<void> => {
          for (let offset = 0; offset < octets.length;) {
            const copied = octets.copy(scratch, used, offset);
            used += copied;
            offset += copied;
            if (used === scratch.length) {
              await sendChunk({ data: scratch, last: false }, true);
              used = 0;
            }
          }
        };
        await this.#pump(tx, (piece) => gather(normaliser.encode(piece)));
        await gather(normaliser.finish());
        await sendChunk({ data: scratch.subarray(0, used), last: true }, true);
      }
    } catch (error) {
      if (!(error instanceof SmtpCommandError)) throw error;
      // RFC 3030 §4.2: after a refused chunk, send no more; the transaction failed. The
      // replies to chunks still in flight come first, then RSET.
      for (; pendingReads > 0; pendingReads--) await this.#read('bdat', this.#timeouts.command);
      await this.#resetAfterFailure(transport);
      throw error;
    }
    for (let i = 0; i < pendingReads; i++) {
      const reply = await this.#read('bdat', this.#timeouts.command);
      if (!isPositiveCompletion(reply) && !firstError) {
        firstError = new SmtpCommandError('BDAT', reply, { transcript: this.#transcript.recent() });
      }
    }
    tx.finalReply = await this.#read('data-termination', this.#timeouts.dataTermination);
    if (firstError) {
      tx.chunkRefusal = firstError.reply;
      if (isPositiveCompletion(tx.finalReply)) {
        throw new SmtpProtocolError(`${this.#server} refused a BDAT chunk but accepted the ` +
          'message.', { transcript: this.#transcript.recent() });
      }
    }
  }

  /**
   * Reads the message stream and hands it to `sink` in pieces of at most `WRITE_SLICE`
   * octets, one at a time (the next read waits for the sink: back-pressure). A failing
   * stream destroys the connection's transaction with `SmtpConnectionError` (nothing was
   * delivered: the end of data was not sent).
   */
  async #pump(tx: Transaction, sink: (piece: Buffer) => Promise<void>): Promise<void> {
    const source = tx.openStream!();
    if (!(source instanceof Readable)) {
      throw new ConfigurationError('message', 'is not a Buffer, string or Readable stream.',
        'Pass the message as one of those.');
    }
    requireUnended(source);
    // A stream that stalls must not outlive the connection: once it closes (the server timed
    // out, or dropped it), the read ends with the connection's error instead of waiting.
    const transport = this.#transport;
    const onClose = (): void => {
      source.destroy(new SmtpConnectionError(`The connection to ${this.#server} closed while ` +
        'the message was read from its stream; the end of data was not sent.', 'data-block',
      { transcript: this.#transcript.recent() }));
    };
    transport?.once('close', onClose);
    // A stream that gives nothing for a data-block timeout while the server waits (a file on
    // a hung share, a generator that never ends) fails the send; the transaction is open, so
    // the connection goes with it (nothing was delivered: the end of data was not sent).
    const blockMs = this.#timeouts.dataBlock;
    let stall: NodeJS.Timeout | undefined;
    const watch = (): void => {
      stall = setTimeout(() => {
        source.destroy(new SmtpTimeoutError('data-block', blockMs, 'The message stream gave ' +
          `no data for ${blockMs} ms; the connection was closed so that no partial message ` +
          'is delivered.', { transcript: this.#transcript.recent() }));
        this.#broken = true;
        this.#transport?.destroy();
      }, blockMs);
    };
    watch();
    try {
      // A string chunk may end with the first half of a surrogate pair (text cut at a fixed
      // length); encoded alone, each half would become U+FFFD. It waits for the next chunk.
      let heldHalf = '';
      for await (const chunk of source) {
        clearTimeout(stall);
        let bytes: Buffer;
        if (typeof chunk === 'string') {
          let text = heldHalf + chunk;
          const last = text.charCodeAt(text.length - 1);
          heldHalf = last >= 0xd800 && last <= 0xdbff ? text.slice(-1) : '';
          if (heldHalf !== '') text = text.slice(0, -1);
          bytes = Buffer.from(text, 'utf8');
        } else {
          if (heldHalf !== '') await sink(Buffer.from(heldHalf, 'utf8'));
          heldHalf = '';
          bytes = streamOctets(chunk);
        }
        for (let offset = 0; offset < bytes.length; offset += WRITE_SLICE) {
          await sink(bytes.subarray(offset, Math.min(offset + WRITE_SLICE, bytes.length)));
        }
        watch();
      }
      clearTimeout(stall);
      if (heldHalf !== '') await sink(Buffer.from(heldHalf, 'utf8'));
    } catch (error) {
      source.destroy();
      if (error instanceof SmtpError) throw error;
      // The transaction is open (mid-DATA, or chunks without LAST): on this connection the
      // next send's commands would become message data, or join it and deliver both.
      this.#broken = true;
      this.#transport?.destroy();
      throw new SmtpConnectionError(`Reading the message failed: ${(error as Error).message}; ` +
        'the connection was closed so that no partial message is delivered.', 'data-block',
      { transcript: this.#transcript.recent(), cause: error });
    } finally {
      clearTimeout(stall);
      transport?.removeListener('close', onClose);
    }
  }

  /**
   * Turns a failure during a transaction into what the caller must know: after the final
   * `.` or `BDAT LAST` and before its reply, a broken connection is an unknown outcome (a
   * 421 is not: the server said it did not take the message).
   */
  #outcomeError(tx: Transaction, error: unknown): unknown {
    const transport = this.#transport;
    const broken = transport === undefined || transport.closed || this.#broken;
    if (error instanceof SmtpError && broken && !(error instanceof ConfigurationError)) {
      this.#broken = true;
      transport?.destroy();
      const closedBy421 = error instanceof SmtpConnectionError
        && (error.reply !== undefined || this.#closedWith !== undefined);
      if (closedBy421 && error.reply === undefined && tx.started) {
        // Replies come in order, and a server that answers 421 closes (RFC 5321 §3.8): this
        // transaction's commands came after the one the 421 answered, and were never read.
        return new SmtpConnectionError(`${this.#server} closed the session ` +
          `(${formatReply(this.#closedWith!)}) before answering this transaction, which it ` +
          'had not read: nothing of it was delivered.', error.stage,
        { reply: this.#closedWith!, transcript: this.#transcript.recent(), cause: error });
      }
      if (tx.handedOver && tx.finalReply === undefined && !closedBy421) {
        const recipients = tx.recipients.map((r): RecipientResult =>
          (r.status === 'rejected' ? r : { recipient: r.recipient, status: 'unknown' }));
        // Say what happened: a reply that could not be read, no reply in time, or a break
        // (whose own message says when, as "closed after the end of the message was sent").
        const what = error instanceof SmtpProtocolError
          ? `${this.#server} answered the end of the message with a reply that could not be ` +
            'read, and the session was closed. '
          : error instanceof SmtpTimeoutError
            ? `${this.#server} did not answer the end of the message in time, and the ` +
              'session was closed. '
            : error instanceof SmtpConnectionError && error.stage === 'data-termination' ? ''
              : `The connection to ${this.#server} broke after the message was handed over ` +
                'and before the server replied. ';
        const why = /[.)]$/.test(error.message) ? error.message : `${error.message}.`;
        return new SmtpUnknownOutcomeError(
          `${what}${why} It may or may not have been accepted: do not resend without ` +
            'checking.',
          recipients, { transcript: this.#transcript.recent(), cause: error });
      }
    }
    if (error instanceof ConfigurationError && transport && !transport.closed && tx.started) {
      // Refused mid-transaction (8-bit in a stream): DATA cannot be ended without delivering
      // a truncated message, and a BDAT transaction is half sent, so the connection goes.
      this.#broken = true;
      transport.destroy();
    }
    return error;
  }
}

/** Waits for the transport to close after `end()`, at most 2 s, then destroys it. */
async function closeTransport(transport: SmtpTransport): Promise<void> {
  if (transport.closed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      transport.destroy();
      resolve();
    }, 2_000);
    transport.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    transport.end();
  });
}

/**
 * tls-exporter (RFC 9266) for TLS 1.3 sessions; undefined otherwise.
 * TODO(auth): no tls-unique for TLS 1.2, and AuthContext cannot say which binding type it
 * holds; SCRAM-PLUS (not offered yet) will need both.
 */
function channelBinding(transport: SmtpTransport): Buffer | undefined {
  const socket = transport.tlsSocket;
  if (!socket || socket.getProtocol() !== 'TLSv1.3') return undefined;
  return socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
}
