import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExpressionError, type SsisValue } from '../../../src/package/expressions/index.js';
import { run, textOf, wstr } from './helpers.js';

function fails(text: string, message: RegExp, vars: Record<string, SsisValue> = {}): void {
  assert.throws(() => run(text, vars), (err: unknown) =>
    err instanceof ExpressionError && message.test(err.message));
}

/** [expression, expected text, expected type] from each function's documentation page. */
type Case = [string, string, string];

function table(cases: Case[]): void {
  for (const [text, expected, type] of cases) {
    it(`${text} = ${JSON.stringify(expected)}`, () => {
      const v = run(text);
      assert.equal(v.type, type);
      assert.equal(textOf(text), expected);
    });
  }
}

describe('string functions', () => {
  table([
    ['SUBSTRING("Mountain Bike", 1, 8)', 'Mountain', 'DT_WSTR'],
    ['SUBSTRING("elephant",4,2)', 'ph', 'DT_WSTR'],
    ['SUBSTRING ("elephant",4,50)', 'phant', 'DT_WSTR'],
    ['SUBSTRING ("Redmond",4,0)', '', 'DT_WSTR'],
    ['RIGHT("Mountain Bike", 4)', 'Bike', 'DT_WSTR'],
    ['RIGHT("Bike", 10)', 'Bike', 'DT_WSTR'],
    ['LEFT("Mountain Bike", 8)', 'Mountain', 'DT_WSTR'],
    ['LEN("Mountain Bike")', '13', 'DT_I4'],
    ['LEN("  a  ")', '5', 'DT_I4'],
    ['TRIM("   New York   ")', 'New York', 'DT_WSTR'],
    ['LTRIM("   Hello")', 'Hello', 'DT_WSTR'],
    ['RTRIM("Hello   ")', 'Hello', 'DT_WSTR'],
    ['TRIM("\\t x \\n")', '\t x \n', 'DT_WSTR'],
    ['UPPER("Mountain Bike")', 'MOUNTAIN BIKE', 'DT_WSTR'],
    ['LOWER("Mountain Bike")', 'mountain bike', 'DT_WSTR'],
    ['REPLACE("Mountain Bike", "Mountain", "All Terrain")', 'All Terrain Bike', 'DT_WSTR'],
    ['REPLACE("Mountain Bike", "Bike", "")', 'Mountain ', 'DT_WSTR'],
    ['REPLICATE("Mountain", 3)', 'MountainMountainMountain', 'DT_WSTR'],
    ['REVERSE("Tomato")', 'otamoT', 'DT_WSTR'],
    ['FINDSTRING("New York, NY, NY", "NY", 1)', '11', 'DT_I4'],
    ['FINDSTRING("New York, NY, NY", "NY", 3)', '0', 'DT_I4'],
    ['FINDSTRING("Anderson", "n", 2)', '8', 'DT_I4'],
    ['FINDSTRING("Mountain,500Red,42", "42", 1)', '17', 'DT_I4'],
    ['TOKEN("a little white dog"," ",1)', 'a', 'DT_WSTR'],
    ['TOKEN("a:little|white dog","| ,.:",4)', 'dog', 'DT_WSTR'],
    ['TOKEN("a little white dog"," ",99)', '', 'DT_WSTR'],
    ['TOKEN("a little white dog","|",1)', 'a little white dog', 'DT_WSTR'],
    ['TOKEN("        a little white dog", " ", 1)', 'a', 'DT_WSTR'],
    ['TOKENCOUNT("a little white dog"," ")', '4', 'DT_I4'],
    ['TOKENCOUNT("        a little white dog", " ")', '4', 'DT_I4'],
    ['CODEPOINT("Apple")', '65', 'DT_UI2'],
    ['HEX(400)', '190', 'DT_WSTR'],
    ['HEX((DT_I2) 750)', '2EE', 'DT_WSTR'],
    ['HEX(1033)', '409', 'DT_WSTR'],
    ['HEX(-1)', 'FFFFFFFF', 'DT_WSTR'],
  ]);

  it('TOKEN finds the file name of a path (docs example)', () => {
    const path = { 'User::Path': wstr('c:\\program files\\data\\myfile.txt') };
    assert.equal(textOf('TOKEN(@[User::Path], "\\\\", TOKENCOUNT(@[User::Path], "\\\\"))', path),
      'myfile.txt');
  });

  it('returns NULL for a NULL argument', () => {
    for (const text of [
      'UPPER(NULL(DT_WSTR, 5))', 'SUBSTRING(NULL(DT_WSTR, 5), 1, 2)',
      'SUBSTRING("abc", NULL(DT_I4), 2)', 'LEN(NULL(DT_WSTR, 5))',
      'FINDSTRING(NULL(DT_WSTR, 5), "a", 1)', 'TOKEN(NULL(DT_WSTR, 5), " ", 1)',
      'HEX(NULL(DT_I4))', 'REPLACE("a", NULL(DT_WSTR, 1), "b")', 'CODEPOINT("")',
    ]) {
      assert.equal(run(text).value, null, text);
    }
  });

  it('refuses invalid arguments with the function and argument named', () => {
    fails('UPPER(5)', /UPPER needs a string as argument 1, not "DT_I4" at position 7: 5/);
    fails('SUBSTRING("abc", "1", 2)', /SUBSTRING needs a integer as argument 2/);
    fails('SUBSTRING("abc", 0, 2)', /positions start at 1/);
    fails('LEFT("abc", -1)', /must not be negative/);
    fails('FINDSTRING("abc", "b", 0)', /occurrence must be 1 or more/);
    fails('REPLACE("abc", "", "x")', /cannot search for an empty string/);
    fails('REPLICATE("ab", 1000000)', /more than 1000000 characters/);
  });
});

