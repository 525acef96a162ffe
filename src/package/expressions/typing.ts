/**
 * The result types of operators, from "Integration Services Data Types in Expressions" and
 * each operator's page. These checks run before any value is computed, so a type error in a
 * branch that is not taken is still reported, as SSIS reports it when it parses.
 */
import { ExpressionError } from './expression-error.js';
import {
  integerSize, isDate, isExact, isFloat, isInteger, isNumeric, isString, isUnsigned,
  signedOfSize,
} from './type-spec.js';
import type { BinaryOperator, SourceSpan, SsisTypeInfo, UnaryOperator } from './types.js';

/** Digits after the point kept by a division involving an exact numeric. */
export const DIVISION_SCALE = 6;

function incompatible(operator: string, l: SsisTypeInfo, r: SsisTypeInfo, at: SourceSpan): never {
  throw new ExpressionError(
    `The data types "${l.type}" and "${r.type}" are incompatible for binary operator ` +
      `"${operator}"; cast one operand explicitly`,
    at.position,
    at.text,
  );
}

/**
 * The common numeric type of two numeric operands: the larger integer (a signed and an
 * unsigned integer give a signed integer twice the unsigned size; DT_UI8 with a signed
 * integer needs a cast), DT_NUMERIC when an exact type is involved (DT_CY with an integer
 * or DT_CY stays DT_CY), DT_R8 when a real is involved (DT_R4 with DT_R4 stays DT_R4).
 */
export function promoteNumeric(
  operator: string, l: SsisTypeInfo, r: SsisTypeInfo, at: SourceSpan,
): SsisTypeInfo {
  const a = l.type;
  const b = r.type;
  if (isFloat(a) || isFloat(b)) return { type: a === 'DT_R4' && b === 'DT_R4' ? 'DT_R4' : 'DT_R8' };
  if (isExact(a) || isExact(b)) {
    const cy = (t: typeof a): boolean => t === 'DT_CY' || isInteger(t);
    if (cy(a) && cy(b)) return { type: 'DT_CY', precision: 19, scale: 4 };
    return { type: 'DT_NUMERIC', precision: 38, scale: Math.max(l.scale ?? 0, r.scale ?? 0) };
  }
  if (isUnsigned(a) === isUnsigned(b)) {
    return { type: integerSize(a) >= integerSize(b) ? a : b };
  }
  const [signed, unsigned] = isUnsigned(a) ? [b, a] : [a, b];
  if (unsigned === 'DT_UI8') {
    throw new ExpressionError(
      `"${a}" and "${b}" need an explicit cast for operator "${operator}" (DT_UI8 with a ` +
        'signed integer)',
      at.position,
      at.text,
    );
  }
  return { type: signedOfSize(Math.max(integerSize(signed), integerSize(unsigned) * 2)) };
}

/** NULL of unknown type (DT_NULL) takes the other operand's type. */
function nullAware(l: SsisTypeInfo, r: SsisTypeInfo): [SsisTypeInfo, SsisTypeInfo] {
  if (l.type === 'DT_NULL') return [r, r];
  if (r.type === 'DT_NULL') return [l, l];
  return [l, r];
}

export function binaryType(
  operator: BinaryOperator, left: SsisTypeInfo, right: SsisTypeInfo, at: SourceSpan,
): SsisTypeInfo {
  const [l, r] = nullAware(left, right);
  if (l.type === 'DT_NULL') return operatorResultForNull(operator);
  switch (operator) {
    case '+':
      if (isString(l.type) && isString(r.type)) {
        const length = l.length !== undefined && r.length !== undefined
          ? l.length + r.length : undefined;
        return { type: 'DT_WSTR', length };
      }
      if (isNumeric(l.type) && isNumeric(r.type)) return arithmeticType(operator, l, r, at);
      return incompatible(operator, l, r, at);
    case '-':
    case '*':
    case '/':
      if (isNumeric(l.type) && isNumeric(r.type)) return arithmeticType(operator, l, r, at);
      return incompatible(operator, l, r, at);
    case '%':
    case '&':
    case '|':
    case '^':
      if (isInteger(l.type) && isInteger(r.type)) return promoteNumeric(operator, l, r, at);
      return incompatible(operator, l, r, at);
    case '&&':
    case '||':
      if (l.type === 'DT_BOOL' && r.type === 'DT_BOOL') return { type: 'DT_BOOL' };
      return incompatible(operator, l, r, at);
    default:
      checkComparable(operator, l, r, at);
      return { type: 'DT_BOOL' };
  }
}

