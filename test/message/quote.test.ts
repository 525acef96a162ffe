import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { escapeValue, oneLine, quoteValue } from '../../src/message/quote.js';

describe('quoteValue', () => {
  test('CR, LF, TAB, other control characters are escaped, and nothing else', () => {
    assert.equal(quoteValue('evil\r\nBcc: x@evil.com\r\n.txt'),
      '"evil\\r\\nBcc: x@evil.com\\r\\n.txt"');
    assert.equal(quoteValue('a\tb\0c\x1bd\x7f\u0085'), '"a\\tb\\x00c\\x1bd\\x7f\\x85"');
    assert.equal(quoteValue('l\u2028p'), '"l\\u2028p"');
    // Quotes and backslashes as written: a Windows path can be copied from the message.
    assert.equal(quoteValue('say "hi" \\o/'), '"say "hi" \\o/"');
    assert.equal(quoteValue('\\\\exampleorg\\shares\\Files_Out\\a.xls'),
      '"\\\\exampleorg\\shares\\Files_Out\\a.xls"');
    assert.equal(escapeValue('E:\\Example\\Output\r\n'), 'E:\\Example\\Output\\r\\n');
  });

  test('non-ASCII letters stay readable', () => {
    assert.equal(quoteValue('Grüße, 日本'), '"Grüße, 日本"');
  });

  test('cut after 200 characters with "… (N more)"', () => {
    assert.equal(quoteValue('x'.repeat(200)), `"${'x'.repeat(200)}"`);
    assert.equal(quoteValue('x'.repeat(201)), `"${'x'.repeat(200)}"… (1 more)`);
    assert.equal(quoteValue('abcdef', 3), '"abc"… (3 more)');
    // Counted in characters, so a surrogate pair is never cut in half.
    assert.equal(quoteValue('😀😀😀', 2), '"😀😀"… (1 more)');
  });

  test('the result never holds a control character or a line separator', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const quoted = quoteValue(value);
        assert.doesNotMatch(quoted, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        assert.doesNotMatch(escapeValue(value), /[\r\n]/);
        assert.doesNotMatch(oneLine(value), /[\r\n]/);
      }),
    );
  });
});
