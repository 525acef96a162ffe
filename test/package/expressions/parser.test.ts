import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  ExpressionError, parseExpression, printExpression, referencedVariables,
} from '../../../src/package/expressions/index.js';
import { run, textOf } from './helpers.js';

/** Asserts `fn` throws an ExpressionError whose message matches and whose fields are given. */
function throwsAt(fn: () => unknown, message: RegExp, position?: number, construct?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ExpressionError, `expected ExpressionError, got ${String(err)}`);
    assert.match(err.message, message);
    if (position !== undefined) assert.equal(err.position, position);
    if (construct !== undefined) assert.equal(err.construct, construct);
    return true;
  });
}

describe('numeric literals (Literals (SSIS) page)', () => {
  const cases: [string, string, string][] = [
    ['457', 'DT_I4', '457'],
    ['785u', 'DT_UI4', '785'],
    ['986L', 'DT_I8', '986'],
    ['7945ul', 'DT_UI8', '7945'],
    ['37l', 'DT_I8', '37'],
    ['4E8l', 'DT_R8', '400000000'],
    ['13e-2f', 'DT_R4', '0.13'],
    ['6.45E3f', 'DT_R4', '6450'],
    ['.89E-2l', 'DT_R8', '0.0089'],
    ['1.05E+7F', 'DT_R4', '10500000'],
    ['1.5E3', 'DT_R8', '1500'],
    ['.9', 'DT_NUMERIC', '0.9'],
    ['5.8', 'DT_NUMERIC', '5.8'],
    ['0.346', 'DT_NUMERIC', '0.346'],
    ['6.', 'DT_NUMERIC', '6'],
    ['8.0', 'DT_NUMERIC', '8.0'],
    ['0xFF0A', 'DT_I4', '65290'],
    ['0X000010000U', 'DT_UI4', '65536'],
  ];
  for (const [literal, type, text] of cases) {
    it(`${literal} is ${type} ${text}`, () => {
      const value = run(literal);
      assert.equal(value.type, type);
      assert.equal(textOf(literal), text);
    });
  }

  it('gives DT_NUMERIC the precision and scale of the digits written', () => {
    const value = run('123.4500');
    assert.deepEqual([value.precision, value.scale, value.value], [7, 4, '123.4500']);
  });

  it('refuses an unsuffixed integer that overflows DT_I4 instead of wrapping it', () => {
    throwsAt(() => run('3000000000'), /does not fit DT_I4.*3000000000L/);
    assert.equal(run('3000000000L').value, 3000000000n);
    assert.equal(run('2147483647').value, 2147483647);
  });
});

describe('string literals', () => {
  it('decodes every documented escape', () => {
    assert.equal(run(String.raw`"\a\b\f\n\r\t\v\"\\"`).value, '\x07\b\f\n\r\t\v"\\');
  });

  it('reads \\xhhhh as one UTF-16 unit (exactly four hex digits)', () => {
    assert.equal(run(String.raw`"\x0041\x00e9\x20AC"`).value, 'Aé€');
    assert.equal(run(String.raw`"\x00411"`).value, 'A1');
    throwsAt(() => parseExpression(String.raw`"\x41"`), /four hexadecimal digits/, 2);
  });

  it('refuses \\x0000 and \\0: SSIS strings end at the null character', () => {
    throwsAt(() => parseExpression(String.raw`"a\x0000"`), /null character/);
    throwsAt(() => parseExpression(String.raw`"a\0"`), /Unknown escape sequence \\0/, 3, '\\0');
  });

  it('refuses an unknown escape, quoting it', () => {
    throwsAt(() => parseExpression(String.raw`"C:\temp\q"`), /Unknown escape \w+ \\q/, 9, '\\q');
  });

  it('keeps literal line breaks and non-Latin text', () => {
    assert.equal(run('"Месяц\nНеделя"').value, 'Месяц\nНеделя');
  });

  it('reports an unterminated literal at its opening quote', () => {
    throwsAt(() => parseExpression('"abc" + "def'), /Unterminated string/, 9, '"def');
  });
});

describe('Boolean literals', () => {
  it('accepts TRUE and FALSE in any case', () => {
    for (const literal of ['TRUE', 'True', 'true', 'tRuE']) assert.equal(run(literal).value, true);
    assert.equal(run('False').value, false);
    assert.equal(run('FALSE').type, 'DT_BOOL');
  });
});

