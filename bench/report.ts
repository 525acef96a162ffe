/**
 * The benchmark's results: their shape (as written to bench/results/latest.json), the figures
 * summarised from the runs, the machine they were measured on, and the Markdown report
 * (bench/RESULTS.md) with the targets table and the chart's panels.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import type { ChartPanel } from './chart.js';
import type { ClientResult } from './clients/result.js';
import {
  CLIENT_TITLES,
  isPool,
  isPrebuilt,
  type ClientId,
  type Scenario,
} from './scenarios.js';
import { ratioOfMedians, summarize, type Summary } from './stats.js';
import { evaluateTargets, type FigureName, type TargetOutcome } from './targets.js';
import { WORKLOADS } from './workloads.js';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  python: string;
  postfix: string;
  kernel: string;
  date: string;
  /** 1-minute load average when the run started and ended (other work on the machine). */
  loadAverageStart: number;
  loadAverageEnd: number;
}

/** One run of one client. */
export interface RunRecord {
  rep: number;
  ok: boolean;
  error?: string;
  result?: ClientResult;
  /** From the delay proxy, 10 ms scenarios only. */
  turns?: number;
  connections?: number;
}

export type Figures = Partial<Record<FigureName, Summary>>;

export interface ClientOutcome {
  client: ClientId;
  /** Messages per run. */
  count: number;
  runs: RunRecord[];
  figures: Figures;
}

export interface ScenarioOutcome {
  scenario: Scenario;
  /** Message size in octets as composed by MailComposer (message 1). */
  messageBytes: number;
  sinkExtensions: string[];
  clients: ClientOutcome[];
  /** Why the scenario did not run, when it did not. */
  skipped?: string;
  /** How long the scenario took, every repetition of every client. */
  elapsedSeconds?: number;
  /**
   * Set when the scenario was measured by a later partial run and merged into the full
   * results (see `mergeScenarios`): when, and which smtpcm.
   */
  mergedFrom?: { date: string; smtpcmRevision: string; loadAverageStart: number };
}

export interface BenchResults {
  machine: Machine;
  config: {
    quick: boolean;
    repetitions: number;
    only: string[];
    smtpcmWindow: number;
    smtpcmAvailable: boolean;
    /** The last commit that touched src/ when the run started, `+dirty` with local changes. */
    smtpcmRevision?: string;
    composition: string;
    rttMethod: string;
    elapsedSeconds: number;
  };
  scenarios: ScenarioOutcome[];
  targets: TargetOutcome[];
}

function firstLine(text: string, pattern: RegExp): string | undefined {
  return text.split('\n').find((line) => pattern.test(line));
}

/** What this machine is: CPU model from /proc/cpuinfo, cores, memory, versions, date. */
export function describeMachine(
  versions: { python: string; postfix: string },
  loadAverageStart: number,
): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const line = firstLine(readFileSync('/proc/cpuinfo', 'utf8'), /^model name\s*:/);
    if (line !== undefined) cpuModel = line.replace(/^model name\s*:\s*/, '');
  } catch {
    // Not Linux: keep os.cpus()'s model.
  }
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // Not Linux.
  }
  return {
    cpuModel,
    cores: cpus().length,
    memoryBytes: totalmem(),
    node: process.version,
    python: versions.python,
    postfix: versions.postfix,
    kernel,
    date: new Date().toISOString(),
    loadAverageStart,
    loadAverageEnd: loadavg()[0],
  };
}

/**
 * The figures of a client's successful runs:
 * - messagesPerSecond, bytesPerSecond: accepted messages (octets) / wall time;
 * - cpuSeconds (user + sys over the same span) and cpuSecondsPerMessage;
 *   the rates and cpuSecondsPerMessage are left out when a run sent no message;
 * - peakRssBytes: the process's peak RSS;
 * - turnsPerMessage: the delay proxy's turns / messages (10 ms scenarios).
 */
