import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExpressionError, type SsisValue } from '../../../src/package/expressions/index.js';
import { bool, i4, run, textOf, wstr } from './helpers.js';

function fails(text: string, message: RegExp, vars: Record<string, SsisValue> = {}): void {
  assert.throws(() => run(text, vars), (err: unknown) =>
    err instanceof ExpressionError && message.test(err.message));
}

describe('+ (Concatenate) and + (Add)', () => {
  it('concatenates two strings into DT_WSTR', () => {
    const v = run('"Order " + "date"');
    assert.deepEqual([v.type, v.value], ['DT_WSTR', 'Order date']);
  });

  it('concatenates DT_STR and DT_WSTR into DT_WSTR', () => {
    assert.equal(run('(DT_STR, 3, 1252) "abc" + "d"').type, 'DT_WSTR');
  });

  it('refuses a string and a number, with the SSIS message', () => {
    fails('"Issue " + 10',
      /^The data types "DT_WSTR" and "DT_I4" are incompatible for binary operator "\+"/);
    fails('@[User::N] + "x"', /"DT_I4" and "DT_WSTR" are incompatible for binary operator "\+"/,
      { 'User::N': i4(1) });
    fails('"Now: " + GETDATE()', /"DT_WSTR" and "DT_DBTIMESTAMP" are incompatible/);
  });

  it('adds numbers of mixed types exactly (5 + 6.09 + 7.0, from the docs)', () => {
    const v = run('5 + 6.09 + 7.0');
    assert.deepEqual([v.type, v.value], ['DT_NUMERIC', '18.09']);
  });

  it('widens integers: DT_I4 + DT_I8 is DT_I8, signed + unsigned a larger signed type', () => {
    assert.equal(run('1 + 2L').type, 'DT_I8');
    assert.equal(run('1 + 2U').type, 'DT_I8');
    assert.equal(run('(DT_I2) 1 + (DT_UI1) 2').type, 'DT_I2');
    assert.equal(run('1.5E0 + 1').type, 'DT_R8');
    fails('1 + 2UL', /explicit cast/);
  });

  it('propagates NULL', () => {
    const v = run('"a" + NULL(DT_WSTR, 5)');
    assert.deepEqual([v.type, v.value], ['DT_WSTR', null]);
    assert.equal(run('1 + NULL(DT_I4)').value, null);
  });

  it('reports overflow instead of wrapping', () => {
    fails('2147483647 + 1', /overflows DT_I4/);
    assert.equal(run('2147483647L + 1').value, 2147483648n);
  });
});

describe('- * / %', () => {
  it('computes integer results with truncating division', () => {
    assert.equal(run('7 - 10').value, -3);
    assert.equal(run('6 * 7').value, 42);
    assert.equal(run('7 / 2').value, 3);
    assert.equal(run('-7 / 2').value, -3);
    assert.equal(run('7 % 3').value, 1);
    assert.equal(run('-7 % 3').value, -1);
  });

  it('keeps exact decimals exact', () => {
    assert.equal(run('0.1 + 0.2').value, '0.3');
    assert.equal(run('1.5 * 2.25').value, '3.375');
    assert.equal(run('10.0 / 4').value, '2.500000');
    assert.equal(run('(DT_CY) 10 * 3').type, 'DT_CY');
  });

  it('computes reals in double precision', () => {
    assert.equal(run('1.0E0 / 4').value, 0.25);
  });

  it('refuses division by zero', () => {
    fails('1 / 0', /Division by zero at position 1: 1 \/ 0/);
    fails('1 % 0', /Division by zero/);
    fails('1.5 / 0.0', /Division by zero/);
  });

  it('needs integers for %, numbers for - * /', () => {
    fails('5.5 % 2', /incompatible for binary operator "%"/);
    fails('"a" * 2', /incompatible for binary operator "\*"/);
    fails('TRUE - 1', /incompatible for binary operator "-"/);
  });
});

describe('unary operators', () => {
  it('negates numbers', () => {
    assert.equal(run('-(3)').value, -3);
    assert.equal(run('-1.25').value, '-1.25');
    assert.equal(run('-(DT_UI1) 200').type, 'DT_I2');
  });

  it('! needs a Boolean, ~ an integer', () => {
    assert.equal(run('!TRUE').value, false);
    assert.equal(run('!NULL(DT_BOOL)').value, null);
    assert.equal(run('~0').value, -1);
    assert.equal(run('~(DT_UI1) 1').value, 254);
    fails('!1', /unary operator "!"/);
    fails('~1.5', /unary operator "~"/);
    fails('-"a"', /unary operator "-"/);
  });
});

