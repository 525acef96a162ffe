/**
 * The `smtpcm` CLI as a benchmark client: builds it when needed, runs it as a child process
 * and measures the child's peak RSS by polling `/proc/<pid>/status` (`VmHWM`) until it exits.
 *
 * Why polling and not `ru_maxrss`: Linux carries `ru_maxrss` across `exec` from the address
 * space the child was forked with, so a child of the harness would report the harness's size
 * (see docs/benchmarks.md). `VmHWM` belongs to the address space after `exec`; readings taken
 * before the `exec` (while `/proc/<pid>/cmdline` is still the harness's) are ignored.
 * `VmHWM` only grows, so the last reading is the peak up to one poll interval before exit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ClientResult } from './clients/result.js';

/**
 * The `VmHWM` line of a `/proc/<pid>/status` text in octets (the kernel writes kB, meaning
 * KiB). `undefined` when there is no such line: a zombie or a kernel thread has none.
 */
export function parseVmHwm(status: string): number | undefined {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/**
 * User and system CPU time, in clock ticks, from a `/proc/<pid>/stat` line (fields 14 and 15,
 * proc(5)). The command name (field 2) may hold spaces and parentheses, so the fields are
 * counted after its last `)`. `undefined` when the line is not in that format.
 */
export function parseStatCpuTicks(stat: string): { user: number; system: number } | undefined {
  const end = stat.lastIndexOf(')');
  if (end < 0) return undefined;
  // After ")": field 3 (state) is index 0, so field N is index N - 3.
  const fields = stat.slice(end + 1).trim().split(/\s+/);
  const user = Number(fields[14 - 3]);
  const system = Number(fields[15 - 3]);
  if (!Number.isInteger(user) || !Number.isInteger(system)) return undefined;
  return { user, system };
}

/**
 * Whether a `/proc/<pid>/cmdline` text (arguments separated and ended by NUL) ends with
 * `args`: true once the child has exec'd the command, false while it is still a copy of the
 * parent.
 */
export function cmdlineEndsWith(cmdline: string, args: readonly string[]): boolean {
  const argv = cmdline.split('\0');
  if (argv[argv.length - 1] === '') argv.pop();
  if (argv.length < args.length) return false;
  const tail = argv.slice(argv.length - args.length);
  return tail.every((arg, i) => arg === args[i]);
}

export interface PeakRssRun {
  exitCode: number | null;
  /** Spawn to exit. */
  wallSeconds: number;
  /** The last `VmHWM` read after the exec; 0 when none was (the child exited too fast). */
  peakRssBytes: number;
  /** From the last `/proc/<pid>/stat` read: a lower bound, short by up to one interval. */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  /** Readings taken after the exec. */
  samples: number;
  stdout: string;
  /** The last 8 KiB. */
  stderr: string;
}

export interface PeakRssOptions {
  cwd: string;
  /** Kills the child with SIGKILL after this long. */
  timeoutMs: number;
  /** Default 5 ms. */
  pollMs?: number;
}

const CLOCK_TICKS_PER_SECOND = Number(
  spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim() || 100,
);

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined; // Gone, or not Linux.
  }
}

/**
 * Runs `command args` and polls its `/proc/<pid>/status` every `pollMs` until it exits.
 * Resolves with its exit code and figures, whatever the code; rejects only when it cannot be
 * spawned. Linux only (elsewhere the RSS stays 0).
 */