describe('date functions', () => {
  table([
    ['DATEPART("month", (DT_DBTIMESTAMP)"11/04/2002")', '11', 'DT_I4'],
    ['DATEPART("dd", (DT_DBTIMESTAMP)"11/04/2002")', '4', 'DT_I4'],
    ['DATEPART("yy", GETDATE())', '2002', 'DT_I4'],
    ['DAY((DT_DBTIMESTAMP)"11/23/2002")', '23', 'DT_I4'],
    ['MONTH((DT_DBTIMESTAMP)"11/23/2002")', '11', 'DT_I4'],
    ['YEAR((DT_DBTIMESTAMP)"11/23/2002")', '2002', 'DT_I4'],
    ['DATEDIFF("dd", (DT_DBTIMESTAMP)"8/1/2003", (DT_DBTIMESTAMP)"8/8/2003")', '7', 'DT_I4'],
    ['DATEDIFF("mm", (DT_DBTIMESTAMP)"8/1/2003", GETDATE())', '-9', 'DT_I4'],
    ['DATEADD("yyyy", 2, (DT_DBTIMESTAMP)"8/6/2003")', '2005-08-06 00:00:00', 'DT_DBTIMESTAMP'],
    ['DATEADD("Month", 1, GETDATE())', '2002-12-04 13:05:06.789000000', 'DT_DBTIMESTAMP'],
    ['DATEADD("day", 21, (DT_DBDATE)"2002-11-25")', '2002-12-16 00:00:00', 'DT_DBTIMESTAMP'],
    ['GETDATE()', '2002-11-04 13:05:06.789000000', 'DT_DBTIMESTAMP'],
  ]);

  it('knows every datepart name and abbreviation, in any case', () => {
    // 2002-11-04 13:05:06.789 is a Monday, day 308 of the year, in week 45.
    const expected: Record<string, number> = {
      Year: 2002, yy: 2002, yyyy: 2002, Quarter: 4, qq: 4, q: 4, Month: 11, mm: 11, m: 11,
      Dayofyear: 308, dy: 308, y: 308, Day: 4, dd: 4, d: 4, Week: 45, wk: 45, ww: 45,
      Weekday: 2, dw: 2, Hour: 13, Hh: 13, Minute: 5, mi: 5, n: 5, Second: 6, ss: 6, s: 6,
      Millisecond: 789, Ms: 789, MM: 11, DD: 4,
    };
    for (const [part, value] of Object.entries(expected)) {
      assert.equal(run(`DATEPART("${part}", GETDATE())`).value, value, part);
    }
  });

  it('counts the weekday from Sunday = 1', () => {
    assert.equal(run('DATEPART("dw", (DT_DBDATE) "2024-06-02")').value, 1);
    assert.equal(run('DATEPART("dw", (DT_DBDATE) "2024-06-08")').value, 7);
  });

  it('counts DATEDIFF boundaries, not elapsed time', () => {
    const a = '(DT_DBTIMESTAMP) "2003-12-31 23:59:59"';
    const b = '(DT_DBTIMESTAMP) "2004-01-01 00:00:00"';
    for (const [part, value] of [['yy', 1], ['q', 1], ['m', 1], ['d', 1], ['hh', 1], ['mi', 1],
      ['ss', 1], ['ms', 1000]] as const) {
      assert.equal(run(`DATEDIFF("${part}", ${a}, ${b})`).value, value, part);
    }
    // 2024-06-01 is a Saturday, 2024-06-02 a Sunday: one week boundary.
    assert.equal(run('DATEDIFF("wk", (DT_DBDATE)"2024-06-01", (DT_DBDATE)"2024-06-02")').value, 1);
    assert.equal(run(`DATEDIFF("d", ${b}, ${a})`).value, -1);
  });

  it('adds months without overflowing the month', () => {
    assert.equal(textOf('DATEADD("m", 1, (DT_DBDATE)"2003-01-31")'), '2003-02-28 00:00:00');
    assert.equal(textOf('DATEADD("q", -1, (DT_DBDATE)"2004-05-31")'), '2004-02-29 00:00:00');
  });

  it('gives GETUTCDATE the UTC fields of now', () => {
    const now = new Date(2002, 10, 4, 13, 5, 6, 789);
    const v = run('GETUTCDATE()').value as Date;
    assert.equal(v.getHours(), now.getUTCHours());
    assert.equal(v.getDate(), now.getUTCDate());
  });

  it('returns NULL for a NULL date and refuses unknown dateparts', () => {
    assert.equal(run('DATEPART("d", NULL(DT_DBTIMESTAMP))').value, null);
    assert.equal(run('DATEADD("d", 1, NULL(DT_DBDATE))').type, 'DT_DBTIMESTAMP');
    fails('DATEPART("fortnight", GETDATE())', /Unknown datepart "fortnight"/);
    fails('DATEADD("d", 1.5, GETDATE())', /DATEADD needs a integer as argument 2/);
    fails('YEAR(5)', /YEAR needs a date as argument 1/);
  });
});

