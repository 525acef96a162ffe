/**
 * The Send Mail task through a real SmtpConnectionManager to an in-process smtp-server on
 * port 0: STARTTLS under a test CA, AUTH, one recipient refused at RCPT.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { keepMessages, refuseRejectRecipients } from '../support/smtp-handlers.js';
import { tasksThrough } from '../support/tasks.js';
import { createTestAuthority } from '../../src/capture/certificates.js';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { SmtpRecipientsError } from '../../src/errors.js';

interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  secure: boolean;
  user: unknown;
}

const PASSWORD_VARIABLE = 'SMTPCM_TASK_TEST_PASSWORD';
let server: SMTPServer;
let dir: string;
let connection: SmtpConnectionManager;
let task: ReturnType<typeof tasksThrough>;
const received: Received[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtpcm-task-smtp-'));
  const authority = createTestAuthority();
  const { cert, key } = authority.issue(['localhost']);
  await writeFile(join(dir, 'ca.pem'), authority.caCert);
  await writeFile(join(dir, 'Prüfbericht März.csv'), 'a;b\n1;2\n');
  await writeFile(join(dir, 'logo.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
  server = new SMTPServer({
    key,
    cert,
    logger: false,
    disableReverseLookup: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      if (auth.username === 'task' && auth.password === process.env[PASSWORD_VARIABLE]) {
        callback(null, { user: auth.username });
      } else {
        callback(new Error('Invalid credentials'));
      }
    },
    onRcptTo: refuseRejectRecipients(),
    onData: keepMessages((message, session) => {
      received.push({ ...message, secure: session.secure, user: session.user });
    }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  process.env[PASSWORD_VARIABLE] = 'task-Secret-9';
  connection = new SmtpConnectionManager({
    name: 'Local SMTP',
    connectionString:
      `SmtpServer=localhost;Port=${port};EnableSsl=True;UserName=task;` +
      `Password=env:${PASSWORD_VARIABLE};CaFile=${join(dir, 'ca.pem')};`,
  });
  task = tasksThrough(connection, dir, {
    fromLine: 'Buchhaltung <reports@example.com>',
    toLine: 'a@example.com',
    subject: 'Prüfung',
    messageSource: 'Text',
  });
});

after(async () => {
  await connection.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('SendMailTask over STARTTLS and AUTH (smtp-server)', () => {
  it('delivers to To, Cc and Bcc, reports the refused one, and writes no Bcc header', async () => {
    received.length = 0;
    const result = await task({
      toLine: '"Müller, Jürgen" <a@example.com>; reject@example.com',
      ccLine: 'c@example.com',
      bccLine: 'hidden@example.com',
      priority: 'Low',
      fileAttachments: 'Prüfbericht März.csv',
    }).execute();
    assert.deepEqual(result.accepted, ['a@example.com', 'c@example.com', 'hidden@example.com']);
    assert.deepEqual(
      result.rejected.map((r) => [r.recipient, r.reply?.code, r.reply?.enhancedCode?.subject]),
      [['reject@example.com', 550, 1]],
    );
    assert.equal(result.recipients.length, 4);
    assert.equal(result.reply.code, 250);
    assert.equal(received.length, 1);
    const [message] = received;
    assert.equal(message!.secure, true, 'sent after STARTTLS');
    assert.equal(message!.user, 'task');
    assert.deepEqual(message!.to, ['a@example.com', 'c@example.com', 'hidden@example.com']);
    assert.ok(result.size >= message!.raw.length);
    const parsed = await simpleParser(message!.raw);
    assert.equal(parsed.subject, 'Prüfung');
    assert.equal(parsed.messageId, result.messageId);
    assert.equal(parsed.headers.get('bcc'), undefined);
    assert.ok(!message!.raw.toString().includes('hidden@example.com'));
    // System.Net.Mail's MailPriority.Low headers.
    assert.match(
      message!.raw.toString(),
      /^X-Priority: 5\r\nPriority: non-urgent\r\nImportance: low\r$/m,
    );
    assert.equal(parsed.attachments[0]!.filename, 'Prüfbericht März.csv');
  });

  it('fails with SmtpRecipientsError, sending nothing, when all are refused', async () => {
    received.length = 0;
    await assert.rejects(task({ toLine: 'reject@example.com' }).execute(), (error: unknown) => {
      assert.ok(error instanceof SmtpRecipientsError);
      assert.equal(error.recipients[0]!.reply?.code, 550);
      return true;
    });
    assert.equal(received.length, 0);
  });

  it("with rejectedRecipients 'fail', delivers to the accepted ones, then fails", async () => {
    received.length = 0;
    await assert.rejects(
      task({ toLine: 'a@example.com; reject@example.com', rejectedRecipients: 'fail' }).execute(),
      SmtpRecipientsError,
    );
    assert.deepEqual(received.map((m) => m.to), [['a@example.com']]);
  });

  it('sends to a UTF-8 local part (SMTPUTF8, RFC 6531) and an IDN domain (A-label)', async () => {
    received.length = 0;
    const utf8 = task({ toLine: 'Jörg <jörg@example.com>; info@bücher.example' });
    const result = await utf8.execute();
    assert.deepEqual(result.accepted, ['jörg@example.com', 'info@xn--bcher-kva.example']);
    // smtp-server turns A-labels back into Unicode in what it reports.
    assert.deepEqual(received[0]!.to, ['jörg@example.com', 'info@bücher.example']);
    const parsed = await simpleParser(received[0]!.raw);
    const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
    assert.equal(to?.value[0]?.address, 'jörg@example.com');
  });

  it('sends HTML with a text alternative and an inline image', async () => {
    received.length = 0;
    await task({
      messageSource: 'Plain version',
      htmlBody: '<p>HTML version <img src="cid:logo@smtpcm"></p>',
      inlineImages: [{ cid: 'logo@smtpcm', path: 'logo.png' }],
      replyTo: 'help@example.com',
    }).execute();
    const parsed = await simpleParser(received[0]!.raw);
    assert.equal(parsed.text?.trim(), 'Plain version');
    assert.match(String(parsed.html), /HTML version/);
    assert.equal(parsed.attachments[0]!.cid, 'logo@smtpcm');
    assert.equal(parsed.replyTo?.value[0]?.address, 'help@example.com');
  });
});
