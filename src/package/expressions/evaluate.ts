/**
 * Evaluates a parsed expression against a scope of variables: first a type check of the
 * whole tree (so a type error anywhere is reported, as SSIS does when it parses), then the
 * value, taking only the branch of `? :` that is selected and short-circuiting `&&`/`||`.
 */
import { castValue, fromNum, isLegalCast, numberLiteral, toNum, type Num } from './convert.js';
import {
  addDecimal, compareDecimal, divideDecimal, multiplyDecimal, negateDecimal,
} from './decimal.js';
import { ExpressionError } from './expression-error.js';
import { FUNCTIONS } from './functions.js';
import { integerRange, isDate, isNumeric, isString, typeOfSpec } from './type-spec.js';
import {
  binaryType, conditionalType, promoteNumeric, unaryType,
} from './typing.js';
import type {
  ExpressionNode, ExpressionScope, SourceSpan, SsisTypeInfo, SsisValue,
} from './types.js';

type Node<K extends ExpressionNode['kind']> = Extract<ExpressionNode, { kind: K }>;

/**
 * Evaluates `node`. Throws ExpressionError for an unknown variable, a type error, or a
 * run-time failure (division by zero, a cast that does not fit, an invalid argument),
 * quoting the construct and its position.
 */
export function evaluate(node: ExpressionNode, scope: ExpressionScope): SsisValue {
  const evaluation = new Evaluation(scope, node);
  evaluation.typeOf(node);
  return evaluation.value(node);
}

function fail(at: SourceSpan, problem: string): never {
  throw new ExpressionError(problem, at.position, at.text);
}

/** The JS value kind each type must carry, to catch a scope that returns mismatched values. */
function checkVariable(v: SsisValue, at: SourceSpan): SsisValue {
  if (v.value === null || v.type === 'DT_NULL') return { ...v, value: null };
  const t = v.type;
  const ok = isString(t) || (isNumeric(t) && (t === 'DT_NUMERIC' || t === 'DT_DECIMAL'
    || t === 'DT_CY'))
    ? typeof v.value === 'string'
    : t === 'DT_I8' || t === 'DT_UI8'
      ? typeof v.value === 'bigint'
      : isNumeric(t)
        ? typeof v.value === 'number'
        : t === 'DT_BOOL'
          ? typeof v.value === 'boolean'
          : isDate(t) && v.value instanceof Date;
  if (!ok) fail(at, `The scope gave a ${typeof v.value} for a variable of type ${t}`);
  return v;
}

class Evaluation {
  private readonly types = new Map<ExpressionNode, SsisTypeInfo>();
  private readonly variables = new Map<string, SsisValue>();
  private readonly now: () => Date;

  constructor(
    private readonly scope: ExpressionScope,
    private readonly root: ExpressionNode,
  ) {
    this.now = scope.now ?? (() => new Date());
  }

  /**
   * The type a cast produces. Inside an expression only DT_WSTR exists: a cast to DT_STR
   * below the root yields DT_WSTR of that length, with no code page conversion ("Integration
   * Services Data Types in Expressions").
   */
  private castTarget(node: Node<'cast'>): SsisTypeInfo {
    const target = typeOfSpec(node.spec);
    if (target.type !== 'DT_STR' || node === this.root) return target;
    return { type: 'DT_WSTR', length: target.length };
  }

  /** NULL(DT_STR, ...) may only be the whole expression or the operand of a cast. */
  private checkOperands(operands: ExpressionNode[]): void {
    for (const operand of operands) {
      if (operand.kind === 'null' && operand.spec.name === 'DT_STR') {
        fail(operand, 'NULL(DT_STR, ...) cannot be an operand inside an expression; ' +
          'use NULL(DT_WSTR, ...)');
      }
    }
  }

  typeOf(node: ExpressionNode): SsisTypeInfo {
    const known = this.types.get(node);
    if (known !== undefined) return known;
    const type = this.computeType(node);
    this.types.set(node, type);
    return type;
  }

