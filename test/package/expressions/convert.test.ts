import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  ExpressionError, toPropertyString, type SsisValue,
} from '../../../src/package/expressions/index.js';
import { run, textOf } from './helpers.js';

function fails(text: string, message: RegExp): void {
  assert.throws(() => run(text), (err: unknown) =>
    err instanceof ExpressionError && message.test(err.message));
}

describe('Cast (SSIS Expression): the documented examples', () => {
  it('(DT_STR,1,1252)5 is the DT_STR "5"', () => {
    const v = run('(DT_STR,1,1252)5');
    assert.deepEqual([v.type, v.value, v.length, v.codePage], ['DT_STR', '5', 1, 1252]);
  });

  it('(DT_WSTR,3)"Cat" is the DT_WSTR "Cat"', () => {
    assert.deepEqual(run('(DT_WSTR,3)"Cat"'), { type: 'DT_WSTR', value: 'Cat', length: 3 });
  });

  it('(DT_DECIMAl,2)500 is 500.00 (type names in any case)', () => {
    const v = run('(DT_DECIMAl,2)500');
    assert.deepEqual([v.type, v.value, v.scale], ['DT_DECIMAL', '500.00', 2]);
  });

  it('(DT_NUMERIC,7,3)4000 is 4000.000', () => {
    const v = run('(DT_NUMERIC,7,3)4000');
    assert.deepEqual([v.type, v.value, v.precision, v.scale], ['DT_NUMERIC', '4000.000', 7, 3]);
  });

  it('(DT_BOOL)"True" is TRUE', () => {
    assert.deepEqual(run('(DT_BOOL)"True"'), { type: 'DT_BOOL', value: true });
  });

  it('(DT_DBDATE) "1999-10-11" is that date at midnight', () => {
    const v = run('(DT_DBDATE) "1999-10-11"');
    assert.equal(v.type, 'DT_DBDATE');
    assert.equal((v.value as Date).getTime(), new Date(1999, 9, 11).getTime());
  });

  it('refuses the date/time types it does not implement, by name', () => {
    fails('(DT_DBTIME2, 5) "16:34:52.12345"', /Unsupported data type DT_DBTIME2/);
    fails('(DT_DBTIMESTAMPOFFSET, 7) "1999-10-11 16:34:52.1234567 + 5:35"',
      /Unsupported data type DT_DBTIMESTAMPOFFSET/);
  });
});

describe('casting to strings', () => {
  it('writes numbers in plain decimal', () => {
    assert.equal(textOf('(DT_WSTR, 10) 42'), '42');
    assert.equal(textOf('(DT_WSTR, 10) -42L'), '-42');
    assert.equal(textOf('(DT_WSTR, 10) 12.50'), '12.50');
    assert.equal(textOf('(DT_WSTR, 10) 2.5E0'), '2.5');
  });

  it('writes Booleans as True and False', () => {
    assert.equal(textOf('(DT_WSTR, 5) TRUE'), 'True');
    assert.equal(textOf('(DT_WSTR, 5) (1 == 2)'), 'False');
  });

  it('writes dates in the ISO forms of the data types page', () => {
    assert.equal(textOf('(DT_WSTR, 10) (DT_DBDATE) "11/4/2002"'), '2002-11-04');
    assert.equal(textOf('(DT_WSTR, 30) (DT_DBTIMESTAMP) "2002-11-04 13:05:06"'),
      '2002-11-04 13:05:06');
    assert.equal(textOf('(DT_WSTR, 30) (DT_DATE) "2002-11-04 13:05:06.250"'),
      '2002-11-04 13:05:06');
  });

  it('refuses a value longer than the declared length instead of truncating it', () => {
    fails('(DT_WSTR, 3) "Mountain"', /8 characters long and does not fit DT_WSTR, 3/);
    fails('(DT_WSTR, 2) 100', /3 characters long/);
    assert.equal(textOf('(DT_WSTR, 8) "Mountain"'), 'Mountain');
  });

  it('casts to DT_STR only at the root; inside, the cast gives DT_WSTR', () => {
    assert.equal(run('(DT_STR, 5, 1252) "abc"').type, 'DT_STR');
    const inner = run('(DT_STR, 5, 1252) "Мир" + "!"');
    assert.deepEqual([inner.type, inner.value], ['DT_WSTR', 'Мир!']);
    assert.equal(run('LEN((DT_STR, 5, 1252) "Мир")').value, 3);
  });

  it('allows NULL(DT_STR, ...) at the root or under a cast only (docs screenshots 1 to 4)', () => {
    assert.equal(run('NULL(DT_STR, 10, 1252)').type, 'DT_STR');
    assert.equal(run('NULL(DT_WSTR, 10) + "a"').value, null);
    fails('NULL(DT_STR, 10, 1252) + "a"', /NULL\(DT_STR, \.\.\.\) cannot be an operand/);
    assert.equal(run('(DT_WSTR, 10) NULL(DT_STR, 10, 1252) + "a"').value, null);
  });

  it('refuses characters the DT_STR code page cannot hold', () => {
    fails('(DT_STR, 10, 1252) "Месяц"', /"М" has no mapping in code page 1252/);
    assert.equal(textOf('(DT_STR, 10, 1252) "Café €5"'), 'Café €5');
    assert.equal(textOf('(DT_STR, 10, 65001) "Месяц"'), 'Месяц');
  });
});

