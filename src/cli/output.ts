/**
 * How the CLI talks to people: errors on stderr in one or two plain sentences with the fix,
 * no stack trace unless `--debug`, never a secret; exit codes set in one place.
 */
import type { Command } from 'commander';
import { formatReply } from '../protocol/reply.js';
import {
  ConfigurationError,
  SmtpAuthenticationError,
  SmtpConnectionError,
  SmtpError,
  SmtpRecipientsError,
  SmtpTimeoutError,
  SmtpTlsError,
  SmtpUnknownOutcomeError,
} from '../errors.js';

/** Exit codes of every command. */
export const EXIT = {
  /** Everything worked (every recipient accepted). */
  ok: 0,
  /** Nothing was sent, or any error. */
  failed: 1,
  /** Sent, but some recipients were rejected. */
  partial: 3,
} as const;

/** An error the CLI itself raises about its arguments: printed as is. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

// Task fields as the `send` command spells them, so messages name what the user typed.
const FLAG_FOR_FIELD: Record<string, string> = {
  FromLine: '--from',
  ToLine: '--to',
  CCLine: '--cc',
  BCCLine: '--bcc',
  Subject: '--subject',
  MessageSource: '--body-file',
  HtmlBodyFile: '--html-file',
  FileAttachments: '--attach',
  Priority: '--priority',
  ReplyTo: '--reply-to',
};

/** One or two sentences for a person: what went wrong and what to do. */
export function describeError(error: unknown, useFlags = false): string {
  if (error instanceof ConfigurationError) {
    let field = error.field;
    if (useFlags) {
      field = field.startsWith('Headers.')
        ? `--header ${field.slice('Headers.'.length)}`
        : FLAG_FOR_FIELD[field] ?? field;
    }
    const text = error.message.startsWith(`${error.field}:`)
      ? error.message.slice(error.field.length + 1).trim()
      : error.message;
    return `${field}: ${text}`;
  }
  if (error instanceof SmtpError) {
    return `${error.message} ${fixFor(error)}`.trim();
  }
  if (error instanceof UsageError) {
    return error.message;
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** What to do about an SMTP failure, in one sentence (the message says what happened). */
function fixFor(error: SmtpError): string {
  if (error instanceof SmtpRecipientsError) {
    const refused = error.recipients
      .filter((r) => r.status === 'rejected')
      .map((r) => `${r.recipient} (${r.reply ? formatReply(r.reply) : 'no reply'})`);
    return refused.length > 0 ? `Refused: ${refused.join('; ')}.` : '';
  }
  if (error instanceof SmtpUnknownOutcomeError) {
    return 'Check whether it arrived before sending again: a retry could deliver it twice.';
  }
  if (error instanceof SmtpAuthenticationError) {
    return 'Check UserName and Password (or AuthMechanisms) in the connection string.';
  }
  if (error instanceof SmtpTlsError) {
    return 'Check CaFile or the server certificate, and EnableSsl/SecureSocketOptions.';
  }
  if (error instanceof SmtpTimeoutError) {
    return 'Check that the server is reachable, or raise Timeout (seconds).';
  }
  if (error instanceof SmtpConnectionError) {
    return 'Check SmtpServer and Port, and that the server is running.';
  }
  return '';
}

/** Prints the error to stderr (with the stack and transcript when `debug`). */
export function reportError(error: unknown, options: { debug?: boolean; flags?: boolean } = {}) {
  process.stderr.write(`smtpcm: ${describeError(error, options.flags)}\n`);
  if (options.debug) {
    if (error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
    if (error instanceof SmtpError && error.transcript.length > 0) {
      process.stderr.write(`Transcript (masked):\n${error.transcript.join('\n')}\n`);
    }
  }
}

/**
 * Wraps a command's action: its resolved number becomes the exit code; a thrown error is
 * reported and exits 1 (or the error's `exitCode`).
 */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<number>,
  options: { flags?: boolean } = {},
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command;
    const debug = Boolean(command.optsWithGlobals().debug);
    try {
      process.exitCode = await run(...args);
    } catch (error) {
      reportError(error, { debug, ...options });
      process.exitCode = EXIT.failed;
    }
  };
}

/** Prints a value as JSON on stdout (Secrets print as `********`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