describe('identifiers', () => {
  const node = parseExpression(
    '@[User::A] + @[$Project::B] + @[$Package::C] + @[System::PackageName] + @D + @[E F] + @A2',
  );

  it('lists every variable once, as written, in order', () => {
    assert.deepEqual(referencedVariables(parseExpression('@[User::A] + @[User::A] + @B')), [
      'User::A', 'B',
    ]);
    assert.deepEqual(referencedVariables(node), [
      'User::A', '$Project::B', '$Package::C', 'System::PackageName', 'D', 'E F', 'A2',
    ]);
  });

  it('refuses data-flow column references and lineage identifiers', () => {
    throwsAt(() => parseExpression('ListPrice * 2'), /column reference/, 1, 'ListPrice');
    throwsAt(() => parseExpression('#147 + 1'), /Lineage identifiers/, 1, '#147');
  });

  it('reads function names in any case', () => {
    assert.equal(textOf('upper("a") + Lower("B")'), 'Ab');
    assert.equal(run('gEtDaTe()').type, 'DT_DBTIMESTAMP');
  });
});

describe('syntax errors quote the construct and its 1-based position', () => {
  it('names an unsupported function', () => {
    throwsAt(() => parseExpression('"a" + FOO(@[User::X])'),
      /^Unsupported function FOO at position 7: FOO\(@\[User::X\]\)$/, 7, 'FOO(@[User::X])');
  });

  it('names an unsupported or unknown data type', () => {
    throwsAt(() => parseExpression('(DT_GUID) @[User::G]'), /Unsupported data type DT_GUID/, 1);
    throwsAt(() => parseExpression('(DT_WSTRING, 5) "a"'), /Unknown data type DT_WSTRING/, 1);
    throwsAt(() => parseExpression('(DT_WSTR) "a"'), /DT_WSTR takes parameters \(charcount\)/);
    throwsAt(() => parseExpression('(DT_WSTR, 4001) "a"'), /1 to 4000/);
  });

  it('checks the number of arguments', () => {
    throwsAt(() => parseExpression('SUBSTRING("abc", 1)'), /SUBSTRING takes 3 argument/, 1);
    throwsAt(() => parseExpression('GETDATE(1)'), /GETDATE takes 0 argument/);
  });

  it('refuses nesting deeper than 200 levels instead of overflowing the stack', () => {
    throwsAt(() => parseExpression(`${'('.repeat(5000)}1${')'.repeat(5000)}`), /nests deeper/);
    throwsAt(() => parseExpression(`${'-'.repeat(5000)}1`), /nests deeper/);
    assert.equal(run(`${'('.repeat(50)}1${')'.repeat(50)}`).value, 1);
  });

  it('refuses text after a complete expression and an empty expression', () => {
    throwsAt(() => parseExpression('1 + 2 3'), /Unexpected text/, 7, '3');
    throwsAt(() => parseExpression('   '), /empty/);
    throwsAt(() => parseExpression('(1 + 2'), /Expected a closing \)/);
    throwsAt(() => parseExpression('TRUE ? 1'), /Expected the : of a conditional/);
  });
});

describe('precedence and associativity (Operator Precedence and Associativity page)', () => {
  const shapes: [string, string][] = [
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['1 - 2 - 3', '((1 - 2) - 3)'],
    ['-2 * 3', '((-2) * 3)'],
    ['(DT_WSTR, 1) 1 + "2"', '(((DT_WSTR, 1) 1) + "2")'],
    ['(DT_I4) -1', '((DT_I4) (-1))'],
    ['!TRUE == FALSE', '((!TRUE) == FALSE)'],
    ['1 < 2 == 3 > 4', '((1 < 2) == (3 > 4))'],
    ['1 | 2 ^ 3 & 4', '(1 | (2 ^ (3 & 4)))'],
    ['1 == 1 & 2', '((1 == 1) & 2)'],
    ['TRUE || FALSE && FALSE', '(TRUE || (FALSE && FALSE))'],
    ['TRUE ? 1 : FALSE ? 2 : 3', '(TRUE ? 1 : (FALSE ? 2 : 3))'],
    ['TRUE && FALSE ? "x" : "y"', '((TRUE && FALSE) ? "x" : "y")'],
  ];
  for (const [text, shape] of shapes) {
    it(`${text} groups as ${shape}`, () => {
      assert.equal(printExpression(parseExpression(text)), shape);
    });
  }

  it('computes with that grouping', () => {
    assert.equal(run('1 + 2 * 3').value, 7);
    assert.equal(run('10 - 4 - 3').value, 3);
    assert.equal(run('1 | 2 ^ 3 & 4').value, 3);
    assert.equal(run('TRUE || FALSE && FALSE').value, true);
    assert.equal(run('FALSE ? 1 : TRUE ? 2 : 3').value, 2);
    assert.equal(run('(DT_WSTR, 1) 1 + "2"').value, '12');
    assert.equal(run('3 > 2 == TRUE').value, true);
  });
});
