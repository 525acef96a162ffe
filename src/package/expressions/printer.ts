/**
 * Writes a syntax tree back as expression text that parses to the same tree shape:
 * every operator application is parenthesised, strings are escaped.
 */
import type { ExpressionNode, TypeSpec } from './types.js';

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\v': '\\v',
};

/** A string literal for `value`; other control characters become `\xhhhh`. */
export function quoteString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function typeSpecText(spec: TypeSpec): string {
  return [spec.name, ...spec.params.map(String)].join(', ');
}

/** Prints `node` as SSIS expression text. */
export function printExpression(node: ExpressionNode): string {
  switch (node.kind) {
    case 'string':
      return quoteString(node.value);
    case 'number':
      return node.raw;
    case 'boolean':
      return node.value ? 'TRUE' : 'FALSE';
    case 'variable':
      return `@[${node.name}]`;
    case 'null':
      return `NULL(${typeSpecText(node.spec)})`;
    case 'cast':
      return `((${typeSpecText(node.spec)}) ${printExpression(node.operand)})`;
    case 'unary':
      return `(${node.operator}${printExpression(node.operand)})`;
    case 'binary':
      return `(${printExpression(node.left)} ${node.operator} ${printExpression(node.right)})`;
    case 'conditional':
      return `(${printExpression(node.condition)} ? ${printExpression(node.whenTrue)} : ` +
        `${printExpression(node.whenFalse)})`;
    case 'call':
      return `${node.name}(${node.args.map(printExpression).join(', ')})`;
  }
}
