/** Properties: string concatenation, and printing then parsing a tree keeps its value. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import {
  evaluate, ExpressionError, parseExpression, printExpression, type ExpressionNode,
  type SsisValue, type TypeSpec, type UnaryOperator,
} from '../../../src/package/expressions/index.js';
import { i4, scopeOf, wstr } from './helpers.js';

/** Escapes a string for an SSIS literal independently of the printer under test. */
function literal(s: string): string {
  return `"${[...s].map((ch) => {
    if (ch === '"' || ch === '\\') return `\\${ch}`;
    if (ch === '\n') return '\\n';
    const code = ch.charCodeAt(0);
    return code < 0x20 ? `\\x${code.toString(16).padStart(4, '0')}` : ch;
  }).join('')}"`;
}

/** Any UTF-16 string without U+0000, which SSIS strings cannot hold. */
const text = fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replace(/\0/g, ''));

interface Concat {
  source: string;
  expected: string;
}

const concat = fc.letrec<{ node: Concat }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text.map((s) => ({ source: literal(s), expected: s })),
    fc.tuple(tie('node'), tie('node'), fc.constantFrom('', ' ', '\n', '\t'), fc.boolean())
      .map(([a, b, space, parens]) => {
        const source = `${a.source}${space}+${space}${b.source}`;
        return { source: parens ? `(${source})` : source, expected: a.expected + b.expected };
      }),
  ),
})).node;

describe('string concatenation (property)', () => {
  it('any tree of string literals and + evaluates to the concatenation', () => {
    fc.assert(fc.property(concat, ({ source, expected }) => {
      const v = evaluate(parseExpression(source), scopeOf());
      assert.equal(v.type, 'DT_WSTR');
      assert.equal(v.value, expected);
    }), { numRuns: 300 });
  });
});

const span = { position: 1, text: '' };

const leaf: fc.Arbitrary<ExpressionNode> = fc.oneof(
  fc.constantFrom('0', '1', '7', '2147483647', '3L', '5U', '12UL', '2.5', '0.125', '1.5E0', '2E1f',
    '0x1F').map((raw): ExpressionNode => ({ kind: 'number', raw, ...span })),
  text.map((value): ExpressionNode => ({ kind: 'string', value, ...span })),
  fc.boolean().map((value): ExpressionNode => ({ kind: 'boolean', value, ...span })),
  fc.constantFrom('User::N', 'User::S', 'B').map((name): ExpressionNode =>
    ({ kind: 'variable', name, ...span })),
  fc.constantFrom<TypeSpec>(
    { name: 'DT_I4', params: [] },
    { name: 'DT_WSTR', params: [5] },
    { name: 'DT_BOOL', params: [] },
  ).map((spec): ExpressionNode => ({ kind: 'null', spec, ...span })),
);

const tree = fc.letrec<{ node: ExpressionNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(fc.constantFrom(
      '+', '-', '*', '/', '%', '==', '!=', '<', '>', '<=', '>=', '&&', '||', '&', '|', '^',
    ), tie('node'), tie('node')).map(([operator, left, right]): ExpressionNode =>
      ({ kind: 'binary', operator, left, right, ...span })),
    fc.tuple(fc.constantFrom<UnaryOperator>('-', '!', '~'), tie('node'))
      .map(([operator, operand]): ExpressionNode =>
        ({ kind: 'unary', operator, operand, ...span })),
    fc.tuple(tie('node'), tie('node'), tie('node')).map(([condition, whenTrue, whenFalse]):
      ExpressionNode => ({ kind: 'conditional', condition, whenTrue, whenFalse, ...span })),
    fc.tuple(fc.constantFrom<TypeSpec>(
      { name: 'DT_WSTR', params: [30] }, { name: 'DT_I4', params: [] },
      { name: 'DT_R8', params: [] }, { name: 'DT_NUMERIC', params: [12, 3] },
    ), tie('node')).map(([spec, operand]): ExpressionNode =>
      ({ kind: 'cast', spec, operand, ...span })),
    fc.tuple(fc.constantFrom('LEN', 'UPPER', 'ABS', 'ISNULL', 'REVERSE'), tie('node'))
      .map(([name, arg]): ExpressionNode => ({ kind: 'call', name, args: [arg], ...span })),
    fc.tuple(tie('node'), tie('node'), tie('node')).map(([s, p, n]): ExpressionNode =>
      ({ kind: 'call', name: 'SUBSTRING', args: [s, p, n], ...span })),
  ),
})).node;

const variables: Record<string, SsisValue> = {
  'User::N': i4(6),
  'User::S': wstr('Mail'),
  B: { type: 'DT_BOOL', value: true },
};

/** The value, or the problem of the ExpressionError without its position. */
function outcome(node: ExpressionNode): unknown {
  try {
    const v = evaluate(node, scopeOf(variables));
    return v.value instanceof Date ? { ...v, value: v.value.getTime() } : v;
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return err.message.replace(/ at position \d+: [\s\S]*$/, '');
  }
}

describe('printExpression (property)', () => {
  it('printing a generated tree and parsing it back gives the same value or error', () => {
    let values = 0;
    fc.assert(fc.property(tree, (node) => {
      const printed = printExpression(node);
      const expected = outcome(node);
      if (typeof expected !== 'string') values++;
      assert.deepEqual(outcome(parseExpression(printed)), expected, printed);
    }), { numRuns: 1000 });
    // The generator must produce well-typed trees too, not only type errors.
    assert.ok(values > 100, `only ${values} of 1000 trees had a value`);
  });
});
