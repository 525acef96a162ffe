/**
 * Pickup-directory delivery (`DeliveryMethod=PickupDirectory`), as System.Net.Mail's
 * `SpecifiedPickupDirectory`: each message becomes one `<guid>.eml` file that a mail server's
 * pickup service (IIS SMTP, Exchange, hMailServer, a script) sends on.
 *
 * Like System.Net.Mail, the file starts with the envelope as headers: `X-Sender: <from>` and
 * one `X-Receiver: <recipient>` per recipient (Bcc included), then the message. The file is
 * written under a temporary name ending in `.tmp` in the same folder, flushed to disk, then
 * renamed, so a pickup service never sees a half-written `.eml`.
 */
import { randomUUID } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigurationError } from '../errors.js';
import type { RecipientResult } from '../errors.js';
import type { Envelope, MessageSource, SendResult } from '../client/types.js';

/** Turns every bare CR, bare LF and CRLF into CRLF, as a pickup service expects. */
export class CrlfNormalizer extends Transform {
  #pendingCr = false;
  bytesOut = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    const parts: Buffer[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === 0x0d) {
        parts.push(chunk.subarray(start, i));
        if (this.#pendingCr) parts.push(Buffer.from('\r\n'));
        this.#pendingCr = true;
        start = i + 1;
      } else if (byte === 0x0a) {
        parts.push(chunk.subarray(start, i), Buffer.from('\r\n'));
        this.#pendingCr = false;
        start = i + 1;
      } else if (this.#pendingCr) {
        parts.push(chunk.subarray(start, i), Buffer.from('\r\n'));
        this.#pendingCr = false;
        start = i;
      }
    }
    parts.push(chunk.subarray(start));
    const joined = Buffer.concat(parts);
    this.bytesOut += joined.length;
    done(null, joined);
  }

  override _flush(done: TransformCallback): void {
    if (this.#pendingCr) {
      this.bytesOut += 2;
      done(null, Buffer.from('\r\n'));
      return;
    }
    done();
  }
}

function checkHeaderValue(field: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new ConfigurationError(field, `${JSON.stringify(value)} holds a line break or NUL.`,
      'Remove it: an address is one line.');
  }
}

function toReadable(message: MessageSource): Readable {
  if (typeof message === 'function') return message();
  if (typeof message === 'string' || Buffer.isBuffer(message)) {
    return Readable.from([Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8')]);
  }
  return message;
}

/**
 * The envelope headers System.Net.Mail writes at the top of a pickup file.
 * TODO(pickup): System.Net.Mail leaves out X-Sender when the message already has one; this
 * writes it from the envelope whatever the message holds (reading the header block of a stream
 * first would be needed).
 */
export function envelopeHeaders(envelope: Envelope, recipients: string[]): string {
  checkHeaderValue('from', envelope.from);
  let headers = envelope.from === '' ? '' : `X-Sender: ${envelope.from}\r\n`;
  for (const recipient of recipients) {
    checkHeaderValue('to', recipient);
    headers += `X-Receiver: ${recipient}\r\n`;
  }
  return headers;
}

/**
 * Writes one message into `directory` as `<uuid>.eml`, atomically (temporary `.tmp` name in
 * the same folder, fsync, rename, fsync of the folder where the platform allows it).
 * Returns a result with every recipient accepted and the reply
 * `{ code: 250, lines: ['Written to <path>'] }`.
 *
 * Throws `ConfigurationError` for an envelope without recipients or with a line break in an
 * address; a file-system error (missing folder, no permission, disk full) as it is, after
 * removing the temporary file.
 */
export async function writeToPickupDirectory(
  directory: string,
  envelope: Envelope,
  message: MessageSource,
): Promise<SendResult & { path: string }> {
  const recipients = [...new Set(envelope.to)];
  if (recipients.length === 0) {
    throw new ConfigurationError('to', 'the envelope has no recipient.',
      'Give at least one recipient.');
  }
  const headers = Buffer.from(envelopeHeaders(envelope, recipients), 'utf8');
  const folder = resolve(directory);
  const id = randomUUID();
  const temporary = join(folder, `${id}.tmp`);
  const final = join(folder, `${id}.eml`);

  const file = await open(temporary, 'wx', 0o600);
  let size = headers.length;
  try {
    await file.write(headers);
    const normalizer = new CrlfNormalizer();
    await pipeline(toReadable(message), normalizer, async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) await file.write(chunk);
    });
    size += normalizer.bytesOut;
    await file.sync();
    await file.close();
  } catch (error) {
    await file.close().catch(() => {});
    await unlink(temporary).catch(() => {});
    throw error;
  }
  try {
    await rename(temporary, final);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await syncDirectory(folder);

  const reply = { code: 250, lines: [`Written to ${final}`] };
  const results: RecipientResult[] = recipients.map((recipient) => ({
    recipient,
    status: 'accepted',
    reply,
  }));
  return {
    accepted: recipients,
    rejected: [],
    recipients: results,
    reply,
    size,
    method: 'DATA',
    path: final,
  };
}

/** Makes a rename durable (POSIX); silently skipped where folders cannot be opened (Windows). */
async function syncDirectory(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows and some file systems refuse to open or fsync a folder; the rename still holds.
  }
}
