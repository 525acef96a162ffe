/**
 * The data types that casts and NULL(...) may name, with the parameters each one takes,
 * and the classification of types used by the operator rules.
 */
import { ExpressionError } from './expression-error.js';
import type { SsisType, SsisTypeInfo, TypeSpec } from './types.js';

/** Parameter names per supported type, as the Cast documentation lists them. */
const PARAMETERS: Partial<Record<SsisType, string[]>> = {
  DT_WSTR: ['charcount'],
  DT_STR: ['charcount', 'codepage'],
  DT_NUMERIC: ['precision', 'scale'],
  DT_DECIMAL: ['scale'],
};

const SUPPORTED = new Set<string>([
  'DT_WSTR', 'DT_STR', 'DT_I1', 'DT_I2', 'DT_I4', 'DT_I8', 'DT_UI1', 'DT_UI2', 'DT_UI4',
  'DT_UI8', 'DT_R4', 'DT_R8', 'DT_NUMERIC', 'DT_DECIMAL', 'DT_CY', 'DT_BOOL', 'DT_DATE',
  'DT_DBDATE', 'DT_DBTIMESTAMP',
]);

/** SSIS types that exist but that this evaluator does not implement. */
const KNOWN_UNSUPPORTED = new Set<string>([
  'DT_BYTES', 'DT_TEXT', 'DT_NTEXT', 'DT_IMAGE', 'DT_GUID', 'DT_DBTIME', 'DT_DBTIME2',
  'DT_DBTIMESTAMP2', 'DT_DBTIMESTAMPOFFSET', 'DT_FILETIME', 'DT_EMPTY',
]);

/** Longest DT_WSTR and DT_STR a cast may declare. */
export const MAX_WSTR_LENGTH = 4000;
export const MAX_STR_LENGTH = 8000;

/** Throws ExpressionError unless `spec` names a supported type with the right parameters. */
export function checkTypeSpec(spec: TypeSpec, position: number, text: string): void {
  if (!SUPPORTED.has(spec.name)) {
    const why = KNOWN_UNSUPPORTED.has(spec.name) ? 'Unsupported data type' : 'Unknown data type';
    throw new ExpressionError(`${why} ${spec.name}`, position, text);
  }
  const names = PARAMETERS[spec.name as SsisType] ?? [];
  if (spec.params.length !== names.length) {
    const wanted = names.length === 0 ? 'no parameters' : `parameters (${names.join(', ')})`;
    throw new ExpressionError(`${spec.name} takes ${wanted}`, position, text);
  }
  const [first, second] = spec.params;
  if (spec.name === 'DT_WSTR' && (first < 1 || first > MAX_WSTR_LENGTH)) {
    throw new ExpressionError(`DT_WSTR length must be 1 to ${MAX_WSTR_LENGTH}`, position, text);
  }
  if (spec.name === 'DT_STR' && (first < 1 || first > MAX_STR_LENGTH)) {
    throw new ExpressionError(`DT_STR length must be 1 to ${MAX_STR_LENGTH}`, position, text);
  }
  if (spec.name === 'DT_NUMERIC' && (first < 1 || first > 38 || second > first)) {
    throw new ExpressionError('DT_NUMERIC needs 1 <= precision <= 38 and scale <= precision',
      position, text);
  }
  if (spec.name === 'DT_DECIMAL' && first > 28) {
    throw new ExpressionError('DT_DECIMAL scale must be 0 to 28', position, text);
  }
}

/** The type a checked spec denotes. */
export function typeOfSpec(spec: TypeSpec): SsisTypeInfo {
  const type = spec.name as SsisType;
  const [first, second] = spec.params;
  switch (type) {
    case 'DT_WSTR':
      return { type, length: first };
    case 'DT_STR':
      return { type, length: first, codePage: second };
    case 'DT_NUMERIC':
      return { type, precision: first, scale: second };
    case 'DT_DECIMAL':
      return { type, precision: 29, scale: first };
    case 'DT_CY':
      return { type, precision: 19, scale: 4 };
    default:
      return { type };
  }
}

const INTEGER_SIZE: Partial<Record<SsisType, number>> = {
  DT_I1: 1, DT_I2: 2, DT_I4: 4, DT_I8: 8, DT_UI1: 1, DT_UI2: 2, DT_UI4: 4, DT_UI8: 8,
};

export function isString(type: SsisType): boolean {
  return type === 'DT_WSTR' || type === 'DT_STR';
}

export function isInteger(type: SsisType): boolean {
  return INTEGER_SIZE[type] !== undefined;
}

export function isUnsigned(type: SsisType): boolean {
  return type.startsWith('DT_UI');
}

export function integerSize(type: SsisType): number {
  return INTEGER_SIZE[type] ?? 0;
}

export function isExact(type: SsisType): boolean {
  return type === 'DT_NUMERIC' || type === 'DT_DECIMAL' || type === 'DT_CY';
}

export function isFloat(type: SsisType): boolean {
  return type === 'DT_R4' || type === 'DT_R8';
}

export function isNumeric(type: SsisType): boolean {
  return isInteger(type) || isExact(type) || isFloat(type);
}

export function isDate(type: SsisType): boolean {
  return type === 'DT_DATE' || type === 'DT_DBDATE' || type === 'DT_DBTIMESTAMP';
}

/** Inclusive range of each integer type. */
export function integerRange(type: SsisType): [bigint, bigint] {
  const bits = BigInt(integerSize(type) * 8);
  if (isUnsigned(type)) return [0n, (1n << bits) - 1n];
  return [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
}

/** The signed integer type of a size in bytes. */
export function signedOfSize(size: number): SsisType {
  return size <= 1 ? 'DT_I1' : size <= 2 ? 'DT_I2' : size <= 4 ? 'DT_I4' : 'DT_I8';
}
