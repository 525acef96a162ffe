/** The SMTP reply codes the client acts on, by name (RFC 5321 §4.2.2, RFC 3207, RFC 4954). */
export const ReplyCode = {
  /** System status or help reply. */
  SystemStatus: 211,
  /** The greeting: service ready. Also the go-ahead for STARTTLS (RFC 3207). */
  ServiceReady: 220,
  /** Closing the transmission channel, the reply to QUIT. */
  ServiceClosing: 221,
  /** Authentication succeeded (RFC 4954). */
  AuthSucceeded: 235,
  /** Requested action okay, completed. */
  Ok: 250,
  /** User not local; will forward. */
  WillForward: 251,
  /** Cannot verify the user, but will accept the message. */
  CannotVerify: 252,
  /** A SASL challenge (RFC 4954). */
  AuthChallenge: 334,
  /** Start mail input; end with `<CRLF>.<CRLF>`. */
  StartMailInput: 354,
  /** Service not available, closing the transmission channel. */
  ServiceNotAvailable: 421,
  /** TLS not available due to a temporary reason (RFC 3207). */
  TlsNotAvailable: 454,
  /** Syntax error, command unrecognised. */
  CommandUnrecognized: 500,
  /** Syntax error in parameters or arguments. */
  SyntaxError: 501,
  /** Command not implemented. */
  CommandNotImplemented: 502,
  /** Bad sequence of commands. */
  BadSequence: 503,
  /** Authentication required (RFC 4954). */
  AuthRequired: 530,
  /** Authentication credentials invalid (RFC 4954). */
  AuthFailed: 535,
  /** Requested action not taken: mailbox unavailable. */
  MailboxUnavailable: 550,
  /** Exceeded storage allocation (message too big, RFC 1870). */
  ExceededStorage: 552,
  /** Transaction failed; at connection time, no SMTP service here. */
  TransactionFailed: 554,
} as const;

export type ReplyCodeName = keyof typeof ReplyCode;
