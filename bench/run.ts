/**
 * `npm run bench`: smtpcm against Nodemailer, Python's smtplib and Postfix's smtp-source.
 *
 * Starts the servers (smtp-sink; the benchmark's own Postfix for CHUNKING), a delay proxy for
 * the 10 ms scenarios, runs every client of every scenario in a child process of its own,
 * alternating clients over several repetitions, and writes bench/results/latest.json,
 * bench/results/throughput.svg and bench/RESULTS.md.
 *
 * Options (argv, or the environment in brackets):
 *   --quick                small counts and one repetition, for a smoke run [BENCH_QUICK=1]
 *   --only <workload,...>  only these workloads (repeatable) [BENCH_ONLY]
 *   --reps <n>             repetitions per client, default 3 (1 with --quick) [BENCH_REPS]
 *   --window <n>           smtpcm's transactions in flight on one connection, default 8;
 *                          falls back to 1 when the engine refuses concurrent sends
 *                          [SMTPCM_BENCH_WINDOW]
 *   --smtpcm-source <ref>  which smtpcm to measure: a git ref (default HEAD), exported with
 *                          `git archive` to bench/.smtpcm-snapshot/ so edits made to src/
 *                          during the run do not change it, or `worktree` for src/ as it is
 *                          [SMTPCM_BENCH_SOURCE]
 *   --report               measure nothing: rewrite RESULTS.md and throughput.svg from
 *                          bench/results/latest.json (after editing bench/analysis.md)
 * `--only cli-attachment` (the CLI's peak RSS on a 300 MB attachment, issue 5) is a partial
 * run like any other, but its scenario is also merged into latest.json and RESULTS.md, since
 * it is cheap to measure alone and the full matrix takes ten minutes.
 * Not part of `npm test`; nothing here is asserted, targets are reported.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import MailComposer from 'nodemailer/lib/mail-composer';
import { renderChart } from './chart.js';
import { bundleNodeClient, type NodeClientBundle } from './clients/bundle.js';
import { launchClient, PYTHON } from './clients/launch.js';
import { DelayProxy } from './delay-proxy.js';
import { ensureCliBuilt, runCliClient } from './cli-rss.js';
import {
  chartPanels,
  describeMachine,
  mergeScenarios,
  renderMarkdown,
  summarizeRuns,
  targetsOf,
  type BenchResults,
  type ClientOutcome,
  type RunRecord,
  type ScenarioOutcome,
} from './report.js';
import {
  buildScenarios,
  clientOrder,
  countFor,
  isCli,
  isPool,
  isSmtpcm,
  warmupCountFor,
  type ClientId,
  type Scenario,
} from './scenarios.js';
import { ensurePostfix, startPostfixInstance, startSmtpSink, type Sink } from './sinks.js';
import {
  bodyText,
  messageDefinition,
  recipientsOf,
  SENDER,
  WORKLOAD_NAMES,
  WORKLOADS,
  type WorkloadName,
} from './workloads.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHILD_TIMEOUT_MS = 180_000;

interface Options {
  report: boolean;
  /** A git ref, or `worktree`. */
  smtpcmSource: string;
  quick: boolean;
  only: WorkloadName[];
  reps: number;
  window: number;
}

function parseOptions(argv: string[]): Options {
  let quick = process.env.BENCH_QUICK === '1';
  let report = false;
  let smtpcmSource = process.env.SMTPCM_BENCH_SOURCE ?? 'HEAD';
  const only: string[] = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
  let reps: number | undefined =
    process.env.BENCH_REPS === undefined ? undefined : Number(process.env.BENCH_REPS);
  let window = Number(process.env.SMTPCM_BENCH_WINDOW ?? 8);
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[i + 1];
      if (next === undefined) throw new Error(`${arg} needs a value.`);
      i += 1;
      return next;
    };
    if (arg === '--quick') quick = true;
    else if (arg === '--report') report = true;
    else if (arg === '--smtpcm-source') smtpcmSource = value();
    else if (arg === '--only') only.push(...value().split(','));
    else if (arg.startsWith('--only=')) only.push(...arg.slice(7).split(','));
    else if (arg === '--reps') reps = Number(value());
    else if (arg === '--window') window = Number(value());
    else {
      throw new Error(
        `Unknown option ${arg}. Options: --quick, --only, --reps, --window, --smtpcm-source, ` +
          '--report.',
      );
    }
  }
  for (const name of only) {
    if (!(WORKLOAD_NAMES as readonly string[]).includes(name)) {
      throw new Error(`Unknown workload ${name}; one of ${WORKLOAD_NAMES.join(', ')}.`);
    }
  }
  reps ??= quick ? 1 : 3;
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps needs a positive integer.');
  if (!Number.isInteger(window) || window < 1) {
    throw new Error('--window needs a positive integer.');
  }
  if (!/^[\w./@^~-]+$/.test(smtpcmSource)) {
    throw new Error(`--smtpcm-source needs a git ref or "worktree"; got ${smtpcmSource}.`);
  }
  return { report, smtpcmSource, quick, only: only as WorkloadName[], reps, window };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

