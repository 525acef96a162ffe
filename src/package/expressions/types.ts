/**
 * The data model of the SSIS expression language: the data types a value can have, the
 * values themselves, the scope that supplies variables, and the syntax tree.
 */

/** The SSIS data types this evaluator can produce or accept from a variable. */
export type SsisType =
  | 'DT_WSTR'
  | 'DT_STR'
  | 'DT_I1'
  | 'DT_I2'
  | 'DT_I4'
  | 'DT_I8'
  | 'DT_UI1'
  | 'DT_UI2'
  | 'DT_UI4'
  | 'DT_UI8'
  | 'DT_R4'
  | 'DT_R8'
  | 'DT_NUMERIC'
  | 'DT_DECIMAL'
  | 'DT_CY'
  | 'DT_BOOL'
  | 'DT_DATE'
  | 'DT_DBDATE'
  | 'DT_DBTIMESTAMP'
  /** A NULL whose type is not known (an empty Object variable); compatible with any type. */
  | 'DT_NULL';

/** A data type with the parameters some types carry. */
export interface SsisTypeInfo {
  type: SsisType;
  /** DT_WSTR and DT_STR: the declared length in characters, when known. */
  length?: number;
  /** DT_STR: the code page. */
  codePage?: number;
  /** DT_NUMERIC: the precision. */
  precision?: number;
  /** DT_NUMERIC, DT_DECIMAL, DT_CY: the number of digits after the decimal point. */
  scale?: number;
}

/**
 * A typed value. `value` is `null` for a NULL of that type; otherwise:
 * - DT_WSTR, DT_STR: `string`;
 * - DT_I1 to DT_I4, DT_UI1 to DT_UI4, DT_R4, DT_R8: `number`;
 * - DT_I8, DT_UI8: `bigint`;
 * - DT_NUMERIC, DT_DECIMAL, DT_CY: the exact decimal as text (`"-12.50"`), with `scale`;
 * - DT_BOOL: `boolean`;
 * - DT_DATE, DT_DBDATE, DT_DBTIMESTAMP: a `Date` whose *local* fields are the wall-clock
 *   date and time (DT_DBDATE at local midnight).
 */
export interface SsisValue extends SsisTypeInfo {
  value: string | number | bigint | boolean | Date | null;
}

export interface ExpressionScope {
  /**
   * Looks up a variable or parameter: `User::X`, `System::PackageName`, `$Project::X`,
   * `$Package::X`, exactly as written inside `@[...]`. A reference written without a
   * namespace (`@X`, `@[X]`) is passed unqualified (`X`); the caller applies SSIS's rule
   * (look in `User`, then `System`). Returns undefined when the name is unknown.
   */
  resolve(qualifiedName: string): SsisValue | undefined;
  /** The current time for GETDATE() and GETUTCDATE(); defaults to the system clock. */
  now?: () => Date;
}

/** Where a node came from: 1-based character position and the exact source text. */
export interface SourceSpan {
  position: number;
  text: string;
}

export type BinaryOperator =
  | '+' | '-' | '*' | '/' | '%'
  | '==' | '!=' | '<' | '>' | '<=' | '>='
  | '&&' | '||' | '&' | '|' | '^';

export type UnaryOperator = '-' | '!' | '~';

/** A type as written in a cast or in NULL(...): `DT_WSTR, 10` has `params` [10]. */
export interface TypeSpec {
  name: string;
  params: number[];
}

export type ExpressionNode = SourceSpan &
  (
    | { kind: 'string'; value: string }
    | { kind: 'number'; raw: string }
    | { kind: 'boolean'; value: boolean }
    | { kind: 'variable'; name: string }
    | { kind: 'null'; spec: TypeSpec }
    | { kind: 'cast'; spec: TypeSpec; operand: ExpressionNode }
    | { kind: 'unary'; operator: UnaryOperator; operand: ExpressionNode }
    | { kind: 'binary'; operator: BinaryOperator; left: ExpressionNode; right: ExpressionNode }
    | {
        kind: 'conditional';
        condition: ExpressionNode;
        whenTrue: ExpressionNode;
        whenFalse: ExpressionNode;
      }
    | { kind: 'call'; name: string; args: ExpressionNode[] }
  );
