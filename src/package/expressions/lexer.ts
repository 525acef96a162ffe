/**
 * Splits SSIS expression text into tokens. Knows string escapes, numeric literal shapes and
 * variable references; knows nothing of precedence or types.
 */
import { ExpressionError } from './expression-error.js';

export type TokenKind = 'string' | 'number' | 'variable' | 'identifier' | 'punct' | 'end';

export interface Token {
  kind: TokenKind;
  /** The decoded value: string contents, variable name, identifier, number or operator. */
  value: string;
  /** 0-based offsets of the token in the source. */
  start: number;
  end: number;
}

const PUNCTUATION = [
  '==', '!=', '<=', '>=', '&&', '||',
  '(', ')', ',', '?', ':', '+', '-', '*', '/', '%', '<', '>', '&', '|', '^', '~', '!',
];

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '"': '"',
  '\\': '\\',
};

/** Digits, optional fraction, optional exponent, then letters (suffixes, checked later). */
const NUMBER = /^(?:0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[a-zA-Z]*)/;

/** First character of a regular identifier: a Unicode letter or an underscore. */
const IDENTIFIER_START = /[\p{L}_]/u;
/** Later characters: letters, digits, underscore, @, $ and #. */
const IDENTIFIER_PART = /[\p{L}\p{Nd}_@$#]/u;

/** Tokenizes `text`. Throws ExpressionError at the first character that starts no token. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === '"') {
      const { value, end } = readString(text, i);
      tokens.push({ kind: 'string', value, start, end });
      i = end;
    } else if (ch === '@') {
      const { value, end } = readVariable(text, i);
      tokens.push({ kind: 'variable', value, start, end });
      i = end;
    } else if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const match = NUMBER.exec(text.slice(i));
      const raw = match ? match[0] : ch;
      tokens.push({ kind: 'number', value: raw, start, end: i + raw.length });
      i += raw.length;
    } else if (IDENTIFIER_START.test(ch)) {
      let end = i + 1;
      while (end < text.length && IDENTIFIER_PART.test(text[end])) end++;
      tokens.push({ kind: 'identifier', value: text.slice(i, end), start, end });
      i = end;
    } else if (ch === '[') {
      const close = text.indexOf(']', i + 1);
      if (close < 0) throw new ExpressionError('Unclosed [', i + 1, text.slice(i));
      tokens.push({ kind: 'identifier', value: text.slice(i, close + 1), start, end: close + 1 });
      i = close + 1;
    } else if (ch === '#') {
      let end = i + 1;
      while (end < text.length && /[0-9]/.test(text[end])) end++;
      throw new ExpressionError(
        'Lineage identifiers (data-flow columns) are not supported in property expressions',
        i + 1,
        text.slice(i, end),
      );
    } else {
      const op = PUNCTUATION.find((p) => text.startsWith(p, i));
      if (op === undefined) {
        throw new ExpressionError(`Unexpected character ${JSON.stringify(ch)}`, i + 1, ch);
      }
      tokens.push({ kind: 'punct', value: op, start, end: i + op.length });
      i += op.length;
    }
  }
  tokens.push({ kind: 'end', value: '', start: text.length, end: text.length });
  return tokens;
}

function readString(text: string, open: number): { value: string; end: number } {
  let value = '';
  let i = open + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') return { value, end: i + 1 };
    if (ch !== '\\') {
      value += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) break;
    if (next in SIMPLE_ESCAPES) {
      value += SIMPLE_ESCAPES[next];
      i += 2;
    } else if (next === 'x') {
      const hex = text.slice(i + 2, i + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new ExpressionError(
          'The escape \\x needs exactly four hexadecimal digits (a UTF-16 unit)',
          i + 1,
          text.slice(i, i + 6),
        );
      }
      const unit = parseInt(hex, 16);
      if (unit === 0) {
        throw new ExpressionError(
          'A string cannot contain \\x0000: SSIS strings end at the null character',
          i + 1,
          text.slice(i, i + 6),
        );
      }
      value += String.fromCharCode(unit);
      i += 6;
    } else {
      // \0 included: SSIS documents no \0 escape, and a NUL would end the string there.
      throw new ExpressionError(
        `Unknown escape sequence \\${next} (SSIS knows \\a \\b \\f \\n \\r \\t \\v \\" \\\\ ` +
          '\\xhhhh)',
        i + 1,
        text.slice(i, i + 2),
      );
    }
  }
  throw new ExpressionError('Unterminated string literal', open + 1, text.slice(open));
}

function readVariable(text: string, at: number): { value: string; end: number } {
  if (text[at + 1] === '[') {
    const close = text.indexOf(']', at + 2);
    if (close < 0) throw new ExpressionError('Unclosed @[', at + 1, text.slice(at));
    const name = text.slice(at + 2, close);
    if (name.length === 0) throw new ExpressionError('Empty variable name', at + 1, '@[]');
    return { value: name, end: close + 1 };
  }
  let end = at + 1;
  const readPart = (): void => {
    if (end < text.length && IDENTIFIER_START.test(text[end])) {
      end++;
      while (end < text.length && IDENTIFIER_PART.test(text[end])) end++;
    }
  };
  readPart();
  if (end === at + 1) {
    const construct = text.slice(at, at + 2);
    throw new ExpressionError('@ must be followed by a variable name', at + 1, construct);
  }
  // Tolerate @User::X (SSIS wants @[User::X]); the meaning is unambiguous.
  if (text.startsWith('::', end)) {
    end += 2;
    const before = end;
    readPart();
    if (end === before) {
      throw new ExpressionError('Incomplete variable name', at + 1, text.slice(at, end));
    }
  }
  return { value: text.slice(at + 1, end), end };
}
