/**
 * Where a client's CPU goes: runs one Node client once under `node --cpu-prof` against a fresh
 * smtp-sink and prints the self time per source file and the top functions, to explain a missed
 * CPU target (see bench/analysis.md). The client is the benchmark's own bundle
 * (clients/bundle.ts) of src/ as it is in the worktree, under plain node as in `npm run bench`;
 * its lines are mapped back to their source files by esbuild's `// <path>` comments.
 *
 *   node --import tsx bench/profile.ts <smtpcm|smtpcm-raw|nodemailer|nodemailer-raw> \
 *     [workload] [count] [window]
 *
 * The `-raw` clients send the message composed once (prebuilt bytes, no composition).
 * Default workload small-2kb, count 5000, window 8 (smtpcm's transaction window, as in the
 * benchmark). The profile covers the whole process (module loading included, idle time left
 * out), unlike the benchmark's CPU figure; compare shares, not totals.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import MailComposer from 'nodemailer/lib/mail-composer';
import { bundleNodeClient } from './clients/bundle.js';
import type { NodeClientSpec } from './clients/node-client.js';
import { startSmtpSink } from './sinks.js';
import { bodyText, messageDefinition, WORKLOADS, type WorkloadName } from './workloads.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Self time in milliseconds per key, from a V8 CPU profile. */
export function selfTime(
  profile: CpuProfile,
  key: (node: ProfileNode) => string,
): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    // Idle is waiting for the server, not CPU.
    if (node === undefined || node.callFrame.functionName === '(idle)') return;
    const name = key(node);
    totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
  });
  return totals;
}

/**
 * The source file of a line (0-based) of an esbuild bundle: the last `// <path>` comment
 * before it, which esbuild writes ahead of each module's code when it does not minify. Lines
 * before the first are esbuild's own helpers.
 */
function bundleSources(bundlePath: string): (line: number) => string {
  const starts: Array<{ line: number; file: string }> = [];
  readFileSync(bundlePath, 'utf8').split('\n').forEach((text, line) => {
    const match = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(text);
    if (match !== null) starts.push({ line, file: match[1] });
  });
  return (line) => {
    let file = '(esbuild helpers)';
    for (const start of starts) {
      if (start.line > line) break;
      file = start.file;
    }
    return file;
  };
}

/** A profile frame's file, short: relative to the repository or to node_modules. */
function shortUrl(url: string): string {
  if (url === '') return '(native/runtime)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  return url.replace(`file://${root}/`, '');
}

function print(title: string, totals: Map<string, number>, limit: number): void {
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`\n${title} (total ${all.toFixed(0)} ms)\n`);
  for (const [name, ms] of [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    const share = `${((ms / all) * 100).toFixed(1).padStart(5)}%`;
    process.stdout.write(`${share}  ${ms.toFixed(0).padStart(6)} ms  ${name}\n`);
  }
}

async function main(): Promise<void> {
  const [which = 'smtpcm', workloadName = 'small-2kb', countText = '5000', windowText = '8'] =
    process.argv.slice(2);
  const workload = WORKLOADS[workloadName as WorkloadName];
  if (workload === undefined) throw new Error(`Unknown workload ${workloadName}.`);
  const dir = mkdtempSync(join(tmpdir(), 'smtpcm-profile-'));
  const bundle = await bundleNodeClient(root);
  const sink = await startSmtpSink();
  try {
    const messagePath = join(dir, 'message.eml');
    const definition = messageDefinition(workload, 0, bodyText(workload.textBytes));
    writeFileSync(messagePath, await new MailComposer(definition).compile().build());
    const spec: NodeClientSpec = {
      client: which.startsWith('nodemailer') ? 'nodemailer' : 'smtpcm',
      connections: 1,
      host: sink.host,
      port: sink.port,
      workload: workload.name,
      count: Number(countText),
      window: Number(windowText),
      prebuiltPath: which.endsWith('-raw') ? messagePath : undefined,
    };
    const child = spawnSync(
      process.execPath,
      ['--cpu-prof', `--cpu-prof-dir=${dir}`, bundle.path, JSON.stringify(spec)],
      { cwd: root, encoding: 'utf8' },
    );
    process.stdout.write(child.stdout);
    if (child.status !== 0) throw new Error(child.stderr);
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('No .cpuprofile was written.');
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const bundleUrl = pathToFileURL(bundle.path).href;
    const sourceOf = bundleSources(bundle.path);
    const fileOf = (frame: ProfileNode['callFrame']): string =>
      frame.url === bundleUrl ? sourceOf(frame.lineNumber) : shortUrl(frame.url);
    print('Self time by file', selfTime(profile, (n) => fileOf(n.callFrame)), 25);
    print(
      'Self time by function (bundled files: the line is the bundle\'s)',
      selfTime(profile, (n) => {
        const frame = n.callFrame;
        const name = frame.functionName || '(anonymous)';
        return `${name} ${fileOf(frame)}:${frame.lineNumber + 1}`;
      }),
      30,
    );
  } finally {
    await bundle.remove();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
