import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeXml, formatValue, renderChart } from '../../bench/chart.js';

test('formatValue keeps three significant digits and never uses exponents', () => {
  assert.equal(formatValue(0.123456), '0.123');
  assert.equal(formatValue(45.678), '45.7');
  assert.equal(formatValue(1006.9), '1007');
  assert.equal(formatValue(6306.4), '6306');
  assert.equal(formatValue(12_345), '12.3k');
  assert.equal(formatValue(2_500_000), '2.50M');
});

test('escapeXml escapes the five characters XML reserves in text and attributes', () => {
  assert.equal(escapeXml('a < b & "c" > d'), 'a &lt; b &amp; &quot;c&quot; &gt; d');
});

test('renderChart draws one bar per client, scaled to the largest maximum of its panel', () => {
  const svg = renderChart('T & t', [
    {
      title: 'panel',
      unit: 'msg/s',
      bars: [
        { label: 'a', median: 50, min: 40, max: 100, group: 'smtpcm' },
        { label: 'b', median: 25, min: 25, max: 25, group: 'nodemailer' },
      ],
    },
  ]);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.includes('T &amp; t'));
  // The plot is 900 - 260 - 110 - 20 = 510 wide; 50 of a 100 maximum is half of it.
  assert.match(svg, /<rect x="260" y="\d+" width="255\.0" height="16" fill="#1f77b4"\/>/);
  assert.match(svg, /<rect x="260" y="\d+" width="127\.5" height="16" fill="#ff7f0e"\/>/);
  assert.equal(svg.match(/<rect x="260"/g)?.length, 2);
});
