/**
 * MIME composition: a checked message description in, an RFC 5322 message stream out.
 *
 * Nodemailer's MailComposer builds the MIME tree; this module decides what goes in it:
 * `Date`, a unique `Message-ID` on the sender's domain, RFC 2047 encoded words for non-ASCII
 * header text (Nodemailer splits them on character boundaries), RFC 2231 parameters for
 * non-ASCII file names, quoted-printable or base64 bodies (76-character lines) so the body is
 * always 7-bit, CRLF line ends, and no `Bcc` header
 * (Bcc recipients are only in the envelope). The message is produced as a stream each time
 * `createStream()` is called: attachments and body files are read while sending, never held
 * whole in memory.
 *
 * It does not validate: give it addresses from `parseAddressLine` and values already checked
 * for CR/LF (see send-mail-task.ts). Priority headers follow System.Net.Mail exactly.
 *
 * No header line leaves longer than 998 octets (RFC 5322 §2.1.1). MailComposer folds only at
 * spaces, so a Subject with a word too long for a line is sent as RFC 2047 encoded words
 * (at most 75 characters each, folded between them), as System.Net.Mail encodes; any other
 * field that would still have such a line (a custom header, a display name) is refused.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import { detectMimeType, encodeWord } from 'nodemailer/lib/mime-funcs';
import type { DsnOptions, Envelope } from '../client/types.js';
import { ConfigurationError } from '../errors.js';
import type { FieldProblem, MailAddress } from './addresses.js';

export type MailPriority = 'High' | 'Normal' | 'Low';

/** A body given as text, or as a file read while sending (UTF-8). */
export type BodySource = { content: string } | { path: string };

export interface MessageSpec {
  from: MailAddress;
  to: MailAddress[];
  cc?: MailAddress[];
  /** Envelope only: never written as a header. */
  bcc?: MailAddress[];
  replyTo?: MailAddress[];
  subject?: string;
  /** The plain-text body (the SSIS message). */
  text?: BodySource;
  /** An HTML body; with `text` the two become a multipart/alternative. */
  html?: BodySource;
  /** Attached files: `filename` defaults to the file's base name. */
  attachments?: Array<{ path: string; filename?: string }>;
  /** Images the HTML references as `cid:<cid>`. */
  inlineImages?: Array<{ cid: string; path: string }>;
  priority?: MailPriority;
  /** Extra header fields, written as given (after checks by the caller). */
  headers?: Record<string, string>;
  dsn?: DsnOptions;
  /** Default: now. Kept for every stream of this message. */
  date?: Date;
  /** Default: `<uuid@sender-domain>`. */
  messageId?: string;
}

export interface ComposedMessage {
  /** From, then To + Cc + Bcc without duplicates (compared case-insensitively). */
  envelope: Envelope;
  /** With angle brackets: `<…@example.com>`. */
  messageId: string;
  date: Date;
  /** The top-level header block as it is sent (CRLF-separated, folded, without Bcc). */
  headerBlock: string;
  /** True when an address needs SMTPUTF8 (a UTF-8 local part). */
  smtpUtf8: boolean;
  /** True when the message has octets above 127: only UTF-8 addresses (SMTPUTF8) cause it. */
  eightBit: boolean;
  /** A fresh stream of the whole message; call it once per attempt. */
  createStream(): Readable;
  /**
   * Octets the message has at least, from the header block and the sizes of its bodies and
   * files, without reading them: base64 for the attachments MailComposer base64-encodes, the
   * content itself for the rest (quoted-printable, base64 and CRLF only add). Never above the real
   * size, so a message it says is too large for the server's SIZE is too large.
   */
  minimumSize(): Promise<number>;
}

/** The header values System.Net.Mail writes for MailPriority (Message.PrepareHeaders). */
export const PRIORITY_HEADERS: Record<MailPriority, Record<string, string> | undefined> = {
  High: { 'X-Priority': '1', Priority: 'urgent', Importance: 'high' },
  Normal: undefined,
  Low: { 'X-Priority': '5', Priority: 'non-urgent', Importance: 'low' },
};

/**
 * Builds the message. Nothing is read here: files are opened by each `createStream()`.
 * Throws `ConfigurationError` naming the header field (as in the message) that would have a
 * line over 998 octets (see `headerLineProblem`).
 *
 * Bodies are always 7-bit (quoted-printable or base64, or 7bit when plain ASCII with short
 * lines), even when the server offers 8BITMIME: MailComposer re-encodes every text part, and
 * 7-bit content is accepted everywhere.
 */
export function composeMessage(spec: MessageSpec): ComposedMessage {
  const date = spec.date ?? new Date();
  const messageId = spec.messageId ?? newMessageId(spec.from);
  const smtpUtf8 = [spec.from, ...spec.to, ...(spec.cc ?? []), ...(spec.bcc ?? [])]
    .concat(spec.replyTo ?? [])
    .some((a) => a.smtpUtf8);
  const build = (): MailComposer => mailComposer(spec, messageId, date);

  const envelope: Envelope = {
    from: spec.from.envelopeAddress,
    to: dedupe([...spec.to, ...(spec.cc ?? []), ...(spec.bcc ?? [])]),
    ...(spec.dsn ? { dsn: spec.dsn } : {}),
  };
  const headerBlock = build().compile().buildHeaders();
  const problem = headerLineProblem(headerBlock);
  if (problem !== undefined) {
    throw new ConfigurationError(problem.field, problem.message, problem.fix);
  }
  return {
    envelope,
    messageId,
    date,
    headerBlock,
    smtpUtf8,
    eightBit: smtpUtf8,
    createStream: () => build().compile().createReadStream(),
    minimumSize: () => minimumSize(spec, headerBlock),
  };
}

