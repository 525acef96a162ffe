/**
 * What a new user sees when something fails: the cause and fix of each error, `--json` on
 * stdout for every failure, the masked transcript under `--debug`, hostile values escaped.
 * The servers are hostile fault servers on 127.0.0.1, port 0.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFaultServer, type FaultPeer, type FaultServer } from '../support/fault-server.js';
import { runCli, type CliResult } from './run-cli.js';

let dir: string;
const servers: FaultServer[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtpcm-cli-errors-'));
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

/** Answers whatever comes after the case's script, so the client can quit. */
async function rest(peer: FaultPeer): Promise<void> {
  await peer.serve();
}

async function serve(handler: (peer: FaultPeer) => Promise<void>): Promise<number> {
  const server = await startFaultServer(handler);
  servers.push(server);
  return server.port;
}

const SEND = ['--from', 'a@example.com', '--to', 'b@example.com', '--subject', 's', '--body', 'b'];

function send(connection: string, ...extra: string[]): Promise<CliResult> {
  return runCli(['send', '--connection', connection, ...SEND, ...extra]);
}

const plain = (port: number, more = ''): string =>
  `SmtpServer=127.0.0.1;Port=${port};EnableSsl=False;Timeout=2;${more}`;

/** The one JSON object printed on stdout. */
function json(result: CliResult): {
  ok: boolean;
  error: Record<string, unknown>;
  recipients?: unknown[];
} {
  return JSON.parse(result.stdout) as ReturnType<typeof json>;
}

describe('smtpcm --json on failures', () => {
  it('prints { ok: false, error } on stdout for a timeout, exit 1', async () => {
    const port = await serve((peer) => peer.stall());
    const result = await send(plain(port, 'Timeout=1'), '--json');
    assert.equal(result.code, 1);
    const out = json(result);
    assert.equal(out.ok, false);
    assert.equal(out.error.code, 'ETIMEOUT');
    assert.equal(out.error.name, 'SmtpTimeoutError');
    assert.equal(out.error.stage, 'greeting');
    assert.match(String(out.error.fix), /raise Timeout/);
  });

  it('prints the field and fix for an unknown connection-string key', async () => {
    const result = await runCli(['connection-string', 'validate', 'SmtpServer=h;Kind=x',
      '--json']);
    assert.equal(result.code, 1);
    const out = json(result);
    assert.deepEqual(
      [out.ok, out.error.code, out.error.field],
      [false, 'ECONFIG', 'Kind'],
    );
    assert.match(String(out.error.message), /not a key/);
    assert.doesNotMatch(result.stdout, /"x"/);
  });

  it('a password typed into a key stays out of the text and --json output', async () => {
    const cut = 'is not a key of an SMTP connection string (its value is not shown; the key ' +
      'is cut after "Password", as what follows may be a secret).';
    for (const text of ['SmtpServer=a;Password==CANARY-PW-123;UserName=u',
      'SmtpServer=a;Password:CANARY-PW-123;UserName=u',
      'SmtpServer=a;Password CANARY-PW-123;UserName=u']) {
      const result = await runCli(['connection-string', 'validate', '--json', text]);
      assert.equal(result.code, 1);
      const out = json(result);
      assert.equal(out.error.field, 'Password…');
      assert.equal(String(out.error.message), `Password…: ${cut}`);
      const human = await runCli(['connection-string', 'validate', text]);
      assert.ok(human.stderr.startsWith(`smtpcm: Password…: ${cut} Did you mean Password?`),
        human.stderr);
      for (const output of [result.stdout, result.stderr, human.stdout, human.stderr]) {
        assert.ok(!output.includes('CANARY'), output);
      }
    }
    const trailing = await runCli(['connection-string', 'validate', '--json',
      'SmtpServer=a;Password CANARY-PW-123']);
    assert.equal(json(trailing).error.message, 'ConnectionString: syntax error at character ' +
      '14: the key "Password…" (cut after "Password": what follows may be a secret) has no "=".');
    assert.ok(!trailing.stdout.includes('CANARY') && !trailing.stderr.includes('CANARY'));
  });

  it('validate --json has ok beside errors and warnings, as a parse failure has', async () => {
    const result = await runCli(['connection-string', 'validate', 'SmtpServer=a_b!;', '--json']);
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout), { ok: false, warnings: [], errors: [{
      severity: 'error', field: 'SmtpServer',
      message: '"a_b!" is not a host name or IP address.',
      fix: 'Write only the host (no scheme, port or path), e.g. SmtpServer=smtp.example.com; ' +
        'put a port in Port=.' }] });
    const good = await runCli(['connection-string', 'validate', 'SmtpServer=h;', '--json']);
    assert.deepEqual(JSON.parse(good.stdout), { ok: true, errors: [], warnings: [] });
  });

  it('an unknown option is an error with the smtpcm: prefix, and EUSAGE with --json', async () => {
    const result = await runCli(['inspect', 'x.dtsx', '--bogus']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, "smtpcm: unknown option '--bogus'. See smtpcm inspect --help.\n");
    const withJson = await runCli(['--debug', 'inspect', 'x.dtsx', '--bogus', '--json']);
    assert.deepEqual(json(withJson), { ok: false, error: { code: 'EUSAGE',
      name: 'UsageError', message: "unknown option '--bogus'",
      fix: 'See smtpcm inspect --help.' } });
  });

  it('prints the reply code, enhanced code and masked transcript of a refusal', async () => {
    const port = await serve(async (peer) => {
      await peer.hello(['AUTH PLAIN']);
      await peer.expect(/^AUTH PLAIN/);
      peer.reply('334 ');
      await peer.line();
      peer.reply('535 5.7.8 Authentication credentials invalid');
      await rest(peer);
    });
    const result = await send(plain(port, 'UserName=u;Password=s3cret-pw;AllowInsecureAuth=True'),
      '--json');
    assert.equal(result.code, 1);
    const out = json(result);
    assert.equal(out.error.code, 'EAUTH');
    assert.equal(out.error.replyCode, 535);
    assert.equal(out.error.enhancedCode, '5.7.8');
    const transcript = out.error.transcript as string[];
    assert.ok(transcript.includes('S: 535 5.7.8 Authentication credentials invalid'));
    assert.doesNotMatch(result.stdout + result.stderr, /s3cret-pw/);
    assert.doesNotMatch(result.stdout, /czNjcmV0/); // base64 of the password's start
  });

  it('a refused password gets one fix, the one that names the keys', async () => {
    const port = await serve(async (peer) => {
      await peer.hello(['AUTH PLAIN']);
      await peer.expect(/^AUTH PLAIN \S+$/);
      peer.reply('535 5.7.8 Authentication credentials invalid');
      await rest(peer);
    });
    const result = await send(plain(port, 'UserName=u;Password=s3cret-pw;AllowInsecureAuth=True'),
      '--json');
    const out = json(result);
    assert.equal(out.error.message, '127.0.0.1 refused the password for u with PLAIN: 535 ' +
      '5.7.8 Authentication credentials invalid. No other mechanism was tried, to avoid ' +
      'locking the account.');
    assert.equal(out.error.fix,
      'Check UserName and Password (or AuthMechanisms) in the connection string.');
    assert.equal(result.stderr.match(/Check /g)?.length, 1, result.stderr);
  });

  it('keeps the recipients of a send nobody accepted', async () => {
    const port = await serve(async (peer) => {
      await peer.hello([]);
      await peer.expect(/^MAIL FROM/);
      peer.reply('250 2.1.0 Ok');
      await peer.expect(/^RCPT TO/);
      peer.reply('550 5.1.1 No such user');
      await rest(peer);
    });
    const result = await send(plain(port), '--json');
    assert.equal(result.code, 1);
    const out = json(result);
    assert.equal(out.error.code, 'ERECIPIENTS');
    assert.equal((out.recipients as Array<{ status: string }>)[0]!.status, 'rejected');
  });
});