describe('mathematical functions', () => {
  table([
    ['ABS(-1250.55)', '1250.55', 'DT_NUMERIC'],
    ['ABS(-5)', '5', 'DT_I4'],
    ['CEILING(123.74)', '124.00', 'DT_NUMERIC'],
    ['CEILING(-123.45)', '-123.00', 'DT_NUMERIC'],
    ['FLOOR(123.45)', '123.00', 'DT_NUMERIC'],
    ['FLOOR(-123.45)', '-124.00', 'DT_NUMERIC'],
    ['ROUND(137.1574,3)', '137.1570', 'DT_NUMERIC'],
    ['ROUND(137.1575,3)', '137.1580', 'DT_NUMERIC'],
    ['ROUND(2.5E0, 0)', '3', 'DT_R8'],
    ['SIGN(-123.45)', '-1', 'DT_I4'],
    ['SIGN(0)', '0', 'DT_I4'],
    ['POWER(2, 10)', '1024', 'DT_R8'],
    ['SQRT(36)', '6', 'DT_R8'],
    ['SQUARE(12)', '144', 'DT_R8'],
    ['EXP(0)', '1', 'DT_R8'],
    ['LN(1)', '0', 'DT_R8'],
    ['LOG(1000)', '3', 'DT_R8'],
  ]);

  it('refuses arguments outside the domain', () => {
    fails('SQRT(-1)', /SQRT of a negative number/);
    fails('LN(0)', /LN needs a positive number/);
    fails('LOG(-10)', /LOG needs a positive number/);
    fails('ABS("1")', /ABS needs a numeric as argument 1/);
    fails('ROUND(1.25, -1)', /must not be negative/);
  });
});

describe('NULL functions', () => {
  it('NULL(type) is a NULL of that type', () => {
    assert.deepEqual(run('NULL(DT_WSTR, 10)'), { type: 'DT_WSTR', length: 10, value: null });
    assert.deepEqual(run('NULL(DT_I4)'), { type: 'DT_I4', value: null });
    assert.equal(run('NULL(DT_STR, 10, 1252)').type, 'DT_STR');
  });

  it('ISNULL is TRUE only for NULL', () => {
    assert.equal(run('ISNULL(NULL(DT_WSTR, 10))').value, true);
    assert.equal(run('ISNULL("")').value, false);
    assert.equal(run('ISNULL(@[User::X])', { 'User::X': wstr(null) }).value, true);
  });

  it('REPLACENULL returns the second argument for a NULL first one', () => {
    assert.equal(run('REPLACENULL(NULL(DT_I4), 0)').value, 0);
    assert.equal(run('REPLACENULL(7, 0)').value, 7);
    assert.equal(textOf('REPLACENULL(@[User::X], "none")', { 'User::X': wstr(null) }), 'none');
    fails('REPLACENULL(NULL(DT_I4), "x")', /incompatible for the conditional/);
  });
});
