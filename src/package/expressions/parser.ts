/**
 * Parses SSIS expression text into a syntax tree, with SSIS's operator precedence (highest
 * first): unary `- ! ~`, casts, `* / %`, `+ -`, `< > <= >=`, `== !=`, `&`, `^`, `|`, `&&`,
 * `||`, and the right-associative conditional `? :`.
 */
import { ExpressionError } from './expression-error.js';
import { FUNCTIONS } from './functions.js';
import { tokenize, type Token } from './lexer.js';
import type { BinaryOperator, ExpressionNode, TypeSpec, UnaryOperator } from './types.js';
import { checkTypeSpec } from './type-spec.js';

/** Deepest nesting of parentheses, operators and calls accepted (bounds the recursion). */
const MAX_DEPTH = 200;

/** Binary operators by precedence level, lowest first. */
const BINARY_LEVELS: BinaryOperator[][] = [
  ['||'],
  ['&&'],
  ['|'],
  ['^'],
  ['&'],
  ['==', '!='],
  ['<', '>', '<=', '>='],
  ['+', '-'],
  ['*', '/', '%'],
];

/**
 * Parses an expression. Throws ExpressionError for a syntax error, an unsupported function
 * or cast, or a data-flow column reference, quoting the construct and its position.
 * Checks no types: variables are typed only when the expression is evaluated.
 */