export function runWithPeakRss(
  command: string,
  args: string[],
  options: PeakRssOptions,
): Promise<PeakRssRun> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    let samples = 0;
    let ticks = { user: 0, system: 0 };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = (stdout + chunk.toString()).slice(-65536);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8192);
    });
    const sample = (): void => {
      const pid = child.pid;
      if (pid === undefined) return;
      const cmdline = readProc(pid, 'cmdline');
      if (cmdline === undefined || !cmdlineEndsWith(cmdline, args)) return;
      const hwm = parseVmHwm(readProc(pid, 'status') ?? '');
      if (hwm === undefined) return;
      samples += 1;
      peak = Math.max(peak, hwm);
      ticks = parseStatCpuTicks(readProc(pid, 'stat') ?? '') ?? ticks;
    };
    const poll = setInterval(sample, options.pollMs ?? 5);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\nkilled after ${options.timeoutMs} ms`;
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolvePromise({
        exitCode: code,
        wallSeconds: (performance.now() - started) / 1000,
        peakRssBytes: peak,
        cpuUserSeconds: ticks.user / CLOCK_TICKS_PER_SECOND,
        cpuSystemSeconds: ticks.system / CLOCK_TICKS_PER_SECOND,
        samples,
        stdout,
        stderr,
      });
    });
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Makes `<smtpcmRoot>/bin/smtpcm.js` runnable. For the repository itself (`isWorktree`):
 * `npm run build` when `dist/src/cli/main.js` is missing or older than a file of `src/`. For
 * a snapshot (bench/.smtpcm-snapshot, fresh each run): compiles its `src/` into its own
 * `dist/` with the project's build settings, leaving the repository's `dist/` alone. Returns
 * what it did; throws with the compiler's output when the build fails.
 */
export function ensureCliBuilt(
  smtpcmRoot: string,
  isWorktree: boolean,
  repositoryRoot: string,
): string {
  const main = join(smtpcmRoot, 'dist/src/cli/main.js');
  if (isWorktree) {
    const fresh =
      existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(smtpcmRoot, 'src'));
    if (fresh) return 'dist/ is up to date';
    const build = spawnSync('npm', ['run', 'build', '--silent'], {
      cwd: smtpcmRoot,
      encoding: 'utf8',
    });
    if (build.status !== 0) {
      throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`.slice(0, 4000));
    }
    return 'built dist/ with npm run build';
  }
  const tsconfig = join(smtpcmRoot, 'tsconfig.cli.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(repositoryRoot, 'tsconfig.build.json'),
      compilerOptions: { rootDir: '.', outDir: 'dist', sourceMap: false, declaration: false },
      include: ['src/**/*.ts'],
    }),
  );
  const tsc = join(repositoryRoot, 'node_modules/typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', tsconfig], {
    cwd: smtpcmRoot,
    encoding: 'utf8',
  });
  if (build.status !== 0 || !existsSync(main)) {
    const output = `${build.stdout}${build.stderr}`.slice(0, 4000);
    throw new Error(`Building the CLI snapshot failed:\n${output}`);
  }
  return 'built the snapshot with tsc';
}

/** What the CLI clients need to run. */
export interface CliRunSpec {
  /** `send`: the 300 MB send; `version`: `smtpcm --version`, the baseline. */
  mode: 'send' | 'version';
  smtpcmRoot: string;
  host: string;
  port: number;
  from: string;
  to: string;
  attachmentPath: string;
  attachmentBytes: number;
  timeoutMs: number;
}

/** The CLI's arguments for `spec` (after `node`). */
export function cliArguments(spec: CliRunSpec): string[] {
  const bin = join(spec.smtpcmRoot, 'bin/smtpcm.js');
  if (spec.mode === 'version') return [bin, '--version'];
  return [
    bin,
    'send',
    '--connection',
    `SmtpServer=${spec.host};Port=${spec.port};`,
    '--from',
    spec.from,
    '--to',
    spec.to,
    '--subject',
    'smtpcm benchmark cli-attachment',
    '--body',
    'x',
    '--attach',
    spec.attachmentPath,
  ];
}

/**
 * Runs the CLI once and reports it as a benchmark client result: 1 message of the
 * attachment's size for `send`, 0 messages for `version`. A non-zero exit code is reported as
 * an error with the end of the CLI's stderr; CPU is from /proc (see PeakRssRun).
 */
export async function runCliClient(spec: CliRunSpec): Promise<ClientResult> {
  const run = await runWithPeakRss(process.execPath, cliArguments(spec), {
    cwd: spec.smtpcmRoot,
    timeoutMs: spec.timeoutMs,
  });
  const ok = run.exitCode === 0;
  const result: ClientResult = {
    messages: ok && spec.mode === 'send' ? 1 : 0,
    bytes: ok && spec.mode === 'send' ? spec.attachmentBytes : 0,
    wallSeconds: run.wallSeconds,
    cpuUserSeconds: run.cpuUserSeconds,
    cpuSystemSeconds: run.cpuSystemSeconds,
    peakRssBytes: run.peakRssBytes,
    errors: ok && run.samples > 0 ? 0 : 1,
  };
  if (!ok) {
    result.firstError = `exit code ${run.exitCode}: ${run.stderr.trim().slice(-500)}`;
  } else if (run.samples === 0) {
    result.firstError = 'exited before its memory could be read';
  }
  return result;
}
