/**
 * The Send Mail task: one message, defined as SSIS defines it, sent through a connection
 * manager, with a result for every recipient.
 *
 * SSIS semantics kept (DESIGN §1): the SSIS properties and their enum names or numbers,
 * `;`-separated address lines (`,` accepted too), `|`-separated attachments that must exist,
 * a plain-text body from the task itself (`DirectInput`), from a file (`FileConnection`) or
 * from a variable (`Variable`), and the log events `SendMailTaskBegin`, `SendMailTaskInfo`,
 * `SendMailTaskEnd`. Additions are optional properties that SSIS never had: an HTML body,
 * inline images, Reply-To, custom headers, DSN, and the policy for rejected recipients.
 *
 * Everything is checked before any connection is made; nothing is sent when a check fails.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type {
  DsnOptions,
  Envelope,
  MessageSource,
  SendOptions,
  SendResult,
} from '../client/types.js';
import type { Problem } from '../connection/validate.js';
import { ConfigurationError, SmtpRecipientsError, type RecipientResult } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { formatReply, type SmtpReply } from '../protocol/reply.js';
import {
  hasLineBreak,
  injectionProblem,
  parseAddressLine,
  type FieldProblem,
  type MailAddress,
} from '../message/addresses.js';
import {
  composeMessage,
  composeProblem,
  type BodySource,
  type ComposedMessage,
  type MailPriority,
  type MessageSpec,
} from '../message/compose.js';
import { quoteValue } from '../message/quote.js';

export type { ComposedMessage, MailPriority } from '../message/compose.js';
export type MessageSourceType = 'DirectInput' | 'FileConnection' | 'Variable';

export interface SendMailTaskProperties {
  /** The connection manager's name or DTSID GUID (`SmtpConnection`, `SMTPServer` in .dtsx). */
  smtpConnection: string;
  /** Exactly one address. */
  fromLine: string;
  /** `;`- or `,`-separated addresses. At least one of To, CC and BCC must have one. */
  toLine: string;
  ccLine?: string;
  /** Envelope only: Bcc recipients never appear in the message's headers. */
  bccLine?: string;
  subject?: string;
  /** `DirectInput` (0, default), `FileConnection` (1) or `Variable` (2). */
  messageSourceType?: MessageSourceType | 0 | 1 | 2 | string;
  /** The text itself, a File connection manager name (or a path), or a variable name. */
  messageSource?: string;
  /** `High` (1), `Normal` (3, default) or `Low` (5). */
  priority?: MailPriority | 1 | 3 | 5 | string;
  /** `|`-separated file paths; relative paths resolve against the context's `baseDir`. */
  fileAttachments?: string;
  // Added by smtpcm (what SSIS users asked for):
  /** An HTML body; the SSIS message becomes its plain-text alternative. */
  htmlBody?: string;
  /** An HTML body read from a file while sending. Not together with `htmlBody`. */
  htmlBodyFile?: string;
  /** Images the HTML shows as `<img src="cid:logo">`. */
  inlineImages?: Array<{ cid: string; path: string }>;
  replyTo?: string;
  /** Extra header fields. Structural ones (From, To, Bcc, Content-Type…) are refused. */
  headers?: Record<string, string>;
  dsn?: DsnOptions;
  /**
   * `report` (default): rejected recipients are listed in the result and the task succeeds
   * while anyone was accepted. `fail`: as SSIS (System.Net.Mail) does, the message is
   * delivered to the accepted recipients and then the task fails with SmtpRecipientsError.
   * Either way, a message nobody accepted fails with SmtpRecipientsError.
   */
  rejectedRecipients?: 'report' | 'fail';
}

/** What the task needs of a connection manager; `SmtpConnectionManager` has all of it. */
export interface SendMailConnection {
  readonly name?: string;
  validate(): { errors: Problem[]; warnings: Problem[] };
  send(envelope: Envelope, message: MessageSource, options?: SendOptions): Promise<SendResult>;
}