  private computeType(node: ExpressionNode): SsisTypeInfo {
    switch (node.kind) {
      case 'string':
        return { type: 'DT_WSTR', length: node.value.length };
      case 'number': {
        const { value: _value, ...type } = numberLiteral(node.raw, node);
        return type;
      }
      case 'boolean':
        return { type: 'DT_BOOL' };
      case 'variable': {
        const { value: _value, ...type } = this.variable(node);
        return type;
      }
      case 'null':
        return typeOfSpec(node.spec);
      case 'cast': {
        const from = this.typeOf(node.operand);
        const to = this.castTarget(node);
        if (!isLegalCast(from.type, to.type)) {
          fail(node, `A value of type ${from.type} cannot be cast to ${to.type}`);
        }
        return to;
      }
      case 'unary':
        this.checkOperands([node.operand]);
        return unaryType(node.operator, this.typeOf(node.operand), node);
      case 'binary':
        this.checkOperands([node.left, node.right]);
        return binaryType(node.operator, this.typeOf(node.left), this.typeOf(node.right), node);
      case 'conditional':
        this.checkOperands([node.condition, node.whenTrue, node.whenFalse]);
        return conditionalType(this.typeOf(node.condition), this.typeOf(node.whenTrue),
          this.typeOf(node.whenFalse), node);
      case 'call': {
        const fn = FUNCTIONS.get(node.name);
        if (fn === undefined) return fail(node, `Unsupported function ${node.name}`);
        this.checkOperands(node.args);
        return fn.type(node.args.map((arg) => this.typeOf(arg)), node);
      }
    }
  }

  private variable(node: Node<'variable'>): SsisValue {
    const cached = this.variables.get(node.name);
    if (cached !== undefined) return cached;
    const found = this.scope.resolve(node.name);
    if (found === undefined) {
      fail(node, `The variable or parameter ${node.name} is not defined`);
    }
    const checked = checkVariable(found, node);
    this.variables.set(node.name, checked);
    return checked;
  }

  value(node: ExpressionNode): SsisValue {
    switch (node.kind) {
      case 'string':
        return { type: 'DT_WSTR', value: node.value, length: node.value.length };
      case 'number':
        return numberLiteral(node.raw, node);
      case 'boolean':
        return { type: 'DT_BOOL', value: node.value };
      case 'variable':
        return this.variable(node);
      case 'null':
        return { ...typeOfSpec(node.spec), value: null };
      case 'cast':
        return castValue(this.value(node.operand), this.castTarget(node), node);
      case 'unary':
        return this.unary(node);
      case 'binary':
        return this.binary(node);
      case 'conditional':
        return this.conditional(node);
      case 'call':
        return this.call(node);
    }
  }

  private unary(node: Node<'unary'>): SsisValue {
    const result = this.typeOf(node);
    const v = this.value(node.operand);
    if (v.value === null) return { ...result, value: null };
    if (node.operator === '!') return { type: 'DT_BOOL', value: !v.value };
    const n = toNum(v);
    if (node.operator === '~') {
      const bits = (n as { value: bigint }).value;
      const [, max] = integerRange(v.type);
      const flipped = v.type.startsWith('DT_UI') ? max - bits : ~bits;
      return fromNum({ kind: 'int', value: flipped }, result, node);
    }
    const negated: Num = n.kind === 'int'
      ? { kind: 'int', value: -n.value }
      : n.kind === 'dec'
        ? { kind: 'dec', value: negateDecimal(n.value) }
        : { kind: 'float', value: -n.value };
    return fromNum(negated, result, node);
  }

  private binary(node: Node<'binary'>): SsisValue {
    const result = this.typeOf(node);
    const op = node.operator;
    if (op === '&&' || op === '||') return this.logical(node);
    const l = this.value(node.left);
    const r = this.value(node.right);
    if (l.value === null || r.value === null || result.type === 'DT_NULL') {
      return { ...result, value: null };
    }
    switch (op) {
      case '==':
      case '!=':
      case '<':
      case '>':
      case '<=':
      case '>=':
        return { type: 'DT_BOOL', value: compareResult(op, this.compare(l, r, node)) };
      case '+':
        if (isString(l.type)) {
          return { ...result, value: (l.value as string) + (r.value as string) };
        }
        return this.arithmetic(node, l, r, result);
      default:
        return this.arithmetic(node, l, r, result);
    }
  }