describe('comparisons', () => {
  it('compares numbers across types', () => {
    assert.equal(run('1 == 1.0').value, true);
    assert.equal(run('2 > 1.5E0').value, true);
    assert.equal(run('3L <= 2').value, false);
    assert.equal(run('1 != 2').value, true);
  });

  it('compares strings case-sensitively (docs: case, accent, kana and width-sensitive)', () => {
    assert.equal(run('"month" == "month"').value, true);
    assert.equal(run('"Month" == "month"').value, false);
    assert.equal(run('"é" == "e"').value, false);
    assert.equal(run('"a" < "b"').value, true);
  });

  it('compares dates, and a date with a date string', () => {
    assert.equal(run('(DT_DBTIMESTAMP) "2003-07-04" == (DT_DBDATE) "2003-07-04"').value, true);
    assert.equal(run('"11/4/2002" < GETDATE()').value, true);
    assert.equal(run('DATEADD("d", 1, GETDATE()) > GETDATE()').value, true);
  });

  it('compares Booleans only for equality', () => {
    assert.equal(run('TRUE == TRUE').value, true);
    assert.equal(run('@[$Project::EnableSuccessEmail] == True', {
      '$Project::EnableSuccessEmail': bool(false),
    }).value, false);
    fails('TRUE < FALSE', /binary operator "<"/);
  });

  it('refuses a string against a number', () => {
    fails('"1" == 1', /"DT_WSTR" and "DT_I4" are incompatible for binary operator "=="/);
  });

  it('is NULL when either side is NULL', () => {
    assert.equal(run('NULL(DT_I4) == NULL(DT_I4)').value, null);
    assert.equal(run('"a" == NULL(DT_WSTR, 1)').value, null);
  });
});

describe('&& and || follow the documented NULL tables', () => {
  const N = 'NULL(DT_BOOL)';
  const and: [string, string, boolean | null][] = [
    ['TRUE', 'TRUE', true], ['TRUE', 'FALSE', false], ['FALSE', 'FALSE', false],
    [N, N, null], [N, 'TRUE', null], [N, 'FALSE', false], ['FALSE', N, false],
  ];
  const or: [string, string, boolean | null][] = [
    ['TRUE', 'TRUE', true], ['TRUE', 'FALSE', true], ['FALSE', 'FALSE', false],
    [N, N, null], [N, 'TRUE', true], [N, 'FALSE', null], ['TRUE', N, true],
  ];
  for (const [a, b, expected] of and) {
    it(`${a} && ${b} is ${String(expected)}`, () => {
      assert.equal(run(`${a} && ${b}`).value, expected);
    });
  }
  for (const [a, b, expected] of or) {
    it(`${a} || ${b} is ${String(expected)}`, () => {
      assert.equal(run(`${a} || ${b}`).value, expected);
    });
  }

  it('still type-checks the side it does not evaluate', () => {
    fails('FALSE && 1', /"DT_BOOL" and "DT_I4" are incompatible for binary operator "&&"/);
  });

  it('does not evaluate the right side once the result is known', () => {
    assert.equal(run('FALSE && 1 / 0 == 1').value, false);
    assert.equal(run('TRUE || 1 / 0 == 1').value, true);
  });
});

describe('& | ^ on integers', () => {
  it('computes bitwise results', () => {
    assert.equal(run('6 & 3').value, 2);
    assert.equal(run('6 | 3').value, 7);
    assert.equal(run('6 ^ 3').value, 5);
    fails('TRUE & FALSE', /binary operator "&"/);
  });
});

describe('? : (Conditional)', () => {
  const animal = (name: string): Record<string, SsisValue> => ({ AnimalName: wstr(name) });

  it('returns the documented example values', () => {
    assert.equal(textOf('@AnimalName == "Elephant"? "savannah": "unknown"', animal('Elephant')),
      'savannah');
    assert.equal(textOf('@AnimalName == "Elephant"? "savannah": "unknown"', animal('Cat')),
      'unknown');
  });

  it('is NULL for a NULL condition and for a NULL selected result only', () => {
    assert.equal(run('NULL(DT_BOOL) ? "a" : "b"').value, null);
    assert.equal(run('TRUE ? NULL(DT_WSTR, 1) : "b"').value, null);
    assert.equal(run('FALSE ? NULL(DT_WSTR, 1) : "b"').value, 'b');
  });

  it('needs compatible results and a Boolean condition', () => {
    fails('TRUE ? "a" : 1', /"DT_WSTR" and "DT_I4" are incompatible for the conditional/);
    fails('1 ? "a" : "b"', /condition of "\? :" must be DT_BOOL/);
  });

  it('promotes numeric results to a common type', () => {
    const v = run('FALSE ? 1 : 2L');
    assert.deepEqual([v.type, v.value], ['DT_I8', 2n]);
  });

  it('evaluates only the selected branch', () => {
    assert.equal(run('TRUE ? 1 : 1 / 0').value, 1);
  });
});

describe('variables', () => {
  it('takes the type and value the scope gives', () => {
    const v = run('@[User::Count] * 2', { 'User::Count': { type: 'DT_I8', value: 21n } });
    assert.deepEqual([v.type, v.value], ['DT_I8', 42n]);
  });

  it('passes a bare @Name to the scope unqualified', () => {
    assert.equal(run('@VarCnt > 0', { VarCnt: i4(3) }).value, true);
  });

  it('reports an unknown variable with its position', () => {
    fails('"x" + @[User::Missing]',
      /User::Missing is not defined at position 7: @\[User::Missing\]/);
  });

  it('reports a scope value that does not match its declared type', () => {
    fails('@[User::X]', /gave a number for a variable of type DT_WSTR/,
      { 'User::X': { type: 'DT_WSTR', value: 5 } });
  });
});
