/**
 * Where a JSON text breaks the grammar of RFC 8259, as a line and a column, so that an error
 * about a file can say where without quoting it: `JSON.parse` quotes the text around the fault
 * (`Unexpected token 'S', ..."nString": SmtpServer"...`), and the text of a configuration file
 * may hold a password.
 */

/** A place in a text, both counted from 1; the column in UTF-16 code units. */
export interface TextPosition {
  line: number;
  column: number;
}

class SyntaxAt {
  constructor(readonly index: number) {}
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPED = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * The position of the first character at which `text` stops being JSON (the end of the text
 * when it ends too soon), or undefined when it is valid JSON. Never throws; text nested too
 * deeply to scan gives undefined.
 */
export function jsonSyntaxError(text: string): TextPosition | undefined {
  let index = 0;
  const blanks = (): void => {
    while (index < text.length && ' \t\r\n'.includes(text[index]!)) index++;
  };
  const expect = (char: string): void => {
    blanks();
    if (text[index] !== char) throw new SyntaxAt(index);
    index++;
  };
  const string = (): void => {
    expect('"');
    for (;;) {
      const char = text[index];
      if (char === undefined || char < ' ') throw new SyntaxAt(index);
      index++;
      if (char === '"') return;
      if (char !== '\\') continue;
      if (text[index] === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(index + 1, index + 5))) {
        index += 5;
      } else if (ESCAPED.has(text[index] ?? '')) index++;
      else throw new SyntaxAt(index);
    }
  };
  const list = (close: string, item: () => void): void => {
    index++;
    blanks();
    if (text[index] === close) {
      index++;
      return;
    }
    for (;;) {
      item();
      blanks();
      if (text[index] === close) {
        index++;
        return;
      }
      expect(',');
    }
  };
  const value = (): void => {
    blanks();
    const char = text[index];
    if (char === '{') {
      list('}', () => {
        string();
        expect(':');
        value();
      });
    } else if (char === '[') list(']', value);
    else if (char === '"') string();
    else {
      const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, index));
      NUMBER.lastIndex = index;
      if (word) index += word.length;
      else if (NUMBER.test(text)) index = NUMBER.lastIndex;
      else throw new SyntaxAt(index);
    }
  };
  try {
    value();
    blanks();
    if (index < text.length) throw new SyntaxAt(index);
    return undefined;
  } catch (error) {
    if (!(error instanceof SyntaxAt)) return undefined;
    const before = text.slice(0, error.index);
    const line = before.split('\n').length;
    return { line, column: error.index - before.lastIndexOf('\n') };
  }
}