describe('smtpcm error messages: cause and fix', () => {
  it('STARTTLS answered 220 but no TLS: one line, no OpenSSL internals', async () => {
    const port = await serve(async (peer) => {
      await peer.hello(['STARTTLS']);
      await peer.expect('STARTTLS');
      peer.reply('220 2.0.0 Ready to start TLS');
      await peer.bytes(5);
      peer.reply('500 5.5.1 What?');
      await peer.drain();
    });
    const result = await send(plain(port).replace('EnableSsl=False', 'EnableSsl=True'));
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /the server answered STARTTLS but did not start TLS/i);
    assert.doesNotMatch(result.stderr, /openssl|ssl3_get_record|CaFile/);

    const debug = await send(plain(port).replace('EnableSsl=False', 'EnableSsl=True'),
      '--debug');
    assert.match(debug.stderr, /wrong version number|packet length/);
  });

  it('a greeting timeout hints at implicit TLS (SslOnConnect)', async () => {
    const port = await serve((peer) => peer.stall());
    const result = await send(plain(port, 'Timeout=1').replace('EnableSsl=False',
      'EnableSsl=True'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\(greeting\)/);
    assert.ok(result.stderr.includes('If this port expects TLS from the first byte ' +
      '(implicit TLS, like 465), set SecureSocketOptions=SslOnConnect.'), result.stderr);
  });

  for (const stage of ['greeting', 'rcpt', 'end of data'] as const) {
    it(`421 at ${stage}: the server closed the session, try again later`, async () => {
      const port = await serve(async (peer) => {
        if (stage === 'greeting') {
          peer.reply('421 4.3.2 Too busy, come back later');
          peer.end();
          return;
        }
        await peer.hello([]);
        await peer.expect(/^MAIL FROM/);
        peer.reply('250 2.1.0 Ok');
        await peer.expect(/^RCPT TO/);
        if (stage === 'rcpt') {
          peer.reply('421 4.3.2 Too busy, come back later');
          peer.end();
          return;
        }
        peer.reply('250 2.1.5 Ok');
        await peer.expect('DATA');
        peer.reply('354 go ahead');
        await peer.data();
        peer.reply('421 4.3.2 Too busy, come back later');
        peer.end();
      });
      const result = await send(plain(port));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /closed the session with 421 4\.3\.2 Too busy/);
      assert.match(result.stderr, /try again later/i);
      assert.doesNotMatch(result.stderr, /that the server is running/);
    });
  }

  it('530 "Must issue a STARTTLS command first": set EnableSsl=True', async () => {
    const port = await serve(async (peer) => {
      await peer.hello(['AUTH PLAIN']);
      await peer.expect(/^AUTH PLAIN/);
      peer.reply('530 5.7.0 Must issue a STARTTLS command first');
      await rest(peer);
    });
    const result = await send(plain(port, 'UserName=u;Password=p;AllowInsecureAuth=True'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /set EnableSsl=True \(or SecureSocketOptions=StartTls\)/);
    assert.doesNotMatch(result.stderr, /Check UserName and Password/);
  });

  it('530 at MAIL FROM: set EnableSsl=True', async () => {
    const port = await serve(async (peer) => {
      await peer.hello([]);
      await peer.expect(/^MAIL FROM/);
      peer.reply('530 5.7.0 Must issue a STARTTLS command first');
      await rest(peer);
    });
    const result = await send(plain(port));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /set EnableSsl=True/);
  });

  it('250 in answer to DATA is a protocol error, not a rejection', async () => {
    const port = await serve(async (peer) => {
      await peer.hello([]);
      await peer.expect(/^MAIL FROM/);
      peer.reply('250 2.1.0 Ok');
      await peer.expect(/^RCPT TO/);
      peer.reply('250 2.1.5 Ok');
      await peer.expect('DATA');
      peer.reply('250 sure');
      await rest(peer);
    });
    const result = await send(plain(port));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /answered DATA with 250 sure instead of 354/);
    assert.doesNotMatch(result.stderr, /rejected DATA/);
  });

  it('--raw and --dir file errors name the option and the fix', async () => {
    const raw = (path: string): Promise<CliResult> =>
      runCli(['send', '--connection', 'SmtpServer=127.0.0.1;Port=9', '--from', 'a@example.com',
        '--to', 'b@example.com', '--raw', path]);
    const missing = await raw(join(dir, 'none.eml'));
    const folder = await raw(dir);
    const capture = await runCli(['capture', '--port', '0', '--dir', '/etc/passwd/x']);
    const cases: Array<[CliResult, string]> = [
      [missing, '--raw'],
      [folder, '--raw'],
      [capture, '--dir'],
    ];
    for (const [result, option] of cases) {
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^smtpcm: ${option} "`), result.stderr);
      assert.match(result.stderr, /Give /);
      assert.doesNotMatch(result.stderr, /ENOENT|EISDIR|ENOTDIR/);
    }
    assert.match(folder.stderr, /is a directory/);
  });
});

