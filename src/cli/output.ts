/**
 * How the CLI talks to people: errors on stderr in one or two plain sentences with the fix,
 * no stack trace unless `--debug`, never a secret; exit codes set in one place.
 */
import { domainToUnicode } from 'node:url';
import type { Command } from 'commander';
import { formatTranscriptLine, type TranscriptLine } from '../log.js';
import { oneLine } from '../message/quote.js';
import { formatReply, type SmtpReply } from '../protocol/reply.js';
import {
  ConfigurationError,
  SmtpAuthenticationError,
  SmtpCommandError,
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
  /** The option at fault (`--raw`), when there is one. */
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super(message);
    this.name = 'UsageError';
    this.field = field;
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

// Fixes that speak of SSIS objects a CLI user never sees, by field.
const FLAG_FIX: Record<string, string> = {
  MessageSource: 'Give the path of a readable UTF-8 text file.',
};

/** What a failure is, for a person and for `--json`: what happened and what to do. */
export interface ErrorDescription {
  /** `ECONFIG`, `ETIMEOUT`... (`EUSAGE` for the CLI's own argument errors, a Node code). */
  code: string;
  /** The error's class name. */
  name: string;
  /** What went wrong, one line, values escaped. */
  message: string;
  /** What to do, one sentence, when there is something to do. */
  fix?: string;
  /** The setting or option at fault (`SmtpServer`, `--attach`). */
  field?: string;
  /** The session stage of a timeout or connection error. */
  stage?: string;
  replyCode?: number;
  enhancedCode?: string;
  /** The masked transcript: the error's own, else the session lines this run recorded. */
  transcript?: string[];
}

// The last masked transcript lines of this run: authentication errors, for one, carry none.
const RECORDED_LIMIT = 100;
const recorded: string[] = [];

/** Keeps a masked transcript line for `--debug` and `--json` errors (the last 100). */
export function recordTranscript(line: TranscriptLine): void {
  recorded.push(formatTranscriptLine(line));
  if (recorded.length > RECORDED_LIMIT) {
    recorded.splice(0, recorded.length - RECORDED_LIMIT);
  }
}

/** One or two sentences for a person: what went wrong and what to do. */
export function describeError(error: unknown, useFlags = false): string {
  const { message, fix } = explainError(error, useFlags);
  return fix ? `${message} ${fix}` : message;
}

/**
 * The error explained: the message made one line (control characters escaped, OpenSSL
 * internals dropped, `xn--` names shown in Unicode), the fix that fits the cause, and the
 * fields `--json` prints. With `useFlags`, task fields are named as `send`'s options.
 */
export function explainError(error: unknown, useFlags = false): ErrorDescription {
  const described = explainRaw(error, useFlags);
  const message = tidy(described.message);
  const fix = described.fix === undefined ? undefined : tidy(described.fix);
  const transcript =
    error instanceof SmtpError && error.transcript.length > 0
      ? error.transcript
      : error instanceof SmtpError && recorded.length > 0
        ? [...recorded]
        : undefined;
  return {
    ...described,
    message,
    ...(fix ? { fix } : { fix: undefined }),
    ...(transcript ? { transcript: transcript.map(oneLine) } : {}),
  };
}

function explainRaw(error: unknown, useFlags: boolean): ErrorDescription {
  if (error instanceof ConfigurationError) {
    let field = error.field;
    let fix = error.fix;
    let problem = error.problem.trim();
    if (useFlags) {
      fix = FLAG_FIX[field] ?? flagNames(fix);
      problem = flagNames(problem);
      field = field.startsWith('Headers.')
        ? `--header ${field.slice('Headers.'.length)}`
        : FLAG_FOR_FIELD[field] ?? field;
    }
    return { ...base(error), message: `${field}: ${problem}`, fix, field };
  }
  if (error instanceof SmtpError) {
    return { ...base(error), ...smtpDetails(error), ...explainSmtp(error) };
  }
  if (error instanceof UsageError) {
    return {
      code: 'EUSAGE',
      name: error.name,
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
    };
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      code: code ?? 'ERROR',
      name: error.name,
      message: code && !error.message.includes(code) ? `${error.message} (${code})` : error.message,
    };
  }
  return { code: 'ERROR', name: 'Error', message: String(error) };
}

