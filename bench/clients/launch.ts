/**
 * Starts one client run in a child process of its own and collects its figures. Node clients
 * run the bundle of bench/clients/node-client.ts (bundle.ts) under plain `node`; Python runs
 * bench/clients/python-smtplib.py with Debian's /usr/bin/python3; smtp-source runs under
 * bench/clients/rusage.py, which reports the process's own CPU time and peak RSS from
 * wait4().
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTP_SOURCE } from '../sinks.js';
import { isPrebuilt, type ClientId } from '../scenarios.js';
import { recipientsOf, SENDER, type Workload } from '../workloads.js';
import type { NodeClientSpec } from './node-client.js';
import { parseClientResult, type ClientResult } from './result.js';

export const PYTHON = '/usr/bin/python3';
const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '../..');

export interface LaunchSpec {
  client: ClientId;
  workload: Workload;
  host: string;
  port: number;
  count: number;
  /** The message composed once by MailComposer, for clients that send prebuilt bytes. */
  messagePath: string;
  /** Its size in octets. */
  messageBytes: number;
  attachmentPath?: string;
  /**
   * Node clients: messages sent untimed before the measured run, straight to the server at
   * `warmupPort` (not through the delay proxy, whose turn count covers the measured run only).
   */
  warmupCount: number;
  warmupPort: number;
  /** smtpcm's transaction window on one connection (see NodeClientSpec.window). */
  window: number;
  /** The bundled Node client (bundle.ts), with the smtpcm measured in it. */
  nodeClient: string;
  /** Kills the child after this long. */
  timeoutMs: number;
}

interface ChildOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runChild(command: string, args: string[], timeoutMs: number): Promise<ChildOutput> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      // Keep the end, where the reason is; a chatty child must not grow this without bound.
      stderr = (stderr + chunk.toString()).slice(-8192);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\nkilled after ${timeoutMs} ms`;
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Runs one client once. Throws with the child's own words when it fails. */
export async function launchClient(spec: LaunchSpec): Promise<ClientResult> {
  const { client } = spec;
  if (client === 'python-smtplib') {
    const output = await runChild(
      PYTHON,
      [
        resolve(here, 'python-smtplib.py'),
        JSON.stringify({
          host: spec.host,
          port: spec.port,
          count: spec.count,
          message_path: spec.messagePath,
          sender: SENDER,
          recipients: recipientsOf(spec.workload),
        }),
      ],
      spec.timeoutMs,
    );
    return resultOf(output);
  }
  if (client === 'smtp-source') return launchSmtpSource(spec);
  const nodeSpec: NodeClientSpec = {
    client: client.startsWith('smtpcm') ? 'smtpcm' : 'nodemailer',
    connections: client.endsWith('-8') ? 8 : 1,
    host: spec.host,
    port: spec.port,
    workload: spec.workload.name,
    count: spec.count,
    window: spec.window,
    attachmentPath: spec.attachmentPath,
    prebuiltPath: isPrebuilt(client) ? spec.messagePath : undefined,
    ...(spec.warmupCount > 0
      ? { warmup: { port: spec.warmupPort, count: spec.warmupCount } }
      : {}),
  };
  const output = await runChild(
    process.execPath,
    [spec.nodeClient, JSON.stringify(nodeSpec)],
    spec.timeoutMs,
  );
  return resultOf(output);
}

function resultOf(output: ChildOutput): ClientResult {
  if (output.code !== 0) {
    const reason = output.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`exit ${output.code}: ${reason}`);
  }
  return parseClientResult(output.stdout);
}

/**
 * smtp-source, one session (`-s 1`) that sends every message (`-d`: no disconnect between
 * messages), the prebuilt message from a file (`-F`, which it dot-stuffs and ends with CRLF
 * lines itself), `-r` recipients per message. Its figures cover the whole process, connection
 * and QUIT included (a few milliseconds).
 */
async function launchSmtpSource(spec: LaunchSpec): Promise<ClientResult> {
  const recipients = recipientsOf(spec.workload);
  const args = [
    resolve(here, 'rusage.py'),
    SMTP_SOURCE,
    '-s',
    '1',
    '-d',
    '-m',
    String(spec.count),
    '-F',
    spec.messagePath,
    '-f',
    SENDER,
    '-t',
    recipients[0],
    '-r',
    String(recipients.length),
    '-M',
    'bench.example.com',
    `${spec.host}:${spec.port}`,
  ];
  const output = await runChild(PYTHON, args, spec.timeoutMs);
  const line = output.stdout.split('\n').find((text) => text.startsWith('RUSAGE '));
  if (line === undefined) throw new Error(`rusage.py failed: ${output.stderr.trim()}`);
  const usage = JSON.parse(line.slice('RUSAGE '.length)) as {
    exitCode: number;
    wallSeconds: number;
    cpuUserSeconds: number;
    cpuSystemSeconds: number;
    peakRssBytes: number;
  };
  if (usage.exitCode !== 0) {
    throw new Error(`smtp-source exit ${usage.exitCode}: ${output.stderr.trim().slice(-500)}`);
  }
  return {
    messages: spec.count,
    bytes: spec.count * spec.messageBytes,
    wallSeconds: usage.wallSeconds,
    cpuUserSeconds: usage.cpuUserSeconds,
    cpuSystemSeconds: usage.cpuSystemSeconds,
    peakRssBytes: usage.peakRssBytes,
    errors: 0,
  };
}
