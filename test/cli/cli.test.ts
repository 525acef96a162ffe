import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { keepMessages, refuseRejectRecipients } from '../support/smtp-handlers.js';
import { ROOT, runCli, startCli } from './run-cli.js';

/** An in-process smtp-server on port 0 that refuses reject@example.com with 550 5.1.1. */
interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  user?: string;
}

let server: SMTPServer;
let port: number;
const received: Received[] = [];
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtpcm-cli-'));
  server = new SMTPServer({
    disableReverseLookup: true,
    logger: false,
    hideSTARTTLS: true,
    authOptional: true,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username });
    },
    onRcptTo: refuseRejectRecipients('5.1.1 No such user here'),
    onData: keepMessages((message, session) => {
      received.push({
        ...message,
        ...(typeof session.user === 'string' ? { user: session.user } : {}),
      });
    }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as { port: number }).port;
  await writeFile(join(dir, 'report.csv'), 'a;b\n1;2\n');
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

const connection = (): string => `SmtpServer=127.0.0.1;Port=${port};EnableSsl=False;`;

describe('smtpcm basics', () => {
  it('prints the version of package.json', async () => {
    const text = await readFile(join(ROOT, 'package.json'), 'utf8');
    const pkg = JSON.parse(text) as { version: string };
    const result = await runCli(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), pkg.version);
  });

  it('has help for every command', async () => {
    for (const command of ['send', 'test-connection', 'connection-string', 'capture', 'demo']) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, new RegExp(`Usage: smtpcm ${command}`));
    }
  });
});

describe('smtpcm connection-string', () => {
  it('parses to JSON with the password masked', async () => {
    const result = await runCli([
      'connection-string', 'parse',
      'SmtpServer=mail.example.com;EnableSsl=True;UserName=alice;Password=Sup3r-Secret;',
    ]);
    assert.equal(result.code, 0);
    const props = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(props.smtpServer, 'mail.example.com');
    assert.equal(props.enableSsl, true);
    assert.ok(!result.stdout.includes('Sup3r-Secret'));
  });

  it('formats to the SSIS canonical form, secrets masked', async () => {
    const bare = await runCli(['connection-string', 'format', 'smtphost']);
    assert.equal(
      bare.stdout.trim(),
      'SmtpServer=smtphost;UseWindowsAuthentication=False;EnableSsl=False;',
    );
    const secret = await runCli([
      'connection-string', 'format', 'enablessl=true;smtpserver=relay;Password=Sup3r-Secret',
    ]);
    assert.equal(secret.code, 0);
    assert.match(secret.stdout, /^SmtpServer=relay;UseWindowsAuthentication=False;EnableSsl=True;/);
    assert.ok(!secret.stdout.includes('Sup3r-Secret'));
  });

  it('validates: exit 1 and a short message naming the key for an unknown key', async () => {
    const bad = await runCli(['connection-string', 'validate', 'SmtpServer=relay;Prot=587']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Prot/);
    assert.match(bad.stderr, /Port/);
    assert.ok(!bad.stderr.includes('    at '), 'no stack trace');
    const good = await runCli([
      'connection-string', 'validate', 'SmtpServer=relay;EnableSsl=True;',
    ]);
    assert.equal(good.code, 0);
  });
});

