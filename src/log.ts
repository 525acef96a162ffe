/**
 * Logging and transcripts.
 *
 * `Logger` is the subset of pino's API that smtpcm calls, so a pino logger (or
 * `console`-like adapter) can be injected as it is. `TranscriptLogger` receives the SMTP
 * conversation one line at a time, already masked: anything inside an AUTH exchange is
 * replaced by `********` by the transport, not by the caller.
 */

export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** One line of an SMTP conversation: `C` client to server, `S` server to client, `*` a note. */
export interface TranscriptLine {
  direction: 'C' | 'S' | '*';
  /** The line without its CRLF, masked where it belongs to an AUTH exchange. */
  text: string;
}

export type TranscriptLogger = (line: TranscriptLine) => void;

/** Formats a transcript line as MailKit and most tools show it: `C: EHLO host`. */
export function formatTranscriptLine(line: TranscriptLine): string {
  return `${line.direction}: ${line.text}`;
}

/** A logger that drops everything; the default where none is injected. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
