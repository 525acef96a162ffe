import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import type { Envelope, MessageSource, SendResult } from '../../src/client/types.js';
import type { Problem } from '../../src/connection/validate.js';
import { ConfigurationError, SmtpRecipientsError, type RecipientResult } from '../../src/errors.js';
import {
  SendMailTask,
  parseMessageSourceType,
  parsePriority,
  type SendMailConnection,
  type SendMailTaskContext,
  type SendMailTaskProperties,
} from '../../src/tasks/send-mail-task.js';

/** A connection manager stand-in that reads the message and rejects the listed recipients. */
class FakeConnection implements SendMailConnection {
  readonly name = 'Mail';
  sent: Array<{ envelope: Envelope; raw: Buffer }> = [];
  constructor(
    private readonly rejects: string[] = [],
    private readonly problems: { errors: Problem[]; warnings: Problem[] } = {
      errors: [],
      warnings: [],
    },
  ) {}

  validate() {
    return this.problems;
  }

  async send(envelope: Envelope, message: MessageSource): Promise<SendResult> {
    const stream = typeof message === 'function' ? message() : (message as Readable);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks);
    const recipients: RecipientResult[] = envelope.to.map((recipient) =>
      this.rejects.includes(recipient)
        ? {
            recipient,
            status: 'rejected',
            reply: {
              code: 550,
              enhancedCode: { class: 5, subject: 1, detail: 1 },
              lines: ['No such user'],
            },
          }
        : { recipient, status: 'accepted' },
    );
    const accepted = recipients.filter((r) => r.status === 'accepted');
    if (accepted.length === 0) {
      throw new SmtpRecipientsError('No recipient was accepted.', recipients);
    }
    this.sent.push({ envelope, raw });
    return {
      accepted: accepted.map((r) => r.recipient),
      rejected: recipients.filter((r) => r.status === 'rejected'),
      recipients,
      reply: { code: 250, lines: ['OK queued as ABC'] },
      size: raw.length,
      method: 'DATA',
    };
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtpcm-task-'));
  await writeFile(join(dir, 'report.csv'), 'Konto;Betrag\n1;2\n');
  await writeFile(join(dir, 'body.txt'), 'Body from a file.\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function task(
  props: Partial<SendMailTaskProperties>,
  connection: SendMailConnection = new FakeConnection(),
  context: Partial<SendMailTaskContext> = {},
): SendMailTask {
  return new SendMailTask(
    {
      smtpConnection: 'Mail',
      fromLine: 'reports@example.com',
      toLine: 'ops@example.com',
      subject: 'Report',
      messageSource: 'Hello',
      ...props,
    },
    {
      connections: { get: (name) => (name === 'Mail' ? connection : undefined) },
      baseDir: dir,
      ...context,
    },
  );
}

async function errors(t: SendMailTask): Promise<Problem[]> {
  return (await t.validate()).filter((p) => p.severity === 'error');
}

describe('SendMailTask validation', () => {
  it('refuses a custom header with a line over 998 octets (RFC 5322 §2.1.1), sends nothing; '
    + 'a long subject is sent as encoded words', async () => {
    const connection = new FakeConnection();
    const big = task({ headers: { 'X-Big': 'x'.repeat(100_000) } }, connection);
    assert.deepEqual(await errors(big), [{
      severity: 'error',
      field: 'Headers.X-Big',
      message: 'would be sent with a line of 100001 octets; RFC 5322 §2.1.1 allows at most 998.',
      fix: 'Shorten the value, or put spaces in it: a header is folded only at spaces.',
    }]);
    await assert.rejects(big.execute(), (error: unknown) =>
      error instanceof ConfigurationError && error.field === 'Headers.X-Big');
    assert.equal(connection.sent.length, 0);

    const subject = 'x'.repeat(100_000);
    await task({ subject }, connection).execute();
    const raw = connection.sent[0]!.raw;
    assert.deepEqual(raw.toString('latin1').split('\r\n').filter((l) => l.length > 998), []);
    assert.equal((await simpleParser(raw)).subject, subject);
  });

  it('names the field of every problem and sends nothing', async () => {
    const connection = new FakeConnection();
    const t = task(
      {
        smtpConnection: 'Mail',
        fromLine: 'not an address',
        toLine: 'ok@example.com; bad@@example.com',
        subject: 'Hi\r\nBcc: victim@example.com',
        fileAttachments: 'report.csv|missing.pdf',
        priority: 'Urgent',
        messageSourceType: 'Clipboard',
        headers: { 'X-Ok': 'fine', 'X-Bad': 'a\nb', Bcc: 'x@example.com' },
      },
      connection,
    );
    const fields = (await errors(t)).map((p) => p.field).sort();
    assert.deepEqual(fields, [
      'FileAttachments',
      'FromLine',
      'Headers.Bcc',
      'Headers.X-Bad',
      'MessageSourceType',
      'Priority',
      'Subject',
      'ToLine',
    ]);
    await assert.rejects(t.execute(), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.match(error.message, /more problem/);
      return true;
    });
    assert.equal(connection.sent.length, 0);
  });

  it('requires a known connection and at least one recipient', async () => {
    assert.deepEqual((await errors(task({ smtpConnection: 'Other' }))).map((p) => p.field), [
      'SmtpConnection',
    ]);
    assert.deepEqual((await errors(task({ toLine: '' }))).map((p) => p.field), ['ToLine']);
    assert.deepEqual(await errors(task({ toLine: '', bccLine: 'hidden@example.com' })), []);
  });

  it("includes the connection manager's own problems", async () => {
    const connection = new FakeConnection([], {
      errors: [{ severity: 'error', field: 'Port', message: 'is not a number.', fix: 'Fix it.' }],
      warnings: [
        { severity: 'warning', field: 'Password', message: 'is a literal.', fix: 'Use env:.' },
      ],
    });
    const problems = await task({}, connection).validate();
    assert.deepEqual(
      problems.map((p) => `${p.severity}:${p.field}`),
      ['error:Port', 'warning:Password'],
    );
  });

  it('refuses an attachment that is not readable', { skip: process.getuid?.() === 0 }, async () => {
    await writeFile(join(dir, 'locked.csv'), 'x');
    await chmod(join(dir, 'locked.csv'), 0o000);
    assert.deepEqual((await errors(task({ fileAttachments: 'locked.csv' }))).map((p) => p.field), [
      'FileAttachments',
    ]);
  });
});

