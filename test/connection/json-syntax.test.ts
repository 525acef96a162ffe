import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { jsonSyntaxError } from '../../src/connection/json-syntax.js';

describe('jsonSyntaxError', () => {
  test('the line and column of the first character that is not JSON', () => {
    assert.deepEqual(jsonSyntaxError('{"a": Sx}'), { line: 1, column: 7 });
    assert.deepEqual(jsonSyntaxError('{\n  "a": 1,\n}'), { line: 3, column: 1 });
    assert.deepEqual(jsonSyntaxError('{"a": 1'), { line: 1, column: 8 });
    assert.deepEqual(jsonSyntaxError('"a\\qb"'), { line: 1, column: 4 });
    assert.deepEqual(jsonSyntaxError('"a\tb"'), { line: 1, column: 3 });
    assert.deepEqual(jsonSyntaxError('[01]'), { line: 1, column: 3 });
    assert.deepEqual(jsonSyntaxError('{} x'), { line: 1, column: 4 });
    assert.deepEqual(jsonSyntaxError(''), { line: 1, column: 1 });
  });

  test('valid JSON has no error', () => {
    assert.equal(jsonSyntaxError(' {"a": [1, -2.5e3, true, false, null, "\\u00e9\\n"]} '),
      undefined);
  });

  test('agrees with JSON.parse on whether a text is JSON', () => {
    fc.assert(fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      assert.equal(jsonSyntaxError(text) === undefined, valid);
    }));
  });
});
