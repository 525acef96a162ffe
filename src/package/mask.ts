/**
 * Masks the secrets of a connection string for display, keeping everything else as written
 * (the order, the spelling, and `env:`/`file:` references, which are safe to show).
 */
import { MASK } from '../secret.js';

const SECRET_KEYS = /^(password|pwd|accesstoken)$/i;

/** Replaces the value of Password, Pwd and AccessToken with `********`, unless a reference. */
export function maskConnectionString(text: string): string {
  let out = '';
  let index = 0;
  while (index < text.length) {
    const eq = text.indexOf('=', index);
    if (eq < 0) return out + text.slice(index);
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
    const masked = SECRET_KEYS.test(name) && !/^\s*['"]?(env|file):/i.test(value) ? MASK : value;
    out += `${key}=${masked}${semi < 0 ? '' : ';'}`;
    index = stop + 1;
  }
  return out;
}
