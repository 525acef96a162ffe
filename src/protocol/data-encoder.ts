/**
 * Message data on the wire: CRLF normalisation, dot-stuffing, the end-of-data mark, and
 * BDAT chunks. Streaming, constant memory, no sockets.
 *
 * Every CR, LF and CRLF of the message becomes CRLF, so a bare LF or CR never reaches the
 * wire and no `\n.\n`-style end of data can be smuggled inside a message. For DATA
 * (RFC 5321 §4.5.2) a `.` at the start of a line is doubled, including a dot that lands at a
 * line start only because a bare CR or LF before it became CRLF; the data ends with exactly
 * one `CRLF.CRLF`, a CRLF being added when the message did not end with one.
 * BDAT (RFC 3030) carries the normalised octets as they are, without dot-stuffing.
 */
import { isAscii } from 'node:buffer';
import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { ConfigurationError } from '../errors.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

export interface NormaliserOptions {
  /** Double a `.` at a line start (DATA). Default true. */
  dotStuff?: boolean;
  /** Throw `ConfigurationError` on an octet above 127 (no 8BITMIME). Default false. */
  rejectEightBit?: boolean;
}

/** The state machine behind `DataEncoder` and `BdatChunker`; usable on its own. */
export class LineEndingNormaliser {
  readonly #dotStuff: boolean;
  readonly #rejectEightBit: boolean;
  #atLineStart = true;
  #pendingCr = false;
  #eightBit = false;

  constructor(options: NormaliserOptions = {}) {
    this.#dotStuff = options.dotStuff ?? true;
    this.#rejectEightBit = options.rejectEightBit ?? false;
  }

  /** True once an octet above 127 went through. */
  get eightBit(): boolean {
    return this.#eightBit;
  }

  /** True when the output so far ends with CRLF (or nothing was output). */
  get atLineStart(): boolean {
    return this.#atLineStart && !this.#pendingCr;
  }

  /**
   * Encodes one chunk; output may hold back a trailing CR until the next chunk. A chunk that
   * needs no change is returned as it is (no copy); otherwise the output is allocated at its
   * exact size, so the garbage per chunk stays close to the chunk's own size.
   */
  encode(chunk: Buffer): Buffer {
    if (!isAscii(chunk)) this.#sawEightBit();
    const size = this.#passesAsIs(chunk) ? -1 : this.#measure(chunk);
    if (size < 0) {
      if (chunk.length > 0) this.#atLineStart = chunk[chunk.length - 1] === LF;
      return chunk;
    }
    const out = Buffer.allocUnsafe(size);
    this.encodeInto(chunk, out, 0);
    return out;
  }