describe('SendMailTask message sources and priority', () => {
  it('accepts MessageSourceType names and numbers (SSIS: 0, 1, 2)', () => {
    assert.equal(parseMessageSourceType(undefined), 'DirectInput');
    assert.equal(parseMessageSourceType(0), 'DirectInput');
    assert.equal(parseMessageSourceType('fileconnection'), 'FileConnection');
    assert.equal(parseMessageSourceType('1'), 'FileConnection');
    assert.equal(parseMessageSourceType(2), 'Variable');
    assert.equal(parseMessageSourceType(3), undefined);
  });

  it('accepts priority names and the SSIS numbers 1, 3, 5', () => {
    assert.equal(parsePriority('High'), 'High');
    assert.equal(parsePriority(1), 'High');
    assert.equal(parsePriority('3'), 'Normal');
    assert.equal(parsePriority(5), 'Low');
    assert.equal(parsePriority('low'), 'Low');
    assert.equal(parsePriority(2), undefined);
  });

  async function body(props: Partial<SendMailTaskProperties>, context = {}): Promise<string> {
    const connection = new FakeConnection();
    await task(props, connection, context).execute();
    // mailparser ends a text body with a line break; compare without it.
    return ((await simpleParser(connection.sent[0]!.raw)).text ?? '').trimEnd();
  }

  it('reads the body from the task, a File connection, a path, or a variable', async () => {
    assert.equal(await body({ messageSource: 'Direct text' }), 'Direct text');
    assert.equal(
      await body(
        { messageSourceType: 'FileConnection', messageSource: 'Body File' },
        {
          fileConnections: {
            get: (n: string) => (n === 'Body File' ? join(dir, 'body.txt') : undefined),
          },
        },
      ),
      'Body from a file.',
    );
    assert.equal(
      await body({ messageSourceType: 1, messageSource: 'body.txt' }),
      'Body from a file.',
    );
    const variables = new Map<string, unknown>([['User::MailBody', 'From a variable']]);
    assert.equal(
      await body({ messageSourceType: 'Variable', messageSource: 'User::MailBody' }, { variables }),
      'From a variable',
    );
    assert.equal(
      await body({ messageSourceType: 2, messageSource: 'MailBody' }, { variables }),
      'From a variable',
    );
  });

  it('reports a missing variable or message file on MessageSource', async () => {
    assert.deepEqual(
      (await errors(task({ messageSourceType: 'Variable', messageSource: 'User::Nope' })))
        .map((p) => p.field),
      ['MessageSource'],
    );
    assert.deepEqual(
      (await errors(task({ messageSourceType: 'FileConnection', messageSource: 'nope.txt' })))
        .map((p) => p.field),
      ['MessageSource'],
    );
  });
});

describe('SendMailTask results', () => {
  it('reports rejected recipients without failing by default', async () => {
    const connection = new FakeConnection(['gone@example.com']);
    const t = task({ toLine: 'ops@example.com; gone@example.com' }, connection);
    const result = await t.execute();
    assert.deepEqual(result.accepted, ['ops@example.com']);
    assert.deepEqual(
      result.rejected.map((r) => [r.recipient, r.reply?.code]),
      [['gone@example.com', 550]],
    );
    assert.equal(result.connection, 'Mail');
    assert.match(result.messageId, /@example\.com>$/);
    assert.equal(connection.sent.length, 1);
  });

  it("with rejectedRecipients 'fail', delivers to the others, then throws (SSIS)", async () => {
    const connection = new FakeConnection(['gone@example.com']);
    const t = task(
      { toLine: 'ops@example.com; gone@example.com', rejectedRecipients: 'fail' },
      connection,
    );
    await assert.rejects(t.execute(), (error: unknown) => {
      assert.ok(error instanceof SmtpRecipientsError);
      assert.deepEqual(error.recipients.map((r) => r.status), ['accepted', 'rejected']);
      return true;
    });
    assert.equal(connection.sent.length, 1, 'the accepted recipient got the message');
  });

  it('throws SmtpRecipientsError when nobody accepted', async () => {
    const connection = new FakeConnection(['ops@example.com']);
    await assert.rejects(task({}, connection).execute(), SmtpRecipientsError);
  });

  it('logs SendMailTaskBegin, one SendMailTaskInfo per recipient, SendMailTaskEnd', async () => {
    const events: string[] = [];
    const log = (fields: Record<string, unknown>): void => {
      events.push(String(fields.event));
    };
    const logger = { debug: log, info: log, warn: log, error: log };
    const t = task({ toLine: 'a@example.com; b@example.com' }, new FakeConnection(), { logger });
    await t.execute();
    assert.deepEqual(events, [
      'SendMailTaskBegin',
      'SendMailTaskInfo',
      'SendMailTaskInfo',
      'SendMailTaskEnd',
    ]);
  });
});
