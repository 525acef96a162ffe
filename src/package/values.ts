/**
 * Converting between the text SSIS stores (in .dtsx files, Project.params, .dtsConfig files
 * and on the command line) and the typed values the expression evaluator works with.
 */
import { ConfigurationError } from '../errors.js';
import type { DataTypeName } from '../dtsx/model.js';
import type { SsisType, SsisValue } from './expressions/index.js';
import { integerValue } from './expressions/convert.js';
import { integerRange } from './expressions/type-spec.js';

/**
 * Reads a date as SSIS stores it: the invariant US form `M/D/YYYY h:mm:ss AM` (what .dtsx
 * files hold), a time alone (`12:00:00 AM`, on SSIS's zero date 1899-12-30), or ISO 8601.
 * The result's local fields are the wall-clock date and time. Undefined when unreadable.
 */
export function parseSsisDate(text: string): Date | undefined {
  const trimmed = text.trim();
  const us = new RegExp('^(?:(\\d{1,2})/(\\d{1,2})/(\\d{4}))?\\s*' +
    '(?:(\\d{1,2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d+))?)?\\s*(AM|PM)?)?$', 'i').exec(trimmed);
  if (us && trimmed !== '') {
    const [, month, day, year, hour, minute, second, fraction, half] = us;
    let h = Number(hour ?? 0);
    if (half) h = (h % 12) + (half.toUpperCase() === 'PM' ? 12 : 0);
    const ms = fraction ? Math.round(Number(`0.${fraction}`) * 1000) : 0;
    return new Date(Number(year ?? 1899), Number(month ?? 12) - 1, Number(day ?? 30), h,
      Number(minute ?? 0), Number(second ?? 0), ms);
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/
    .exec(trimmed);
  if (iso) {
    const [, year, month, day, hour, minute, second, fraction] = iso;
    const ms = fraction ? Math.round(Number(`0.${fraction}`) * 1000) : 0;
    return new Date(Number(year), Number(month) - 1, Number(day), Number(hour ?? 0),
      Number(minute ?? 0), Number(second ?? 0), ms);
  }
  return undefined;
}

const INTEGER_TYPES = new Set<DataTypeName>([
  'DT_I1', 'DT_I2', 'DT_I4', 'DT_I8', 'DT_UI1', 'DT_UI2', 'DT_UI4', 'DT_UI8',
]);

/**
 * The typed value of stored text. Booleans accept `True`/`False`, `-1`/`0`/`1` (what .dtsx
 * files hold) in any case; an Object variable has no value an expression can use (NULL).
 *
 * @param field names the variable or parameter in the error.
 * @throws ConfigurationError when the text does not fit the type (`abc` for an Int32).
 */
export function valueFromText(text: string, type: DataTypeName, field: string): SsisValue {
  const fail = (what: string): never => {
    throw new ConfigurationError(field, `"${text}" is not ${what}.`,
      `Give a value of the variable's type (${type}).`);
  };
  const trimmed = text.trim();
  if (type === 'DT_WSTR') return { type: 'DT_WSTR', value: text };
  if (type === 'DT_OBJECT' || type === 'DT_NULL') return { type: 'DT_NULL', value: null };
  if (type === 'DT_BOOL') {
    if (/^(true|-1|1)$/i.test(trimmed)) return { type: 'DT_BOOL', value: true };
    if (/^(false|0)$/i.test(trimmed)) return { type: 'DT_BOOL', value: false };
    return fail('a Boolean (True or False)');
  }
  if (INTEGER_TYPES.has(type)) {
    // Read as a BigInt, checked against the type's range before any conversion to a number.
    const [min, max] = integerRange(type as SsisType);
    const whole = /^[-+]?\d+$/.test(trimmed) ? BigInt(trimmed) : undefined;
    if (whole === undefined || whole < min || whole > max) {
      return fail(`an integer (${type}) from ${min} to ${max}`);
    }
    return integerValue(type as SsisType, whole);
  }
  if (type === 'DT_R4' || type === 'DT_R8') {
    const number = Number(trimmed);
    if (trimmed === '' || Number.isNaN(number)) return fail('a number');
    return { type, value: number };
  }
  if (type === 'DT_DECIMAL' || type === 'DT_CY') {
    if (!/^[-+]?\d+(\.\d+)?$/.test(trimmed)) return fail('a decimal number');
    const scale = trimmed.includes('.') ? trimmed.split('.')[1]!.length : 0;
    return { type, value: trimmed, scale: type === 'DT_CY' ? 4 : scale };
  }
  const date = parseSsisDate(trimmed);
  if (!date) return fail('a date (M/D/YYYY h:mm:ss AM or YYYY-MM-DD hh:mm:ss)');
  return { type: 'DT_DATE', value: date };
}

/** The data type name of a value, for values typed by a cast (DT_STR reads as DT_WSTR). */
export function dataTypeOf(value: SsisValue): DataTypeName {
  switch (value.type) {
    case 'DT_STR':
      return 'DT_WSTR';
    case 'DT_DBDATE':
    case 'DT_DBTIMESTAMP':
      return 'DT_DATE';
    case 'DT_NUMERIC':
      return 'DT_DECIMAL';
    default:
      return value.type as DataTypeName;
  }
}
