/** The longest piece of source quoted in a message; longer constructs end in an ellipsis. */
const MAX_QUOTE = 80;

/**
 * An expression could not be parsed, type-checked or evaluated, or uses a construct this
 * evaluator does not support. `position` is the 1-based character position of the
 * construct in the expression text and `construct` its source text.
 */
export class ExpressionError extends Error {
  readonly position: number;
  readonly construct: string;

  constructor(problem: string, position: number, construct: string) {
    super(`${problem} at position ${position}: ${quote(construct)}`);
    this.name = 'ExpressionError';
    this.position = position;
    this.construct = construct;
  }
}

function quote(construct: string): string {
  const oneLine = construct.replace(/\r?\n/g, '\\n');
  return oneLine.length > MAX_QUOTE ? `${oneLine.slice(0, MAX_QUOTE - 1)}…` : oneLine;
}