export function parseExpression(text: string): ExpressionNode {
  const parser = new Parser(text);
  return parser.parseRoot();
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;
  private depth = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  parseRoot(): ExpressionNode {
    if (this.peek().kind === 'end') {
      throw new ExpressionError('The expression is empty', 1, this.text);
    }
    const node = this.parseConditional();
    const rest = this.peek();
    if (rest.kind !== 'end') {
      throw new ExpressionError('Unexpected text after the expression', rest.start + 1,
        this.text.slice(rest.start));
    }
    return node;
  }

  private parseConditional(): ExpressionNode {
    const start = this.peek().start;
    if (++this.depth > MAX_DEPTH) {
      throw new ExpressionError(`The expression nests deeper than ${MAX_DEPTH} levels`,
        start + 1, this.text.slice(start, start + 40));
    }
    try {
      return this.parseConditionalBody(start);
    } finally {
      this.depth--;
    }
  }

  private parseConditionalBody(start: number): ExpressionNode {
    const condition = this.parseBinary(0);
    if (!this.isPunct('?')) return condition;
    this.index++;
    const whenTrue = this.parseConditional();
    this.expectPunct(':', 'the : of a conditional ? :');
    const whenFalse = this.parseConditional();
    return { kind: 'conditional', condition, whenTrue, whenFalse, ...this.span(start) };
  }

  private parseBinary(level: number): ExpressionNode {
    if (level === BINARY_LEVELS.length) return this.parseUnary();
    const start = this.peek().start;
    let left = this.parseBinary(level + 1);
    for (;;) {
      const token = this.peek();
      const operator = token.kind === 'punct'
        ? BINARY_LEVELS[level].find((op) => token.value === op) : undefined;
      if (operator === undefined) return left;
      this.index++;
      const right = this.parseBinary(level + 1);
      left = { kind: 'binary', operator, left, right, ...this.span(start) };
    }
  }

  private parseUnary(): ExpressionNode {
    const token = this.peek();
    if (++this.depth > MAX_DEPTH) {
      throw new ExpressionError(`The expression nests deeper than ${MAX_DEPTH} levels`,
        token.start + 1, this.text.slice(token.start, token.start + 40));
    }
    try {
      return this.parseUnaryBody(token);
    } finally {
      this.depth--;
    }
  }

  private parseUnaryBody(token: Token): ExpressionNode {
    if (token.kind === 'punct' && ['-', '!', '~'].includes(token.value)) {
      this.index++;
      const operand = this.parseUnary();
      const operator = token.value as UnaryOperator;
      return { kind: 'unary', operator, operand, ...this.span(token.start) };
    }
    if (this.isPunct('(') && this.isTypeName(this.tokens[this.index + 1])) {
      this.index++;
      const spec = this.parseTypeSpec(token.start);
      this.expectPunct(')', 'the ) closing the cast');
      const operand = this.parseUnary();
      return { kind: 'cast', spec, operand, ...this.span(token.start) };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): ExpressionNode {
    const token = this.next();
    switch (token.kind) {
      case 'string':
        return { kind: 'string', value: token.value, ...this.span(token.start) };
      case 'number':
        return { kind: 'number', raw: token.value, ...this.span(token.start) };
      case 'variable':
        return { kind: 'variable', name: token.value, ...this.span(token.start) };
      case 'identifier':
        return this.parseIdentifier(token);
      case 'punct':
        if (token.value === '(') {
          const inner = this.parseConditional();
          this.expectPunct(')', 'a closing )');
          return inner;
        }
        break;
      case 'end':
        throw new ExpressionError('The expression ends too early', token.start + 1,
          this.text.slice(Math.max(0, token.start - 20)));
    }
    throw new ExpressionError(`Unexpected ${JSON.stringify(token.value)}`, token.start + 1,
      this.text.slice(token.start, token.end));
  }

  private parseIdentifier(token: Token): ExpressionNode {
    const upper = token.value.toUpperCase();
    if (!this.isPunct('(')) {
      if (upper === 'TRUE' || upper === 'FALSE') {
        return { kind: 'boolean', value: upper === 'TRUE', ...this.span(token.start) };
      }
      throw new ExpressionError(
        `${token.value} is a column reference, which only a data flow has; variables are ` +
          'written @[User::Name]',
        token.start + 1,
        token.value,
      );
    }
    this.index++;
    if (upper === 'NULL') {
      const spec = this.parseTypeSpec(token.start);
      this.expectPunct(')', 'the ) closing NULL(');
      return { kind: 'null', spec, ...this.span(token.start) };
    }
    const args: ExpressionNode[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        args.push(this.parseConditional());
        if (!this.isPunct(',')) break;
        this.index++;
      }
    }
    this.expectPunct(')', `the ) closing ${token.value}(`);
    const node: ExpressionNode = { kind: 'call', name: upper, args, ...this.span(token.start) };
    const fn = FUNCTIONS.get(upper);
    if (fn === undefined) {
      throw new ExpressionError(`Unsupported function ${token.value}`, node.position, node.text);
    }
    if (args.length < fn.minArgs || args.length > fn.maxArgs) {
      const expected = fn.minArgs === fn.maxArgs
        ? `${fn.minArgs}` : `${fn.minArgs} to ${fn.maxArgs}`;
      throw new ExpressionError(
        `${upper} takes ${expected} argument(s), not ${args.length}`, node.position, node.text);
    }
    return node;
  }

  /** Reads `DT_X[, n[, m]]` after an opening parenthesis (not consumed). */
  private parseTypeSpec(start: number): TypeSpec {
    const nameToken = this.next();
    if (nameToken.kind !== 'identifier') {
      throw new ExpressionError('Expected a data type such as DT_WSTR', nameToken.start + 1,
        this.text.slice(start, nameToken.end));
    }
    const params: number[] = [];
    while (this.isPunct(',')) {
      this.index++;
      const param = this.next();
      if (param.kind !== 'number' || !/^\d+$/.test(param.value)) {
        throw new ExpressionError('A data type parameter must be a whole number',
          param.start + 1, this.text.slice(start, param.end));
      }
      params.push(Number(param.value));
    }
    const spec = { name: nameToken.value.toUpperCase(), params };
    const end = this.peek().end;
    checkTypeSpec(spec, start + 1, this.text.slice(start, end));
    return spec;
  }

  private isTypeName(token: Token | undefined): boolean {
    return token !== undefined && token.kind === 'identifier' && /^DT_/i.test(token.value);
  }

  private span(start: number): { position: number; text: string } {
    const end = this.tokens[this.index - 1].end;
    return { position: start + 1, text: this.text.slice(start, end) };
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    const token = this.tokens[this.index];
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private isPunct(value: string): boolean {
    const token = this.peek();
    return token.kind === 'punct' && token.value === value;
  }

  private expectPunct(value: string, what: string): void {
    if (this.isPunct(value)) {
      this.index++;
      return;
    }
    const token = this.peek();
    const found = token.kind === 'end' ? 'the end of the expression' : JSON.stringify(token.value);
    throw new ExpressionError(`Expected ${what}, found ${found}`, token.start + 1,
      this.text.slice(token.start, token.end) || this.text.slice(Math.max(0, token.start - 20)));
  }
}