function operatorResultForNull(operator: BinaryOperator): SsisTypeInfo {
  const comparison = ['==', '!=', '<', '>', '<=', '>=', '&&', '||'].includes(operator);
  return { type: comparison ? 'DT_BOOL' : 'DT_NULL' };
}

function arithmeticType(
  operator: string, l: SsisTypeInfo, r: SsisTypeInfo, at: SourceSpan,
): SsisTypeInfo {
  const common = promoteNumeric(operator, l, r, at);
  if (common.type !== 'DT_NUMERIC') return common;
  const ls = l.scale ?? 0;
  const rs = r.scale ?? 0;
  if (operator === '*') return { ...common, scale: Math.min(38, ls + rs) };
  if (operator === '/') return { ...common, scale: Math.max(ls, rs, DIVISION_SCALE) };
  return common;
}

/** Comparison operands: two strings, two numbers, two Booleans, two dates, or string/date. */
export function checkComparable(
  operator: string, l: SsisTypeInfo, r: SsisTypeInfo, at: SourceSpan,
): void {
  const a = l.type;
  const b = r.type;
  if (a === 'DT_NULL' || b === 'DT_NULL') return;
  if (isString(a) && isString(b)) return;
  if (isNumeric(a) && isNumeric(b)) {
    promoteNumeric(operator, l, r, at);
    return;
  }
  if (a === 'DT_BOOL' && b === 'DT_BOOL' && (operator === '==' || operator === '!=')) return;
  const dateLike = (t: typeof a): boolean => isDate(t) || isString(t);
  if ((isDate(a) || isDate(b)) && dateLike(a) && dateLike(b)) return;
  incompatible(operator, l, r, at);
}

export function unaryType(operator: UnaryOperator, t: SsisTypeInfo, at: SourceSpan): SsisTypeInfo {
  if (t.type === 'DT_NULL') return t;
  const bad = (what: string): never => {
    throw new ExpressionError(
      `The data type "${t.type}" cannot be used with unary operator "${operator}" (${what})`,
      at.position,
      at.text,
    );
  };
  if (operator === '!') return t.type === 'DT_BOOL' ? t : bad('it needs DT_BOOL');
  if (operator === '~') return isInteger(t.type) ? t : bad('it needs an integer');
  if (!isNumeric(t.type)) return bad('it needs a number');
  if (isUnsigned(t.type)) {
    if (t.type === 'DT_UI8') return bad('cast DT_UI8 to DT_I8 or DT_NUMERIC first');
    return { type: signedOfSize(integerSize(t.type) * 2) };
  }
  return t;
}

/** Both results of `? :` must be strings, numbers, Booleans or dates together. */
export function conditionalType(
  condition: SsisTypeInfo, a: SsisTypeInfo, b: SsisTypeInfo, at: SourceSpan,
): SsisTypeInfo {
  if (condition.type !== 'DT_BOOL' && condition.type !== 'DT_NULL') {
    throw new ExpressionError(
      `The condition of "? :" must be DT_BOOL, not "${condition.type}"`, at.position, at.text);
  }
  const [l, r] = nullAware(a, b);
  if (isString(l.type) && isString(r.type)) {
    const length = l.length !== undefined && r.length !== undefined
      ? Math.max(l.length, r.length) : undefined;
    return { type: 'DT_WSTR', length };
  }
  if (isNumeric(l.type) && isNumeric(r.type)) {
    return l.type === r.type && l.scale === r.scale ? l : promoteNumeric('? :', l, r, at);
  }
  if (l.type === r.type) return l;
  if (isDate(l.type) && isDate(r.type)) return { type: 'DT_DBTIMESTAMP' };
  throw new ExpressionError(
    `The data types "${a.type}" and "${b.type}" are incompatible for the conditional ` +
      'operator "? :"; cast one result explicitly',
    at.position,
    at.text,
  );
}
