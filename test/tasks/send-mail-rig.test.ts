/**
 * The Send Mail task and `smtpcm send` against the Postfix rig (scripts/rig/rig.sh start):
 * port 3525, STARTTLS under the rig CA, local recipients *@rig.test without AUTH,
 * reject@rig.test refused with 550 5.1.1. Skipped, loudly, when the rig is not running.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser, type AddressObject } from 'mailparser';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { SendMailTask } from '../../src/tasks/send-mail-task.js';
import { clientPart, rig, rigSkipReason, waitForDelivery } from '../support/rig.js';
import { runCli } from '../cli/run-cli.js';

const ATTACHMENT_NAME = 'Überweisungsdatei März – Zahlläufe ✓.bin';
let dir: string;
let connectionString: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtpcm-rig-task-'));
  const info = rig();
  if (info) {
    connectionString =
      `SmtpServer=${info.hostName};Port=${info.ports.plain};EnableSsl=True;` +
      `CaFile=${join(info.dir, 'tls', 'ca.pem')};`;
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * waitForDelivery, retried when a file it listed vanished before it was read (another suite
 * clearing the rig's mail at the same time).
 */
async function delivered(recipient: string, token: string): Promise<Buffer> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await waitForDelivery(recipient, token);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 5) throw error;
    }
  }
}

/** Mailboxes of this run only, so parallel suites do not share them. */
function mailboxes(token: string): { to: string; cc: string; bcc: string } {
  const id = token.slice(0, 8);
  return { to: `alice-${id}@rig.test`, cc: `bob-${id}@rig.test`, bcc: `carol-${id}@rig.test` };
}

function names(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value.map((v) => `${v.name} <${v.address}>`));
}

describe('Send Mail task against the Postfix rig', { skip: rigSkipReason }, () => {
  it('delivers To, Cc, Bcc with every header right and a 5 MB non-ASCII attachment', async () => {
    const token = randomUUID();
    const content = randomBytes(5 * 1024 * 1024);
    await writeFile(join(dir, ATTACHMENT_NAME), content);
    const subject = `Überweisungen – Tagesbericht ✓ ${token}`;
    const box = mailboxes(token);
    const connection = new SmtpConnectionManager({ name: 'Rig', connectionString });
    try {
      const result = await new SendMailTask(
        {
          smtpConnection: 'Rig',
          fromLine: '"Buchhaltung, Zentrale" <reports@rig.test>',
          toLine: `Jürgen Müller <${box.to}>`,
          ccLine: `Zoë Bäcker <${box.cc}>`,
          bccLine: `Geheim Empfänger <${box.bcc}>`,
          subject,
          messageSource: `Tagesbericht ${token}\nGrüße aus Köln.`,
          priority: 'High',
          fileAttachments: ATTACHMENT_NAME,
        },
        { connections: { get: (n) => (n === 'Rig' ? connection : undefined) }, baseDir: dir },
      ).execute();
      assert.deepEqual(result.accepted, [box.to, box.cc, box.bcc]);
      assert.deepEqual(result.rejected, []);
      assert.match(result.reply.lines.join(' '), /queued as/i);

      for (const recipient of [box.to, box.cc, box.bcc]) {
        const copy = clientPart(await delivered(recipient, token));
        const headerEnd = copy.indexOf('\n\n');
        const headers = copy.subarray(0, headerEnd).toString('latin1');
        assert.doesNotMatch(headers, /^bcc:/im, `no Bcc header in ${recipient}'s copy`);
        assert.ok(!headers.includes(box.bcc));
        assert.match(headers, /^X-Priority: 1$/m);
        assert.match(headers, /^Priority: urgent$/m);
        assert.match(headers, /^Importance: high$/m);
        const parsed = await simpleParser(copy);
        assert.equal(parsed.subject, subject);
        assert.equal(parsed.messageId, result.messageId);
        assert.ok(parsed.date instanceof Date && !Number.isNaN(parsed.date.getTime()));
        assert.deepEqual(names(parsed.from), ['Buchhaltung, Zentrale <reports@rig.test>']);
        assert.deepEqual(names(parsed.to), [`Jürgen Müller <${box.to}>`]);
        assert.deepEqual(names(parsed.cc), [`Zoë Bäcker <${box.cc}>`]);
        assert.equal(parsed.text?.trim(), `Tagesbericht ${token}\nGrüße aus Köln.`);
        const [attachment] = parsed.attachments;
        assert.equal(attachment!.filename, ATTACHMENT_NAME);
        assert.equal(
          createHash('sha256').update(attachment!.content).digest('hex'),
          createHash('sha256').update(content).digest('hex'),
        );
      }
    } finally {
      await connection.close();
    }
  });

  it('smtpcm send: one refused of three is reported, two receive it (exit 3)', async () => {
    const token = randomUUID();
    const box = mailboxes(token);
    const result = await runCli([
      'send', '--connection', connectionString, '--from', 'reports@rig.test',
      '--to', `${box.to}; reject@rig.test; ${box.cc}`,
      '--subject', `Teilweise ${token}`, '--body', `Token ${token}`, '--json',
    ]);
    assert.equal(result.code, 3, result.stderr);
    const json = JSON.parse(result.stdout) as {
      accepted: string[];
      rejected: Array<{ recipient: string; reply: { code: number; lines: string[] } }>;
    };
    assert.deepEqual(json.accepted, [box.to, box.cc]);
    assert.equal(json.rejected.length, 1);
    assert.equal(json.rejected[0]!.recipient, 'reject@rig.test');
    assert.equal(json.rejected[0]!.reply.code, 550);
    assert.match(json.rejected[0]!.reply.lines.join(' '), /User unknown/);
    await delivered(box.to, token);
    await delivered(box.cc, token);
  });
});
