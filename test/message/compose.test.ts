import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { parseAddressLine, type MailAddress } from '../../src/message/addresses.js';
import { ConfigurationError } from '../../src/errors.js';
import { composeMessage, type MessageSpec } from '../../src/message/compose.js';

const SUBJECT = 'Überweisungen – Tagesbericht ✓ für März: 日本語のテキストも少し';

function one(line: string): MailAddress {
  const { addresses, problems } = parseAddressLine('test', line);
  assert.deepEqual(problems, []);
  return addresses[0]!;
}

function all(line: string): MailAddress[] {
  return parseAddressLine('test', line).addresses;
}

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function headerBlock(raw: Buffer): string {
  const text = raw.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

/** Unfolded value of a top-level header. */
function header(raw: Buffer, name: string): string | undefined {
  const unfolded = headerBlock(raw).replace(/\r\n[ \t]/g, ' ');
  const prefix = `${name.toLowerCase()}:`;
  const line = unfolded.split('\r\n').find((l) => l.toLowerCase().startsWith(prefix));
  return line?.slice(name.length + 1).trim();
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtpcm-compose-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function spec(extra: Partial<MessageSpec> = {}): MessageSpec {
  return {
    from: one('"Reporting, Müller" <reports@example.com>'),
    to: all('Jürgen Ähnlich <j@example.com>; ops@example.com'),
    cc: all('audit@example.com'),
    bcc: all('secret-boss@example.com'),
    subject: SUBJECT,
    text: { content: 'Guten Tag,\nanbei der Bericht.\n' },
    ...extra,
  };
}

describe('composeMessage', () => {
  it('encodes a non-ASCII subject as RFC 2047 words, each a whole UTF-8 sequence', async () => {
    const raw = await read(composeMessage(spec()).createStream());
    const value = header(raw, 'Subject')!;
    const words = value.match(/=\?UTF-8\?([BQ])\?([^?]*)\?=/gi) ?? [];
    assert.ok(words.length > 1, 'a long subject is folded into several encoded words');
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let decoded = '';
    for (const word of words) {
      const [, kind, data] = /=\?UTF-8\?([BQ])\?([^?]*)\?=/i.exec(word)!;
      const bytes = kind!.toUpperCase() === 'B'
        ? Buffer.from(data!, 'base64')
        : Buffer.from(
            data!.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_, h: string) =>
              String.fromCharCode(parseInt(h, 16))),
            'latin1',
          );
      // fatal: throws if a word ends in the middle of a character (RFC 2047 §5 (3)).
      decoded += decoder.decode(bytes);
      // RFC 2047 §2: an encoded word is at most 75 characters.
      assert.ok(word.length <= 75, word);
    }
    assert.equal(decoded, SUBJECT);
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, SUBJECT);
  });

  it('sends a subject word too long for a 998-octet line as encoded words, no line over 998',
    async () => {
      const subject = `Nightly ${'x'.repeat(100_000)} done`;
      const raw = await read(composeMessage(spec({ subject })).createStream());
      const lines = headerBlock(raw).split('\r\n');
      // RFC 5322 §2.1.1: at most 998 octets a line; RFC 2047 §2: 75 characters a word.
      assert.deepEqual(lines.filter((line) => line.length > 998), []);
      const words = header(raw, 'Subject')!.split(' ');
      assert.ok(words.every((word) => /^=\?UTF-8\?Q\?[^?]*\?=$/.test(word) &&
        word.length <= 75));
      assert.equal((await simpleParser(raw)).subject, subject);
      // A subject whose words fit is sent as written.
      const fits = `Nightly ${'x'.repeat(900)} done`;
      assert.equal(header(await read(composeMessage(spec({ subject: fits })).createStream()),
        'Subject'), fits);
    });

  it('refuses a custom header that would have a line over 998 octets, naming it', () => {
    assert.throws(() => composeMessage(spec({ headers: { 'X-Big': 'x'.repeat(100_000) } })),
      (error: unknown) => error instanceof ConfigurationError && error.field === 'X-Big' &&
        error.message === 'X-Big: would be sent with a line of 100001 octets; RFC 5322 ' +
          '§2.1.1 allows at most 998. Shorten the value, or put spaces in it: a header is ' +
          'folded only at spaces.');
    // Folded at its spaces, a long value with spaces is fine.
    const folded = composeMessage(spec({ headers: { 'X-Big': 'word '.repeat(20_000) } }));
    assert.ok(folded.headerBlock.split('\r\n').every((line) => line.length <= 998));
  });

  it('writes no Bcc header, but puts Bcc recipients in the envelope (deduplicated)', async () => {
    const composed = composeMessage(spec({ cc: all('audit@example.com; OPS@example.com') }));
    const raw = await read(composed.createStream());
    assert.equal(header(raw, 'Bcc'), undefined);
    assert.ok(!raw.toString('latin1').includes('secret-boss'));
    assert.deepEqual(composed.envelope, {
      from: 'reports@example.com',
      to: ['j@example.com', 'ops@example.com', 'audit@example.com', 'secret-boss@example.com'],
    });
  });

  it('writes the priority headers System.Net.Mail writes', async () => {
    const high = await read(composeMessage(spec({ priority: 'High' })).createStream());
    assert.equal(header(high, 'X-Priority'), '1');
    assert.equal(header(high, 'Priority'), 'urgent');
    assert.equal(header(high, 'Importance'), 'high');
    const low = await read(composeMessage(spec({ priority: 'Low' })).createStream());
    assert.equal(header(low, 'X-Priority'), '5');
    assert.equal(header(low, 'Priority'), 'non-urgent');
    assert.equal(header(low, 'Importance'), 'low');
    const normal = await read(composeMessage(spec({ priority: 'Normal' })).createStream());
    assert.equal(header(normal, 'X-Priority'), undefined);
    assert.equal(header(normal, 'Importance'), undefined);
  });

  it('has Date and a Message-ID on the sender domain, unique, stable per stream', async () => {
    const first = composeMessage(spec());
    const second = composeMessage(spec());
    assert.match(first.messageId, /^<[^@<>\s]+@example\.com>$/);
    assert.notEqual(first.messageId, second.messageId);
    const a = await read(first.createStream());
    const b = await read(first.createStream());
    assert.equal(header(a, 'Message-ID'), first.messageId);
    assert.equal(header(b, 'Message-ID'), first.messageId);
    assert.equal(header(a, 'Date'), header(b, 'Date'));
    assert.ok(!Number.isNaN(Date.parse(header(a, 'Date')!)));
  });

  it('names a non-ASCII attachment with RFC 2231 parameters and base64 lines of 76', async () => {
    const name = 'Übersicht März 2024 – Überweisungen und Rücklastschriften.bin';
    const content = randomBytes(20_000);
    await writeFile(join(dir, name), content);
    const raw = await read(
      composeMessage(spec({ attachments: [{ path: join(dir, name) }] })).createStream(),
    );
    const text = raw.toString('latin1');
    assert.match(text, /filename\*0\*=utf-8''%C3%9Cbersicht/);
    const body = text.slice(text.indexOf('Content-Disposition: attachment'));
    const lines = body.slice(body.indexOf('\r\n\r\n') + 4).split('\r\n');
    const base64Lines = lines.slice(0, lines.findIndex((l) => l.startsWith('--')) - 1);
    assert.ok(base64Lines.length > 10);
    // RFC 2045 §6.8: encoded lines are no more than 76 characters; the encoder fills them.
    for (const line of base64Lines.slice(0, -1)) {
      assert.equal(line.length, 76);
    }
    const parsed = await simpleParser(raw);
    assert.equal(parsed.attachments[0]!.filename, name);
    assert.ok(parsed.attachments[0]!.content.equals(content));
  });

  it('keeps every line within 998 octets, ends lines with CRLF and stays 7-bit', async () => {
    const longLine = `${'Umsätze '.repeat(800)}\n`;
    const raw = await read(composeMessage(spec({ text: { content: longLine } })).createStream());
    const text = raw.toString('latin1');
    assert.ok(!/[^\r]\n/.test(text), 'no bare LF');
    assert.ok(!/\r[^\n]/.test(text), 'no bare CR');
    for (const line of text.split('\r\n')) {
      assert.ok(line.length <= 998, `line of ${line.length}`);
    }
    assert.ok(raw.every((byte) => byte < 128), 'every octet is 7-bit');
    const parsed = await simpleParser(raw);
    assert.equal(parsed.text, longLine);
  });

  it('builds HTML with a text alternative and a cid image, and reads body files', async () => {
    await writeFile(join(dir, 'logo.png'), randomBytes(300));
    await writeFile(join(dir, 'body.txt'), 'Text aus einer Datei: äöü\n');
    const composed = composeMessage(
      spec({
        text: { path: join(dir, 'body.txt') },
        html: { content: '<p>Bericht <img src="cid:logo@report"></p>' },
        inlineImages: [{ cid: 'logo@report', path: join(dir, 'logo.png') }],
        replyTo: all('Helpdesk <help@example.com>'),
        headers: { 'X-Report-Id': '2024-03-01' },
      }),
    );
    const raw = await read(composed.createStream());
    const parsed = await simpleParser(raw);
    assert.equal(parsed.text, 'Text aus einer Datei: äöü\n');
    assert.match(String(parsed.html), /cid:logo@report|data:image/);
    assert.equal(parsed.attachments[0]!.cid, 'logo@report');
    assert.equal(parsed.replyTo?.value[0]?.address, 'help@example.com');
    assert.equal(parsed.headers.get('x-report-id'), '2024-03-01');
    assert.match(header(raw, 'Content-Type')!, /^multipart\/(alternative|related|mixed)/);
  });

  it('minimumSize is never above the octets composed, and within 2.7% of them for a ' +
    'base64 attachment (the CRLF after every 76 characters)', async () => {
    const kinds = ['png', 'pdf', 'bin', 'txt', 'csv', 'eml', 'html'] as const;
    let file = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({
        kind: fc.constantFrom(...kinds),
        size: fc.integer({ min: 0, max: 6_000 }),
        ascii: fc.boolean(),
      }), { maxLength: 3 }),
      fc.option(fc.string({ unit: 'grapheme', maxLength: 300 }), { nil: undefined }),
      async (files, html) => {
        const attachments = [];
        for (const { kind, size, ascii } of files) {
          file += 1;
          const path = join(dir, `f${file}.${kind}`);
          const bytes = ascii ? Buffer.alloc(size, 'line of text\n') : randomBytes(size);
          await writeFile(path, bytes);
          attachments.push({ path });
        }
        const body = html === undefined ? {} : { html: { content: html } };
        const composed = composeMessage(spec({ attachments, ...body }));
        const actual = (await read(composed.createStream())).length;
        assert.ok(await composed.minimumSize() <= actual);
      }), { numRuns: 60 });

    // Every attachment but message/* is base64, text too (MailComposer's default).
    await writeFile(join(dir, 'big.pdf'), randomBytes(200_000));
    await writeFile(join(dir, 'big.csv'), Buffer.alloc(100_000, 'a;b;c\n'));
    const composed = composeMessage(spec({
      attachments: [{ path: join(dir, 'big.pdf') }, { path: join(dir, 'big.csv') }],
    }));
    const actual = (await read(composed.createStream())).length;
    const minimum = await composed.minimumSize();
    assert.ok(minimum <= actual && minimum >= actual * 0.973, `${minimum} of ${actual}`);
  });

  it('flags SMTPUTF8 and 8-bit only for a UTF-8 local part', () => {
    assert.equal(composeMessage(spec()).smtpUtf8, false);
    const utf8 = composeMessage(spec({ to: all('jörg@example.com') }));
    assert.equal(utf8.smtpUtf8, true);
    assert.equal(utf8.eightBit, true);
  });
});
