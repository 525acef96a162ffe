/**
 * Masks a connection string for display, keeping everything else as written (the order, the
 * spelling of the keys, and `env:`/`file:` references of Password and AccessToken).
 *
 * The rule is an allow-list: only the values of keys known to be non-secret (the SSIS keys and
 * smtpcm's own, `CONNECTION_STRING_KEYS` less Password and AccessToken) are shown. A misspelt
 * secret key (`Pasword`, `Passw0rd`, `SmtpPassword`, `Secret`...) is not known, so its value is
 * masked too; so is text after the last `=` that forms no pair, text before a key that forms
 * none, and a key past a secret key's name it holds.
 */
import { CONNECTION_STRING_KEYS, keyForMessage } from '../connection/connection-string.js';
import { MASK } from '../secret.js';

/** Keys whose value is a secret, shown only when it is an `env:` or `file:` reference. */
const SECRET_KEYS = new Set(['password', 'accesstoken']);

/** Keys whose value is shown as written. */
const SHOWN_KEYS = new Set(
  CONNECTION_STRING_KEYS.map((key) => key.toLowerCase()).filter((key) => !SECRET_KEYS.has(key)),
);

const REFERENCE = /^\s*['"]?(env|file):/i;

function maskedValue(name: string, value: string): string {
  const key = name.toLowerCase();
  if (SHOWN_KEYS.has(key)) return value;
  if (SECRET_KEYS.has(key) && REFERENCE.test(value)) return value;
  // An empty value has nothing to hide, and showing `Key=` keeps the text readable.
  return value.trim() === '' ? value : MASK;
}

/**
 * A key as displayed. Text before its last `;` forms no pair (`Password:hunter2;UserName` is
 * one key to .NET) and is masked; the key is cut after a secret key's name it holds
 * (`AccessToken:hunter2` shows as `AccessToken…`).
 */
function maskedKey(key: string): string {
  const parts = key.split(';');
  const name = parts.pop()!;
  const keyless = parts.map((part) => (/^\s*$/.test(part) ? part : MASK));
  return [...keyless, keyForMessage(name).text].join(';');
}

/**
 * Replaces the value of every key other than the known non-secret ones with `********`;
 * Password and AccessToken keep an `env:`/`file:` reference. Never throws: text that is not a
 * valid connection string is masked on the same rule, pair by pair.
 */
export function maskConnectionString(text: string): string {
  let out = '';
  let index = 0;
  while (index < text.length) {
    const eq = text.indexOf('=', index);
    if (eq < 0) {
      // Trailing text with no `=`: blanks and `;` as written, anything else could be a secret.
      const rest = text.slice(index);
      return out + (/^[\s;]*$/.test(rest) ? rest : MASK);
    }
    const key = text.slice(index, eq);
    let end = eq + 1;
    while (end < text.length && /\s/.test(text[end]!)) end++;
    const quote = text[end];
    if (quote === '"' || quote === "'") {
      end++;
      while (end < text.length) {
        if (text[end] === quote && text[end + 1] === quote) end += 2;
        else if (text[end] === quote) break;
        else end++;
      }
      end++;
    }
    const semi = text.indexOf(';', end);
    const stop = semi < 0 ? text.length : semi;
    const value = text.slice(eq + 1, stop);
    const name = key.replace(/^[\s;]+/, '').trim();
    out += `${maskedKey(key)}=${maskedValue(name, value)}${semi < 0 ? '' : ';'}`;
    index = stop + 1;
  }
  return out;
}

/**
 * A parameter's or variable's value as shown: `********` when it is sensitive; masked as a
 * connection string (`maskConnectionString`) when it holds an `=`, since `key=value` text may
 * be an SMTP or OLE DB connection string with a password in it (text that is nearly one, an
 * unclosed quote say, is masked too); any other value as it is.
 */
export function maskValue(value: string, sensitive = false): string {
  if (sensitive) return MASK;
  return value.includes('=') ? maskConnectionString(value) : value;
}