describe('smtpcm send', () => {
  it('exits 0 when every recipient is accepted, and --json prints the result', async () => {
    received.length = 0;
    const result = await runCli([
      'send', '--connection', connection(), '--from', 'reports@example.com',
      '--to', 'a@example.com; b@example.com', '--bcc', 'hidden@example.com',
      '--subject', 'Überweisungen – Tagesbericht ✓', '--body', 'Hallo', '--attach',
      join(dir, 'report.csv'), '--priority', 'High', '--header', 'X-Job: nightly', '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json).sort(), [
      'accepted', 'connection', 'messageId', 'ok', 'recipients', 'rejected', 'reply', 'size',
    ]);
    assert.equal(json.ok, true);
    assert.deepEqual(json.accepted, ['a@example.com', 'b@example.com', 'hidden@example.com']);
    assert.deepEqual(json.rejected, []);
    assert.equal((json.reply as { code: number }).code, 250);
    const [message] = received;
    assert.deepEqual(message!.to, ['a@example.com', 'b@example.com', 'hidden@example.com']);
    const parsed = await simpleParser(message!.raw);
    assert.equal(parsed.subject, 'Überweisungen – Tagesbericht ✓');
    assert.equal(parsed.messageId, json.messageId);
    assert.match(message!.raw.toString(), /^X-Priority: 1\r$/m);
    assert.equal(parsed.headers.get('x-job'), 'nightly');
    assert.equal(parsed.headers.get('bcc'), undefined);
    assert.equal(parsed.attachments[0]!.filename, 'report.csv');
  });

  it('exits 3 when some recipients are rejected, listing them with the reply', async () => {
    const result = await runCli([
      'send', '--connection', connection(), '--from', 'reports@example.com',
      '--to', 'a@example.com, reject@example.com', '--subject', 'S', '--body', 'B',
    ]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stdout, /rejected reject@example\.com {2}550 5\.1\.1/);
    assert.match(result.stdout, /accepted a@example\.com/);
  });

  it('exits 1 when nobody accepted the message', async () => {
    const result = await runCli([
      'send', '--connection', connection(), '--from', 'reports@example.com',
      '--to', 'reject@example.com', '--subject', 'S', '--body', 'B', '--json',
    ]);
    assert.equal(result.code, 1);
    const json = JSON.parse(result.stdout) as { recipients: Array<{ status: string }> };
    assert.deepEqual(json.recipients.map((r) => r.status), ['rejected']);
    assert.ok(result.stderr.trim().split('\n').length <= 2, result.stderr);
  });

  it('exits 1 before connecting on a bad argument, naming the option', async () => {
    const count = received.length;
    const missing = await runCli([
      'send', '--connection', connection(), '--from', 'reports@example.com',
      '--to', 'a@example.com', '--subject', 'S', '--body', 'B', '--attach', join(dir, 'nope.pdf'),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^smtpcm: --attach: /);
    assert.ok(!missing.stderr.includes('    at '), 'no stack trace');
    const injected = await runCli([
      'send', '--connection', connection(), '--from', 'reports@example.com',
      '--to', 'a@example.com', '--subject', 'Hi\r\nBcc: victim@example.com', '--body', 'B',
    ]);
    assert.equal(injected.code, 1);
    assert.match(injected.stderr, /--subject: .*line break/);
    assert.equal(received.length, count, 'nothing was sent');
  });

  it('no header line over 998 octets leaves: a long --subject is encoded, a long --header '
    + 'refused before connecting', async () => {
    received.length = 0;
    const x = 'x'.repeat(100_000);
    const big = await runCli([
      'send', '--connection', connection(), '--from', 'reports@example.com',
      '--to', 'a@example.com', '--subject', 'S', '--body', 'B', '--header', `X-Big: ${x}`,
    ]);
    assert.equal(big.code, 1);
    assert.equal(big.stderr.split('\n')[0], 'smtpcm: --header X-Big: would be sent with a line ' +
      'of 100001 octets; RFC 5322 §2.1.1 allows at most 998. Shorten the value, or put spaces ' +
      'in it: a header is folded only at spaces.');
    assert.equal(received.length, 0, 'nothing was sent');
    const long = await runCli([
      'send', '--connection', connection(), '--from', 'reports@example.com',
      '--to', 'a@example.com', '--subject', x, '--body', 'B',
    ]);
    assert.equal(long.code, 0, long.stderr);
    const raw = received[0]!.raw;
    assert.deepEqual(raw.toString('latin1').split('\r\n').filter((l) => l.length > 998), []);
    assert.equal((await simpleParser(raw)).subject, x);
  });

  it('--raw streams a message file unchanged with the envelope from --from/--to', async () => {
    received.length = 0;
    const raw = 'From: x@example.com\r\nTo: y@example.com\r\nMessage-ID: <raw-1@example.com>\r\n' +
      'Subject: raw\r\n\r\n.starts with a dot\r\nend\r\n';
    await writeFile(join(dir, 'raw.eml'), raw);
    const result = await runCli([
      'send', '--connection', connection(), '--from', 'bounce@example.com',
      '--to', 'y@example.com;z@example.com', '--raw', join(dir, 'raw.eml'), '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { messageId: string };
    assert.equal(json.messageId, '<raw-1@example.com>');
    assert.equal(received[0]!.raw.toString(), raw);
    assert.equal(received[0]!.from, 'bounce@example.com');
    assert.deepEqual(received[0]!.to, ['y@example.com', 'z@example.com']);
  });

  it('--raw declares the file size as SIZE=; a file over the limit is refused before MAIL',
    async () => {
      const mails: Array<string | undefined> = [];
      const limited = new SMTPServer({
        disableReverseLookup: true,
        logger: false,
        hideSTARTTLS: true,
        authOptional: true,
        size: 300,
        onMailFrom(address, _session, callback) {
          mails.push((address.args as Record<string, string> | false || {}).SIZE);
          callback();
        },
        onData: keepMessages(() => undefined),
      });
      await new Promise<void>((resolve) => limited.listen(0, '127.0.0.1', resolve));
      try {
        const limitedPort = (limited.server.address() as { port: number }).port;
        const send = (file: string) => runCli([
          'send', '--connection', `SmtpServer=127.0.0.1;Port=${limitedPort};`,
          '--from', 'bounce@example.com', '--to', 'y@example.com', '--raw', join(dir, file),
        ]);
        const head = 'From: x@example.com\r\nSubject: raw\r\n\r\n';
        await writeFile(join(dir, 'fits.eml'), `${head}${'a'.repeat(100)}\r\n`);
        await writeFile(join(dir, 'large.eml'), `${head}${'a'.repeat(400)}\r\n`);
        const fits = await send('fits.eml');
        assert.equal(fits.code, 0, fits.stderr);
        assert.deepEqual(mails, [String(head.length + 102)]);
        const large = await send('large.eml');
        assert.equal(large.code, 1);
        const size = head.length + 402;
        assert.match(large.stderr,
          new RegExp(`is at least ${size} octets, larger than the 300 octets .* \\(SIZE\\)`));
        assert.equal(mails.length, 1, 'no MAIL FROM for the large file');
      } finally {
        await new Promise<void>((resolve) => limited.close(() => resolve()));
      }
    });

  it('looks a name up in smtpcm.json, and never echoes the password', async () => {
    received.length = 0;
    const project = join(dir, 'project');
    await rm(project, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(project));
    await writeFile(
      join(project, 'smtpcm.json'),
      JSON.stringify({
        connections: {
          Relay: {
            connectionString:
              `SmtpServer=127.0.0.1;Port=${port};EnableSsl=False;UserName=robot;` +
              'Password=env:CLI_TEST_PASSWORD;AllowInsecureAuth=True;AuthMechanisms=PLAIN',
          },
        },
      }),
    );
    const result = await runCli(
      ['send', '--connection', 'Relay', '--from', 'r@example.com', '--to', 'a@example.com',
        '--subject', 'S', '--body', 'B'],
      { cwd: project, env: { CLI_TEST_PASSWORD: 'Pa55-w0rd-in-env' } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /through "Relay"/);
    assert.equal(received[0]!.user, 'robot');
    const unknown = await runCli(['test-connection', '--connection', 'Nope'], { cwd: project });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Relay/);
    const report = await runCli(['test-connection', '--connection', 'Relay', '--json'], {
      cwd: project,
      env: { CLI_TEST_PASSWORD: 'Pa55-w0rd-in-env' },
    });
    assert.equal(report.code, 0, report.stderr);
    assert.equal((JSON.parse(report.stdout) as { mechanism: string }).mechanism, 'PLAIN');
    for (const output of [result.stdout, result.stderr, report.stdout, report.stderr]) {
      assert.ok(!output.includes('Pa55-w0rd-in-env'));
      assert.ok(!output.includes(Buffer.from('\0robot\0Pa55-w0rd-in-env').toString('base64')));
    }
  });
});

describe('smtpcm capture', () => {
  it('prints an IPv6 address it listens on in brackets', async () => {
    const cli = startCli(['capture', '--port', '0', '--host', '::1', '--dir', join(dir, 'v6')]);
    const [line] = await cli.waitFor(/^Listening on .*$/m);
    cli.child.kill('SIGINT');
    await cli.exited;
    assert.match(line, /^Listening on \[::1\]:\d+ \(no TLS, no AUTH\); /);
  });

  it('writes each message to DIR, prints one line per message, stops on SIGINT', async () => {
    const out = join(dir, 'captured');
    const cli = startCli(['capture', '--port', '0', '--dir', out]);
    const [, capturePort] = await cli.waitFor(/Listening on 127\.0\.0\.1:(\d+)/);
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: Number(capturePort),
      secure: false,
      ignoreTLS: true,
    });
    await transport.sendMail({
      from: 'a@example.com',
      to: 'b@example.com',
      bcc: 'c@example.com',
      subject: 'captured',
      text: 'hello',
    });
    transport.close();
    const [, file] = await cli.waitFor(
      /^(\S+\.eml) from=<a@example\.com> to=<b@example\.com>,<c@example\.com>/m,
    );
    assert.equal((await simpleParser(await readFile(file!))).subject, 'captured');
    cli.child.kill('SIGINT');
    const result = await cli.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Stopped after 1 message/);
    assert.deepEqual((await readdir(out)).filter((f) => !f.endsWith('.eml')), []);
  });
});

describe('smtpcm demo', () => {
  it('sends the example task over STARTTLS with AUTH and prints the captured file', async () => {
    const out = join(dir, 'demo');
    const result = await runCli(['demo', '--dir', out]);
    assert.equal(result.code, 0, result.stderr);
    const [, file] = /Captured over STARTTLS as user "demo": (\S+\.eml)/.exec(result.stdout) ?? [];
    assert.ok(file, result.stdout);
    const parsed = await simpleParser(await readFile(file));
    assert.equal(parsed.subject, 'Überweisungen – Tagesbericht ✓');
    assert.equal(parsed.attachments[0]!.filename, 'report.csv');
    assert.match(result.stdout, /accepted +treasury@example\.test/);
    assert.match(result.stdout, /Password=env:SMTPCM_DEMO_PASSWORD/);
  });
});
