/**
 * The contract between the SMTP client and a SASL mechanism (RFC 4422, RFC 4954).
 *
 * A mechanism is a small object that knows nothing of sockets: the client sends
 * `AUTH <name> [initial-response]`, hands every 334 challenge (base64-decoded) to `next()`,
 * and sends back what it returns, base64-encoded. One object serves one exchange.
 */
import type { SmtpReply } from '../protocol/reply.js';
import type { Secret } from '../secret.js';

export interface SaslMechanism {
  /** The name as the server advertises it, upper case: `PLAIN`, `SCRAM-SHA-256`. */
  readonly name: string;
  /**
   * The initial response sent with the AUTH command (RFC 4954 §4), or `undefined` when the
   * mechanism waits for the server's first challenge (LOGIN, CRAM-MD5). An empty buffer
   * means an empty initial response, sent as `=`.
   */
  start(): Promise<Buffer | undefined>;
  /** The response to one 334 challenge. Throws `SmtpAuthenticationError` to abort. */
  next(challenge: Buffer): Promise<Buffer>;
  /**
   * Called once the server has answered 235, to check anything the mechanism still has to
   * verify (SCRAM's server signature when the server sent it with the 235). Throws
   * `SmtpAuthenticationError` with reason `server-proof` when the server is not who it says.
   */
  finish?(): Promise<void>;
}

/** Produces an OAuth2 access token; `refresh` is true after the server refused the last one. */
export type AccessTokenProvider = (request: { refresh: boolean }) => Promise<string | Secret>;

/** What the caller knows about who to log in as. Every field is optional. */
export interface AuthOptions {
  /** The login name; sent as UTF-8. */
  username?: string;
  password?: Secret;
  /** An OAuth2 access token, or a function that fetches one (called again on refusal). */
  accessToken?: Secret | AccessTokenProvider;
  /** The NTLM domain (`Domain` in the connection string). */
  domain?: string;
  /** The NTLM workstation name; defaults to this host's name, upper case. */
  workstation?: string;
  /** The Kerberos service name for GSSAPI, `service@host`; defaults to `smtp@<server host>`. */
  targetName?: string;
  /** SSIS `UseWindowsAuthentication=True`: GSSAPI, then NTLM; never PLAIN, LOGIN or CRAM-MD5. */
  windowsAuthentication?: boolean;
  /** An ordered allow-list of mechanism names; when given, only these are tried, in order. */
  mechanisms?: string[];
  /**
   * Allows credentials over an unencrypted connection. Off by default: anyone on the path
   * could read or replay them (`AllowInsecureAuth` in the connection string).
   */
  allowInsecureAuth?: boolean;
}

/** What the client tells the policy about the session when it authenticates. */
export interface AuthContext {
  /** The host name the client connected to (used for the GSSAPI service name). */
  host: string;
  /** The port the client connected to (sent by OAUTHBEARER as `port=`, RFC 7628). */
  port?: number;
  /** True when the session is encrypted (implicit TLS or after STARTTLS). */
  secure: boolean;
  /** The mechanisms the server advertised after the last EHLO, upper case. */
  offered: string[];
  /**
   * The TLS channel binding data (tls-unique or tls-exporter), for SCRAM-PLUS; absent when
   * the session is not encrypted.
   */
  channelBinding?: Buffer;
}

/**
 * The one primitive the client gives the authentication loop: send a line and return the
 * server's reply. `secret: true` makes the transport mask the line in the transcript.
 */
export interface SaslExchange {
  command(line: string, options: { secret: boolean }): Promise<SmtpReply>;
}
