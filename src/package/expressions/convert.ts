/**
 * Conversions between SSIS types: numeric literals, the cast operator's rules, and the
 * string form of every value (what a cast to DT_WSTR and a string property receive).
 */
import {
  type Decimal, decimalToNumber, formatDecimal, parseDecimal, precisionOf, rescale,
} from './decimal.js';
import { formatDate, formatDateTime, parseDateString, startOfDay } from './dates.js';
import { ExpressionError } from './expression-error.js';
import {
  integerRange, isDate, isExact, isFloat, isInteger, isNumeric, isString,
} from './type-spec.js';
import type { SourceSpan, SsisType, SsisTypeInfo, SsisValue } from './types.js';

/** A number in one of three exact-enough representations. */
export type Num =
  | { kind: 'int'; value: bigint }
  | { kind: 'dec'; value: Decimal }
  | { kind: 'float'; value: number };

const fail = (at: SourceSpan, problem: string): never => {
  throw new ExpressionError(problem, at.position, at.text);
};

/**
 * The value of a numeric literal, typed as the Literals documentation says: integers are
 * DT_I4 (U: DT_UI4, L: DT_I8, UL: DT_UI8), hexadecimal likewise; decimals without exponent
 * or suffix are DT_NUMERIC; an exponent or an F/L suffix makes DT_R8 (F: DT_R4).
 * An integer that does not fit its type is an error, not a wrapped value.
 */
export function numberLiteral(raw: string, at: SourceSpan): SsisValue {
  const hex = /^0[xX]([0-9a-fA-F]+)([uU]?)$/.exec(raw);
  const integral = /^(\d+)([lL]?[uU]?|[uU]?[lL]?)$/.exec(raw);
  if (hex || integral) {
    const digits = hex ? BigInt(`0x${hex[1]}`) : BigInt(integral![1]);
    const suffix = (hex ? hex[2] : integral![2]).toUpperCase();
    const type: SsisType = suffix.includes('L')
      ? (suffix.includes('U') ? 'DT_UI8' : 'DT_I8')
      : (suffix.includes('U') ? 'DT_UI4' : 'DT_I4');
    const [, max] = integerRange(type);
    if (digits > max) {
      fail(at, `The literal ${raw} does not fit ${type}; add the L suffix (${raw}L) for DT_I8`);
    }
    return integerValue(type, digits);
  }
  const real = /^(\d*\.?\d*)([eE][+-]?\d+)?([fFlL]?)$/.exec(raw);
  if (!real || !/\d/.test(real[1])) return fail(at, `Malformed numeric literal ${raw}`);
  const [, mantissa, exponent, suffix] = real;
  if (exponent === undefined && suffix === '') {
    const d = parseDecimal(mantissa)!;
    const precision = precisionOf(d);
    return { type: 'DT_NUMERIC', value: formatDecimal(d), precision, scale: d.scale };
  }
  const value = Number(`${mantissa}${exponent ?? ''}`);
  if (suffix.toUpperCase() === 'F') return { type: 'DT_R4', value: Math.fround(value) };
  return { type: 'DT_R8', value };
}

export function integerValue(type: SsisType, n: bigint): SsisValue {
  return { type, value: type === 'DT_I8' || type === 'DT_UI8' ? n : Number(n) };
}

/** Reads a non-NULL numeric value. */
export function toNum(v: SsisValue): Num {
  if (isInteger(v.type)) return { kind: 'int', value: BigInt(v.value as number | bigint) };
  if (isExact(v.type)) return { kind: 'dec', value: parseDecimal(v.value as string)! };
  return { kind: 'float', value: v.value as number };
}

/** Builds a value of numeric `target` from `n`, or throws on overflow. */
export function fromNum(n: Num, target: SsisTypeInfo, at: SourceSpan): SsisValue {
  const type = target.type;
  if (isInteger(type)) {
    const whole = numToBigInt(n, at);
    const [min, max] = integerRange(type);
    if (whole < min || whole > max) fail(at, `The value ${numText(n)} overflows ${type}`);
    return integerValue(type, whole);
  }
  if (isFloat(type)) {
    const f = numToNumber(n);
    if (!Number.isFinite(f)) fail(at, `The result overflows ${type}`);
    return { type, value: type === 'DT_R4' ? Math.fround(f) : f };
  }
  const scale = target.scale ?? (n.kind === 'dec' ? n.value.scale : 0);
  const precision = target.precision ?? 38;
  const d = rescale(numToDecimal(n, scale, at), scale);
  if (precisionOf(d) - d.scale > precision - scale) {
    fail(at, `The value ${numText(n)} overflows ${type} with precision ${precision}, ` +
      `scale ${scale}`);
  }
  return { type, value: formatDecimal(d), precision, scale };
}

function numText(n: Num): string {
  return n.kind === 'dec' ? formatDecimal(n.value) : String(n.value);
}

/**
 * Rounds to the nearest integer, halves away from zero (the cast from a real).
 * TODO(expressions): SSIS converts through OLE variants, which may round halves to even;
 * the documentation gives no value to check against.
 */
function numToBigInt(n: Num, at: SourceSpan): bigint {
  if (n.kind === 'int') return n.value;
  if (n.kind === 'dec') return rescale(n.value, 0).unscaled;
  if (!Number.isFinite(n.value)) return fail(at, 'The value is not a finite number');
  const rounded = Math.sign(n.value) * Math.round(Math.abs(n.value));
  return BigInt(rounded);
}

export function numToNumber(n: Num): number {
  if (n.kind === 'float') return n.value;
  if (n.kind === 'int') return Number(n.value);
  return decimalToNumber(n.value);
}