  /**
   * Encodes `chunk` into `out` from `offset`; returns the offset after the output. `out`
   * must have room for the worst case, `2 * chunk.length + 2` octets. For callers that reuse
   * one buffer (the client), so that streaming a large message allocates nothing per chunk.
   */
  encodeInto(chunk: Buffer, out: Buffer, offset: number): number {
    let n = offset;
    let atLineStart = this.#atLineStart;
    let pendingCr = this.#pendingCr;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (pendingCr) {
        pendingCr = false;
        out[n++] = CR;
        out[n++] = LF;
        atLineStart = true;
        if (byte === LF) continue;
      }
      if (byte === CR) {
        pendingCr = true;
      } else if (byte === LF) {
        out[n++] = CR;
        out[n++] = LF;
        atLineStart = true;
      } else {
        if (byte === DOT && atLineStart && this.#dotStuff) out[n++] = DOT;
        if (byte > 0x7f && !this.#eightBit) {
          this.#atLineStart = atLineStart;
          this.#pendingCr = pendingCr;
          this.#sawEightBit();
        }
        out[n++] = byte;
        atLineStart = false;
      }
    }
    this.#atLineStart = atLineStart;
    this.#pendingCr = pendingCr;
    return n;
  }

  /**
   * True when `chunk` goes out unchanged: every CR is followed by LF and every LF preceded by
   * CR, it does not end inside a CRLF, and (DATA) no line starts with `.`. Searches with
   * `indexOf` (native, a few octets per nanosecond) instead of reading each octet in
   * JavaScript; false is only a hint: `#measure` then decides octet by octet.
   */
  #passesAsIs(chunk: Buffer): boolean {
    if (this.#pendingCr) return false;
    if (this.#dotStuff && this.#atLineStart && chunk[0] === DOT) return false;
    let lineFeeds = 0;
    for (let lf = chunk.indexOf(LF); lf >= 0; lf = chunk.indexOf(LF, lf + 1)) {
      if (lf === 0 || chunk[lf - 1] !== CR) return false;
      if (this.#dotStuff && chunk[lf + 1] === DOT) return false;
      lineFeeds += 1;
    }
    // Each LF has its own CR before it: as many CRs as LFs means no other CR.
    let carriageReturns = 0;
    for (let cr = chunk.indexOf(CR); cr >= 0; cr = chunk.indexOf(CR, cr + 1)) {
      carriageReturns += 1;
      if (carriageReturns > lineFeeds) return false;
    }
    return carriageReturns === lineFeeds;
  }

  /**
   * The output size of `chunk`, or -1 when the output is the chunk itself (CRLF line ends
   * only, no dot to stuff, no CR held back). Reads only.
   */
  #measure(chunk: Buffer): number {
    const length = chunk.length;
    const dotStuff = this.#dotStuff;
    let added = 0;
    let changed = this.#pendingCr;
    let atLineStart = this.#atLineStart;
    let previous = this.#pendingCr ? CR : -1;
    for (let i = 0; i < length; i++) {
      const byte = chunk[i]!;
      if (byte > DOT) {
        // Letters, digits and most punctuation: the hot path.
        if (previous === CR) {
          added += 1; // a bare CR becomes CRLF
          changed = true;
        }
        atLineStart = false;
      } else if (byte === LF) {
        if (previous !== CR) {
          added += 1; // a bare LF becomes CRLF
          changed = true;
        }
        atLineStart = true;
      } else if (byte === CR) {
        if (previous === CR) {
          added += 1;
          changed = true;
        }
        atLineStart = false;
      } else {
        if (previous === CR) {
          added += 1;
          changed = true;
          atLineStart = true;
        }
        if (byte === DOT && atLineStart && dotStuff) {
          added += 1;
          changed = true;
        }
        atLineStart = false;
      }
      previous = byte;
    }
    if (previous === CR) changed = true; // held back until the next chunk says what follows
    if (!changed) return -1;
    // A CR held from the last chunk is output now (as CRLF) and is not part of `chunk`.
    const heldCr = this.#pendingCr && length > 0 ? 1 : 0;
    return length + added + heldCr - (previous === CR ? 1 : 0);
  }

  #sawEightBit(): void {
    if (this.#rejectEightBit) {
      throw new ConfigurationError('message',
        'contains 8-bit octets, and the server does not offer 8BITMIME.',
        'Encode the message as 7-bit (quoted-printable or base64) or use a server ' +
          'that offers 8BITMIME.');
    }
    this.#eightBit = true;
  }

  /** Flushes a held CR, then adds a CRLF when the output does not end with one. */
  finish(): Buffer {
    if (this.#pendingCr || !this.#atLineStart) {
      this.#pendingCr = false;
      this.#atLineStart = true;
      return Buffer.from('\r\n');
    }
    return Buffer.alloc(0);
  }
}

export interface DataEncoderOptions {
  /** End with `.CRLF` (after the final CRLF). Default true. */
  terminate?: boolean;
  /** Fail the stream with `ConfigurationError` on an octet above 127. Default false. */
  rejectEightBit?: boolean;
}

const TERMINATOR = Buffer.from('.\r\n');
const LINE_START_DOT = Buffer.from('\r\n.');

/**
 * What the DATA encoder and the BDAT chunker share: message octets (or UTF-8 text) go
 * through one `LineEndingNormaliser`, and each subclass decides what to do with the
 * normalised octets. `bytesOut` counts what the subclass produced.
 */
abstract class NormalisingTransform extends Transform {
  protected readonly normaliser: LineEndingNormaliser;
  protected producedBytes = 0;

  constructor(streamOptions: TransformOptions, dotStuff: boolean, rejectEightBit = false) {
    super(streamOptions);
    this.normaliser = new LineEndingNormaliser({ dotStuff, rejectEightBit });
  }

  get bytesOut(): number {
    return this.producedBytes;
  }