const SNAPSHOT = join(root, 'bench/.smtpcm-snapshot');

/**
 * Where smtpcm's `src/` is loaded from: the repository root for `worktree`, else a fresh
 * export of `ref`'s src/ under bench/.smtpcm-snapshot (inside the repository, so its imports
 * of packages resolve to the project's node_modules). Throws when git cannot export it.
 */
async function prepareSmtpcm(source: string): Promise<{ root: string; revision: string }> {
  if (source === 'worktree') return { root, revision: `${sourceRevision()} (worktree)` };
  await rm(SNAPSHOT, { recursive: true, force: true });
  await mkdir(SNAPSHOT, { recursive: true });
  // bin/ too: the CLI client runs the snapshot's bin/smtpcm.js over its own dist/.
  const command = `git archive "${source}" src bin | tar -x -C "${SNAPSHOT}"`;
  const exported = spawnSync('sh', ['-c', command], { cwd: root, encoding: 'utf8' });
  if (exported.status !== 0) {
    throw new Error(`Cannot export src/ at ${source}: ${exported.stderr.trim()}`);
  }
  const revision = spawnSync('git', ['log', '-1', '--format=%h %cI', source, '--', 'src'], {
    cwd: root,
    encoding: 'utf8',
  }).stdout.trim();
  return { root: SNAPSHOT, revision: `${revision} (${source})` };
}

function smtpcmFilesPresent(client: ClientId, smtpcmRoot: string): boolean {
  const file = isPool(client)
    ? 'src/connection/connection-manager.ts'
    : 'src/client/smtp-client.ts';
  return existsSync(join(smtpcmRoot, file));
}

/** Writes `bytes` octets of pseudo-random data to `path`, 1 MiB at a time. */
async function writeAttachment(path: string, bytes: number): Promise<void> {
  const { randomBytes } = await import('node:crypto');
  const block = randomBytes(1024 * 1024);
  const out = createWriteStream(path);
  for (let written = 0; written < bytes; written += block.length) {
    // Vary each block so the file does not repeat with a 1 MiB period.
    block.writeUInt32BE(written / block.length, 0);
    const slice = block.subarray(0, Math.min(block.length, bytes - written));
    if (!out.write(Buffer.from(slice))) {
      await new Promise<void>((resolveDrain) => out.once('drain', () => resolveDrain()));
    }
  }
  await new Promise<void>((resolveEnd, reject) => {
    out.on('error', reject);
    out.end(resolveEnd);
  });
}

/** The last commit that touched src/, with `+dirty` when src/ has uncommitted changes. */
function sourceRevision(): string {
  const git = (args: string[]): string =>
    spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git(['log', '-1', '--format=%h %cI', '--', 'src']);
  const dirty = git(['status', '--porcelain', '--', 'src']).length > 0;
  return commit === '' ? 'unknown' : `${commit}${dirty ? ' +dirty' : ''}`;
}

