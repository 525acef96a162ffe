/**
 * The Send Mail task and the server's SIZE (RFC 1870): the task declares a lower bound of the
 * message's size in MAIL FROM, so a server whose limit the attachments already exceed refuses
 * nothing after an upload: the task fails before MAIL, naming the limit.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { keepMessages } from '../support/smtp-handlers.js';
import { tasksThrough } from '../support/tasks.js';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { ConfigurationError } from '../../src/errors.js';

const LIMIT = 20_000;
let server: SMTPServer;
let dir: string;
let connection: SmtpConnectionManager;
let task: ReturnType<typeof tasksThrough>;
/** The SIZE= of every MAIL FROM the server saw, and the octets of every message it kept. */
const declared: Array<string | undefined> = [];
const received: Buffer[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtpcm-task-size-'));
  // 15,000 octets: base64 makes them 20,000, the limit, before any header is counted.
  await writeFile(join(dir, 'scan.pdf'), randomBytes(15_000));
  await writeFile(join(dir, 'small.pdf'), randomBytes(3_000));
  server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    size: LIMIT,
    onMailFrom(address, _session, callback) {
      declared.push((address.args as Record<string, string> | false || {}).SIZE);
      callback();
    },
    onData: keepMessages((message) => {
      received.push(message.raw);
    }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  connection = new SmtpConnectionManager({
    name: 'Local SMTP',
    connectionString: `SmtpServer=127.0.0.1;Port=${port};`,
  });
  task = tasksThrough(connection, dir, {
    fromLine: 'reports@example.com',
    toLine: 'a@example.com',
    subject: 'Monthly scan',
    messageSource: 'Attached.',
  });
});

after(async () => {
  await connection.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('SendMailTask and the server SIZE limit', () => {
  it('declares SIZE= no larger than the message the server receives', async () => {
    declared.length = 0;
    received.length = 0;
    const result = await task({ fileAttachments: 'small.pdf' }).execute();
    assert.deepEqual(result.accepted, ['a@example.com']);
    assert.equal(declared.length, 1);
    const size = Number(declared[0]);
    // 3,000 octets in base64 are 4,000; the header block adds more.
    assert.ok(size > 4_000, `SIZE=${declared[0]}`);
    assert.ok(size <= received[0]!.length, `SIZE=${size}, received ${received[0]!.length}`);
  });

  it('fails before MAIL when the attachments alone exceed the limit, naming it', async () => {
    declared.length = 0;
    received.length = 0;
    await assert.rejects(task({ fileAttachments: 'scan.pdf' }).execute(), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError, String(error));
      assert.equal(error.field, 'message');
      assert.match(error.message, new RegExp('^message: is at least \\d+ octets, larger than ' +
        'the 20000 octets 127\\.0\\.0\\.1:\\d+ accepts \\(SIZE\\)\\.'));
      assert.match(error.fix, /smaller message/);
      return true;
    });
    assert.deepEqual(declared, [], 'no MAIL FROM was sent');
    assert.deepEqual(received, []);
  });
});