export function summarizeRuns(runs: RunRecord[]): Figures {
  const ok = runs.filter((run) => run.ok && run.result !== undefined);
  const results = ok.map((run) => run.result as ClientResult);
  if (results.length === 0) return {};
  const of = (pick: (r: ClientResult) => number): Summary => summarize(results.map(pick));
  const figures: Figures = {
    cpuSeconds: of((r) => r.cpuUserSeconds + r.cpuSystemSeconds),
    peakRssBytes: of((r) => r.peakRssBytes),
  };
  // A run that sends nothing (`smtpcm --version`, the CLI's baseline) has no rates.
  if (results.every((r) => r.messages > 0)) {
    figures.messagesPerSecond = of((r) => r.messages / r.wallSeconds);
    figures.bytesPerSecond = of((r) => r.bytes / r.wallSeconds);
    figures.cpuSecondsPerMessage = of((r) => (r.cpuUserSeconds + r.cpuSystemSeconds) / r.messages);
  }
  const turns = ok.filter((run) => run.turns !== undefined);
  if (turns.length === ok.length) {
    figures.turnsPerMessage = summarize(
      turns.map((run) => (run.turns as number) / (run.result as ClientResult).messages),
    );
  }
  return figures;
}

/**
 * The Nodemailer client a client is compared with: the one with as many connections, and for
 * a client sending prebuilt bytes, Nodemailer sending them too (engine against engine).
 */
export function nodemailerPeer(client: ClientId): ClientId | undefined {
  if (client.startsWith('nodemailer')) return undefined;
  if (isPrebuilt(client)) return 'nodemailer-1-raw';
  return isPool(client) ? 'nodemailer-8' : 'nodemailer-1';
}

export function lookupFigure(
  scenarios: ScenarioOutcome[],
  scenarioId: string,
  client: ClientId,
  figure: FigureName,
): Summary | undefined {
  const scenario = scenarios.find((s) => s.scenario.id === scenarioId);
  return scenario?.clients.find((c) => c.client === client)?.figures[figure];
}

/**
 * The full results `base` with the scenarios of `partial` put in: each replaces the scenario
 * of the same id, or is appended; the others are kept as they are. Each merged scenario
 * records the partial run's date, revision and load (`mergedFrom`). The targets are
 * re-evaluated; `base` is not modified.
 */
export function mergeScenarios(base: BenchResults, partial: BenchResults): BenchResults {
  const scenarios = [...base.scenarios];
  for (const outcome of partial.scenarios) {
    const merged: ScenarioOutcome = {
      ...outcome,
      mergedFrom: {
        date: partial.machine.date,
        smtpcmRevision: partial.config.smtpcmRevision ?? 'unknown',
        loadAverageStart: partial.machine.loadAverageStart,
      },
    };
    const index = scenarios.findIndex((s) => s.scenario.id === outcome.scenario.id);
    if (index >= 0) scenarios[index] = merged;
    else scenarios.push(merged);
  }
  return { ...base, scenarios, targets: targetsOf(scenarios) };
}

export function targetsOf(scenarios: ScenarioOutcome[]): TargetOutcome[] {
  return evaluateTargets((id, client, figure) => lookupFigure(scenarios, id, client, figure));
}

const MIB = 1024 * 1024;

function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(digits);
}

/** `median (min–max)` scaled by `factor`. */
function cell(summary: Summary | undefined, factor = 1, digits = 3): string {
  if (summary === undefined) return '–';
  const median = fmt(summary.median * factor, digits);
  if (summary.n === 1) return median;
  return `${median} (${fmt(summary.min * factor, digits)}–${fmt(summary.max * factor, digits)})`;
}

function ratioCell(value: number | undefined): string {
  return value === undefined ? '–' : `${value.toFixed(2)}×`;
}

function describeTargetValue(outcome: TargetOutcome): string {
  if (outcome.value === undefined) return 'not measured';
  if (outcome.target.kind === 'below') {
    return outcome.target.figure === 'peakRssBytes'
      ? `${(outcome.value / MIB).toFixed(1)} MB`
      : fmt(outcome.value);
  }
  if (outcome.target.kind === 'difference-at-most') {
    return outcome.target.figure === 'peakRssBytes'
      ? `+${(outcome.value / MIB).toFixed(1)} MB`
      : `${outcome.value >= 0 ? '+' : ''}${outcome.value.toFixed(3)}`;
  }
  return `${outcome.value.toFixed(2)}×`;
}