function base(error: SmtpError): ErrorDescription {
  return { code: error.code, name: error.name, message: error.message };
}

/** The stage, reply code and enhanced code an SMTP error carries, when it has them. */
function smtpDetails(error: SmtpError): Partial<ErrorDescription> {
  const out: Partial<ErrorDescription> = {};
  if (error instanceof SmtpTimeoutError || error instanceof SmtpConnectionError) {
    out.stage = error.stage;
  }
  const reply =
    error instanceof SmtpConnectionError || error instanceof SmtpCommandError
      ? error.reply
      : error instanceof SmtpAuthenticationError
        ? error.reply ?? replyInText(authText(error))
        : undefined;
  if (reply) {
    out.replyCode = reply.code;
    if (reply.enhancedCode) {
      const { class: c, subject, detail } = reply.enhancedCode;
      out.enhancedCode = `${c}.${subject}.${detail}`;
    }
  }
  return out;
}

/** The message of an authentication error with why each mechanism failed. */
function authText(error: SmtpAuthenticationError): string {
  return [error.message, ...error.tried].join(' ');
}

/**
 * The last SMTP reply quoted in a text (`535 5.7.8 bad`): authentication errors do not all
 * carry their reply. A best effort for `replyCode` and the fix, never for a decision.
 */
function replyInText(text: string): SmtpReply | undefined {
  const pattern = /\b([45][0-9]{2})(?: ([245])\.([0-9]{1,3})\.([0-9]{1,3}))?( [^.;]*)?/g;
  const last = [...text.matchAll(pattern)].pop();
  if (!last) return undefined;
  const reply: SmtpReply = { code: Number(last[1]), lines: [(last[5] ?? '').trim()] };
  if (last[2]) {
    const klass = Number(last[2]) as 2 | 4 | 5;
    reply.enhancedCode = { class: klass, subject: Number(last[3]), detail: Number(last[4]) };
  }
  return reply;
}

/** True when the reply says TLS must come first (538, or 530 naming STARTTLS, RFC 3207). */
function requiresTls(reply: SmtpReply | undefined): boolean {
  if (!reply) return false;
  return reply.code === 538 || (reply.code === 530 && /STARTTLS|TLS/i.test(reply.lines.join(' ')));
}

const PASSWORD_FIX = 'Check UserName and Password (or AuthMechanisms) in the connection string.';
const ACCESS_TOKEN_FIX = 'Check AccessToken (it may have expired, or lack the scope for SMTP) ' +
  'and UserName in the connection string.';

/** True when the refused credential was an OAuth2 access token, not a password. */
function usedAccessToken(error: SmtpAuthenticationError): boolean {
  return error.mechanism === 'XOAUTH2' || error.mechanism === 'OAUTHBEARER' ||
    error.message.includes('the OAuth2 access token');
}

const TLS_FIRST_FIX =
  'The server requires TLS first: set EnableSsl=True (or SecureSocketOptions=StartTls).';

