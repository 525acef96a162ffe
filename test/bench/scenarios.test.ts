import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildScenarios,
  countFor,
  isLockstepPeer,
  MAX_WARMUP_MESSAGES,
  warmupCountFor,
} from '../../bench/scenarios.js';

const full = buildScenarios({ quick: false, only: [] });
const byId = (id: string) => {
  const scenario = full.find((s) => s.id === id);
  assert.ok(scenario, id);
  return scenario;
};

test('Nodemailer sends prebuilt bytes wherever smtpcm does: engine against engine', () => {
  const withRaw = full.filter((s) => s.clients.includes('smtpcm-1-raw')).map((s) => s.id);
  assert.deepEqual(withRaw, [
    'small-2kb@0ms/smtp-sink',
    'large-5mb@0ms/smtp-sink',
    'single-small@0ms/smtp-sink',
  ]);
  for (const s of full) {
    assert.equal(s.clients.includes('nodemailer-1-raw'), s.clients.includes('smtpcm-1-raw'), s.id);
  }
});

test('the 2 KB loopback runs keep 5,000 messages, prebuilt rows included', () => {
  const scenario = byId('small-2kb@0ms/smtp-sink');
  for (const client of ['smtpcm-1', 'nodemailer-1', 'smtpcm-1-raw', 'nodemailer-1-raw'] as const) {
    assert.equal(countFor(scenario, client), 5000, client);
  }
});

test('only the lockstep peers send fewer messages at 10 ms; pools keep their own count', () => {
  const scenario = byId('rcpt-5@10ms/smtp-sink');
  assert.equal(countFor(scenario, 'python-smtplib'), 20);
  assert.equal(countFor(scenario, 'smtp-source'), 20);
  assert.equal(countFor(scenario, 'smtpcm-1'), 50);
  assert.equal(countFor(scenario, 'nodemailer-1'), 50);
  assert.equal(countFor(scenario, 'smtpcm-8'), 250);
  assert.equal(isLockstepPeer('smtpcm-1-raw'), false);
  // Without a peer count (loopback), the peers send as many as the others.
  assert.equal(countFor(byId('small-2kb@0ms/smtp-sink'), 'smtp-source'), 5000);
});

test('Node clients warm up with a fifth of their run, at most 1,000; one-message runs and the '
  + 'other clients do not', () => {
  const small = byId('small-2kb@0ms/smtp-sink');
  assert.equal(MAX_WARMUP_MESSAGES, 1000);
  assert.equal(warmupCountFor(small, 'smtpcm-1'), 1000);
  assert.equal(warmupCountFor(small, 'nodemailer-1-raw'), 1000);
  assert.equal(warmupCountFor(small, 'smtpcm-8'), 400); // pools: 2,000 messages
  assert.equal(warmupCountFor(small, 'smtp-source'), 0);
  assert.equal(warmupCountFor(small, 'python-smtplib'), 0);
  const rtt = byId('small-2kb@10ms/smtp-sink');
  assert.equal(warmupCountFor(rtt, 'nodemailer-1'), Math.ceil(countFor(rtt, 'nodemailer-1') / 5));
  for (const id of ['single-small@0ms/smtp-sink', 'attachment-300mb@0ms/smtp-sink']) {
    for (const client of byId(id).clients) assert.equal(warmupCountFor(byId(id), client), 0);
  }
  for (const client of byId('cli-attachment@0ms/smtp-sink').clients) {
    assert.equal(warmupCountFor(byId('cli-attachment@0ms/smtp-sink'), client), 0);
  }
});
