import type { ExpressionNode } from './types.js';

/**
 * The variables and parameters `node` refers to, as written (`User::X`, `$Project::X`, or an
 * unqualified `X`), each once, in order of first appearance.
 */
export function referencedVariables(node: ExpressionNode): string[] {
  const names = new Set<string>();
  const visit = (n: ExpressionNode): void => {
    switch (n.kind) {
      case 'variable':
        names.add(n.name);
        return;
      case 'cast':
      case 'unary':
        visit(n.operand);
        return;
      case 'binary':
        visit(n.left);
        visit(n.right);
        return;
      case 'conditional':
        visit(n.condition);
        visit(n.whenTrue);
        visit(n.whenFalse);
        return;
      case 'call':
        n.args.forEach(visit);
        return;
      default:
        return;
    }
  };
  visit(node);
  return [...names];
}
