/**
 * Runs the CLI from source as a child process (`node --import tsx src/cli/main.ts`), so the
 * tests need no build. Asynchronous, so an in-process test server keeps answering.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
// Resolved here, so the CLI can run from any working directory (a project folder in /tmp).
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Kill the child after this long (a test must finish by itself). Default 60 s. */
  timeoutMs?: number;
}

export interface RunningCli {
  child: ChildProcess;
  /** Everything printed so far. */
  output: { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in stdout (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves when the process has ended. */
  exited: Promise<CliResult>;
}

/** Starts the CLI; the caller reads its output and ends it. */
export function startCli(args: string[], options: RunOptions = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output.stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...output });
    });
  });
  const waitFor = async (pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(output.stdout);
      if (match) {
        return match;
      }
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(
          `no output matching ${pattern}; stdout: ${output.stdout} stderr: ${output.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, output, waitFor, exited };
}

/** Runs the CLI to its end and collects what it printed. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return startCli(args, options).exited;
}