function describeGoal(outcome: TargetOutcome): string {
  const { kind, goal, figure } = outcome.target;
  if (kind === 'below') return figure === 'peakRssBytes' ? `< ${goal / MIB} MB` : `< ${goal}`;
  if (kind === 'difference-at-most') {
    return figure === 'peakRssBytes' ? `≤ +${goal / MIB} MB` : `≤ +${goal}`;
  }
  return kind === 'ratio-at-least' ? `≥ ${goal}×` : `≤ ${goal}×`;
}

function describeGap(outcome: TargetOutcome): string {
  if (outcome.met === undefined || outcome.gap === undefined) return '–';
  if (outcome.met) return 'none';
  if (outcome.target.kind === 'difference-at-most' || outcome.target.kind === 'below') {
    return outcome.target.figure === 'peakRssBytes'
      ? `${(outcome.gap / MIB).toFixed(1)} MB over`
      : `${outcome.gap.toFixed(3)} over`;
  }
  return outcome.target.kind === 'ratio-at-least'
    ? `needs ${outcome.gap.toFixed(2)}× more`
    : `${outcome.gap.toFixed(2)}× over`;
}

function status(outcome: TargetOutcome): string {
  if (outcome.met === undefined) return 'not measured';
  return outcome.met ? 'met' : '**missed**';
}

/**
 * Round trips a message costs in latency, from the same client at 0 and 10 ms RTT:
 * (1/rate@10ms − 1/rate@0ms) / 10 ms. `undefined` when either run is missing.
 */
export function latencyRoundTrips(
  at0: Summary | undefined,
  at10: Summary | undefined,
  rttMs: number,
): number | undefined {
  if (at0 === undefined || at10 === undefined || at0.median <= 0 || at10.median <= 0) {
    return undefined;
  }
  return (1 / at10.median - 1 / at0.median) / (rttMs / 1000);
}

function scenarioTitle(outcome: ScenarioOutcome): string {
  const { scenario } = outcome;
  const server =
    scenario.sink === 'postfix'
      ? 'Postfix smtpd (CHUNKING)'
      : 'smtp-sink (PIPELINING, no CHUNKING)';
  const rtt = scenario.rttMs === 0 ? 'loopback' : `${scenario.rttMs} ms RTT`;
  return `${WORKLOADS[scenario.workload].title}, ${rtt}, ${server}`;
}

/** The chart's panels: messages/s per scenario (bytes/s for the large workloads). */
export function chartPanels(scenarios: ScenarioOutcome[]): ChartPanel[] {
  const panels: ChartPanel[] = [];
  for (const outcome of scenarios) {
    if (outcome.skipped !== undefined || outcome.scenario.workload === 'single-small') continue;
    const large = ['large-5mb', 'attachment-300mb', 'cli-attachment'].includes(
      outcome.scenario.workload,
    );
    const figure: FigureName = large ? 'bytesPerSecond' : 'messagesPerSecond';
    const factor = large ? 1 / MIB : 1;
    const bars = outcome.clients.flatMap((c) => {
      const summary = c.figures[figure];
      if (summary === undefined) return [];
      return [
        {
          label: CLIENT_TITLES[c.client],
          median: summary.median * factor,
          min: summary.min * factor,
          max: summary.max * factor,
          group: c.client.startsWith('smtpcm')
            ? ('smtpcm' as const)
            : c.client.startsWith('nodemailer')
              ? ('nodemailer' as const)
              : ('other' as const),
        },
      ];
    });
    if (bars.length > 0) {
      panels.push({ title: scenarioTitle(outcome), unit: large ? 'MB/s' : 'msg/s', bars });
    }
  }
  return panels;
}

/**
 * bench/RESULTS.md. `analysis` is hand-written Markdown appended as it is (give '' for a
 * partial run: it explains the full one). `files` names the JSON and SVG written beside it.
 */
