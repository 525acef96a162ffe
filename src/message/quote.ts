/**
 * Quoting values inside error messages and log lines. A value typed by a user or read from a
 * package may hold CR, LF or other control characters (a file named
 * `evil\r\nBcc: x@evil.com`): echoed raw, it would forge a line of its own on a terminal or in
 * a log. Every value quoted in a message goes through `quoteValue`.
 */

/** How many characters of a value a message shows by default. */
export const QUOTED_VALUE_LIMIT = 200;

/**
 * The value escaped for one line of text: CR, LF and TAB as `\r`, `\n`, `\t`, any other
 * control character (C0, DEL, C1) and the line and paragraph separators as `\xNN` or
 * `\uNNNN`. Nothing else changes: a backslash or a quote stays as written, so a Windows path
 * (`\\server\share`) can be copied from a message, and non-ASCII letters stay readable. No
 * quotes are added; see `quoteValue`.
 */
export function escapeValue(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => {
    switch (char) {
      case '\r':
        return '\\r';
      case '\n':
        return '\\n';
      case '\t':
        return '\\t';
      default: {
        const code = char.charCodeAt(0);
        return code <= 0xff
          ? `\\x${code.toString(16).padStart(2, '0')}`
          : `\\u${code.toString(16).padStart(4, '0')}`;
      }
    }
  });
}

/**
 * The value in double quotes, escaped (`escapeValue`) and cut after `limit` characters of
 * the original, with `… (N more)` saying how many were left out. Never throws.
 */
export function quoteValue(value: string, limit = QUOTED_VALUE_LIMIT): string {
  const chars = Array.from(value);
  if (chars.length <= limit) {
    return `"${escapeValue(value)}"`;
  }
  const shown = chars.slice(0, limit).join('');
  return `"${escapeValue(shown)}"… (${chars.length - limit} more)`;
}

/** A whole message made safe for one line: control characters escaped as in `escapeValue`. */
export function oneLine(text: string): string {
  return escapeValue(text);
}
