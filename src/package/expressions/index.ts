/**
 * The SSIS expression language, as property expressions on connection managers and Send Mail
 * tasks use it: parse once, evaluate against a scope of variables, write the result into a
 * property. Pure: no I/O, no clock except the scope's `now`. See docs/expressions.md.
 */
import { valueToText } from './convert.js';
import { evaluate } from './evaluate.js';
import { parseExpression } from './parser.js';
import type { ExpressionScope, SsisValue } from './types.js';

export type {
  BinaryOperator, ExpressionNode, ExpressionScope, SourceSpan, SsisType, SsisTypeInfo,
  SsisValue, TypeSpec, UnaryOperator,
} from './types.js';
export { ExpressionError } from './expression-error.js';
export { parseExpression } from './parser.js';
export { evaluate } from './evaluate.js';
export { printExpression } from './printer.js';
export { referencedVariables } from './variables.js';

/** Parses and evaluates `text`. Throws ExpressionError. */
export function evaluateExpression(text: string, scope: ExpressionScope): SsisValue {
  return evaluate(parseExpression(text), scope);
}

/**
 * The text SSIS writes into a string property for `value`: strings as they are, numbers in
 * plain decimal, Booleans `True`/`False`, dates in the ISO forms a cast to DT_WSTR gives
 * (`yyyy-mm-dd`, `yyyy-mm-dd hh:mm:ss[.fff000000]`), and NULL as the empty string.
 * TODO(expressions): SSIS writes a date result into a string property in the machine's
 * locale (`11/4/2002 1:05:06 PM`); we write the locale-independent ISO form instead.
 */
export function toPropertyString(value: SsisValue): string {
  return valueToText(value);
}
