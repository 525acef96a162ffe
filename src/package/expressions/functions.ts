/**
 * The SSIS functions this evaluator supports, each with its argument rules, result type and
 * NULL behaviour as its Microsoft documentation page states them. Names are upper case; the
 * parser upper-cases what the expression wrote.
 */
import { castValue, fromNum, numToNumber, toNum, type Num } from './convert.js';
import { dateAdd, dateDiff, datePart, toDatePart, utcWallClock, type DatePart } from './dates.js';
import { type Decimal, formatDecimal, parseDecimal, rescale, truncateTo } from './decimal.js';
import { ExpressionError } from './expression-error.js';
import {
  integerRange, integerSize, isDate, isInteger, isNumeric, isString,
} from './type-spec.js';
import { conditionalType } from './typing.js';
import type { ExpressionNode, SourceSpan, SsisTypeInfo, SsisValue } from './types.js';

/** What a function needs from the evaluation besides its arguments. */
export interface FunctionEnv {
  now(): Date;
}

export type CallNode = Extract<ExpressionNode, { kind: 'call' }>;

export interface FunctionDef {
  minArgs: number;
  maxArgs: number;
  /** Checks the argument types and returns the result type; throws ExpressionError. */
  type(args: SsisTypeInfo[], call: CallNode): SsisTypeInfo;
  /**
   * Computes the result. Unless `acceptsNull` is set, it is only called when no argument is
   * NULL; otherwise the result is a NULL of the result type.
   */
  apply(args: SsisValue[], call: CallNode, env: FunctionEnv, result: SsisTypeInfo): SsisValue;
  acceptsNull?: boolean;
}

const WSTR: SsisTypeInfo = { type: 'DT_WSTR' };
const I4: SsisTypeInfo = { type: 'DT_I4' };
const R8: SsisTypeInfo = { type: 'DT_R8' };
const TIMESTAMP: SsisTypeInfo = { type: 'DT_DBTIMESTAMP' };

function fail(at: SourceSpan, problem: string): never {
  throw new ExpressionError(problem, at.position, at.text);
}

type Kind = 'string' | 'integer' | 'numeric' | 'date';

const KIND_TEST: Record<Kind, (t: SsisTypeInfo['type']) => boolean> = {
  string: isString,
  integer: isInteger,
  numeric: isNumeric,
  // A date argument may also be a string in date format (DATEPART, DATEADD docs).
  date: (t) => isDate(t) || isString(t),
};

/** Checks each argument against the kind expected at its position. */
function expect(call: CallNode, args: SsisTypeInfo[], kinds: Kind[]): void {
  args.forEach((arg, i) => {
    const kind = kinds[Math.min(i, kinds.length - 1)];
    if (arg.type !== 'DT_NULL' && !KIND_TEST[kind](arg.type)) {
      const node = call.args[i];
      fail(node, `${call.name} needs a ${kind} as argument ${i + 1}, not "${arg.type}"`);
    }
  });
}

const str = (v: SsisValue): string => v.value as string;

/** An integer argument as a JS number. */
function int(v: SsisValue): number {
  return Number(v.value as number | bigint);
}

/** A date argument; a string is cast to DT_DBTIMESTAMP first. */
function date(v: SsisValue, at: SourceSpan): Date {
  if (isString(v.type)) return castValue(v, TIMESTAMP, at).value as Date;
  return v.value as Date;
}

function part(v: SsisValue, at: SourceSpan): DatePart {
  const p = toDatePart(str(v));
  if (p === undefined) {
    fail(at, `Unknown datepart ${JSON.stringify(str(v))} (use year, quarter, month, ` +
      'dayofyear, day, week, weekday, hour, minute, second, millisecond or an abbreviation)');
  }
  return p;
}

function wstr(value: string): SsisValue {
  return { type: 'DT_WSTR', value };
}

function i4(value: number, at: SourceSpan): SsisValue {
  const [min, max] = integerRange('DT_I4');
  if (BigInt(value) < min || BigInt(value) > max) fail(at, `The result ${value} overflows DT_I4`);
  return { type: 'DT_I4', value };
}

function r8(value: number, at: SourceSpan): SsisValue {
  if (!Number.isFinite(value)) fail(at, 'The result is not a finite number');
  return { type: 'DT_R8', value };
}

