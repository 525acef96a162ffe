/**
 * Every error smtpcm throws, one class per kind of failure.
 *
 * A caller decides what to do from the class and a few fields, never from the message text:
 * - `SmtpCommandError`: the server refused a command; the session is still usable (RSET).
 * - `SmtpRecipientsError`: no recipient was accepted (or the task's policy says any
 *   rejection fails); each recipient's reply is in `recipients`.
 * - `SmtpProtocolError`: the server broke the protocol (malformed or oversized reply,
 *   injected bytes); the connection is closed.
 * - `SmtpTimeoutError`: a wait ran out; `stage` says which one. The connection is closed.
 * - `SmtpTlsError`: TLS could not be set up or verified as required. The connection is closed.
 * - `SmtpConnectionError`: the connection could not be made, was dropped, or was closed
 *   by a 421. The connection is closed.
 * - `SmtpAuthenticationError`: no mechanism could log in; `reason` says why.
 * - `SmtpUnknownOutcomeError`: the connection died after the message was handed over
 *   and before the server's reply: it may or may not have been accepted (RFC 1047).
 * - `ConfigurationError`: bad input found before anything was sent; names the field and fix.
 *
 * Messages never contain a secret: callers pass masked commands, and `transcript` holds
 * the transport's masked lines.
 */
import { formatReply, type SmtpReply } from './protocol/reply.js';

export type SmtpErrorCode =
  | 'ECOMMAND'
  | 'ERECIPIENTS'
  | 'EPROTOCOL'
  | 'ETIMEOUT'
  | 'ETLS'
  | 'ECONNECTION'
  | 'EAUTH'
  | 'EUNKNOWN_OUTCOME'
  | 'ECONFIG';

/** A stage of a session, named in timeouts and connection errors. */
export type SessionStage =
  | 'connect'
  | 'tls-handshake'
  | 'greeting'
  | 'ehlo'
  | 'helo'
  | 'starttls'
  | 'auth'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'data-block'
  | 'data-termination'
  | 'bdat'
  | 'rset'
  | 'noop'
  | 'quit'
  | 'idle';

/** What the session was doing at each stage, for messages read by people. */
const stageActivity: Record<SessionStage, string> = {
  'connect': 'while connecting',
  'tls-handshake': 'during the TLS handshake',
  'greeting': 'before the greeting',
  'ehlo': 'after EHLO',
  'helo': 'after HELO',
  'starttls': 'during STARTTLS',
  'auth': 'during the login',
  'mail': 'after MAIL FROM',
  'rcpt': 'after RCPT TO',
  'data': 'after DATA',
  'data-block': 'while the message was being sent',
  'data-termination': 'after the end of the message was sent, before the server answered',
  'bdat': 'during BDAT',
  'rset': 'after RSET',
  'noop': 'after NOOP',
  'quit': 'after QUIT',
  'idle': 'while the connection was idle',
};

/** "while the message was being sent" and the like, for a stage. */
export function describeStage(stage: SessionStage): string {
  return stageActivity[stage];
}

/** Socket error codes said in words; the code itself stays in the message for searches. */
const socketErrorWords: Record<string, string> = {
  ECONNRESET: 'the server or the network reset it',
  EPIPE: 'the server had already closed it',
  ETIMEDOUT: 'the network stopped answering',
  EHOSTUNREACH: 'the host cannot be reached',
  ENETUNREACH: 'the network cannot be reached',
};

/** `host:port` for messages, an IPv6 address in brackets (`[::1]:25`, RFC 3986 §3.2.2). */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "the server or the network reset it (ECONNRESET)", or the error's own message. */
export function describeSocketError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  const words = code === undefined ? undefined : socketErrorWords[code];
  return words === undefined ? error.message : `${words} (${code})`;
}

export interface SmtpErrorOptions {
  /** The last lines of the masked transcript, oldest first. */
  transcript?: string[];
  cause?: unknown;
}

export abstract class SmtpError extends Error {
  abstract readonly code: SmtpErrorCode;
  /** True when trying again later may succeed (4xx replies, timeouts, dropped connections). */
  abstract readonly transient: boolean;
  readonly transcript: string[];

  constructor(message: string, options: SmtpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.transcript = options.transcript ?? [];
  }
}

/** The server answered a command with a 4xx or 5xx reply. The session is still usable. */
export class SmtpCommandError extends SmtpError {
  readonly code = 'ECOMMAND';
  readonly transient: boolean;
  readonly replyCode: number;
  /** The enhanced status code as text (`5.1.1`), when the server sent one. */
  readonly enhancedCode: string | undefined;
  /** The command as sent, masked: `RCPT TO:<bob@example.com>`, `AUTH PLAIN ********`. */
  readonly command: string;
  readonly recipient: string | undefined;