export function renderMarkdown(results: BenchResults, analysis: string,
  files = { json: 'latest.json', svg: 'throughput.svg' }): string {
  const { machine, config } = results;
  const lines: string[] = [];
  lines.push('# smtpcm benchmark results', '');
  lines.push(
    'Generated by `npm run bench` (bench/run.ts); raw figures in ' +
      `\`bench/results/${files.json}\`, chart in \`bench/results/${files.svg}\`. ` +
      'Method: docs/benchmarks.md.',
    '',
  );
  if (config.quick) {
    lines.push('**This is a `--quick` smoke run: small counts, one repetition.** The targets ' +
      'below are read on those counts: a check that the harness works, not a judgement of ' +
      'the targets (for that, see bench/RESULTS.md, written by a full run).', '');
  }
  lines.push('## Machine', '');
  lines.push(
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores; ` +
      `memory ${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB`,
    `- Node ${machine.node}, ${machine.python}, Postfix ${machine.postfix}, ` +
      `Linux ${machine.kernel}`,
    `- Date: ${machine.date}; whole run ${config.elapsedSeconds.toFixed(0)} s; 1-minute load ` +
      `average ${machine.loadAverageStart.toFixed(2)} at the start, ` +
      `${machine.loadAverageEnd.toFixed(2)} at the end`,
    `- Repetitions per client: ${config.repetitions} (clients alternate, order rotated each ` +
      'repetition); figures are median (min–max).',
    `- smtpcm: ${
      config.smtpcmAvailable
        ? `measured, transaction window ${config.smtpcmWindow}`
        : 'not available yet (engine files missing): peers only'
    }`,
    `- smtpcm revision: ${config.smtpcmRevision ?? 'unknown'}`,
    `- Composition: ${config.composition}`,
    `- Round trips: ${config.rttMethod}`,
    '',
  );

  lines.push('## Targets (issue 8; the CLI row: issue 5)', '');
  lines.push(...targetTable(results.targets.filter((t) => t.target.secondReadingOf === undefined)));
  const second = results.targets.filter((t) => t.target.secondReadingOf !== undefined);
  if (second.length > 0) {
    lines.push(
      '### Second reading: the engines alone (informational)',
      '',
      'The same goals read on smtpcm and Nodemailer both sending the message composed once',
      '(prebuilt bytes: no MailComposer in the measured span). For information beside the',
      'targets above, which are read with composition as the issue asks, and replaced by none',
      'of these.',
      '',
      ...targetTable(second),
    );
  }

  lines.push('## Figures', '');
  lines.push(
    'msg/s and MB/s: accepted messages (octets) over wall time, first connection to last',
    'reply; CPU: user + sys of the client process over the same span; RSS: the process peak',
    '(Node clients: one esbuild bundle under plain node, no tsx); turns/msg: see',
    'docs/benchmarks.md. Ratios: median over the Nodemailer client with as many connections',
    '(rows sending prebuilt bytes: over Nodemailer sending prebuilt bytes).',
    '',
  );
  for (const outcome of results.scenarios) {
    const { scenario } = outcome;
    lines.push(`### ${scenarioTitle(outcome)}`, '');
    if (outcome.skipped !== undefined) {
      lines.push(`Not run: ${outcome.skipped}`, '');
      continue;
    }
    lines.push(
      `\`${scenario.id}\`: ${scenario.count} messages per run` +
        (scenario.poolCount !== scenario.count ? ` (pools: ${scenario.poolCount})` : '') +
        (scenario.peerCount === undefined
          ? ''
          : ` (smtplib, smtp-source: ${scenario.peerCount})`) +
        `, message ${fmt(outcome.messageBytes / 1024)} KB; server offers ` +
        `${outcome.sinkExtensions.join(' ')}.`,
      '',
    );
    if (outcome.mergedFrom !== undefined) {
      const merged = outcome.mergedFrom;
      lines.push(
        `Measured by a separate run (\`--only ${scenario.workload}\`) on ${merged.date}, ` +
          `smtpcm ${merged.smtpcmRevision}, 1-minute load average ` +
          `${merged.loadAverageStart.toFixed(2)} at its start.`,
        '',
      );
    }
    if (scenario.workload === 'cli-attachment') {
      lines.push(
        'The CLI (`node bin/smtpcm.js`, built JavaScript, no tsx) in a child process; peak RSS',
        'is its `VmHWM`, polled from `/proc/<pid>/status` every 5 ms until it exits; CPU from',
        '`/proc/<pid>/stat` (a lower bound); MB/s counts the attachment file\'s octets.',
        '',
      );
    }
    lines.push(
      '| Client | msg/s | MB/s | CPU µs/msg | peak RSS MB | turns/msg | msg/s vs NM | CPU vs NM |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const c of outcome.clients) {
      const failures = c.runs.filter((run) => !run.ok);
      const peer = nodemailerPeer(c.client);
      const peerFigures = outcome.clients.find((x) => x.client === peer)?.figures;
      const label =
        CLIENT_TITLES[c.client] + (failures.length > 0 ? ` (${failures.length} failed)` : '');
      const f = c.figures;
      const rateRatio = ratioOfMedians(f.messagesPerSecond, peerFigures?.messagesPerSecond);
      const cpuRatio = ratioOfMedians(f.cpuSecondsPerMessage, peerFigures?.cpuSecondsPerMessage);
      lines.push(
        `| ${label} | ${cell(f.messagesPerSecond)} | ${cell(f.bytesPerSecond, 1 / MIB)} | ` +
          `${cell(f.cpuSecondsPerMessage, 1e6)} | ${cell(f.peakRssBytes, 1 / MIB)} | ` +
          `${cell(f.turnsPerMessage)} | ${ratioCell(rateRatio)} | ${ratioCell(cpuRatio)} |`,
      );
    }
    const errors = outcome.clients.flatMap((c) =>
      c.runs.filter((run) => !run.ok).map((run) => `${c.client} rep ${run.rep + 1}: ${run.error}`),
    );
    if (errors.length > 0) {
      lines.push('', 'Failures:', '', ...errors.slice(0, 6).map((e) => `- ${e}`));
    }
    lines.push('');
  }

  const latency = latencyTable(results.scenarios);
  if (latency.length > 0) {
    lines.push('## Round trips a message costs in latency', '');
    lines.push(
      '(1/msg-per-s at 10 ms − 1/msg-per-s on loopback) / 10 ms, same one-connection client,',
      'workload and server: how many round trips of waiting each message adds. Below 1 needs',
      'transactions in flight together. Pools and 5 MB messages are left out (eight',
      'connections share the rate; bandwidth, not waiting, bounds large messages).',
      '',
      '| Workload, server | Client | RTTs/msg |',
      '| --- | --- | --- |',
      ...latency,
      '',
    );
  }

  if (analysis.trim().length > 0) lines.push(analysis.trim(), '');
  return lines.join('\n');
}

/** The rows of a targets table, a blank line after. */
function targetTable(outcomes: TargetOutcome[]): string[] {
  return [
    '| Target | Measured | Goal | Status | Gap |',
    '| --- | --- | --- | --- | --- |',
    ...outcomes.map(
      (outcome) =>
        `| ${outcome.target.text} | ${describeTargetValue(outcome)} | ` +
        `${describeGoal(outcome)} | ${status(outcome)} | ${describeGap(outcome)} |`,
    ),
    '',
  ];
}

function latencyTable(scenarios: ScenarioOutcome[]): string[] {
  const rows: string[] = [];
  for (const at10 of scenarios) {
    if (at10.scenario.rttMs === 0) continue;
    const at0 = scenarios.find(
      (s) =>
        s.scenario.rttMs === 0 &&
        s.scenario.workload === at10.scenario.workload &&
        s.scenario.sink === at10.scenario.sink,
    );
    // Large messages are bound by bandwidth, not round trips.
    if (at0 === undefined || at10.scenario.workload === 'large-5mb') continue;
    for (const c of at10.clients) {
      // A pool's rate is eight connections' together: not one connection's waits.
      if (isPool(c.client)) continue;
      const base = at0.clients.find((x) => x.client === c.client);
      const value = latencyRoundTrips(
        base?.figures.messagesPerSecond,
        c.figures.messagesPerSecond,
        at10.scenario.rttMs,
      );
      if (value === undefined) continue;
      rows.push(
        `| ${WORKLOADS[at10.scenario.workload].title}, ${at10.scenario.sink} | ` +
          `${CLIENT_TITLES[c.client]} | ${value.toFixed(2)} |`,
      );
    }
  }
  return rows;
}