function versionOf(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() || 'unknown';
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.report) {
    const saved = JSON.parse(
      readFileSync(join(root, 'bench/results/latest.json'), 'utf8'),
    ) as BenchResults;
    saved.targets = targetsOf(saved.scenarios);
    await writeOutputs(saved);
    return;
  }
  const started = performance.now();
  const loadAverageStart = loadavg()[0];
  const smtpcm = await prepareSmtpcm(options.smtpcmSource);
  const smtpcmRevision = smtpcm.revision;
  const scenarios = buildScenarios({ quick: options.quick, only: options.only });
  await ensurePostfix(log);

  const work = await mkdtemp(join(tmpdir(), 'smtpcm-bench-'));
  const sinks = new Map<Scenario['sink'], Sink>();
  const proxies: DelayProxy[] = [];
  let nodeClient: NodeClientBundle | undefined;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const proxy of proxies) await proxy.close();
    for (const sink of sinks.values()) await sink.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
    await nodeClient?.remove();
    if (smtpcm.root !== root) await rm(smtpcm.root, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    log('Interrupted: stopping the servers.');
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // Once per run: every Node client runs this bundle under plain node (no tsx).
    nodeClient = await bundleNodeClient(smtpcm.root);
    log(`Node client bundled with smtpcm ${smtpcmRevision}: ${nodeClient.path}`);
    const skippedSinks = new Map<Scenario['sink'], string>();
    sinks.set('smtp-sink', await startSmtpSink());
    if (scenarios.some((s) => s.sink === 'postfix')) {
      try {
        sinks.set('postfix', await startPostfixInstance());
      } catch (error) {
        skippedSinks.set('postfix', String(error));
        log(String(error));
      }
    }
    for (const sink of sinks.values()) {
      log(`${sink.kind} on ${sink.host}:${sink.port}: ${sink.extensions.join(' ')}`);
    }

    // The message each workload sends, composed once, for the clients that send prebuilt bytes.
    const messageFiles = new Map<WorkloadName, { path: string; bytes: number }>();
    let attachmentPath: string | undefined;
    for (const name of new Set(scenarios.map((s) => s.workload))) {
      const workload = WORKLOADS[name];
      if (workload.attachmentBytes !== undefined) {
        // One file for every workload that attaches one (they are all 300 MB).
        if (attachmentPath === undefined) {
          attachmentPath = join(work, 'attachment.bin');
          log(`Writing a ${workload.attachmentBytes / 1024 / 1024} MB attachment file...`);
          await writeAttachment(attachmentPath, workload.attachmentBytes);
        }
        continue;
      }
      const definition = messageDefinition(workload, 0, bodyText(workload.textBytes));
      const message = await new MailComposer(definition).compile().build();
      const path = join(work, `${name}.eml`);
      await writeFile(path, message);
      messageFiles.set(name, { path, bytes: message.length });
    }

    if (scenarios.some((s) => s.clients.some(isCli))) {
      log(`CLI: ${ensureCliBuilt(smtpcm.root, smtpcm.root === root, root)}.`);
    }

    let window = options.window;
    let smtpcmAvailable = smtpcmFilesPresent('smtpcm-1', smtpcm.root);
    const unavailable = new Map<ClientId, string>();
    if (smtpcmAvailable && window > 1) {
      window = await probeWindow(
        sinks.get('smtp-sink') as Sink,
        messageFiles,
        window,
        nodeClient.path,
      );
    }

    const outcomes: ScenarioOutcome[] = [];
    for (const scenario of scenarios) {
      const sink = sinks.get(scenario.sink);
      const file = messageFiles.get(scenario.workload);
      const outcome: ScenarioOutcome = {
        scenario,
        messageBytes: file?.bytes ?? WORKLOADS[scenario.workload].attachmentBytes ?? 0,
        sinkExtensions: sink?.extensions ?? [],
        clients: [],
      };
      outcomes.push(outcome);
      if (sink === undefined) {
        outcome.skipped = skippedSinks.get(scenario.sink) ?? 'server not started';
        continue;
      }
      let proxy: DelayProxy | undefined;
      let port = sink.port;
      if (scenario.rttMs > 0) {
        proxy = new DelayProxy({
          targetHost: sink.host,
          targetPort: sink.port,
          upstreamDelayMs: scenario.rttMs / 2,
          downstreamDelayMs: scenario.rttMs / 2,
        });
        proxies.push(proxy);
        port = await proxy.start();
      }
      const byClient = new Map<ClientId, ClientOutcome>();
      for (const client of scenario.clients) {
        const count = countFor(scenario, client);
        byClient.set(client, { client, count, runs: [], figures: {} });
      }
      log(`== ${scenario.id}`);
      const scenarioStarted = performance.now();
      for (let rep = 0; rep < options.reps; rep += 1) {
        for (const client of clientOrder(scenario.clients, rep)) {
          const record = byClient.get(client) as ClientOutcome;
          if (isSmtpcm(client) && !smtpcmFilesPresent(client, smtpcm.root)) {
            unavailable.set(client, 'engine files missing');
            continue;
          }
          if (unavailable.has(client)) continue;
          proxy?.resetStats();
          const run: RunRecord = { rep, ok: false };
          try {
            const launch = isCli(client)
              ? runCliClient({
                  mode: client === 'smtpcm-cli' ? 'send' : 'version',
                  smtpcmRoot: smtpcm.root,
                  host: sink.host,
                  port,
                  from: SENDER,
                  to: recipientsOf(WORKLOADS[scenario.workload]).join(','),
                  attachmentPath: attachmentPath ?? '',
                  attachmentBytes: WORKLOADS[scenario.workload].attachmentBytes ?? 0,
                  timeoutMs: CHILD_TIMEOUT_MS,
                })
              : launchClient({
              client,
              workload: WORKLOADS[scenario.workload],
              host: sink.host,
              port,
              count: record.count,
              messagePath: file?.path ?? '',
              messageBytes: file?.bytes ?? 0,
              attachmentPath,
              window,
              warmupCount: warmupCountFor(scenario, client),
              warmupPort: sink.port,
              nodeClient: nodeClient.path,
              timeoutMs: CHILD_TIMEOUT_MS,
            });
            const result = await launch;
            run.result = result;
            run.ok = result.errors === 0;
            if (!run.ok) run.error = `${result.errors} messages failed: ${result.firstError}`;
          } catch (error) {
            run.error = error instanceof Error ? error.message : String(error);
            if (isSmtpcm(client) && /does not export|Cannot find module/.test(run.error)) {
              unavailable.set(client, run.error);
            }
          }
          if (proxy !== undefined) {
            const stats = proxy.stats();
            run.turns = stats.turns;
            run.connections = stats.connections;
          }
          record.runs.push(run);
          log(progressLine(client, rep, run));
        }
      }
      for (const record of byClient.values()) {
        record.figures = summarizeRuns(record.runs);
        if (record.runs.length > 0) outcome.clients.push(record);
      }
      if (proxy !== undefined) await proxy.close();
      outcome.elapsedSeconds = (performance.now() - scenarioStarted) / 1000;
      log(`   (${outcome.elapsedSeconds.toFixed(0)} s)`);
    }

    smtpcmAvailable = outcomes.some((o) =>
      o.clients.some((c) => isSmtpcm(c.client) && c.runs.some((r) => r.ok)),
    );
    const results: BenchResults = {
      machine: describeMachine({
        python: versionOf(PYTHON, ['--version']),
        postfix: versionOf('postconf', ['-d', '-h', 'mail_version']),
      }, loadAverageStart),
      config: {
        quick: options.quick,
        repetitions: options.reps,
        only: options.only,
        smtpcmWindow: window,
        smtpcmAvailable,
        smtpcmRevision,
        composition:
          'Nodemailer and smtpcm compose every message with the same MailComposer from the ' +
          'same definition (Nodemailer inside sendMail, smtpcm before send, as a Buffer; the ' +
          'attachment as a stream from the file). Python smtplib, smtp-source and the ' +
          '"prebuilt bytes" rows (smtpcm; Nodemailer through sendMail with raw) send one ' +
          'message composed once by MailComposer. The smtpcm pool of 8 uses ' +
          'pool.sharedSessions (each connection pipelines up to the window).',
        rttMethod:
          'the delay proxy counts turns per connection: a server-to-client chunk after ' +
          'client-to-server data (10 ms scenarios); session set-up (EHLO, QUIT) is included.',
        elapsedSeconds: (performance.now() - started) / 1000,
      },
      scenarios: outcomes,
      targets: targetsOf(outcomes),
    };
    if (!options.quick && options.only.length === 0) {
      await writeOutputs(results);
    } else {
      await writeOutputs(results, 'quick');
      if (!options.quick) await mergeIntoLatest(results, ['cli-attachment']);
    }
    for (const [client, reason] of unavailable) log(`${client} not measured: ${reason}`);
    log(`Done in ${results.config.elapsedSeconds.toFixed(0)} s.`);
  } finally {
    await cleanup();
  }
}