  constructor(
    command: string,
    readonly reply: SmtpReply,
    options: SmtpErrorOptions & { recipient?: string } = {},
  ) {
    super(`The server rejected ${command}: ${formatReply(reply)}`, options);
    this.command = command;
    this.replyCode = reply.code;
    this.enhancedCode = reply.enhancedCode
      ? `${reply.enhancedCode.class}.${reply.enhancedCode.subject}.${reply.enhancedCode.detail}`
      : undefined;
    this.recipient = options.recipient;
    this.transient = reply.code >= 400 && reply.code < 500;
  }
}

/** How one recipient fared. */
export interface RecipientResult {
  recipient: string;
  /**
   * `accepted`: the server took the message for this recipient; `rejected`: it refused the
   * recipient or the message; `unknown`: the connection died before the final reply.
   */
  status: 'accepted' | 'rejected' | 'unknown';
  /** The reply that decided the status (RCPT for rejections, the end of data otherwise). */
  reply?: SmtpReply;
}

/** Nobody was accepted, or the caller's policy fails the send on any rejection. */
export class SmtpRecipientsError extends SmtpError {
  readonly code = 'ERECIPIENTS';
  readonly transient: boolean;

  constructor(
    message: string,
    readonly recipients: RecipientResult[],
    options: SmtpErrorOptions = {},
  ) {
    super(message, options);
    const rejected = recipients.filter((r) => r.status === 'rejected');
    this.transient =
      rejected.length > 0 && rejected.every((r) => r.reply !== undefined && r.reply.code < 500);
  }
}

/** The server's bytes do not follow the protocol. The connection has been closed. */
export class SmtpProtocolError extends SmtpError {
  readonly code = 'EPROTOCOL';
  readonly transient = false;
}

/** A wait ran out. The connection has been closed. */
export class SmtpTimeoutError extends SmtpError {
  readonly code = 'ETIMEOUT';
  readonly transient = true;

  constructor(
    readonly stage: SessionStage,
    readonly timeoutMs: number,
    message?: string,
    options: SmtpErrorOptions = {},
  ) {
    super(message ?? `Timed out after ${timeoutMs} ms waiting for the server (${stage}).`, options);
  }
}

/** TLS could not be set up or verified as the settings require. The connection is closed. */
export class SmtpTlsError extends SmtpError {
  readonly code = 'ETLS';
  readonly transient = false;
}

/** The connection could not be made, was dropped, or was closed by the server (421). */
export class SmtpConnectionError extends SmtpError {
  readonly code = 'ECONNECTION';
  readonly transient = true;

  constructor(
    message: string,
    readonly stage: SessionStage,
    options: SmtpErrorOptions & { reply?: SmtpReply; syscall?: string } = {},
  ) {
    super(message, options);
    this.reply = options.reply;
  }

  /** The 421 (or 554 greeting) that closed the session, when there was one. */
  readonly reply: SmtpReply | undefined;
}

export type AuthFailureReason =
  /** The server said the credentials are wrong (535 5.7.8 and similar). */
  | 'credentials'
  /** No mechanism both sides support, or none the settings allow. */
  | 'no-mechanism'
  /** Credentials would go over an unencrypted connection without the opt-in. */
  | 'insecure'
  /** A mechanism could not run here (GSSAPI without the kerberos module or a ticket). */
  | 'unavailable'
  /** The server's answer breaks the mechanism (a wrong SCRAM server signature). */
  | 'server-proof'
  /** Every mechanism tried was refused for another reason. */
  | 'refused';

export class SmtpAuthenticationError extends SmtpError {
  readonly code = 'EAUTH';
  readonly transient: boolean;

  constructor(
    message: string,
    readonly reason: AuthFailureReason,
    options: SmtpErrorOptions & { mechanism?: string; reply?: SmtpReply; tried?: string[] } = {},
  ) {
    super(message, options);
    this.mechanism = options.mechanism;
    this.reply = options.reply;
    this.tried = options.tried ?? [];
    this.transient = options.reply !== undefined && options.reply.code >= 400
      && options.reply.code < 500;
  }

  readonly mechanism: string | undefined;
  readonly reply: SmtpReply | undefined;
  /** Every mechanism tried, in order, with why each one did not work. */
  readonly tried: string[];
}

/**
 * The connection died after the whole message was sent and before the server replied, so
 * the server may have accepted it. Never retried silently: a retry could deliver it twice.
 */
export class SmtpUnknownOutcomeError extends SmtpError {
  readonly code = 'EUNKNOWN_OUTCOME';
  readonly transient = false;

  constructor(
    message: string,
    readonly recipients: RecipientResult[],
    options: SmtpErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** Bad input, found before anything was sent. `field` names it; `fix` says what to do. */
export class ConfigurationError extends SmtpError {
  readonly code = 'ECONFIG';
  readonly transient = false;

  /**
   * `message` is `field: problem fix`; `problem` is the middle alone, for callers that show
   * the field or the fix their own way.
   */
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly fix: string,
    options: SmtpErrorOptions = {},
  ) {
    super(`${field}: ${problem} ${fix}`.trim(), options);
  }
}