describe('smtpcm test-connection explains a failure as send does', () => {
  // The client's own wording may change; the fix is the CLI's.
  const noStartTls = (port: number): RegExp =>
    new RegExp(`^127\\.0\\.0\\.1:${port} does not offer STARTTLS, which EnableSsl=True `);
  const noStartTlsFix = 'As the server does not offer STARTTLS, use its port with implicit ' +
    'TLS (Port=465 with SecureSocketOptions=SslOnConnect) or, only on a trusted network, ' +
    'EnableSsl=False.';

  it('--json: ok beside success, and the error with its code, stage and fix', async () => {
    const port = await serve(async (peer) => peer.drop());
    const result = await runCli(['test-connection', '--json', '--connection', plain(port)]);
    assert.equal(result.code, 1);
    const out = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual([out.ok, out.success, out.failedStep], [false, false, 'greeting']);
    const error = out.error as Record<string, unknown>;
    assert.deepEqual([error.code, error.name, error.stage, error.fix],
      ['ECONNECTION', 'SmtpConnectionError', 'greeting',
        'Check SmtpServer and Port, and that the server is running.']);
    assert.equal(error.transcript, undefined);
  });

  it('no STARTTLS: the fix in text and --json; --debug adds the transcript', async () => {
    const port = await serve(async (peer) => {
      await peer.hello(['PIPELINING']);
      await rest(peer);
    });
    const connection = `SmtpServer=127.0.0.1;Port=${port};EnableSsl=True;Timeout=2;`;
    const text = await runCli(['test-connection', '--connection', connection]);
    assert.equal(text.code, 1);
    const last = text.stdout.trim().split('\n').pop()!;
    assert.match(last.slice('Failed at starttls: '.length), noStartTls(port));
    assert.ok(last.startsWith('Failed at starttls: ') && last.endsWith(`. ${noStartTlsFix}`),
      last);
    assert.equal(text.stderr, '');
    const out = json(await runCli(['test-connection', '--json', '--connection', connection]));
    assert.deepEqual([out.ok, out.error.code, out.error.fix], [false, 'ETLS', noStartTlsFix]);
    assert.match(String(out.error.message), noStartTls(port));
    const debug = await runCli(['test-connection', '--debug', '--connection', connection]);
    assert.match(debug.stderr, /^SmtpTlsError: /);
    assert.match(debug.stderr, /\nTranscript \(masked\):\nS: 220 mx\.fault\.test ESMTP\n/);
    assert.match(debug.stderr, /\nS: 250 PIPELINING\n/);
  });
});

