/** Small helpers shared by the expression tests. */
import {
  evaluateExpression, toPropertyString, type ExpressionScope, type SsisValue,
} from '../../../src/package/expressions/index.js';

/** 2002-11-04 13:05:06.789 local time, a Monday; the fixed clock of these tests. */
export const FIXED_NOW = new Date(2002, 10, 4, 13, 5, 6, 789);

export function scopeOf(variables: Record<string, SsisValue> = {}): ExpressionScope {
  return { resolve: (name) => variables[name], now: () => new Date(FIXED_NOW.getTime()) };
}

export function run(text: string, variables: Record<string, SsisValue> = {}): SsisValue {
  return evaluateExpression(text, scopeOf(variables));
}

/** The evaluated value as the text a string property receives. */
export function textOf(text: string, variables: Record<string, SsisValue> = {}): string {
  return toPropertyString(run(text, variables));
}

export const wstr = (value: string | null): SsisValue => ({ type: 'DT_WSTR', value });
export const i4 = (value: number | null): SsisValue => ({ type: 'DT_I4', value });
export const bool = (value: boolean | null): SsisValue => ({ type: 'DT_BOOL', value });