/** A string function: the listed kinds, result DT_WSTR unless given. */
function stringFn(
  kinds: Kind[],
  apply: (args: SsisValue[], call: CallNode) => SsisValue,
  result: SsisTypeInfo = WSTR,
): FunctionDef {
  return {
    minArgs: kinds.length,
    maxArgs: kinds.length,
    type: (args, call) => {
      expect(call, args, kinds);
      return result;
    },
    apply: (args, call) => apply(args, call),
  };
}

function nonNegative(v: SsisValue, call: CallNode, index: number, what: string): number {
  const n = int(v);
  if (n < 0) fail(call.args[index], `${call.name}: ${what} must not be negative (${n})`);
  return n;
}

/** Removes U+0020 only: the TRIM family leaves tabs and line feeds alone. */
const trimStart = (s: string): string => s.replace(/^ +/, '');
const trimEnd = (s: string): string => s.replace(/ +$/, '');

/** Splits on any of the delimiter characters, skipping empty tokens (TOKEN docs). */
function tokens(s: string, delimiters: string): string[] {
  const set = new Set(delimiters);
  const found: string[] = [];
  let current = '';
  for (const ch of s) {
    if (set.has(ch)) {
      if (current !== '') found.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current !== '') found.push(current);
  return found;
}

/** The longest string REPLICATE may build; beyond it the expression is surely a mistake. */
const MAX_REPLICATE = 1_000_000;

/** A math function on one number with the same result type (ABS, CEILING, FLOOR). */
function sameTypeMath(
  onInt: (n: bigint) => bigint,
  onDecimal: (d: Decimal) => Decimal,
  onFloat: (n: number) => number,
): FunctionDef {
  return {
    minArgs: 1,
    maxArgs: 1,
    type: (args, call) => {
      expect(call, args, ['numeric']);
      return args[0];
    },
    apply: ([v], call, _env, result) => {
      const n = toNum(v);
      const out: Num = n.kind === 'int'
        ? { kind: 'int', value: onInt(n.value) }
        : n.kind === 'dec'
          ? { kind: 'dec', value: onDecimal(n.value) }
          : { kind: 'float', value: onFloat(n.value) };
      return fromNum(out, { ...result, type: v.type }, call);
    },
  };
}

/** A math function with a DT_R8 result. */
function realMath(arity: number, compute: (xs: number[], call: CallNode) => number): FunctionDef {
  return {
    minArgs: arity,
    maxArgs: arity,
    type: (args, call) => {
      expect(call, args, ['numeric']);
      return R8;
    },
    apply: (args, call) => r8(compute(args.map((a) => numToNumber(toNum(a))), call), call),
  };
}

function floorDecimal(d: Decimal): Decimal {
  const whole = truncateTo(d, 0);
  const down = d.unscaled < 0n && rescale(whole, d.scale).unscaled !== d.unscaled
    ? { unscaled: whole.unscaled - 1n, scale: 0 } : whole;
  return rescale(down, d.scale);
}

function ceilingDecimal(d: Decimal): Decimal {
  const whole = truncateTo(d, 0);
  const up = d.unscaled > 0n && rescale(whole, d.scale).unscaled !== d.unscaled
    ? { unscaled: whole.unscaled + 1n, scale: 0 } : whole;
  return rescale(up, d.scale);
}

/** Rounds half away from zero to `digits` after the point, keeping the scale. */
function roundDecimal(d: Decimal, digits: number): Decimal {
  return rescale(rescale(d, Math.min(digits, d.scale)), d.scale);
}

/** Rounds half away from zero to `digits` after the point. */
function roundFloat(x: number, digits: number): number {
  const d = parseDecimal(x.toFixed(Math.min(digits + 3, 100)));
  if (d === undefined || Math.abs(x) >= 1e21) return x;
  return Number(formatDecimal(rescale(d, digits)));
}

const ENTRIES: [string, FunctionDef][] = [
  // String functions.
  ['LEN', stringFn(['string'], ([s]) => ({ type: 'DT_I4', value: str(s).length }), I4)],
  ['LOWER', stringFn(['string'], ([s]) => wstr(str(s).toLowerCase()))],
  ['UPPER', stringFn(['string'], ([s]) => wstr(str(s).toUpperCase()))],
  ['TRIM', stringFn(['string'], ([s]) => wstr(trimEnd(trimStart(str(s)))))],
  ['LTRIM', stringFn(['string'], ([s]) => wstr(trimStart(str(s))))],
  ['RTRIM', stringFn(['string'], ([s]) => wstr(trimEnd(str(s))))],
  ['REVERSE', stringFn(['string'], ([s]) => wstr([...str(s)].reverse().join('')))],
  ['LEFT', stringFn(['string', 'integer'], ([s, n], call) =>
    wstr(str(s).slice(0, nonNegative(n, call, 1, 'the length'))))],
  ['RIGHT', stringFn(['string', 'integer'], ([s, n], call) => {
    const length = nonNegative(n, call, 1, 'the length');
    return wstr(length === 0 ? '' : str(s).slice(-length));
  })],
  ['SUBSTRING', stringFn(['string', 'integer', 'integer'], ([s, p, n], call) => {
    const position = int(p);
    if (position < 1) fail(call.args[1], `SUBSTRING positions start at 1, not ${position}`);
    const length = nonNegative(n, call, 2, 'the length');
    return wstr(str(s).substr(position - 1, length));
  })],
  ['REPLACE', stringFn(['string', 'string', 'string'], ([s, search, by], call) => {
    if (str(search) === '') fail(call.args[1], 'REPLACE cannot search for an empty string');
    return wstr(str(s).split(str(search)).join(str(by)));
  })],
  ['REPLICATE', stringFn(['string', 'integer'], ([s, n], call) => {
    const times = nonNegative(n, call, 1, 'the count');
    if (times * str(s).length > MAX_REPLICATE) {
      fail(call, `REPLICATE would build more than ${MAX_REPLICATE} characters`);
    }
    return wstr(str(s).repeat(times));
  })],
  ['FINDSTRING', stringFn(['string', 'string', 'integer'], ([s, search, n], call) => {
    const occurrence = int(n);
    if (occurrence < 1) {
      fail(call.args[2], `FINDSTRING occurrence must be 1 or more, not ${occurrence}`);
    }
    let from = -1;
    for (let k = 0; k < occurrence; k++) {
      from = str(s).indexOf(str(search), from + 1);
      if (from < 0) return { type: 'DT_I4', value: 0 };
    }
    return { type: 'DT_I4', value: from + 1 };
  }, I4)],
  ['TOKEN', stringFn(['string', 'string', 'integer'], ([s, delimiters, n], call) => {
    const occurrence = int(n);
    if (occurrence < 1) fail(call.args[2], `TOKEN occurrence must be 1 or more, not ${occurrence}`);
    // The docs' example returns "" when there are fewer tokens (its remark says NULL).
    return wstr(tokens(str(s), str(delimiters))[occurrence - 1] ?? '');
  })],
  ['TOKENCOUNT', stringFn(['string', 'string'], ([s, delimiters]) =>
    ({ type: 'DT_I4', value: tokens(str(s), str(delimiters)).length }), I4)],
  ['CODEPOINT', {
    minArgs: 1,
    maxArgs: 1,
    type: (args, call) => {
      expect(call, args, ['string']);
      return { type: 'DT_UI2' };
    },
    apply: ([s]) => {
      const text = str(s);
      return { type: 'DT_UI2', value: text === '' ? null : text.charCodeAt(0) };
    },
  }],
  ['HEX', stringFn(['integer'], ([v]) => {
    let n = BigInt(v.value as number | bigint);
    if (n < 0n) n += 1n << BigInt(integerSize(v.type) * 8);
    return wstr(n.toString(16).toUpperCase());
  })],

  // Date functions.
  ['GETDATE', {
    minArgs: 0, maxArgs: 0, type: () => TIMESTAMP,
    apply: (_args, _call, env) => ({ type: 'DT_DBTIMESTAMP', value: new Date(env.now()) }),
  }],
  ['GETUTCDATE', {
    minArgs: 0, maxArgs: 0, type: () => TIMESTAMP,
    apply: (_args, _call, env) => ({ type: 'DT_DBTIMESTAMP', value: utcWallClock(env.now()) }),
  }],
  ['DATEPART', stringFn(['string', 'date'], ([p, d], call) =>
    i4(datePart(part(p, call.args[0]), date(d, call.args[1])), call), I4)],
  ['YEAR', stringFn(['date'], ([d], call) => i4(date(d, call.args[0]).getFullYear(), call), I4)],
  ['MONTH', stringFn(['date'], ([d], call) => i4(date(d, call.args[0]).getMonth() + 1, call), I4)],
  ['DAY', stringFn(['date'], ([d], call) => i4(date(d, call.args[0]).getDate(), call), I4)],
  ['DATEADD', stringFn(['string', 'integer', 'date'], ([p, n, d], call) => {
    const result = dateAdd(part(p, call.args[0]), int(n), date(d, call.args[2]));
    if (Number.isNaN(result.getTime())) fail(call, 'DATEADD leaves the range of dates');
    return { type: 'DT_DBTIMESTAMP', value: result };
  }, TIMESTAMP)],
  ['DATEDIFF', stringFn(['string', 'date', 'date'], ([p, a, b], call) =>
    i4(dateDiff(part(p, call.args[0]), date(a, call.args[1]), date(b, call.args[2])), call), I4)],

  // Mathematical functions.
  ['ABS', sameTypeMath(
    (n) => (n < 0n ? -n : n),
    (d) => ({ unscaled: d.unscaled < 0n ? -d.unscaled : d.unscaled, scale: d.scale }),
    Math.abs,
  )],
  ['CEILING', sameTypeMath((n) => n, ceilingDecimal, Math.ceil)],
  ['FLOOR', sameTypeMath((n) => n, floorDecimal, Math.floor)],
  ['ROUND', {
    minArgs: 2,
    maxArgs: 2,
    type: (args, call) => {
      expect(call, args, ['numeric', 'integer']);
      return args[0];
    },
    apply: ([v, n], call, _env, result) => {
      const digits = nonNegative(n, call, 1, 'the length');
      const x = toNum(v);
      if (x.kind === 'int') return v;
      const out: Num = x.kind === 'dec'
        ? { kind: 'dec', value: roundDecimal(x.value, digits) }
        : { kind: 'float', value: roundFloat(x.value, digits) };
      return fromNum(out, { ...result, type: v.type }, call);
    },
  }],
  ['SIGN', {
    minArgs: 1,
    maxArgs: 1,
    type: (args, call) => {
      expect(call, args, ['numeric']);
      return I4;
    },
    apply: ([v]) => ({ type: 'DT_I4', value: Math.sign(numToNumber(toNum(v))) }),
  }],
  ['POWER', realMath(2, ([x, y], call) => {
    const r = x ** y;
    if (Number.isNaN(r)) fail(call, `POWER(${x}, ${y}) has no real result`);
    return r;
  })],
  ['SQRT', realMath(1, ([x], call) =>
    (x < 0 ? fail(call, 'SQRT of a negative number') : Math.sqrt(x)))],
  ['SQUARE', realMath(1, ([x]) => x * x)],
  ['EXP', realMath(1, ([x]) => Math.exp(x))],
  ['LN', realMath(1, ([x], call) =>
    (x <= 0 ? fail(call, 'LN needs a positive number') : Math.log(x)))],
  ['LOG', realMath(1, ([x], call) =>
    (x <= 0 ? fail(call, 'LOG needs a positive number') : Math.log10(x)))],

  // NULL functions (NULL(type) itself is syntax, parsed as a typed NULL literal).
  ['ISNULL', {
    minArgs: 1,
    maxArgs: 1,
    acceptsNull: true,
    type: () => ({ type: 'DT_BOOL' }),
    apply: ([v]) => ({ type: 'DT_BOOL', value: v.value === null }),
  }],
  ['REPLACENULL', {
    minArgs: 2,
    maxArgs: 2,
    acceptsNull: true,
    type: ([a, b], call) => conditionalType({ type: 'DT_BOOL' }, a, b, call),
    apply: ([a, b], call, _env, result) => {
      const chosen = a.value === null ? b : a;
      if (chosen.value === null) return { ...result, value: null };
      return isNumeric(result.type) && result.type !== chosen.type
        ? fromNum(toNum(chosen), result, call)
        : { ...chosen, type: isString(chosen.type) ? 'DT_WSTR' : chosen.type };
    },
  }],
];

export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(ENTRIES);