/**
 * Puts the scenarios of `partial` whose workload is one of `workloads` into
 * bench/results/latest.json (keeping every other scenario) and re-renders RESULTS.md and the
 * chart from it. Does nothing when the run had none of them, or when there is no
 * latest.json yet (a full run writes it).
 */
async function mergeIntoLatest(partial: BenchResults, workloads: WorkloadName[]): Promise<void> {
  const scenarios = partial.scenarios.filter(
    (s) => workloads.includes(s.scenario.workload) && s.skipped === undefined,
  );
  const latestPath = join(root, 'bench/results/latest.json');
  if (scenarios.length === 0) return;
  if (!existsSync(latestPath)) {
    log('No bench/results/latest.json to merge into: run the full matrix first.');
    return;
  }
  const base = JSON.parse(readFileSync(latestPath, 'utf8')) as BenchResults;
  await writeOutputs(mergeScenarios(base, { ...partial, scenarios }));
  log(`Merged ${scenarios.map((s) => s.scenario.id).join(', ')} into latest.json.`);
}

/**
 * Checks that smtpcm accepts `window` concurrent sends on one connection: 40 messages, window
 * `window`, against smtp-sink. Returns `window` when none failed, else 1 (one at a time).
 */
async function probeWindow(
  sink: Sink,
  files: Map<WorkloadName, { path: string; bytes: number }>,
  window: number,
  nodeClient: string,
): Promise<number> {
  const file = files.get('small-2kb');
  try {
    const result = await launchClient({
      client: 'smtpcm-1',
      workload: WORKLOADS['small-2kb'],
      host: sink.host,
      port: sink.port,
      count: 40,
      messagePath: file?.path ?? '',
      messageBytes: file?.bytes ?? 0,
      window,
      warmupCount: 0,
      warmupPort: sink.port,
      nodeClient,
      timeoutMs: 30_000,
    });
    if (result.errors === 0) return window;
    log(`smtpcm refused ${window} sends in flight (${result.firstError}); using 1.`);
  } catch (error) {
    log(`smtpcm failed with ${window} sends in flight (${String(error)}); using 1.`);
  }
  return 1;
}