export function numToDecimal(n: Num, scale: number, at: SourceSpan): Decimal {
  if (n.kind === 'dec') return n.value;
  if (n.kind === 'int') return { unscaled: n.value, scale: 0 };
  if (!Number.isFinite(n.value) || Math.abs(n.value) >= 1e21) {
    return fail(at, `The value ${n.value} cannot be converted to an exact numeric type`);
  }
  return parseDecimal(n.value.toFixed(Math.min(Math.max(scale, 0), 100)))!;
}

/**
 * Whether the cast operator accepts `from` to `to` at all (values are checked when cast).
 * Strings convert to and from every type; numbers and Booleans convert among themselves;
 * dates convert among themselves. NULL of unknown type converts to anything.
 */
export function isLegalCast(from: SsisType, to: SsisType): boolean {
  if (from === 'DT_NULL' || from === to || isString(from) || isString(to)) return true;
  const numberLike = (t: SsisType): boolean => isNumeric(t) || t === 'DT_BOOL';
  if (numberLike(from) && numberLike(to)) return true;
  return isDate(from) && isDate(to);
}

/** The cast operator: converts `v` to `target`, or throws ExpressionError saying why not. */
export function castValue(v: SsisValue, target: SsisTypeInfo, at: SourceSpan): SsisValue {
  if (!isLegalCast(v.type, target.type)) {
    fail(at, `A value of type ${v.type} cannot be cast to ${target.type}`);
  }
  if (v.value === null) return { ...target, value: null };
  const type = target.type;
  if (isString(type)) return castToString(valueToText(v), target, at);
  if (isString(v.type)) return castFromString(v.value as string, target, at);
  if (type === 'DT_BOOL') {
    return { type, value: v.type === 'DT_BOOL' ? v.value : numToNumber(toNum(v)) !== 0 };
  }
  if (isNumeric(type)) {
    const n: Num = v.type === 'DT_BOOL'
      ? { kind: 'int', value: v.value ? -1n : 0n } // SSIS converts True to -1.
      : toNum(v);
    return fromNum(n, target, at);
  }
  const d = v.value as Date;
  return { type, value: type === 'DT_DBDATE' ? startOfDay(d) : new Date(d.getTime()) };
}

function castToString(text: string, target: SsisTypeInfo, at: SourceSpan): SsisValue {
  const length = target.length ?? Infinity;
  if (text.length > length) {
    fail(at, `The value is ${text.length} characters long and does not fit ` +
      `${target.type}, ${length}: a cast never truncates silently here`);
  }
  if (target.type === 'DT_STR' && target.codePage !== undefined) {
    const bad = unmappable(text, target.codePage);
    if (bad !== undefined) {
      fail(at, `The character ${JSON.stringify(bad)} has no mapping in code page ` +
        `${target.codePage}`);
    }
  }
  return { ...target, value: text };
}

/** Characters 0x80-0x9F of windows-1252 that are not Latin-1 code points. */
const CP1252_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ' +
  '‘’“”•–—˜™š›œžŸ');

function unmappable(text: string, codePage: number): string | undefined {
  if (codePage === 65001 || codePage === 1200) return undefined;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x80) continue;
    if (codePage === 1252 && ((code >= 0xa0 && code <= 0xff) || CP1252_EXTRA.has(ch))) continue;
    // TODO(expressions): map other single-byte code pages; only ASCII is accepted for them.
    return ch;
  }
  return undefined;
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const REAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function castFromString(text: string, target: SsisTypeInfo, at: SourceSpan): SsisValue {
  const type = target.type;
  const s = text.trim();
  const bad = (): never => fail(at, `The string ${JSON.stringify(text)} cannot be cast to ${type}`);
  if (type === 'DT_BOOL') {
    const lower = s.toLowerCase();
    if (lower !== 'true' && lower !== 'false') bad();
    return { type, value: lower === 'true' };
  }
  if (isInteger(type)) {
    if (!INTEGER_TEXT.test(s)) bad();
    return fromNum({ kind: 'int', value: BigInt(s) }, target, at);
  }
  if (isExact(type)) {
    const d = parseDecimal(s);
    if (d === undefined) bad();
    return fromNum({ kind: 'dec', value: d! }, target, at);
  }
  if (isFloat(type)) {
    if (!REAL_TEXT.test(s)) bad();
    return fromNum({ kind: 'float', value: Number(s) }, target, at);
  }
  const d = parseDateString(s);
  if (d === undefined) {
    return fail(at, `The string ${JSON.stringify(text)} is not a date this evaluator reads ` +
      '(yyyy-mm-dd[ hh:mm:ss[.fff]] or m/d/yyyy[ h:mm:ss[ AM|PM]])');
  }
  return { type, value: type === 'DT_DBDATE' ? startOfDay(d) : d };
}

/**
 * The text of a non-NULL value, as a cast to DT_WSTR produces it: integers and exact
 * numerics in plain decimal, reals as the shortest round-trip form (`1E+21` style
 * exponents), Booleans `True`/`False`, DT_DBDATE `yyyy-mm-dd`, DT_DATE
 * `yyyy-mm-dd hh:mm:ss`, DT_DBTIMESTAMP the same plus `.fff000000` when there are
 * milliseconds.
 */
export function valueToText(v: SsisValue): string {
  const value = v.value;
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) {
    if (v.type === 'DT_DBDATE') return formatDate(value);
    return formatDateTime(value, v.type === 'DT_DBTIMESTAMP');
  }
  if (v.type === 'DT_R4') return realText(Number(value.toPrecision(7)));
  if (v.type === 'DT_R8') return realText(value);
  return String(value);
}

function realText(n: number): string {
  return String(n).replace('e', 'E');
}
