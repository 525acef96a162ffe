/**
 * The session transcript: `C:`/`S:` lines to the injected `TranscriptLogger`, and the last
 * few lines kept for error messages.
 *
 * Masking is by structure, not by remembering at call sites: while an AUTH exchange is
 * open (`beginAuth()` to `endAuth()`), every client line after `AUTH <mechanism>` becomes
 * `********`, and so does the text of every 334 challenge. Message data never appears; the
 * transport notes its size instead.
 */
import { formatTranscriptLine, type TranscriptLine, type TranscriptLogger } from '../log.js';
import { MASK } from '../secret.js';
import type { SmtpReply } from '../protocol/reply.js';
import { formatEnhancedCode } from '../protocol/reply.js';

export const TRANSCRIPT_TAIL = 10;

export class Transcript {
  readonly #logger: TranscriptLogger | undefined;
  readonly #tail: string[] = [];
  #inAuth = false;
  readonly #secrets: string[] = [];

  constructor(logger?: TranscriptLogger) {
    this.#logger = logger;
  }

  /** True between `beginAuth()` and `endAuth()`. */
  get inAuth(): boolean {
    return this.#inAuth;
  }

  beginAuth(): void {
    this.#inAuth = true;
  }

  endAuth(): void {
    this.#inAuth = false;
  }

  /**
   * Masks `value` wherever it appears from now on, in client and server lines alike (and in
   * `redact()`): a server that echoes what it received in its 535 must not put the password,
   * or the base64 of an AUTH line, into logs and errors. Values under 4 characters are
   * ignored, since masking them would garble ordinary text.
   *
   * A value with non-ASCII characters may come back re-encoded: its UTF-8 octets read as
   * Latin-1 (`é` as `Ã©`), or as octets that are not UTF-8 (shown as U+FFFD). So its UTF-8
   * read as Latin-1 is masked too, and so is every run of ASCII in it, which is what
   * survives any re-encoding.
   */
  addSecret(value: string): void {
    this.#add(value);
    if (/^[\x00-\x7f]*$/.test(value)) return;
    this.#add(Buffer.from(value, 'utf8').toString('latin1'));
    for (const run of value.split(/[^\x00-\x7f]+/)) this.#add(run);
  }

  #add(value: string): void {
    if (value.length >= 4 && !this.#secrets.includes(value)) {
      this.#secrets.push(value);
      // Longest first, so that a secret containing another is masked whole.
      this.#secrets.sort((a, b) => b.length - a.length);
    }
  }

  /** True once a secret has been registered. */
  get hasSecrets(): boolean {
    return this.#secrets.length > 0;
  }

  /** `text` with every registered secret replaced by `********`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
    }
    return out;
  }

  /** Logs a client line, masked when it is part of an AUTH exchange. */
  client(line: string): void {
    this.#emit({ direction: 'C', text: this.#inAuth ? maskAuthLine(line) : line });
  }

  /** Logs every line of a server reply, 334 challenges masked inside an AUTH exchange. */
  server(reply: SmtpReply): void {
    const enhanced = formatEnhancedCode(reply.enhancedCode);
    reply.lines.forEach((text, index) => {
      const separator = index === reply.lines.length - 1 ? ' ' : '-';
      let shown = index === 0 && enhanced ? `${enhanced} ${text}` : text;
      if (this.#inAuth && reply.code === 334 && shown !== '') shown = MASK;
      this.#emit({ direction: 'S', text: `${reply.code}${separator}${shown}`.trimEnd() });
    });
  }

  /** A note that is not on the wire: `*: 1234 octets of message data`. */
  note(text: string): void {
    this.#emit({ direction: '*', text });
  }

  /** The last lines, formatted `C: ...`, oldest first. */
  recent(): string[] {
    return [...this.#tail];
  }

  #emit(line: TranscriptLine): void {
    if (this.#secrets.length > 0) line = { ...line, text: this.redact(line.text) };
    this.#tail.push(formatTranscriptLine(line));
    if (this.#tail.length > TRANSCRIPT_TAIL) this.#tail.shift();
    this.#logger?.(line);
  }
}

/** `AUTH PLAIN <data>` keeps the mechanism name; any other line of the exchange is masked. */
export function maskAuthLine(line: string): string {
  const match = /^(AUTH\s+\S+)(\s+.*)?$/i.exec(line);
  if (match) return match[2] === undefined ? match[1]! : `${match[1]} ${MASK}`;
  return MASK;
}
