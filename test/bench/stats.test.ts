import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTarget, median, ratioOfMedians, summarize } from '../../bench/stats.js';

test('median of an odd count is the middle value, whatever the order', () => {
  assert.equal(median([9, 1, 5]), 5);
  assert.equal(median([7]), 7);
});

test('median of an even count is the mean of the two middle values', () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('median does not reorder its input', () => {
  const values = [3, 1, 2];
  median(values);
  assert.deepEqual(values, [3, 1, 2]);
});

test('summarize gives median, min, max and count', () => {
  assert.deepEqual(summarize([120, 100, 90]), { median: 100, min: 90, max: 120, n: 3 });
});

test('an empty list or a non-finite value is refused', () => {
  assert.throws(() => median([]), RangeError);
  assert.throws(() => summarize([1, Number.NaN]), RangeError);
  assert.throws(() => summarize([Infinity]), RangeError);
});

test('ratioOfMedians divides medians and refuses a zero or missing reference', () => {
  const subject = summarize([300, 310, 290]);
  const reference = summarize([100, 90, 110]);
  assert.equal(ratioOfMedians(subject, reference), 3);
  assert.equal(ratioOfMedians(subject, summarize([0])), undefined);
  assert.equal(ratioOfMedians(undefined, reference), undefined);
});

test('ratio-at-least: 3x is met at exactly 3x, missed below with the missing factor', () => {
  const nodemailer = summarize([100]);
  assert.deepEqual(checkTarget('ratio-at-least', 3, summarize([300]), nodemailer), {
    met: true,
    value: 3,
    gap: 1,
  });
  const missed = checkTarget('ratio-at-least', 3, summarize([150]), nodemailer);
  assert.equal(missed.met, false);
  assert.equal(missed.value, 1.5);
  assert.equal(missed.gap, 2);
});

test('ratio-at-most: half the CPU is met at 0.4, missed at 0.6', () => {
  const reference = summarize([10]);
  assert.equal(checkTarget('ratio-at-most', 0.5, summarize([4]), reference).met, true);
  const missed = checkTarget('ratio-at-most', 0.5, summarize([6]), reference);
  assert.equal(missed.met, false);
  assert.ok(Math.abs((missed.gap ?? 0) - 1.2) < 1e-12);
});

test('difference-at-most: 32 MB above the baseline is met at 32, missed at 40 by 8', () => {
  const baseline = summarize([60]);
  assert.deepEqual(checkTarget('difference-at-most', 32, summarize([92]), baseline), {
    met: true,
    value: 32,
    gap: 0,
  });
  assert.deepEqual(checkTarget('difference-at-most', 32, summarize([100]), baseline), {
    met: false,
    value: 40,
    gap: 8,
  });
});

test('a missing figure leaves the target undecided', () => {
  const check = checkTarget('ratio-at-least', 2, undefined, summarize([1]));
  assert.equal(check.met, undefined);
  assert.equal(check.value, undefined);
});

test('below: "peak RSS under 100 MB" is met at 99, missed at 100, needs no reference', () => {
  const mib = 1024 * 1024;
  assert.deepEqual(checkTarget('below', 100 * mib, summarize([99 * mib]), undefined), {
    met: true,
    value: 99 * mib,
    gap: -mib,
  });
  // "Under" is strict: 100 MB is not under 100 MB.
  assert.equal(checkTarget('below', 100 * mib, summarize([100 * mib]), undefined).met, false);
  assert.equal(checkTarget('below', 100 * mib, undefined, undefined).met, undefined);
});
