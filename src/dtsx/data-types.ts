/**
 * The two numberings SSIS uses for data types in its files.
 *
 * - .dtsx (`DTS:VariableValue DTS:DataType`, `DTS:PackageParameter DTS:DataType`): the OLE
 *   VARIANT type (VarEnum): 3 VT_I4, 7 VT_DATE, 8 VT_BSTR, 11 VT_BOOL, ...
 * - Project.params (`SSIS:Property SSIS:Name="DataType"`): .NET `System.TypeCode`:
 *   3 Boolean, 9 Int32, 16 DateTime, 18 String, ...
 *
 * The same number means different things in the two files (3 is an Int32 in a package and a
 * Boolean in Project.params), which the corpus shows: `pkg_IssueId` is DataType 3 with value
 * 500258, `EnableErrorEmail` is DataType 3 with value `true`.
 */
import type { DataTypeName } from './model.js';

const VAR_ENUM: Record<number, DataTypeName> = {
  0: 'DT_NULL',
  1: 'DT_NULL',
  2: 'DT_I2',
  3: 'DT_I4',
  4: 'DT_R4',
  5: 'DT_R8',
  6: 'DT_CY',
  7: 'DT_DATE',
  8: 'DT_WSTR',
  9: 'DT_OBJECT',
  11: 'DT_BOOL',
  13: 'DT_OBJECT',
  14: 'DT_DECIMAL',
  16: 'DT_I1',
  17: 'DT_UI1',
  18: 'DT_UI2',
  19: 'DT_UI4',
  20: 'DT_I8',
  21: 'DT_UI8',
};

const TYPE_CODE: Record<number, DataTypeName> = {
  1: 'DT_OBJECT',
  2: 'DT_NULL',
  3: 'DT_BOOL',
  4: 'DT_UI2',
  5: 'DT_I1',
  6: 'DT_UI1',
  7: 'DT_I2',
  8: 'DT_UI2',
  9: 'DT_I4',
  10: 'DT_UI4',
  11: 'DT_I8',
  12: 'DT_UI8',
  13: 'DT_R4',
  14: 'DT_R8',
  15: 'DT_DECIMAL',
  16: 'DT_DATE',
  18: 'DT_WSTR',
};

/** The type of a .dtsx VARIANT type number; unknown numbers read as strings. */
export function fromVarEnum(code: string | undefined): DataTypeName {
  return VAR_ENUM[Number(code ?? 8)] ?? 'DT_WSTR';
}

/** The type of a Project.params TypeCode number; unknown numbers read as strings. */
export function fromTypeCode(code: string | undefined): DataTypeName {
  return TYPE_CODE[Number(code ?? 18)] ?? 'DT_WSTR';
}
