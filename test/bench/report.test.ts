import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientResult } from '../../bench/clients/result.js';
import { parseClientResult } from '../../bench/clients/result.js';
import {
  latencyRoundTrips,
  mergeScenarios,
  nodemailerPeer,
  renderMarkdown,
  summarizeRuns,
  targetsOf,
  type BenchResults,
  type ScenarioOutcome,
} from '../../bench/report.js';
import { clientOrder, type ClientId } from '../../bench/scenarios.js';
import { summarize } from '../../bench/stats.js';

function result(messages: number, wallSeconds: number, cpu: number, rss: number): ClientResult {
  return {
    messages,
    bytes: messages * 2000,
    wallSeconds,
    cpuUserSeconds: cpu * 0.75,
    cpuSystemSeconds: cpu * 0.25,
    peakRssBytes: rss,
    errors: 0,
  };
}

test('summarizeRuns derives the figures from successful runs only', () => {
  const figures = summarizeRuns([
    { rep: 0, ok: true, result: result(1000, 2, 1, 100), turns: 2010 },
    { rep: 1, ok: true, result: result(1000, 1, 0.5, 120), turns: 2010 },
    { rep: 2, ok: false, error: 'exit 1' },
  ]);
  assert.deepEqual(figures.messagesPerSecond, { median: 750, min: 500, max: 1000, n: 2 });
  assert.deepEqual(figures.bytesPerSecond, {
    median: 1_500_000,
    min: 1_000_000,
    max: 2_000_000,
    n: 2,
  });
  assert.deepEqual(figures.cpuSecondsPerMessage, {
    median: 0.00075,
    min: 0.0005,
    max: 0.001,
    n: 2,
  });
  assert.deepEqual(figures.peakRssBytes, { median: 110, min: 100, max: 120, n: 2 });
  assert.deepEqual(figures.turnsPerMessage, { median: 2.01, min: 2.01, max: 2.01, n: 2 });
});

test('summarizeRuns gives no figure when every run failed, and no turns without a proxy', () => {
  assert.deepEqual(summarizeRuns([{ rep: 0, ok: false, error: 'x' }]), {});
  assert.equal(summarizeRuns([{ rep: 0, ok: true, result: result(1, 1, 1, 1) }]).turnsPerMessage,
    undefined);
});

test('latencyRoundTrips: 2 waits of 10 ms per message on top of 1 ms of work', () => {
  // 1 ms per message on loopback (1000 msg/s); 21 ms at 10 ms RTT (47.6 msg/s).
  const value = latencyRoundTrips(summarize([1000]), summarize([1000 / 21]), 10);
  assert.ok(value !== undefined && Math.abs(value - 2) < 1e-9);
  assert.equal(latencyRoundTrips(undefined, summarize([1]), 10), undefined);
});

test('each client is compared with the Nodemailer client with as many connections', () => {
  assert.equal(nodemailerPeer('smtpcm-1'), 'nodemailer-1');
  assert.equal(nodemailerPeer('smtpcm-8'), 'nodemailer-8');
  assert.equal(nodemailerPeer('smtp-source'), 'nodemailer-1');
  assert.equal(nodemailerPeer('nodemailer-8'), undefined);
});

test('clientOrder rotates the clients so none is always first', () => {
  assert.deepEqual(clientOrder(['smtpcm-1', 'nodemailer-1', 'smtp-source'], 0),
    ['smtpcm-1', 'nodemailer-1', 'smtp-source']);
  assert.deepEqual(clientOrder(['smtpcm-1', 'nodemailer-1', 'smtp-source'], 1),
    ['nodemailer-1', 'smtp-source', 'smtpcm-1']);
  assert.deepEqual(clientOrder(['smtpcm-1', 'nodemailer-1', 'smtp-source'], 3),
    ['smtpcm-1', 'nodemailer-1', 'smtp-source']);
});

/** The 2 KB loopback scenario (10 messages per run) with each client's msg/s. */
function smallLoopback(rates: Partial<Record<ClientId, number>>): ScenarioOutcome {
  const clients = Object.keys(rates) as ClientId[];
  return {
    scenario: {
      id: 'small-2kb@0ms/smtp-sink',
      workload: 'small-2kb',
      rttMs: 0,
      sink: 'smtp-sink',
      count: 10,
      poolCount: 10,
      clients,
    },
    messageBytes: 2000,
    sinkExtensions: ['PIPELINING'],
    clients: clients.map((client) => ({
      client,
      count: 10,
      runs: [],
      figures: { messagesPerSecond: summarize([rates[client] as number]) },
    })),
  };
}

