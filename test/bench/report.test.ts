import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientResult } from '../../bench/clients/result.js';
import { parseClientResult } from '../../bench/clients/result.js';
import {
  latencyRoundTrips,
  nodemailerPeer,
  summarizeRuns,
  targetsOf,
  type ScenarioOutcome,
} from '../../bench/report.js';
import { clientOrder } from '../../bench/scenarios.js';
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

test('targetsOf checks the loopback throughput target from the scenario figures', () => {
  const scenario: ScenarioOutcome = {
    scenario: {
      id: 'small-2kb@0ms/smtp-sink',
      workload: 'small-2kb',
      rttMs: 0,
      sink: 'smtp-sink',
      count: 10,
      poolCount: 10,
      clients: ['smtpcm-1', 'nodemailer-1'],
    },
    messageBytes: 2000,
    sinkExtensions: ['PIPELINING'],
    clients: [
      { client: 'smtpcm-1', count: 10, runs: [], figures: { messagesPerSecond: summarize([300]) } },
      { client: 'nodemailer-1', count: 10, runs: [],
        figures: { messagesPerSecond: summarize([100]) } },
    ],
  };
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
