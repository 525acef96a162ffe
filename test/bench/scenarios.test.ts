import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildScenarios, countFor, isLockstepPeer } from '../../bench/scenarios.js';

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