export interface SendMailTaskContext {
  /** Connection managers by name or DTSID (an SmtpConnectionManager fits). */
  connections: { get(nameOrId: string): SendMailConnection | undefined };
  /** FileConnection message sources: File connection manager name to its path. */
  fileConnections?: { get(name: string): string | undefined };
  /** Variable message sources: `User::X` or `X`. */
  variables?: { get(name: string): unknown };
  /** Relative paths (attachments, body files, images) resolve here. Default: the cwd. */
  baseDir?: string;
  /** Receives SendMailTaskBegin, SendMailTaskInfo and SendMailTaskEnd. */
  logger?: Logger;
  /** The task's name, for logs. Default `Send Mail Task` (the SSIS default name). */
  name?: string;
}

export interface SendMailResult {
  /** The Message-ID header, with angle brackets. */
  messageId: string;
  /** Octets of message data sent, as the client counted them. */
  size: number;
  /** The name of the connection manager used. */
  connection: string;
  accepted: string[];
  rejected: RecipientResult[];
  recipients: RecipientResult[];
  /** The server's reply to the end of the message. */
  reply: SmtpReply;
}

export interface ExecuteOptions {
  /** Called as message octets leave the composer (for progress lines). */
  onProgress?(bytesComposed: number): void;
  signal?: AbortSignal;
}

const SOURCE_TYPES: Record<string, MessageSourceType> = {
  directinput: 'DirectInput',
  '0': 'DirectInput',
  fileconnection: 'FileConnection',
  '1': 'FileConnection',
  variable: 'Variable',
  '2': 'Variable',
};

const PRIORITIES: Record<string, MailPriority> = {
  high: 'High',
  '1': 'High',
  normal: 'Normal',
  '3': 'Normal',
  low: 'Low',
  '5': 'Low',
};

// Headers the composer owns; setting them through `headers` would break the message.
const RESERVED_HEADERS = new Set([
  'from', 'to', 'cc', 'bcc', 'subject', 'date', 'message-id', 'reply-to', 'sender',
  'mime-version', 'content-type', 'content-transfer-encoding', 'content-disposition',
]);
const FIELD_NAME = /^[\x21-\x39\x3B-\x7E]+$/; // RFC 5322 §3.6.8 ftext
// The task property each composed header field comes from; the others are `Headers.<name>`.
const TASK_FIELDS: Record<string, string> = {
  from: 'FromLine', to: 'ToLine', cc: 'CCLine', 'reply-to': 'ReplyTo', subject: 'Subject',
};

/** `DirectInput`, `FileConnection` or `Variable` from a name or number; undefined if neither. */
export function parseMessageSourceType(value: unknown): MessageSourceType | undefined {
  if (value === undefined || value === null || value === '') {
    return 'DirectInput';
  }
  return SOURCE_TYPES[String(value).trim().toLowerCase()];
}

/** `High`, `Normal` or `Low` from a name or SSIS number (1, 3, 5); undefined if neither. */
export function parsePriority(value: unknown): MailPriority | undefined {
  if (value === undefined || value === null || value === '') {
    return 'Normal';
  }
  return PRIORITIES[String(value).trim().toLowerCase()];
}

interface Prepared {
  connection: SendMailConnection | undefined;
  spec: MessageSpec | undefined;
  problems: Problem[];
}

export class SendMailTask {
  readonly #properties: SendMailTaskProperties;
  readonly #context: SendMailTaskContext;
  #prepared: Promise<Prepared> | undefined;

  constructor(properties: SendMailTaskProperties, context: SendMailTaskContext) {
    this.#properties = properties;
    this.#context = context;
  }

  get name(): string {
    return this.#context.name ?? 'Send Mail Task';
  }