describe('smtpcm --debug', () => {
  it('adds the masked transcript to an authentication failure', async () => {
    const port = await serve(async (peer) => {
      peer.reply('220 mx.fault.test ESMTP');
      await peer.serve({ keywords: ['AUTH PLAIN'], auth: 'reject' });
    });
    const result = await send(plain(port, 'UserName=u;Password=s3cret-pw;AllowInsecureAuth=True'),
      '--debug');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Transcript \(masked\):\n/);
    assert.match(result.stderr, /\nS: 535 5\.7\.8 Authentication credentials invalid/);
    assert.match(result.stderr, /\nC: AUTH PLAIN/);
    assert.doesNotMatch(result.stderr, /s3cret-pw|czNjcmV0/);
  });
});

describe('smtpcm echoes hostile values escaped', () => {
  it('an attachment name with CR LF stays on one line, with a fix that fits', async () => {
    const name = 'evil\r\nBcc: x@evil.com\r\n.txt';
    const result = await send('SmtpServer=127.0.0.1;Port=9', '--attach', name);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /^Bcc:/m);
    assert.ok(result.stderr.includes('"evil\\r\\nBcc: x@evil.com\\r\\n.txt"'), result.stderr);
    assert.doesNotMatch(result.stderr, /Attach files that exist/);
    assert.match(result.stderr, /line break/);
  });

  it('a long value is cut at 200 characters with "… (N more)"', async () => {
    const result = await send('SmtpServer=127.0.0.1;Port=9', '--priority', 'x'.repeat(250));
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(`"${'x'.repeat(200)}"… (50 more)`), result.stderr);
  });
});

describe('smtpcm wording for a CLI user', () => {
  it('--from: speaks of the sender, not recipients', async () => {
    const result = await runCli(['send', '--connection', 'SmtpServer=127.0.0.1;Port=9',
      '--from', 'not an address', '--to', 'b@example.com', '--subject', 's', '--body', 'b']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^smtpcm: --from: /);
    assert.doesNotMatch(result.stderr, /recipient/);
  });

  it('--to: names --cc and --bcc, not CCLine and BCCLine', async () => {
    const result = await runCli(['send', '--connection', 'SmtpServer=127.0.0.1;Port=9',
      '--from', 'a@example.com', '--to', ' ', '--subject', 's', '--body', 'b']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--cc/);
    assert.doesNotMatch(result.stderr, /CCLine|BCCLine/);
  });

  it('--body-file: no File connection manager', async () => {
    const result = await runCli(['send', '--connection', 'SmtpServer=127.0.0.1;Port=9',
      '--from', 'a@example.com', '--to', 'b@example.com', '--subject', 's',
      '--body-file', join(dir, 'missing.txt')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^smtpcm: --body-file: /);
    assert.doesNotMatch(result.stderr, /connection manager/);
  });

  it('Pass= suggests Password; "==a" explains the doubled "="', async () => {
    const pass = await runCli(['connection-string', 'parse', 'SmtpServer=h;Pass=x']);
    assert.match(pass.stderr, /Did you mean Password\?/);
    const equals = await runCli(['connection-string', 'parse', '==a']);
    assert.equal(equals.code, 1);
    assert.match(equals.stderr, /"==" in a key stands for a literal "="/);
  });

  it('accepts an internationalised SmtpServer', async () => {
    const result = await runCli(['connection-string', 'validate', 'SmtpServer=bücher.example']);
    assert.equal(result.code, 0, result.stderr + result.stdout);
  });
});