describe('casting between numbers and Booleans', () => {
  it('converts TRUE to -1 (Data Types in Expressions page) and FALSE to 0', () => {
    assert.equal(run('(DT_I4) TRUE').value, -1);
    assert.equal(run('(DT_I4) FALSE').value, 0);
    assert.equal(run('(DT_BOOL) 0').value, false);
    assert.equal(run('(DT_BOOL) 5').value, true);
  });

  it('parses numeric strings and refuses others', () => {
    assert.equal(run('(DT_I4) " 12 "').value, 12);
    assert.equal(run('(DT_I8) "-9000000000"').value, -9000000000n);
    assert.equal(run('(DT_NUMERIC, 5, 2) "3.14159"').value, '3.14');
    assert.equal(run('(DT_R8) "1.5E3"').value, 1500);
    fails('(DT_I4) "12abc"', /"12abc" cannot be cast to DT_I4/);
    fails('(DT_BOOL) "yes"', /"yes" cannot be cast to DT_BOOL/);
  });

  it('refuses values out of the target range', () => {
    fails('(DT_I1) 200', /200 overflows DT_I1/);
    fails('(DT_UI4) -1', /-1 overflows DT_UI4/);
    fails('(DT_NUMERIC, 3, 1) 123.4', /overflows DT_NUMERIC with precision 3, scale 1/);
    assert.equal(run('(DT_NUMERIC, 4, 1) 123.4').value, '123.4');
  });

  it('keeps exact values through integer casts of integral decimals', () => {
    assert.equal(run('(DT_I4) 3.0').value, 3);
    assert.equal(run('(DT_I8) 4000.000').value, 4000n);
  });
});

describe('casting dates', () => {
  it('reads ISO and en-US date strings', () => {
    const expected = new Date(2003, 7, 6).getTime();
    for (const text of ['"2003-08-06"', '"8/6/2003"', '"08/06/2003 00:00:00"']) {
      assert.equal((run(`(DT_DBTIMESTAMP) ${text}`).value as Date).getTime(), expected);
    }
    const pm = run('(DT_DBTIMESTAMP) "8/6/2003 1:30 PM"').value as Date;
    assert.equal(pm.getHours(), 13);
  });

  it('refuses impossible dates and unknown shapes', () => {
    fails('(DT_DBTIMESTAMP) "2003-02-30"', /not a date/);
    fails('(DT_DBDATE) "6 Aug 2003"', /not a date/);
  });

  it('drops the time when casting to DT_DBDATE', () => {
    const v = run('(DT_DBDATE) GETDATE()').value as Date;
    assert.deepEqual([v.getHours(), v.getMinutes(), v.getDate()], [0, 0, 4]);
  });

  it('refuses casts the Cast page marks illegal', () => {
    fails('(DT_DBDATE) 5', /DT_I4 cannot be cast to DT_DBDATE/);
    fails('(DT_I4) GETDATE()', /DT_DBTIMESTAMP cannot be cast to DT_I4/);
  });
});

describe('toPropertyString', () => {
  const cases: [SsisValue, string][] = [
    [{ type: 'DT_WSTR', value: 'x' }, 'x'],
    [{ type: 'DT_I4', value: -5 }, '-5'],
    [{ type: 'DT_UI8', value: 18446744073709551615n }, '18446744073709551615'],
    [{ type: 'DT_BOOL', value: true }, 'True'],
    [{ type: 'DT_BOOL', value: false }, 'False'],
    [{ type: 'DT_R8', value: 1e21 }, '1E+21'],
    [{ type: 'DT_NUMERIC', value: '0.50', scale: 2 }, '0.50'],
    [{ type: 'DT_DBDATE', value: new Date(2024, 1, 29) }, '2024-02-29'],
    [{ type: 'DT_DBTIMESTAMP', value: new Date(2024, 1, 29, 8, 5, 3, 7) },
      '2024-02-29 08:05:03.007000000'],
    [{ type: 'DT_WSTR', value: null }, ''],
  ];
  for (const [value, text] of cases) {
    it(`writes ${value.type} ${String(value.value)} as ${JSON.stringify(text)}`, () => {
      assert.equal(toPropertyString(value), text);
    });
  }
});
