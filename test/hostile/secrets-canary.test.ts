/**
 * The secrets canary: the client, the connection manager and the CLI run with a known
 * password and a known OAuth2 token, through success, a wrong password, a timeout and a drop
 * inside AUTH, and `--json` and `--debug` output. Every output, log line, error (message,
 * stack, JSON, inspection, transcript, cause chain), transcript and report is collected, and
 * none may contain the secrets or their base64 forms (`canaryForms()` in helpers.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { after, before, test } from 'node:test';
import type { AuthOptions } from '../../src/auth/mechanism.js';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { formatTranscriptLine } from '../../src/log.js';
import { Secret } from '../../src/secret.js';
import { startFaultServer, type FaultServer, type ServeOptions }
  from '../support/fault-server.js';
import { testCertificates } from '../support/test-ca.js';
import {
  CANARY_PASSWORD,
  CANARY_TOKEN,
  CANARY_USER,
  ENVELOPE,
  MARGIN_MS,
  WAIT_MS,
  assertNoSecrets,
  faultClient,
  recordingLogger,
  runSession,
  within,
} from './helpers.js';

const certificates = testCertificates();
const servers: FaultServer[] = [];
let workDir = '';
let caFile = '';

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'smtpcm-canary-'));
  caFile = join(workDir, 'ca.pem');
  await writeFile(caFile, certificates.ca);
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(workDir, { recursive: true, force: true });
});

type AuthEnding = NonNullable<ServeOptions['auth']>;
const ENDINGS: AuthEnding[] = ['accept', 'reject', 'stall', 'drop'];

/** A STARTTLS server offering `mechanisms`, ending AUTH as `ending`. */
async function authServer(ending: AuthEnding, mechanisms = 'PLAIN LOGIN XOAUTH2 OAUTHBEARER'):
  Promise<FaultServer> {
  const server = await startFaultServer(async (peer) => {
    peer.reply('220 mx.fault.test ESMTP');
    await peer.serve({
      keywords: ['PIPELINING', 'STARTTLS'],
      tlsKeywords: ['PIPELINING', `AUTH ${mechanisms}`],
      certificate: certificates.valid,
      auth: ending,
    });
  });
  servers.push(server);
  return server;
}

/** Everything an error can show: message, stack, JSON, inspection, transcript, causes. */
function everythingOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? '', JSON.stringify(current));
      parts.push(inspect(current, { depth: 10, showHidden: true }));
      current = current.cause;
    } else {
      parts.push(inspect(current, { depth: 10 }));
      current = undefined;
    }
  }
  return parts.join('\n');
}

const AUTHS: Array<[string, () => AuthOptions]> = [
  ['PLAIN', () => ({ username: CANARY_USER, password: new Secret(CANARY_PASSWORD),
    mechanisms: ['PLAIN'] })],
  ['LOGIN', () => ({ username: CANARY_USER, password: new Secret(CANARY_PASSWORD),
    mechanisms: ['LOGIN'] })],
  ['XOAUTH2', () => ({ username: CANARY_USER, accessToken: new Secret(CANARY_TOKEN),
    mechanisms: ['XOAUTH2'] })],
  ['OAUTHBEARER', () => ({ username: CANARY_USER, accessToken: new Secret(CANARY_TOKEN),
    mechanisms: ['OAUTHBEARER'] })],
];

for (const [mechanism, auth] of AUTHS) {
  for (const ending of ENDINGS) {
    test(`client, ${mechanism}, AUTH ${ending}: no secret in any output`, async () => {
      const server = await authServer(ending);
      const logger = recordingLogger();
      const client = faultClient({ port: server.port, secure: 'StartTls',
        tls: { ca: certificates.ca }, auth: auth(), logger });
      const outcome = await within(4 * WAIT_MS + MARGIN_MS, () => runSession(client));
      if (ending === 'accept') assert.equal(outcome.error, undefined, String(outcome.error));
      else assert.ok(outcome.error instanceof Error);
      const everything = [
        ...client.lines, ...logger.lines, ...client.recentTranscript,
        everythingOf(outcome.error), JSON.stringify(outcome.result ?? null),
        inspect(client, { depth: 10, showHidden: true }),
      ].join('\n');
      assertNoSecrets(everything, `the ${mechanism} session (${ending})`);
      // The masked exchange still shows that AUTH happened.
      assert.ok(client.lines.some((line) => line.startsWith(`C: AUTH ${mechanism}`)));
    });
  }
}

