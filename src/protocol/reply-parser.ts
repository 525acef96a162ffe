/**
 * The SMTP reply parser (RFC 5321 §4.2): bytes in, complete replies out. No sockets.
 *
 * It accepts multi-line replies (`250-` continuation lines, `250 ` last line), code-only
 * lines (`354`, `334`), text with any bytes (decoded as UTF-8, RFC 6531; control characters
 * other than TAB, such as a bare CR, become U+FFFD), replies split
 * anywhere across chunks, and RFC 2034 / RFC 3463 enhanced status codes, which it separates
 * from the text. A line may end in CRLF or, leniently, a bare LF.
 *
 * It does not decide what a reply means. It throws `SmtpProtocolError` on a malformed line
 * (quoted, escaped and truncated in the message), a code that changes within a reply, a line
 * longer than `maxLineLength` (CRLF included) or a reply of more than `maxLines` lines.
 * After a throw the parser is unusable: the connection must be closed.
 */
import { SmtpProtocolError } from '../errors.js';
import type { EnhancedStatusCode, SmtpReply } from './reply.js';

export interface ReplyParserOptions {
  /** The longest line accepted, CRLF included. Default 4096 (RFC 5321 §4.5.3.1.5 says 512). */
  maxLineLength?: number;
  /** The most lines one reply may have. Default 1000. */
  maxLines?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const QUOTE_LIMIT = 80;
/** Why a line cannot start a reply: RFC 5321 §4.2 codes are 2yz to 5yz, y from 0 to 5. */
const NO_REPLY_CODE = 'it does not start with a reply code of RFC 5321 §4.2, three digits ' +
  'from 200 to 559 with a middle digit from 0 to 5';
/**
 * Control characters a reply text must not carry into logs, transcripts and error messages
 * (a bare CR would let a server overwrite a terminal line or forge a log line): every C0
 * control but TAB, and DEL.
 */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** The line as it can safely appear in a message: escaped, quoted, at most 80 characters. */
export function quoteLine(line: Buffer | string): string {
  const text = typeof line === 'string' ? line : line.toString('latin1');
  let escaped = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (char === '\\' || char === '"') escaped += `\\${char}`;
    else if (code < 0x20 || code === 0x7f) {
      escaped += char === '\r' ? '\\r' : char === '\n' ? '\\n' : char === '\t' ? '\\t'
        : `\\x${code.toString(16).padStart(2, '0')}`;
    } else escaped += char;
    if (escaped.length > QUOTE_LIMIT) return `"${escaped.slice(0, QUOTE_LIMIT)}"...`;
  }
  return `"${escaped}"`;
}

const ENHANCED_CODE = /^([245])\.(\d{1,3})\.(\d{1,3})(?: +|$)/;

/** Splits `5.1.1 User unknown` into the code and the text, when the class matches the reply. */
function splitEnhancedCode(
  replyCode: number,
  text: string,
): { code?: EnhancedStatusCode; text: string } {
  const match = ENHANCED_CODE.exec(text);
  if (!match || Number(match[1]) !== Math.floor(replyCode / 100)) return { text };
  const code: EnhancedStatusCode = {
    class: Number(match[1]) as 2 | 4 | 5,
    subject: Number(match[2]),
    detail: Number(match[3]),
  };
  return { code, text: text.slice(match[0].length) };
}

export class ReplyParser {
  readonly #maxLineLength: number;
  readonly #maxLines: number;
  /** Bytes of the line not yet ended. */
  #partial: Buffer[] = [];
  #partialLength = 0;
  /** The lines of the reply not yet complete (after a `-` line). */
  #lines: string[] = [];
  #code = 0;

  constructor(options: ReplyParserOptions = {}) {
    this.#maxLineLength = options.maxLineLength ?? 4096;
    this.#maxLines = options.maxLines ?? 1000;
  }

  /** True when bytes of an unfinished reply are held (a partial line or `250-` lines). */
  get pending(): boolean {
    return this.#partialLength > 0 || this.#lines.length > 0;
  }