  /**
   * Every problem found without sending: the connection (its own validation included),
   * addresses, the message source, attachments and images (exist, readable), header
   * injection. Errors and warnings, each naming its field. Never throws for bad input.
   */
  async validate(): Promise<Problem[]> {
    return (await this.#prepare()).problems;
  }

  /**
   * The message as it would be sent: envelope, Message-ID, header block and a stream
   * factory. Throws ConfigurationError (the first error found) when validation fails.
   */
  async compose(): Promise<ComposedMessage> {
    const { spec } = await this.#ready();
    return composeMessage(spec);
  }

  /**
   * Validates, composes and sends through the connection manager, logging the SSIS events.
   * Throws ConfigurationError before any connection when validation fails;
   * SmtpRecipientsError when nobody accepted the message, or when anyone was rejected and
   * `rejectedRecipients` is `fail` (after delivery to the accepted ones); any error of the
   * connection manager as it comes.
   */
  async execute(options: ExecuteOptions = {}): Promise<SendMailResult> {
    const { connection, spec } = await this.#ready();
    const composed = composeMessage(spec);
    const logger = this.#context.logger ?? silentLogger;
    const connectionName = connection.name ?? this.#properties.smtpConnection;
    const fields = { task: this.name, connection: connectionName, messageId: composed.messageId };
    logger.info(
      { ...fields, event: 'SendMailTaskBegin', recipients: composed.envelope.to.length },
      `${this.name}: sending ${composed.messageId} to ${composed.envelope.to.length} ` +
        `recipient(s) through "${connectionName}".`,
    );

    let result: SendResult;
    try {
      // A lower bound of the size declares SIZE= and lets a server's limit refuse the
      // message before its attachments are uploaded. A file that cannot be read now fails
      // the send when the stream opens it, with the error that names the file.
      const size = await composed.minimumSize().catch(() => undefined);
      result = await connection.send(
        composed.envelope,
        () => withProgress(composed.createStream(), options.onProgress),
        {
          eightBit: composed.eightBit,
          ...(size === undefined ? {} : { size }),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
    } catch (error) {
      if (error instanceof SmtpRecipientsError) {
        this.#logRecipients(logger, fields, error.recipients);
      }
      logger.error(
        { ...fields, event: 'SendMailTaskEnd', success: false },
        `${this.name}: the message was not sent: ${(error as Error).message}`,
      );
      throw error;
    }

    this.#logRecipients(logger, fields, result.recipients);
    const sendResult: SendMailResult = {
      messageId: composed.messageId,
      size: result.size,
      connection: connectionName,
      accepted: result.accepted,
      rejected: result.rejected,
      recipients: result.recipients,
      reply: result.reply,
    };
    const failOnRejection = this.#properties.rejectedRecipients === 'fail';
    logger.info(
      {
        ...fields,
        event: 'SendMailTaskEnd',
        success: result.rejected.length === 0 || !failOnRejection,
        accepted: result.accepted.length,
        rejected: result.rejected.length,
      },
      `${this.name}: ${composed.messageId} accepted for ${result.accepted.length} ` +
        `recipient(s), rejected for ${result.rejected.length}.`,
    );
    if (failOnRejection && result.rejected.length > 0) {
      // System.Net.Mail delivers to the accepted recipients, then throws
      // SmtpFailedRecipientsException; SSIS fails the task on it.
      throw new SmtpRecipientsError(
        `The message was delivered to ${result.accepted.length} recipient(s), but ` +
          `${result.rejected.map((r) => r.recipient).join(', ')} rejected it ` +
          `(rejectedRecipients is "fail").`,
        result.recipients,
      );
    }
    return sendResult;
  }

  #logRecipients(logger: Logger, fields: Record<string, unknown>, recipients: RecipientResult[]) {
    for (const r of recipients) {
      const reply = r.reply ? formatReply(r.reply) : 'no reply';
      logger.info(
        { ...fields, event: 'SendMailTaskInfo', recipient: r.recipient, status: r.status, reply },
        `${this.name}: ${r.recipient} ${r.status} (${reply}).`,
      );
    }
  }

  async #ready(): Promise<{ connection: SendMailConnection; spec: MessageSpec }> {
    const prepared = await this.#prepare();
    const errors = prepared.problems.filter((p) => p.severity === 'error');
    if (errors.length > 0 || !prepared.connection || !prepared.spec) {
      const first = errors[0] ?? {
        field: 'SmtpConnection',
        message: 'is not usable.',
        fix: 'Check the task.',
      };
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem(s))` : '';
      throw new ConfigurationError(first.field, `${first.message}${more}`, first.fix);
    }
    return { connection: prepared.connection, spec: prepared.spec };
  }

  #prepare(): Promise<Prepared> {
    this.#prepared ??= this.#check();
    return this.#prepared;
  }

  async #check(): Promise<Prepared> {
    const p = this.#properties;
    const problems: Problem[] = [];
    const error = (x: FieldProblem): void => {
      problems.push({ severity: 'error', ...x });
    };

    const connection = this.#checkConnection(problems);

    const from = parseAddressLine('FromLine', p.fromLine);
    from.problems.forEach(error);
    if (from.problems.length === 0 && from.addresses.length !== 1) {
      error({
        field: 'FromLine',
        message: from.addresses.length === 0 ? 'is empty.' : 'has more than one address.',
        fix: 'Give exactly one sender address, such as reports@example.com.',
      });
    }
    const lines = {
      to: parseAddressLine('ToLine', p.toLine),
      cc: parseAddressLine('CCLine', p.ccLine),
      bcc: parseAddressLine('BCCLine', p.bccLine),
      replyTo: parseAddressLine('ReplyTo', p.replyTo),
    };
    Object.values(lines).forEach((line) => line.problems.forEach(error));
    const recipients = [...lines.to.addresses, ...lines.cc.addresses, ...lines.bcc.addresses];
    const lineProblems = lines.to.problems.length + lines.cc.problems.length
      + lines.bcc.problems.length;
    if (recipients.length === 0 && lineProblems === 0) {
      error({
        field: 'ToLine',
        message: 'has no recipient (nor have CCLine and BCCLine).',
        fix: 'Give at least one recipient address.',
      });
    }
    const byField: Array<[string, MailAddress[]]> = [
      ['FromLine', from.addresses],
      ['ToLine', lines.to.addresses],
      ['CCLine', lines.cc.addresses],
      ['BCCLine', lines.bcc.addresses],
    ];
    for (const [field, addresses] of byField) {
      const utf8 = addresses.filter((a) => a.smtpUtf8).map((a) => a.address);
      if (utf8.length > 0) {
        problems.push({
          severity: 'warning',
          field,
          message: `${utf8.join(', ')}: a UTF-8 local part needs SMTPUTF8 (RFC 6531).`,
          fix: 'Send through a server that offers SMTPUTF8, or the send fails before MAIL.',
        });
      }
    }

    if (p.subject !== undefined && hasLineBreak(p.subject)) {
      error(injectionProblem('Subject'));
    }
    const headers = this.#checkHeaders(error);
    const priority = parsePriority(p.priority);
    if (priority === undefined) {
      error({
        field: 'Priority',
        message: `${quoteValue(String(p.priority))} is not a priority.`,
        fix: 'Use High, Normal or Low (or the SSIS numbers 1, 3, 5).',
      });
    }
    const text = await this.#checkMessageSource(error);
    const html = await this.#checkHtml(error);
    const attachments = await this.#checkAttachments(error);
    const inlineImages = await this.#checkInlineImages(error);

    const hasErrors = problems.some((x) => x.severity === 'error');
    let spec: MessageSpec | undefined = hasErrors
      ? undefined
      : {
          from: from.addresses[0] as MailAddress,
          to: lines.to.addresses,
          cc: lines.cc.addresses,
          bcc: lines.bcc.addresses,
          replyTo: lines.replyTo.addresses,
          subject: p.subject ?? '',
          ...bodies(text, html, p.htmlBody),
          attachments,
          inlineImages,
          priority: priority ?? 'Normal',
          headers,
          ...(p.dsn ? { dsn: p.dsn } : {}),
        };
    const tooLong = spec && composeProblem(spec);
    if (tooLong) {
      // MailComposer may have changed the case of a custom header's name.
      const name = tooLong.field.toLowerCase();
      const key = Object.keys(headers).find((k) => k.toLowerCase() === name) ?? tooLong.field;
      error({ ...tooLong, field: TASK_FIELDS[name] ?? `Headers.${key}` });
      spec = undefined;
    }
    return { connection, spec, problems };
  }

  #checkConnection(problems: Problem[]): SendMailConnection | undefined {
    const name = this.#properties.smtpConnection;
    if (!name || name.trim() === '') {
      problems.push({
        severity: 'error',
        field: 'SmtpConnection',
        message: 'is empty.',
        fix: 'Name the SMTP connection manager the task sends through.',
      });
      return undefined;
    }
    const connection = this.#context.connections.get(name);
    if (!connection) {
      problems.push({
        severity: 'error',
        field: 'SmtpConnection',
        message: `names ${quoteValue(name)}, which is not a connection manager of this package.`,
        fix: 'Use the name or DTSID of an SMTP connection manager.',
      });
      return undefined;
    }
    const checked = connection.validate();
    problems.push(...checked.errors, ...checked.warnings);
    return connection;
  }

  #checkHeaders(error: (x: FieldProblem) => void): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.#properties.headers ?? {})) {
      const field = `Headers.${key}`;
      if (!FIELD_NAME.test(key)) {
        error({
          field,
          message: 'is not a valid header name.',
          fix: 'Use printable ASCII without spaces or ":", such as X-Report-Id.',
        });
      } else if (RESERVED_HEADERS.has(key.toLowerCase())) {
        error({
          field,
          message: 'is set by the task itself.',
          fix: 'Set it through its own property (FromLine, ToLine, Subject, ReplyTo...).',
        });
      } else if (hasLineBreak(String(value))) {
        error(injectionProblem(field));
      } else {
        headers[key] = String(value);
      }
    }
    return headers;
  }

  async #checkMessageSource(error: (x: FieldProblem) => void): Promise<BodySource | undefined> {
    const p = this.#properties;
    const type = parseMessageSourceType(p.messageSourceType);
    const source = p.messageSource ?? '';
    switch (type) {
      case undefined:
        error({
          field: 'MessageSourceType',
          message: `${quoteValue(String(p.messageSourceType))} is not a message source type.`,
          fix: 'Use DirectInput, FileConnection or Variable (or 0, 1, 2).',
        });
        return undefined;
      case 'DirectInput':
        return source === '' ? undefined : { content: source };
      case 'FileConnection': {
        // A File connection manager of that name first (SSIS); else the value as a path.
        const path = this.#context.fileConnections?.get(source) ?? source;
        if (source === '') {
          error({
            field: 'MessageSource',
            message: 'is empty, but MessageSourceType is FileConnection.',
            fix: 'Name the File connection manager (or give the path) of the message file.',
          });
          return undefined;
        }
        const problem = await checkReadableFile(this.#resolve(path));
        if (problem) {
          error({
            field: 'MessageSource',
            message: `names ${quoteValue(source)}, but ${problem}.`,
            fix: 'Name a File connection manager, or give the path of a readable text file.',
          });
          return undefined;
        }
        return { path: this.#resolve(path) };
      }
      case 'Variable': {
        const value = readVariable(this.#context.variables, source);
        if (value === undefined) {
          error({
            field: 'MessageSource',
            message: `names the variable ${quoteValue(source)}, which does not exist.`,
            fix: 'Name an existing variable, such as User::MailBody.',
          });
          return undefined;
        }
        const text = value === null ? '' : String(value);
        return text === '' ? undefined : { content: text };
      }
    }
  }

  async #checkHtml(error: (x: FieldProblem) => void): Promise<BodySource | undefined> {
    const { htmlBody, htmlBodyFile } = this.#properties;
    if (htmlBody !== undefined && htmlBodyFile !== undefined) {
      error({
        field: 'HtmlBodyFile',
        message: 'is given together with HtmlBody.',
        fix: 'Give the HTML body either inline or as a file, not both.',
      });
      return undefined;
    }
    if (htmlBodyFile !== undefined) {
      const path = this.#resolve(htmlBodyFile);
      const problem = await checkReadableFile(path);
      if (problem) {
        error({ field: 'HtmlBodyFile', message: `${problem}.`, fix: 'Give a readable file.' });
        return undefined;
      }
      return { path };
    }
    return htmlBody === undefined ? undefined : { content: htmlBody };
  }

  async #checkAttachments(
    error: (x: FieldProblem) => void,
  ): Promise<Array<{ path: string }>> {
    const list = (this.#properties.fileAttachments ?? '')
      .split('|')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    const out: Array<{ path: string }> = [];
    for (const item of list) {
      const path = this.#resolve(item);
      if (hasLineBreak(item)) {
        error({
          field: 'FileAttachments',
          message: `${quoteValue(item)}: the path holds a line break (CR or LF) or NUL.`,
          fix: 'Remove the line break from the path, or rename the file; ' +
            'a path with one is never attached.',
        });
        continue;
      }
      const problem = await checkReadableFile(path);
      if (problem) {
        error({
          field: 'FileAttachments',
          message: `${quoteValue(item)}: ${problem}.`,
          fix: 'Attach files that exist and are readable; separate several paths with "|".',
        });
      } else {
        out.push({ path });
      }
    }
    return out;
  }

  async #checkInlineImages(
    error: (x: FieldProblem) => void,
  ): Promise<Array<{ cid: string; path: string }>> {
    const out: Array<{ cid: string; path: string }> = [];
    for (const [index, image] of (this.#properties.inlineImages ?? []).entries()) {
      const field = `InlineImages[${index}]`;
      if (!/^[\x21-\x3B\x3D\x3F-\x7E]+$/.test(image.cid)) {
        error({
          field,
          message: `cid ${quoteValue(image.cid)} is not usable as a Content-ID.`,
          fix: 'Use printable ASCII without spaces or angle brackets, such as logo@report.',
        });
        continue;
      }
      const path = this.#resolve(image.path);
      const problem = await checkReadableFile(path);
      if (problem) {
        error({
          field,
          message: `${quoteValue(image.path)}: ${problem}.`,
          fix: 'Give a readable image file.',
        });
      } else {
        out.push({ cid: image.cid, path });
      }
    }
    return out;
  }

  #resolve(path: string): string {
    return isAbsolute(path) ? path : resolve(this.#context.baseDir ?? process.cwd(), path);
  }
}

function bodies(
  text: BodySource | undefined,
  html: BodySource | undefined,
  htmlBody: string | undefined,
): { text?: BodySource; html?: BodySource } {
  if (!html) {
    return { text: text ?? { content: '' } };
  }
  if (text) {
    return { text, html };
  }
  // No plain-text body given: derive a rough one from inline HTML for text-only readers.
  return htmlBody === undefined ? { html } : { text: { content: htmlToText(htmlBody) }, html };
}

/** A crude plain-text rendering: tags dropped, common entities decoded, whitespace kept. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .trim();
}

function readVariable(variables: SendMailTaskContext['variables'], name: string): unknown {
  if (!variables || name === '') {
    return undefined;
  }
  const direct = variables.get(name);
  if (direct !== undefined) {
    return direct;
  }
  const bare = name.includes('::') ? name.slice(name.lastIndexOf('::') + 2) : `User::${name}`;
  return variables.get(bare);
}

/** Why the path is not a readable regular file, or undefined when it is. */
async function checkReadableFile(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      return 'it is not a file';
    }
    await access(path, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read (${code})`;
  }
}

function withProgress(stream: Readable, onProgress?: (bytes: number) => void): Readable {
  if (!onProgress) {
    return stream;
  }
  let bytes = 0;
  const counted = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    onProgress(bytes);
  });
  stream.on('error', (error) => counted.destroy(error));
  return stream.pipe(counted);
}
