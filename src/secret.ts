/**
 * A password or token that never prints itself.
 *
 * `String(secret)`, `JSON.stringify`, `util.inspect` and template literals all give
 * `********`; only `reveal()` returns the value, and only the code that puts it on the wire
 * (a SASL mechanism) should call it. `source` says where it came from (`literal`,
 * `env:NAME`, `file:PATH`), which is safe to show in errors and reports.
 */
import { inspect } from 'node:util';

export const MASK = '********';

export class Secret {
  readonly #value: string;

  constructor(
    value: string,
    readonly source: string = 'literal',
  ) {
    this.#value = value;
  }

  /** The secret itself. Call it only where the value goes to the wire. */
  reveal(): string {
    return this.#value;
  }

  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [inspect.custom](): string {
    return `Secret(${MASK}, ${this.source})`;
  }
}

/** A secret value, or a function that produces one when it is needed. */
export type SecretInput = string | Secret;

export function toSecret(value: SecretInput): Secret {
  return value instanceof Secret ? value : new Secret(value);
}