test('targetsOf checks the loopback throughput target from the scenario figures', () => {
  const scenario = smallLoopback({ 'smtpcm-1': 300, 'nodemailer-1': 100 });
  const outcome = targetsOf([scenario]).find((t) => t.target.id === 'loopback-throughput');
  assert.equal(outcome?.met, true);
  assert.equal(outcome?.value, 3);
  const chunking = targetsOf([scenario]).find((t) => t.target.id === 'chunking-10ms');
  assert.equal(chunking?.met, undefined);
});

test('parseClientResult reads the BENCH-RESULT line among other output', () => {
  const parsed = parseClientResult('noise\nBENCH-RESULT {"messages":3,"bytes":6,"wallSeconds":1,' +
    '"cpuUserSeconds":0.1,"cpuSystemSeconds":0,"peakRssBytes":9,"errors":0}\n');
  assert.equal(parsed.messages, 3);
  assert.throws(() => parseClientResult('nothing here'), /no BENCH-RESULT/);
});

function cliScenario(peakRssBytes: number): ScenarioOutcome {
  const send = result(1, 4, 2, peakRssBytes);
  const version = { ...result(1, 0.1, 0.05, 40 * 1024 * 1024), messages: 0, bytes: 0 };
  return {
    scenario: {
      id: 'cli-attachment@0ms/smtp-sink',
      workload: 'cli-attachment',
      rttMs: 0,
      sink: 'smtp-sink',
      count: 1,
      poolCount: 1,
      clients: ['smtpcm-cli-version', 'smtpcm-cli'],
    },
    messageBytes: 300 * 1024 * 1024,
    sinkExtensions: ['PIPELINING'],
    clients: [
      {
        client: 'smtpcm-cli-version',
        count: 1,
        runs: [{ rep: 0, ok: true, result: version }],
        figures: summarizeRuns([{ rep: 0, ok: true, result: version }]),
      },
      {
        client: 'smtpcm-cli',
        count: 1,
        runs: [{ rep: 0, ok: true, result: send }],
        figures: summarizeRuns([{ rep: 0, ok: true, result: send }]),
      },
    ],
  };
}

test('summarizeRuns: a run that sent no message (smtpcm --version) has RSS but no rates', () => {
  const figures = cliScenario(1).clients[0].figures;
  assert.equal(figures.peakRssBytes?.median, 40 * 1024 * 1024);
  assert.equal(figures.messagesPerSecond, undefined);
  assert.equal(figures.cpuSecondsPerMessage, undefined);
});

test('the CLI target reads the send run\'s peak RSS against 100 MB, with no reference', () => {
  const mib = 1024 * 1024;
  const met = targetsOf([cliScenario(70 * mib)]).find((t) => t.target.id === 'cli-attachment-rss');
  assert.equal(met?.met, true);
  assert.equal(met?.value, 70 * mib);
  const missed = targetsOf([cliScenario(120 * mib)]).find(
    (t) => t.target.id === 'cli-attachment-rss',
  );
  assert.equal(missed?.met, false);
});

function benchResults(scenarios: ScenarioOutcome[], date: string): BenchResults {
  return {
    machine: {
      cpuModel: 'x',
      cores: 2,
      memoryBytes: 1,
      node: 'v20',
      python: 'Python 3',
      postfix: '3.7',
      kernel: '6',
      date,
      loadAverageStart: 1.5,
      loadAverageEnd: 1,
    },
    config: {
      quick: false,
      repetitions: 3,
      only: [],
      smtpcmWindow: 8,
      smtpcmAvailable: true,
      smtpcmRevision: `rev-${date}`,
      composition: '',
      rttMethod: '',
      elapsedSeconds: 600,
    },
    scenarios,
    targets: targetsOf(scenarios),
  };
}