function progressLine(client: ClientId, rep: number, run: RunRecord): string {
  const head = `  ${client.padEnd(15)} rep ${rep + 1}:`;
  if (!run.ok || run.result === undefined) return `${head} FAILED ${run.error ?? ''}`;
  const r = run.result;
  if (r.messages === 0) {
    return `${head} ${(r.peakRssBytes / 1024 / 1024).toFixed(0)} MB RSS, no message sent`;
  }
  const cpu = ((r.cpuUserSeconds + r.cpuSystemSeconds) / r.messages) * 1e6;
  const turns = run.turns === undefined ? '' : `, ${(run.turns / r.messages).toFixed(2)} turns/msg`;
  return (
    `${head} ${(r.messages / r.wallSeconds).toFixed(1)} msg/s, ` +
    `${(r.bytes / r.wallSeconds / 1024 / 1024).toFixed(1)} MB/s, ${cpu.toFixed(0)} µs CPU/msg, ` +
    `${(r.peakRssBytes / 1024 / 1024).toFixed(0)} MB RSS${turns}`
  );
}

/**
 * Writes latest.json, throughput.svg and RESULTS.md; a partial run (`--quick` or `--only`)
 * writes `<kind>.json` and `<kind>.svg` under bench/results/ and `RESULTS-<kind>.md` there
 * too, so it never overwrites the full results.
 */
async function writeOutputs(results: BenchResults, kind?: string): Promise<void> {
  const dir = join(root, 'bench/results');
  await mkdir(dir, { recursive: true });
  const analysisPath = join(root, 'bench/analysis.md');
  const analysis = existsSync(analysisPath) ? readFileSync(analysisPath, 'utf8') : '';
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const svg = renderChart(
    'smtpcm benchmark: throughput (median; line: min–max)',
    chartPanels(results.scenarios),
  );
  const markdown = kind === undefined
    ? renderMarkdown(results, analysis)
    : renderMarkdown(results, '', { json: `${kind}.json`, svg: `${kind}.svg` });
  if (kind === undefined) {
    await writeFile(join(dir, 'latest.json'), json);
    await writeFile(join(dir, 'throughput.svg'), svg);
    await writeFile(join(root, 'bench/RESULTS.md'), markdown);
    log('Wrote bench/results/latest.json, bench/results/throughput.svg, bench/RESULTS.md.');
  } else {
    await writeFile(join(dir, `${kind}.json`), json);
    await writeFile(join(dir, `${kind}.svg`), svg);
    await writeFile(join(dir, `RESULTS-${kind}.md`), markdown);
    log(`Partial run: wrote bench/results/${kind}.json, ${kind}.svg, RESULTS-${kind}.md.`);
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