/** RFC 5322 §2.1.1: a line is at most 998 octets, CRLF excluded. */
export const MAX_LINE_OCTETS = 998;

/**
 * The subject as MailComposer should get it: as written, unless a word of it is too long to
 * fit a line with `Subject: ` before it; then the whole subject as encoded words (RFC 2047 §2:
 * at most 75 characters each, cut between characters), which MailComposer folds between them.
 */
function foldableSubject(subject: string): string {
  const longest = MAX_LINE_OCTETS - 'Subject: '.length;
  const tooLong = subject.split(/[ \t]+/).some((word) => Buffer.byteLength(word) > longest);
  return tooLong ? encodeWord(subject, 'Q', 52) : subject;
}

/**
 * The first field of a header block (CRLF-separated, folded) with a line over 998 octets,
 * named as it is in the message (`X-Report-Id`, `To`), or undefined when every line fits.
 */
export function headerLineProblem(headerBlock: string): FieldProblem | undefined {
  let field = '';
  for (const line of headerBlock.split('\r\n')) {
    if (!/^[ \t]/.test(line)) field = line.slice(0, Math.max(0, line.indexOf(':')));
    const octets = Buffer.byteLength(line);
    if (octets > MAX_LINE_OCTETS) {
      return {
        field,
        message: `would be sent with a line of ${octets} octets; RFC 5322 §2.1.1 allows at most ` +
          `${MAX_LINE_OCTETS}.`,
        fix: 'Shorten the value, or put spaces in it: a header is folded only at spaces.',
      };
    }
  }
  return undefined;
}

/**
 * The problem `composeMessage` would throw for this message (a header line over 998 octets),
 * for callers that list problems before sending. Reads no file.
 */
export function composeProblem(spec: MessageSpec): FieldProblem | undefined {
  const messageId = spec.messageId ?? newMessageId(spec.from);
  const composer = mailComposer(spec, messageId, spec.date ?? new Date());
  return headerLineProblem(composer.compile().buildHeaders());
}

/** The MailComposer of the message; a new one for each stream (it is used up by one). */
function mailComposer(spec: MessageSpec, messageId: string, date: Date): MailComposer {
  return new MailComposer({
    from: toHeaderAddress(spec.from),
    to: spec.to.map(toHeaderAddress),
    cc: spec.cc?.length ? spec.cc.map(toHeaderAddress) : undefined,
    replyTo: spec.replyTo?.length ? spec.replyTo.map(toHeaderAddress) : undefined,
    subject: foldableSubject(spec.subject ?? ''),
    messageId,
    date,
    // A message with no body at all (SSIS allows a task without MessageSource) still gets
    // an empty text part: MailComposer cannot build a message with no content node.
    text: spec.text ? bodyContent(spec.text) : spec.html ? undefined : '',
    html: spec.html ? bodyContent(spec.html) : undefined,
    attachments: [
      ...(spec.attachments ?? []).map((a) => ({
        path: a.path,
        filename: a.filename ?? basename(a.path),
      })),
      ...(spec.inlineImages ?? []).map((image) => ({
        path: image.path,
        cid: image.cid,
        filename: basename(image.path),
      })),
    ],
    headers: { ...(spec.priority ? PRIORITY_HEADERS[spec.priority] : {}), ...spec.headers },
    newline: 'win',
    disableUrlAccess: true,
  });
}

async function minimumSize(spec: MessageSpec, headerBlock: string): Promise<number> {
  const bodySize = async (body: BodySource | undefined): Promise<number> =>
    body === undefined ? 0
      : 'path' in body ? (await stat(body.path)).size
      : Buffer.byteLength(body.content, 'utf8');
  const fileSize = async (path: string, filename: string): Promise<number> => {
    const { size } = await stat(path);
    // MailComposer's choice (getAttachments): a message/* file goes as it is (RFC 2046
    // §5.2.1), every other attachment, text included, is base64.
    const type = detectMimeType(filename);
    return /^message\//i.test(type) ? size : Math.ceil(size / 3) * 4;
  };
  const sizes = await Promise.all([
    bodySize(spec.text),
    bodySize(spec.html),
    ...(spec.attachments ?? []).map((a) => fileSize(a.path, a.filename ?? basename(a.path))),
    ...(spec.inlineImages ?? []).map((image) => fileSize(image.path, basename(image.path))),
  ]);
  return sizes.reduce((sum, size) => sum + size, Buffer.byteLength(headerBlock, 'utf8'));
}

function toHeaderAddress(address: MailAddress): { name: string; address: string } {
  return { name: address.name, address: address.address };
}

function bodyContent(body: BodySource): string | { path: string } {
  // A string, not `{ content }`: MailComposer cannot stream an empty `content`.
  return 'path' in body ? { path: body.path } : body.content;
}

function dedupe(addresses: MailAddress[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const a of addresses) {
    const key = a.envelopeAddress.toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(a.envelopeAddress);
    }
  }
  return out;
}

/** `<uuid@domain>` with the sender's (ASCII) domain, as RFC 5322 §3.6.4 recommends. */
export function newMessageId(from: MailAddress): string {
  const at = from.envelopeAddress.lastIndexOf('@');
  const domain = at >= 0 ? from.envelopeAddress.slice(at + 1) : 'localhost';
  return `<${randomUUID()}@${domain}>`;
}