test('mergeScenarios keeps the other scenarios, replaces the same id and re-checks targets', () => {
  const mib = 1024 * 1024;
  const small = cliScenario(0);
  small.scenario = {
    ...small.scenario,
    id: 'single-small@0ms/smtp-sink',
    workload: 'single-small',
  };
  const base = benchResults([small, cliScenario(120 * mib)], 'full');
  const merged = mergeScenarios(base, benchResults([cliScenario(70 * mib)], 'partial'));
  assert.deepEqual(
    merged.scenarios.map((s) => s.scenario.id),
    ['single-small@0ms/smtp-sink', 'cli-attachment@0ms/smtp-sink'],
  );
  assert.equal(merged.scenarios[0], small);
  assert.deepEqual(merged.scenarios[1].mergedFrom, {
    date: 'partial',
    smtpcmRevision: 'rev-partial',
    loadAverageStart: 1.5,
  });
  assert.equal(merged.machine.date, 'full');
  assert.equal(merged.targets.find((t) => t.target.id === 'cli-attachment-rss')?.met, true);
  // The base is left as it was.
  assert.equal(base.targets.find((t) => t.target.id === 'cli-attachment-rss')?.met, false);
  const markdown = renderMarkdown(merged, '');
  assert.match(
    markdown,
    /\| CLI, 300 MB attachment: peak RSS < 100 MB \| 70\.0 MB \| < 100 MB \| met \|/,
  );
  assert.match(markdown, /Measured by a separate run \(`--only cli-attachment`\) on partial/);
});

test('the engine-only targets read the prebuilt rows in a table of their own', () => {
  const scenario = smallLoopback({
    'smtpcm-1': 200,
    'nodemailer-1': 100,
    'smtpcm-1-raw': 900,
    'nodemailer-1-raw': 300,
  });
  const targets = targetsOf([scenario]);
  // The composed reading is judged as before; the engine reading beside it.
  assert.equal(targets.find((t) => t.target.id === 'loopback-throughput')?.value, 2);
  assert.equal(targets.find((t) => t.target.id === 'loopback-throughput')?.met, false);
  const engine = targets.find((t) => t.target.id === 'loopback-throughput-engine');
  assert.equal(engine?.value, 3);
  assert.equal(engine?.met, true);
  assert.equal(nodemailerPeer('smtpcm-1-raw'), 'nodemailer-1-raw');
  assert.equal(nodemailerPeer('nodemailer-1-raw'), undefined);

  const markdown = renderMarkdown(benchResults([scenario], 'd'), '');
  const second = markdown.indexOf('### Second reading: the engines alone (informational)');
  const composed = markdown.indexOf('| One connection, 2 KB, loopback: >= 2.5x Nodemailer msg/s |');
  const engineRow = markdown.indexOf('| Engine only (prebuilt bytes for both): one connection, ' +
    '2 KB, loopback: >= 2.5x msg/s | 3.00× | ≥ 2.5× | met | none |');
  assert.ok(composed >= 0 && composed < second && second < engineRow, markdown);
});

test('the engine-only memory reading: 5,000 prebuilt messages against one prebuilt message', () => {
  const mib = 1024 * 1024;
  const withRss = (outcome: ScenarioOutcome, rss: Partial<Record<ClientId, number>>) => {
    for (const c of outcome.clients) c.figures.peakRssBytes = summarize([rss[c.client] ?? 0]);
    return outcome;
  };
  const many = withRss(smallLoopback({ 'smtpcm-1': 1, 'smtpcm-1-raw': 1 }),
    { 'smtpcm-1': 120 * mib, 'smtpcm-1-raw': 90 * mib });
  const one = withRss(smallLoopback({ 'smtpcm-1': 1, 'smtpcm-1-raw': 1 }),
    { 'smtpcm-1': 80 * mib, 'smtpcm-1-raw': 79 * mib });
  one.scenario = { ...one.scenario, id: 'single-small@0ms/smtp-sink', workload: 'single-small' };
  const targets = targetsOf([many, one]);
  const composed = targets.find((t) => t.target.id === 'many-messages-rss');
  const engine = targets.find((t) => t.target.id === 'many-messages-rss-engine');
  assert.equal(composed?.value, 40 * mib);
  assert.equal(composed?.met, false);
  assert.equal(engine?.value, 11 * mib);
  assert.equal(engine?.met, true);
  assert.equal(engine?.target.secondReadingOf, 'many-messages-rss');
});

test('a quick run names its own files, says its targets are no judgement, and appends no '
  + 'analysis', () => {
  const results = benchResults([], 'd');
  results.config.quick = true;
  const markdown = renderMarkdown(results, '', { json: 'quick.json', svg: 'quick.svg' });
  assert.match(markdown,
    /raw figures in `bench\/results\/quick\.json`, chart in `bench\/results\/quick\.svg`/);
  assert.doesNotMatch(markdown, /latest\.json|throughput\.svg/);
  assert.match(markdown, /not a judgement of the targets/);
  const full = renderMarkdown(benchResults([], 'd'), '## What limits the missed targets');
  assert.match(full, /raw figures in `bench\/results\/latest\.json`/);
  assert.match(full, /## What limits the missed targets/);
});