/** What happened and what to do about an SMTP failure (the message says what happened). */
function explainSmtp(error: SmtpError): { message: string; fix?: string } {
  const message = error.message;
  if (error instanceof SmtpRecipientsError) {
    const tlsFirst = error.recipients.some((r) => requiresTls(r.reply));
    const refused = error.recipients
      .filter((r) => r.status === 'rejected')
      .map((r) => `${r.recipient} (${r.reply ? formatReply(r.reply) : 'no reply'})`);
    const list = refused.length > 0 ? `Refused: ${refused.join('; ')}.` : '';
    return { message, fix: tlsFirst ? `${list} ${TLS_FIRST_FIX}`.trim() : list };
  }
  if (error instanceof SmtpUnknownOutcomeError) {
    return {
      message,
      fix: 'Check whether it arrived before sending again: a retry could deliver it twice.',
    };
  }
  if (error instanceof SmtpCommandError) {
    if (error.replyCode < 400) {
      // A 1xx-3xx reply where 2xx was due (354 to MAIL, say): the server broke the protocol.
      const expected = error.command === 'DATA' ? ' instead of 354' : '';
      return {
        message: `The server answered ${error.command} with ${formatReply(error.reply)}` +
          `${expected}: a protocol error, not a rejection.`,
        fix: 'The server does not follow SMTP here; report it to its administrator.',
      };
    }
    if (requiresTls(error.reply)) return { message, fix: TLS_FIRST_FIX };
    return { message };
  }
  if (error instanceof SmtpAuthenticationError) {
    if (requiresTls(error.reply ?? replyInText(authText(error)))) {
      return { message, fix: TLS_FIRST_FIX };
    }
    // 'insecure': the message itself says what to do (use TLS, or AllowInsecureAuth).
    if (error.reason === 'unavailable' || error.reason === 'insecure') return { message };
    return { message, fix: usedAccessToken(error) ? ACCESS_TOKEN_FIX : PASSWORD_FIX };
  }
  if (error instanceof SmtpTlsError) {
    return explainTls(error);
  }
  if (error instanceof SmtpTimeoutError) {
    const fix = 'Check that the server is reachable, or raise Timeout (seconds).';
    return error.stage === 'greeting'
      ? {
          message,
          fix: `${fix} If this port expects TLS from the first byte (implicit TLS, like 465), ` +
            'set SecureSocketOptions=SslOnConnect.',
        }
      : { message, fix };
  }
  if (error instanceof SmtpConnectionError) {
    const reply = error.reply;
    if (reply && reply.code === 421) {
      return {
        message: `The server closed the session with ${formatReply(reply)} (${error.stage}).`,
        fix: 'It is running but busy or shutting down; try again later.',
      };
    }
    if (reply) {
      return { message, fix: 'The server refuses this client; see its reply.' };
    }
    return { message, fix: 'Check SmtpServer and Port, and that the server is running.' };
  }
  return { message };
}

// OpenSSL's reason for bytes that are not TLS where a TLS record was expected.
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|http request/i;

function explainTls(error: SmtpTlsError): { message: string; fix?: string } {
  if (error.message.includes('does not offer STARTTLS')) {
    // No certificate was exchanged, so CaFile has nothing to do with it.
    return {
      message: firstLine(error.message),
      fix: 'As the server does not offer STARTTLS, use its port with implicit TLS (Port=465 ' +
        'with SecureSocketOptions=SslOnConnect) or, only on a trusted network, EnableSsl=False.',
    };
  }
  const detail = [error.message, causeMessage(error)].join(' ');
  const afterStartTls = error.transcript.some((line) => /^C: STARTTLS\b/i.test(line)) ||
    recorded.some((line) => /^C: STARTTLS\b/i.test(line));
  if (NOT_TLS.test(detail)) {
    return afterStartTls
      ? {
          message: 'The server answered STARTTLS but did not start TLS: its next bytes were ' +
            'not a TLS handshake.',
          fix: 'Nothing was sent. Report it to the server\'s administrator; something on the ' +
            'path may strip STARTTLS.',
        }
      : {
          message: 'The server did not answer in TLS: this port is not an implicit-TLS port.',
          fix: 'For a port that starts in plain text (25, 587), set EnableSsl=True or ' +
            'SecureSocketOptions=StartTls; keep SslOnConnect for ports like 465.',
        };
  }
  return {
    message: firstLine(error.message),
    fix: 'Check CaFile or the server certificate, and EnableSsl/SecureSocketOptions.',
  };
}

function causeMessage(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : '';
}

/** The first line of a message, without OpenSSL's `:../deps/openssl/...` source paths. */
function firstLine(text: string): string {
  return text.split(/\r?\n/)[0]!.replace(/:\.\.\/deps\/openssl\S*/g, '').trim();
}

/** SSIS field names in a task message, as `send` spells them (`CCLine` as `--cc`). */
function flagNames(text: string): string {
  return text.replace(/\b(FromLine|ToLine|CCLine|BCCLine|FileAttachments|HtmlBodyFile)\b/g,
    (name) => FLAG_FOR_FIELD[name] ?? name);
}