  get eightBit(): boolean {
    return this.normaliser.eightBit;
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding,
    callback: TransformCallback): void {
    try {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      this.consume(this.normaliser.encode(bytes));
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  /** Takes normalised octets (possibly none). */
  protected abstract consume(bytes: Buffer): void;
}

/**
 * The DATA body encoder: message octets in, wire octets out (normalised, dot-stuffed and,
 * by default, terminated). `bytesOut` counts what it produced.
 */
export class DataEncoder extends NormalisingTransform {
  readonly #terminate: boolean;

  constructor(options: DataEncoderOptions = {}) {
    super({}, true, options.rejectEightBit);
    this.#terminate = options.terminate ?? true;
  }

  override _flush(callback: TransformCallback): void {
    this.consume(this.normaliser.finish());
    if (this.#terminate) this.consume(TERMINATOR);
    callback();
  }

  protected consume(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.producedBytes += bytes.length;
    this.push(bytes);
  }
}

/** What `prepareMessage` learns about a whole message in memory. */
export interface PreparedMessage {
  /** The message with CRLF line ends and a final CRLF (no stuffing): the message itself
   * when it needed no change. */
  normalised: Buffer;
  /** True when it holds an octet above 127. */
  eightBit: boolean;
  /** False when no line of `normalised` starts with `.`: DATA then sends it as it is. */
  needsStuffing: boolean;
}

/**
 * Normalises a whole message in memory with one read of its octets and no copy when it is
 * already in CRLF with a final CRLF (what MIME composers write), and learns what DATA needs.
 */
export function prepareMessage(message: Buffer): PreparedMessage {
  const normaliser = new LineEndingNormaliser({ dotStuff: false });
  const encoded = normaliser.encode(message);
  const end = normaliser.finish();
  const normalised = end.length === 0 ? encoded : Buffer.concat([encoded, end]);
  return {
    normalised,
    eightBit: normaliser.eightBit,
    needsStuffing: normalised[0] === DOT || normalised.includes(LINE_START_DOT),
  };
}

/**
 * The DATA octets of a normalised message (see `prepareMessage`): the message, stuffed when
 * it has to be, then `.CRLF`, as buffers to write in order.
 */
export function dataOctets(prepared: PreparedMessage): Buffer[] {
  if (!prepared.needsStuffing) return [prepared.normalised, TERMINATOR];
  return [new LineEndingNormaliser({ dotStuff: true }).encode(prepared.normalised), TERMINATOR];
}

/** Encodes a whole message in memory for DATA (normalised, stuffed, terminated). */
export function encodeData(message: Buffer): Buffer {
  const normaliser = new LineEndingNormaliser({ dotStuff: true });
  return Buffer.concat([normaliser.encode(message), normaliser.finish(), TERMINATOR]);
}

/** Normalises a whole message in memory (every line ending CRLF, a final CRLF, no stuffing). */
export function normaliseLineEndings(message: Buffer): Buffer {
  const normaliser = new LineEndingNormaliser({ dotStuff: false });
  return Buffer.concat([normaliser.encode(message), normaliser.finish()]);
}

/** One BDAT chunk: the octets and whether it is the last one (`BDAT n LAST`). */
export interface BdatChunk {
  data: Buffer;
  last: boolean;
}

export interface BdatChunkerOptions {
  /** The chunk size in octets; every chunk but the last has exactly this size. Default 1 MiB. */
  chunkSize?: number;
  /** Fail the stream with `ConfigurationError` on an octet above 127. Default false. */
  rejectEightBit?: boolean;
}

/**
 * Splits a message into BDAT chunks (object mode out: `BdatChunk`). Line endings are
 * normalised to CRLF and a final CRLF is added when missing, as for DATA; dots are not
 * stuffed. It holds at most one chunk plus one input chunk, and always emits a last chunk
 * (empty for an empty message). `bytesOut` counts the octets of all chunks.
 */
export class BdatChunker extends NormalisingTransform {
  readonly #chunkSize: number;
  #parts: Buffer[] = [];
  #length = 0;
  /** A full chunk kept back until we know whether it is the last. */
  #held: Buffer | undefined;

  constructor(options: BdatChunkerOptions = {}) {
    // One chunk waiting to be read is enough: each may be a mebibyte.
    super({ readableObjectMode: true, readableHighWaterMark: 1 }, false, options.rejectEightBit);
    this.#chunkSize = options.chunkSize ?? 1024 * 1024;
  }

  override _flush(callback: TransformCallback): void {
    this.consume(this.normaliser.finish());
    const rest = Buffer.concat(this.#parts, this.#length);
    if (this.#held && rest.length === 0) {
      this.#out(this.#held, true);
    } else {
      if (this.#held) this.#out(this.#held, false);
      this.#out(rest, true);
    }
    this.#held = undefined;
    callback();
  }

  protected consume(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(this.#chunkSize - this.#length, bytes.length - offset);
      this.#parts.push(bytes.subarray(offset, offset + take));
      this.#length += take;
      offset += take;
      if (this.#length === this.#chunkSize) {
        if (this.#held) this.#out(this.#held, false);
        this.#held = Buffer.concat(this.#parts, this.#length);
        this.#parts = [];
        this.#length = 0;
      }
    }
  }

  #out(data: Buffer, last: boolean): void {
    this.producedBytes += data.length;
    const chunk: BdatChunk = { data, last };
    this.push(chunk);
  }
}