test('connection manager: send and testConnection through every AUTH ending, no secret',
  async () => {
    for (const ending of ENDINGS) {
      const server = await authServer(ending, 'PLAIN LOGIN');
      const logger = recordingLogger();
      const lines: string[] = [];
      const connectionString = `SmtpServer=127.0.0.1;Port=${server.port};EnableSsl=True;` +
        `SecureSocketOptions=StartTls;UserName=${CANARY_USER};Password=${CANARY_PASSWORD};` +
        `CaFile=${caFile};Timeout=1;`;
      const manager = new SmtpConnectionManager({ connectionString, logger,
        transcript: (line) => lines.push(formatTranscriptLine(line)) });
      const report = await within(4_000 + MARGIN_MS, () => manager.testConnection());
      const sent = await within(8_000 + MARGIN_MS, () =>
        manager.send(ENVELOPE, 'Subject: canary\r\n\r\nHi.\r\n').then((r) => r, (e) => e));
      await manager.close();
      if (ending === 'accept') assert.equal(report.success, true, JSON.stringify(report.error));
      else assert.equal(report.success, false);
      const everything = [
        JSON.stringify(report), inspect(report, { depth: 10 }), manager.toString(),
        everythingOf(sent), JSON.stringify(sent), ...logger.lines, ...lines,
        inspect(manager, { depth: 10, showHidden: true }),
        JSON.stringify(manager.properties), inspect(manager.properties, { depth: 5 }),
        JSON.stringify(manager.validate()),
      ].join('\n');
      assertNoSecrets(everything, `the connection manager (${ending})`);
    }
  });

// --- The CLI, as a child process ---------------------------------------------------------------

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

interface CliRun {
  code: number | null;
  output: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd: workDir,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('CLI: test-connection, send, connection-string, with --json and --debug: no secret',
  { timeout: 120_000 }, async () => {
    const jobs: Array<[string, () => Promise<CliRun>]> = [];
    const env = { SMTPCM_CANARY: CANARY_PASSWORD };
    for (const ending of ENDINGS) {
      const server = await authServer(ending, 'PLAIN LOGIN');
      // The literal password with human output, the env: reference with --json.
      const variants: Array<[string, string[]]> = [[CANARY_PASSWORD, []],
        ['env:SMTPCM_CANARY', ['--json']]];
      for (const [password, extra] of variants) {
        const connection = `SmtpServer=127.0.0.1;Port=${server.port};EnableSsl=True;` +
          `UserName=${CANARY_USER};Password=${password};CaFile=${caFile};Timeout=1;`;
        const suffix = extra.join('');
        jobs.push([`test-connection ${ending} ${suffix}`, () =>
          cli(['--debug', 'test-connection', '--connection', connection, ...extra], env)]);
        jobs.push([`send ${ending} ${suffix}`, () => cli(['--debug', 'send',
          '--connection', connection, '--from', 'a@fault.test', '--to', 'b@fault.test',
          '--subject', 'canary', '--body', 'hello', ...extra], env)]);
      }
    }
    const literal = `SmtpServer=mx.fault.test;UserName=u;Password=${CANARY_PASSWORD};` +
      `AccessToken=${CANARY_TOKEN};`;
    for (const sub of ['parse', 'format', 'validate']) {
      jobs.push([`connection-string ${sub}`, () => cli(['connection-string', sub, literal])]);
    }
    jobs.push(['misspelt key', () => cli(['connection-string', 'parse',
      `SmtpServer=mx;Pasword=${CANARY_PASSWORD};`])]);
    jobs.push(['bad value', () => cli(['--debug', 'test-connection', '--connection',
      `SmtpServer=127.0.0.1;Port=1;Password=${CANARY_PASSWORD};Timeout=abc;`])]);
    // A few children at a time: each one spends most of its time loading TypeScript.
    const runs: Array<[string, CliRun]> = [];
    for (let i = 0; i < jobs.length; i += 6) {
      const batch = jobs.slice(i, i + 6);
      const done = await Promise.all(batch.map(([, job]) => job()));
      batch.forEach(([name], index) => runs.push([name, done[index]!]));
    }
    for (const [name, run] of runs) assertNoSecrets(run.output, `the CLI output of ${name}`);
    // The runs did what they say: success exits 0, a refused password does not.
    const accepted = runs.find(([name]) => name === 'test-connection accept ')![1];
    assert.equal(accepted.code, 0, accepted.output);
    const rejected = runs.find(([name]) => name === 'send reject --json')![1];
    assert.notEqual(rejected.code, 0);
    assert.match(rejected.output, /535|credentials/i);
  });
