/** `smtpcm inspect` and `smtpcm run` as a user runs them: a child process, exit codes. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { corpus, corpusSkipReason, repoRoot } from '../support/corpus.js';
import { startSink, type SmtpSink } from './smtp-sink.js';

interface Outcome { code: number | null; stdout: string; stderr: string }

function smtpcm(...args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let sink: SmtpSink;
before(async () => { sink = await startSink(); });
after(async () => { await sink.close(); });

describe('smtpcm inspect and run', { skip: corpusSkipReason }, () => {
  it('inspect --json: connection managers, tasks, values and sources', async () => {
    const result = await smtpcm('inspect', corpus('yatamcharishma', 'MasterLoad_Template.dtsx'),
      '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.connections[0].connectionString.source, 'parameter');
    assert.equal(report.tasks.length, 2);
    assert.equal(report.tasks[1].eventName, 'OnError');
  });

  it('inspect exits 1 when the package has an error (an unconfigured task)', async () => {
    const result = await smtpcm('inspect', corpus('alimakri', 'Package1.dtsx'));
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp('error: task "Package\\\\Tâche Envoyer un message": ' +
      'The Send Mail task was never configured'));
    const json = await smtpcm('inspect', corpus('alimakri', 'Package1.dtsx'), '--json');
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).ok, false);
  });

  it('run sends through --connection and exits 0; 3 when a recipient is rejected', async () => {
    const ok = await smtpcm('run', corpus('lucmilot', 'SendMailTask.dtsx'),
      '--connection', `SMTP Connection Manager=${sink.connectionString}`);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^SENT {5}Package\\Send Mail Task$/m);
    assert.match(ok.stdout, new RegExp(`via SMTP Connection Manager: SmtpServer=127\\.0\\.0\\.1;` +
      `Port=${sink.port}; \\[override\\]`));
    const partial = await smtpcm('run', corpus('lucmilot', 'SendMailTask.dtsx'), '--json',
      '--connection', `SMTP Connection Manager=${sink.connectionString}`,
      '--set', '\\Package\\Send Mail Task.Properties[ToLine]=ok@example.com;reject@example.com');
    assert.equal(partial.code, 3, partial.stderr);
    assert.equal(JSON.parse(partial.stdout).steps[0].status, 'partial');
    // Sent, as send --json says of a message some recipients rejected.
    assert.equal(JSON.parse(partial.stdout).ok, true);
  });

  it('inspect warns, and exits 0, for a never-configured task that is disabled', async () => {
    const result = await smtpcm('inspect', corpus('epzingg', 'FileE1_2SF.dtsx'));
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, new RegExp('warning: task "Package\\\\Send Import Failure ' +
      'Email": The Send Mail task was never configured.* The task is disabled'));
  });

  it('run and inspect mask the value of a misspelt secret key in --connection', async () => {
    // A key is shown only up to a secret key's name it holds (Pass, Password).
    for (const [key, shown] of [['Pasword', 'Pasword'], ['Passwort', 'Pass…'],
      ['Password2', 'Password…'], ['AccesToken', 'AccesToken'],
      ['SmtpPassword', 'SmtpPassword']]) {
      const override = `SMTP Connection Manager=SmtpServer=127.0.0.1;${key}=hunter2`;
      const run = await smtpcm('run', corpus('lucmilot', 'SendMailTask.dtsx'), '--dry-run',
        '--connection', override);
      assert.equal(run.code, 1);
      assert.match(run.stdout, new RegExp(`via SMTP Connection Manager: ` +
        `SmtpServer=127\\.0\\.0\\.1;${shown}=\\*{8} \\[override\\]`));
      const inspect = await smtpcm('inspect', corpus('lucmilot', 'SendMailTask.dtsx'), '--json',
        '--connection', override);
      for (const out of [run, inspect]) {
        assert.doesNotMatch(out.stdout + out.stderr, /hunter2/, key);
      }
    }
  });

  it('run names the File connection manager of a missing message file and its path', async () => {
    const missing = await smtpcm('run', corpus('vglukhov', 'Package1.dtsx'), '--dry-run');
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /MessageSource: names the file connection manager "dupkeys", /);
    assert.ok(missing.stdout.includes('"C:\\Projects\\ReportsFiles\\dupkey.txt"'),
      missing.stdout);
    assert.ok(missing.stdout.includes('--connection "dupkeys=PATH"'), missing.stdout);
    // The override the message suggests works.
    const given = await smtpcm('run', corpus('vglukhov', 'Package1.dtsx'), '--dry-run',
      '--connection', `dupkeys=${corpus('vglukhov', 'Package1.dtsx')}`);
    assert.equal(given.code, 0, given.stdout);
    assert.match(given.stdout, /^COMPOSED /m);
  });

  it('run prints a Windows path as written: only control characters are escaped', async () => {
    const file = corpus('ricardobarrero', 'IQUOTE - 100 - LoadFiles.dtsx');
    const connection = `SMTP Connection Manager=${sink.connectionString}`;
    const path = '\\\\exampleorg\\shares\\SQLPack\\Files_Out\\IQuote\\InconsistenciaFinal.xls';
    const reason = `FileAttachments: "${path}": the file does not exist. Attach files that ` +
      'exist and are readable; separate several paths with "|".';
    const text = await smtpcm('run', file, '--dry-run', '--connection', connection);
    assert.equal(text.code, 1);
    assert.ok(text.stdout.split('\n').includes(`         ${reason}`), text.stdout);
    const json = await smtpcm('run', file, '--dry-run', '--json', '--connection', connection);
    const steps = JSON.parse(json.stdout).steps as Array<{ status: string; reason?: string }>;
    assert.deepEqual(steps.filter((s) => s.status === 'failed').map((s) => s.reason), [reason]);
    const inspect = await smtpcm('inspect', file);
    assert.ok(inspect.stdout.split('\n').includes(`    FileAttachments: ${path}  [literal]`),
      inspect.stdout);
  });

  it('a password typed into a key of the connection string is cut in inspect and run',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'smtpcm-canary-'));
      try {
        const file = join(dir, 'Package1.dtsx');
        const original = readFileSync(corpus('vglukhov', 'Package1.dtsx'), 'utf8');
        const server = 'SmtpServer=192.0.2.4;UseWindowsAuthentication=False;EnableSsl=False;';
        assert.ok(original.includes(server));
        writeFileSync(file, original.replace(server,
          'SmtpServer=127.0.0.1;Password==CANARY-PW-789;UserName=u'));
        const message = 'The connection string is not valid: Password…: is not a key of an ' +
          'SMTP connection string (its value is not shown; the key is cut after "Password", ' +
          'as what follows may be a secret).';
        const inspect = await smtpcm('inspect', file);
        assert.equal(inspect.code, 1);
        assert.ok(inspect.stdout.includes(`connection manager "SMTP Connection Manager": ` +
          message), inspect.stdout);
        const json = await smtpcm('inspect', file, '--json');
        const problems = JSON.parse(json.stdout).problems as Array<{ message: string }>;
        assert.ok(problems.some((p) => p.message.startsWith(message)), json.stdout);
        const run = await smtpcm('run', file, '--dry-run');
        assert.equal(run.code, 1);
        assert.ok(run.stdout.includes(message), run.stdout);
        for (const output of [inspect, json, run]) {
          assert.ok(!`${output.stdout}${output.stderr}`.includes('CANARY'), output.stdout);
        }
        // The connection string shown beside the problem is masked on the same rule.
        for (const typed of ['Password:CANARY-PW-789;UserName=u', 'AccessToken:CANARY=x',
          'Password CANARY-PW-789;UserName=u', 'Password CANARY-PW-789']) {
          writeFileSync(file, original.replace(server, `SmtpServer=127.0.0.1;${typed}`));
          for (const args of [['inspect'], ['inspect', '--json'], ['run', '--dry-run']]) {
            const output = await smtpcm(args[0]!, file, ...args.slice(1));
            assert.equal(output.code, 1);
            assert.ok(!`${output.stdout}${output.stderr}`.includes('CANARY'), output.stdout);
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

  it('an unknown key in the connection string gets the unknown key\'s fix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtpcm-unknown-key-'));
    try {
      const file = join(dir, 'Package1.dtsx');
      const original = readFileSync(corpus('vglukhov', 'Package1.dtsx'), 'utf8');
      writeFileSync(file, original.replace(
        'SmtpServer=192.0.2.4;UseWindowsAuthentication=False;EnableSsl=False;',
        'SmtpServer=127.0.0.1;Pwd=x;'));
      const message = 'The connection string is not valid: Pwd: is not a key of an SMTP ' +
        'connection string (its value is not shown).';
      const fix = 'Did you mean Password? The keys are: SmtpServer, UseWindowsAuthentication, ' +
        'EnableSsl, Timeout, Port, SecureSocketOptions, UserName, Password, Domain, ' +
        'TargetName, AuthMechanisms, AccessToken, ClientDomain, TrustServerCertificate, ' +
        'CaFile, CertificateThumbprint, MinTlsVersion, AllowInsecureAuth, MaxConnections, ' +
        'MaxMessagesPerConnection, DeliveryMethod, PickupDirectoryLocation.';
      const inspect = await smtpcm('inspect', file, '--json');
      const problems = JSON.parse(inspect.stdout).problems as Array<Record<string, string>>;
      assert.deepEqual(problems.filter((p) => p.code === 'invalid-connection-string'), [{
        severity: 'error', code: 'invalid-connection-string',
        where: 'connection manager "SMTP Connection Manager"', message, fix }]);
      const run = await smtpcm('run', file, '--dry-run');
      assert.equal(run.code, 1);
      assert.ok(run.stdout.split('\n').includes(`         ${message} ${fix}`), run.stdout);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('run refuses a --param out of its integer type\'s range, naming the range', async () => {
    const result = await smtpcm('run', corpus('dataalias', 'AzureFunction_pg_CallDataFactory.dtsx'),
      '--event', 'OnError', '--connection', 'SMTP Connection Manager=SmtpServer=127.0.0.1;Port=1;',
      '--param', 'pkg_IssueId=4294967296', '--dry-run');
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'smtpcm: $Package::pkg_IssueId: "4294967296" is not an integer ' +
      '(DT_I4) from -2147483648 to 2147483647. Give a value of the variable\'s type (DT_I4).\n');
  });

  it('an assignment without "=" is answered with an example of its own option', async () => {
    const file = corpus('lucmilot', 'SendMailTask.dtsx');
    const cases: Array<[string, string, string]> = [
      ['--param', 'prj_To_ErrorMail', 'smtpcm: --param: "prj_To_ErrorMail" is not NAME=VALUE. ' +
        'Write --param NAME=VALUE, e.g. --param $Project::X=hello.\n'],
      ['--param', 'prj_Password:CANARY-PW-1', 'smtpcm: --param: "prj_Password…" (cut after ' +
        '"Password": what follows may be a secret) is not NAME=VALUE. Write --param ' +
        'NAME=VALUE, e.g. --param $Project::X=hello.\n'],
      ['--set', 'X', 'smtpcm: --set: "X" is not NAME=VALUE. Write --set NAME=VALUE, e.g. ' +
        '--set User::X=hello.\n'],
      ['--connection', 'X', 'smtpcm: --connection: "X" is not NAME=VALUE. Write ' +
        '--connection NAME=VALUE, e.g. --connection "SMTP Connection Manager=SmtpServer=' +
        'smtp.example.com;".\n'],
    ];
    for (const [option, argument, expected] of cases) {
      const result = await smtpcm('run', file, option, argument);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, expected);
    }
  });

  it('run exits 1 on a bad override, with a sentence naming it', async () => {
    const result = await smtpcm('run', corpus('lucmilot', 'SendMailTask.dtsx'),
      '--connection', 'Nope=SmtpServer=127.0.0.1;');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--connection Nope: names no connection manager/);
  });
});
