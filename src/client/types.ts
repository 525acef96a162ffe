/**
 * The public types of the SMTP client: its options, the envelope, and the results.
 * `SmtpClient` (smtp-client.ts) implements the session over these.
 */
import type { Readable } from 'node:stream';
import type { AuthOptions } from '../auth/mechanism.js';
import type { RecipientResult } from '../errors.js';
import type { Logger, TranscriptLogger } from '../log.js';
import type { SmtpReply } from '../protocol/reply.js';

/**
 * How the session is encrypted, as MailKit names it.
 * - `None`: never TLS, even when the server offers STARTTLS.
 * - `StartTls`: STARTTLS required (RFC 3207); fail before AUTH or MAIL when it is not offered,
 *   refused, or answered with anything but 220.
 * - `StartTlsWhenAvailable`: STARTTLS when offered, plain text otherwise.
 * - `SslOnConnect`: implicit TLS from the first byte (RFC 8314), usually port 465.
 * - `Auto`: `SslOnConnect` on port 465, otherwise `StartTlsWhenAvailable`.
 */
export type SecureSocketOptions =
  | 'None'
  | 'StartTls'
  | 'StartTlsWhenAvailable'
  | 'SslOnConnect'
  | 'Auto';

export interface TlsOptions {
  /** Trusted CA certificates (PEM). Default: Node's root store. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** The name the certificate must carry. Default: the host, unless it is an IP address. */
  servername?: string;
  /**
   * A SHA-256 fingerprint (hex, colons optional) the server certificate must match. When
   * given, the certificate is accepted on the pin alone, whatever its chain.
   */
  certificateThumbprint?: string;
  /**
   * Accepts any certificate. Off by default; when on, every connection logs a warning that
   * names the server, because anyone on the path can read the session.
   */
  trustServerCertificate?: boolean;
  /** The lowest TLS version accepted. Default `TLSv1.2`. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** Every wait of a session, in milliseconds. Defaults follow RFC 5321 §4.5.3.2. */
export interface SmtpTimeouts {
  /** TCP connect plus, for implicit TLS, the handshake. Default 30 000. */
  connect: number;
  /** The 220 greeting (RFC 5321: 5 minutes). Default 300 000. */
  greeting: number;
  /** Any command reply: EHLO, MAIL, RCPT, RSET, AUTH... (RFC 5321: 5 minutes). Default 300 000. */
  command: number;
  /** The 354 reply to DATA (RFC 5321: 2 minutes). Default 120 000. */
  dataInitiation: number;
  /**
   * Each write of message data to drain (RFC 5321: 3 minutes per block), and each wait for
   * the next piece of a message stream (a stream that stalls fails the send and closes the
   * connection, nothing delivered). Default 180 000.
   */
  dataBlock: number;
  /** The reply after the final `.` or `BDAT LAST` (RFC 5321: 10 minutes). Default 600 000. */
  dataTermination: number;
}

export interface SmtpClientOptions {
  /** The server's host name, IPv4 or IPv6 address. */
  host: string;
  /** Default 465 for `SslOnConnect`, else 25. */
  port?: number;
  /** Default `Auto`. */
  secure?: SecureSocketOptions;
  tls?: TlsOptions;
  /** The EHLO name. Default: this host's FQDN when it has one, else an address literal. */
  clientName?: string;
  /** Overrides for some or all timeouts. */
  timeouts?: Partial<SmtpTimeouts>;
  /** Credentials and the mechanism policy; used by `authenticate()`. */
  auth?: AuthOptions;
  /** Receives every line of the conversation, AUTH exchanges masked. */
  transcript?: TranscriptLogger;
  /** Receives warnings (certificate checks off) and facts about the session. */
  logger?: Logger;
  /** Use PIPELINING (RFC 2920) when the server offers it. Default true. */
  pipelining?: boolean;
  /** Use CHUNKING / BDAT (RFC 3030) when the server offers it. Default true. */
  chunking?: boolean;
  /**
   * The most transactions in flight on the connection at once when the server offers
   * PIPELINING (RFC 2920; RFC 3030 §4.2 for BDAT): further `send()` calls wait their turn.
   * 1 sends one transaction at a time. Default 8. See docs/pipelining.md.
   */
  pipelineWindow?: number;
  /** The longest reply line accepted, CRLF included. Default 4096 (RFC 5321 says 512). */
  maxReplyLineLength?: number;
  /** The most lines one reply may have. Default 1000. */
  maxReplyLines?: number;
  /** The local address to connect from. */
  localAddress?: string;
}

/**
 * DSN (RFC 3461) requests for one message, sent only when the server offers DSN (otherwise a
 * warning is logged and the message goes without them). With them, each ASCII recipient also
 * gets `ORCPT=rfc822;<address>` so reports name the address as it was given.
 */
export interface DsnOptions {
  /** Return the full message or only its headers in a failure report. */
  ret?: 'FULL' | 'HDRS';
  /** An envelope identifier echoed back in reports (xtext-encoded on the wire). */
  envelopeId?: string;
  /** When to report, per recipient. `NEVER` stands alone. */
  notify?: Array<'SUCCESS' | 'FAILURE' | 'DELAY'> | ['NEVER'];
}

export interface Envelope {
  /** The reverse path; an empty string sends `MAIL FROM:<>` (bounces). */
  from: string;
  /** Every forward path, in order; duplicates are sent once. */
  to: string[];
  dsn?: DsnOptions;
}

/**
 * The message: RFC 5322 headers and body. A function is called once per attempt, so a
 * stream can be produced again if the message has to be sent on a fresh connection. A Buffer
 * or string is copied when `send()` is called: changing the Buffer afterwards changes nothing.
 */
export type MessageSource = Buffer | string | Readable | (() => Readable);

export interface SendOptions {
  /**
   * The message's size in octets when known in advance (for `SIZE=` and the local check
   * against the server's limit). Computed for buffers and strings.
   */
  size?: number;
  /**
   * Whether the message has octets above 127. Computed for buffers and strings; for streams,
   * default `true` when the server offers 8BITMIME. When the server lacks 8BITMIME, an 8-bit
   * octet in a stream fails the send before the end of data (an error, not corruption).
   */
  eightBit?: boolean;
  /**
   * Aborts the send by closing the connection: this send fails with `SmtpConnectionError`
   * (or `SmtpUnknownOutcomeError` when its end of data was already written), and so does
   * every other send in flight on the same connection, as for a dropped connection.
   */
  signal?: AbortSignal;
}

export interface SendResult {
  /** The accepted recipients, in envelope order. */
  accepted: string[];
  /** The rejected ones, with the server's reply. */
  rejected: RecipientResult[];
  /** Every recipient, in envelope order. */
  recipients: RecipientResult[];
  /** The server's reply to the end of data (often carries the queue id). */
  reply: SmtpReply;
  /**
   * The octets of message data sent: after CRLF normalisation, and with DATA after
   * dot-stuffing, without the final `.` line (BDAT has none). A message with no line
   * starting with `.` has the same size either way, the size the server stores.
   */
  size: number;
  /** `DATA` or `BDAT`. */
  method: 'DATA' | 'BDAT';
}

/** What the session looks like once connected; used by reports and the pool. */
export interface TlsInfo {
  protocol: string;
  cipher: string;
  certificate?: {
    subject: string;
    issuer: string;
    validFrom: string;
    validTo: string;
    /** SHA-256 fingerprint, colon-separated hex. */
    fingerprint256: string;
    subjectAltName?: string;
  };
  /** True when the certificate was verified (chain and name, or the pin). */
  verified: boolean;
}

/** One step of setting up a session, reported to `onStep` as it completes. */
export interface SessionStep {
  name: 'connect' | 'tls-handshake' | 'greeting' | 'ehlo' | 'helo' | 'starttls' | 'auth';
  durationMs: number;
  detail?: string;
}