/** One line, control characters escaped, `xn--` names in Unicode, no doubled full stop. */
export function tidy(text: string): string {
  return oneLine(text.trim())
    .replace(/(?<![\w.-])(?:[a-z0-9-]+\.)*xn--[a-z0-9-]+(?:\.[a-z0-9-]+)*/gi,
      (name) => domainToUnicode(name) || name)
    // A sentence the library ended with "." inside one that adds its own: "name..".
    .replace(/(?<![.\s"'/\\])\.\.(?=\s|$)/g, '.');
}

/** Prints the error to stderr (with the stack and the masked transcript when `debug`). */
export function reportError(error: unknown, options: { debug?: boolean; flags?: boolean } = {}) {
  const described = explainError(error, options.flags);
  const text = described.fix ? `${described.message} ${described.fix}` : described.message;
  process.stderr.write(`smtpcm: ${text}\n`);
  if (options.debug) {
    reportDetail(error, described);
  }
}

/**
 * What `--debug` adds to an error on stderr: the stack, the underlying cause and the masked
 * transcript (`described.transcript`).
 */
export function reportDetail(error: unknown, described: ErrorDescription): void {
  if (error instanceof Error && error.stack) {
    process.stderr.write(`${oneLineEach(error.stack)}\n`);
  }
  if (error instanceof Error && causeMessage(error) !== '') {
    process.stderr.write(`Cause: ${oneLineEach(causeMessage(error))}\n`);
  }
  if (described.transcript && described.transcript.length > 0) {
    process.stderr.write(`Transcript (masked):\n${described.transcript.join('\n')}\n`);
  }
}

/** Each line of a multi-line text with its control characters escaped. */
function oneLineEach(text: string): string {
  return text.split(/\r?\n/).map(oneLine).join('\n');
}

/**
 * The object `--json` prints for a failure: `{ ok: false, error, ...partial }`, where the
 * partial result is the recipients of a recipients or unknown-outcome error.
 */
export function errorJson(error: unknown, flags = false): Record<string, unknown> {
  const described = explainError(error, flags);
  const json: Record<string, unknown> = { ok: false, error: dropUndefined(described) };
  if (error instanceof SmtpRecipientsError || error instanceof SmtpUnknownOutcomeError) {
    json.recipients = error.recipients;
  }
  return json;
}

/**
 * An argument error commander reported (`error: unknown option '--bogus'`, maybe followed by
 * a `(Did you mean --body?)` line), as one line with the fix: the help of `command`, the
 * command's words after `smtpcm` (`send`, `connection-string parse`; '' for the program).
 */
export function explainArgumentError(text: string, command: string): ErrorDescription {
  const message = oneLine(text.trim().replace(/^error: /, '').split(/\r?\n/).join(' '));
  const help = command === '' ? 'smtpcm --help' : `smtpcm ${command} --help`;
  return { code: 'EUSAGE', name: 'UsageError', message, fix: `See ${help}.` };
}

/** The line on stderr for an argument error (`explainArgumentError`). */
export function argumentErrorText(described: ErrorDescription): string {
  const stop = /[.?!)]$/.test(described.message) ? '' : '.';
  return `smtpcm: ${described.message}${stop} ${described.fix}\n`;
}

/** The `--json` object for an argument error (`explainArgumentError`). */
export function argumentErrorJson(described: ErrorDescription): Record<string, unknown> {
  return { ok: false, error: dropUndefined(described) };
}

function dropUndefined(value: ErrorDescription): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/**
 * Wraps a command's action: its resolved number becomes the exit code; a thrown error is
 * reported on stderr and exits 1. With the command's `--json`, the failure is also printed on
 * stdout as one JSON object (`errorJson`).
 */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<number>,
  options: { flags?: boolean } = {},
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command;
    const debug = Boolean(command.optsWithGlobals().debug);
    const json = Boolean(command.opts().json);
    try {
      process.exitCode = await run(...args);
    } catch (error) {
      if (json) {
        printJson(errorJson(error, options.flags));
      }
      reportError(error, { debug, ...options });
      process.exitCode = EXIT.failed;
    }
  };
}

/** Prints a value as JSON on stdout (Secrets print as `********`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