  private logical(node: Node<'binary'>): SsisValue {
    const isAnd = node.operator === '&&';
    const l = this.value(node.left).value as boolean | null;
    // Short circuit: FALSE && x is FALSE and TRUE || x is TRUE whatever x is, even NULL.
    if (l === !isAnd) return { type: 'DT_BOOL', value: l };
    const r = this.value(node.right).value as boolean | null;
    if (r === !isAnd) return { type: 'DT_BOOL', value: r };
    if (l === null || r === null) return { type: 'DT_BOOL', value: null };
    return { type: 'DT_BOOL', value: isAnd };
  }

  private arithmetic(
    node: Node<'binary'>, l: SsisValue, r: SsisValue, result: SsisTypeInfo,
  ): SsisValue {
    const common = promoteNumeric(node.operator, l, r, node);
    const a = toNum(castValue(l, common, node));
    const b = toNum(castValue(r, common, node));
    const op = node.operator;
    if (a.kind === 'int' && b.kind === 'int') {
      if ((op === '/' || op === '%') && b.value === 0n) fail(node, 'Division by zero');
      const x = a.value;
      const y = b.value;
      const value = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y
        : op === '/' ? x / y : op === '%' ? x % y : op === '&' ? x & y
          : op === '|' ? x | y : x ^ y;
      return fromNum({ kind: 'int', value }, result, node);
    }
    if (a.kind === 'dec' && b.kind === 'dec') {
      const x = a.value;
      const y = b.value;
      if (op === '/' && y.unscaled === 0n) fail(node, 'Division by zero');
      const value = op === '+' ? addDecimal(x, y) : op === '-' ? addDecimal(x, negateDecimal(y))
        : op === '*' ? multiplyDecimal(x, y) : divideDecimal(x, y, result.scale ?? 0);
      return fromNum({ kind: 'dec', value }, result, node);
    }
    const x = a.value as number;
    const y = b.value as number;
    if (op === '/' && y === 0) fail(node, 'Division by zero');
    const value = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x / y;
    return fromNum({ kind: 'float', value }, result, node);
  }

  /** Negative, zero or positive as l is less than, equal to or greater than r. */
  private compare(l: SsisValue, r: SsisValue, node: Node<'binary'>): number {
    if (isString(l.type) && isString(r.type)) {
      // Ordinal: SSIS string comparisons are case-, accent-, kana- and width-sensitive.
      const x = l.value as string;
      const y = r.value as string;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (isNumeric(l.type)) {
      const common = promoteNumeric(node.operator, l, r, node);
      const a = toNum(castValue(l, common, node));
      const b = toNum(castValue(r, common, node));
      if (a.kind === 'dec' && b.kind === 'dec') return compareDecimal(a.value, b.value);
      const x = a.value as number | bigint;
      const y = b.value as number | bigint;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (l.type === 'DT_BOOL') return l.value === r.value ? 0 : 1;
    const timestamp: SsisTypeInfo = { type: 'DT_DBTIMESTAMP' };
    const x = castValue(l, timestamp, node).value as Date;
    const y = castValue(r, timestamp, node).value as Date;
    return x.getTime() - y.getTime();
  }

  private conditional(node: Node<'conditional'>): SsisValue {
    const result = this.typeOf(node);
    const condition = this.value(node.condition);
    if (condition.value === null) return { ...result, value: null };
    const chosen = this.value(condition.value ? node.whenTrue : node.whenFalse);
    if (chosen.value === null) return { ...result, value: null };
    if (isString(result.type)) return { ...chosen, type: 'DT_WSTR' };
    if (isNumeric(result.type) && (chosen.type !== result.type || chosen.scale !== result.scale)) {
      return fromNum(toNum(chosen), result, node);
    }
    if (isDate(result.type) && chosen.type !== result.type) return castValue(chosen, result, node);
    return chosen;
  }

  private call(node: Node<'call'>): SsisValue {
    const fn = FUNCTIONS.get(node.name)!;
    const result = this.typeOf(node);
    const args = node.args.map((arg) => this.value(arg));
    if (!fn.acceptsNull && args.some((a) => a.value === null)) return { ...result, value: null };
    return fn.apply(args, node, { now: this.now }, result);
  }
}

function compareResult(op: string, c: number): boolean {
  switch (op) {
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    default:
      return c >= 0;
  }
}