  /** Feeds a chunk; returns the replies it completed, in order. Throws `SmtpProtocolError`. */
  push(chunk: Buffer): SmtpReply[] {
    const replies: SmtpReply[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        this.#keepPartial(chunk.subarray(start));
        break;
      }
      const piece = chunk.subarray(start, lf + 1);
      start = lf + 1;
      if (this.#partialLength + piece.length > this.#maxLineLength) {
        this.#tooLong(piece);
      }
      const line = this.#partialLength === 0 ? piece : Buffer.concat([...this.#partial, piece]);
      this.#partial = [];
      this.#partialLength = 0;
      const reply = this.#takeLine(line);
      if (reply) replies.push(reply);
    }
    return replies;
  }

  #keepPartial(bytes: Buffer): void {
    if (this.#partialLength + bytes.length > this.#maxLineLength) this.#tooLong(bytes);
    this.#partial.push(Buffer.from(bytes));
    // The first four octets are checked once they arrive, not again for every later piece.
    if (this.#partialLength < 4) this.#checkStart();
    this.#partialLength += bytes.length;
  }

  /**
   * Fails at once when the unfinished line cannot start a reply (no three-digit code and
   * separator), instead of waiting for a line end that a garbage-sending server may never
   * send: NUL bytes or a TLS record on a clear-text port end in a protocol error, not a
   * timeout.
   */
  #checkStart(): void {
    const head = this.#partial.length === 1 ? this.#partial[0]!
      : Buffer.concat(this.#partial).subarray(0, 4);
    const valid = (index: number, low: number, high: number): boolean =>
      head.length <= index || (head[index]! >= low && head[index]! <= high);
    const separatorOk = head.length <= 3 || head[3] === 0x20 || head[3] === 0x2d
      || head[3] === CR;
    if (valid(0, 0x32, 0x35) && valid(1, 0x30, 0x35) && valid(2, 0x30, 0x39) && separatorOk) {
      return;
    }
    throw new SmtpProtocolError(`The server sent a malformed reply line (${NO_REPLY_CODE}): ` +
      `${quoteLine(Buffer.concat(this.#partial))}.`);
  }

  #tooLong(bytes: Buffer): never {
    const start = this.#partialLength === 0 ? bytes : Buffer.concat([...this.#partial, bytes]);
    throw new SmtpProtocolError(
      `The server sent a reply line longer than ${this.#maxLineLength} octets: ` +
        `${quoteLine(start)}.`,
    );
  }

  /** Parses one line, LF included; returns the reply when the line ends it. */
  #takeLine(raw: Buffer): SmtpReply | undefined {
    let end = raw.length - 1;
    if (end > 0 && raw[end - 1] === CR) end -= 1;
    const line = raw.subarray(0, end);
    const malformed = (why: string): never => {
      throw new SmtpProtocolError(`The server sent a malformed reply line (${why}): ` +
        `${quoteLine(line)}.`);
    };
    if (line.length < 3) malformed(NO_REPLY_CODE);
    const d0 = line[0]!;
    const d1 = line[1]!;
    const d2 = line[2]!;
    if (d0 < 0x32 || d0 > 0x35 || d1 < 0x30 || d1 > 0x35 || d2 < 0x30 || d2 > 0x39) {
      malformed(NO_REPLY_CODE);
    }
    const code = (d0 - 0x30) * 100 + (d1 - 0x30) * 10 + (d2 - 0x30);
    const separator = line.length > 3 ? line[3] : undefined;
    if (separator !== undefined && separator !== 0x20 && separator !== 0x2d) {
      malformed('the code is not followed by a space, a hyphen or the end of the line');
    }
    if (this.#lines.length > 0 && code !== this.#code) {
      malformed(`code ${code} inside a ${this.#code} reply`);
    }
    if (this.#lines.length + 1 > this.#maxLines) {
      throw new SmtpProtocolError(
        `The server sent a reply of more than ${this.#maxLines} lines; the last was ` +
          `${quoteLine(line)}.`,
      );
    }
    this.#code = code;
    this.#lines.push(line.subarray(4).toString('utf8').replace(CONTROL, '\uFFFD'));
    if (separator === 0x2d) return undefined;

    const lines = this.#lines;
    this.#lines = [];
    return buildReply(code, lines);
  }
}

function buildReply(code: number, rawLines: string[]): SmtpReply {
  const first = splitEnhancedCode(code, rawLines[0]!);
  if (!first.code) return { code, lines: rawLines };
  const lines = rawLines.map((text, index) => {
    if (index === 0) return first.text;
    return splitEnhancedCode(code, text).text;
  });
  return { code, enhancedCode: first.code, lines };
}
