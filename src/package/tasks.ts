/**
 * Resolving a package's SMTP connection managers and Send Mail tasks to the values SSIS
 * would use, with where each value came from and every problem found; and the order in which
 * the control flow runs them.
 */
import { parseConnectionString } from '../connection/connection-string.js';
import { ConfigurationError } from '../errors.js';
import type { ExecutableDefinition, PrecedenceConstraintDefinition } from '../dtsx/model.js';
import type { SendMailTaskProperties } from '../tasks/send-mail-task.js';
import type { PackageConnection } from './connections.js';
import { toPropertyString, type SsisValue } from './expressions/index.js';
import { setConnectionStringKey, type ContainerNode, type Package } from './package.js';
import type { PackageProblem, ValueSource } from './problems.js';

/** One property of a task or connection manager: as written, as evaluated, and whence. */
export interface ResolvedProperty {
  name: string;
  /** The value written in the package ('' when absent). */
  literal: string;
  /** The value SSIS would use; undefined when its expression failed (see `error`). */
  value: string | undefined;
  source: ValueSource;
  expression?: string;
  error?: string;
}

export interface ResolvedConnection {
  connection: PackageConnection;
  /** The connection string SSIS would use, not masked (mask before showing it). */
  connectionString: ResolvedProperty;
  problems: PackageProblem[];
}

export type SendMailPropertyName =
  | 'SmtpConnection' | 'FromLine' | 'ToLine' | 'CCLine' | 'BCCLine' | 'Subject'
  | 'MessageSourceType' | 'MessageSource' | 'Priority' | 'FileAttachments';

export const SEND_MAIL_PROPERTIES: SendMailPropertyName[] = [
  'SmtpConnection', 'FromLine', 'ToLine', 'CCLine', 'BCCLine', 'Subject',
  'MessageSourceType', 'MessageSource', 'Priority', 'FileAttachments',
];

export interface ResolvedSendMailTask {
  path: string;
  name: string;
  id: string;
  /** Set when the task sits in an event handler: the event (`OnError`). */
  eventName: string | undefined;
  /** The executable whose handler holds the task (`Package`, `Package\Sequence`). */
  eventOwner: string | undefined;
  /** False when the task was dropped on the canvas and never configured. */
  configured: boolean;
  enabled: boolean;
  /** Why the task is disabled: its own flag, a Disable expression or a container's. */
  disabledBy: string | undefined;
  /** The loop container the task is in, if any (it would run once per iteration). */
  loop: string | undefined;
  properties: Record<SendMailPropertyName, ResolvedProperty>;
  disable: ResolvedProperty;
  connection: ResolvedConnection | undefined;
  problems: PackageProblem[];
}

const LITERAL_FIELDS: Record<SendMailPropertyName, keyof NonNullable<
  ExecutableDefinition['sendMail']>> = {
  SmtpConnection: 'smtpServer',
  FromLine: 'from',
  ToLine: 'to',
  CCLine: 'cc',
  BCCLine: 'bcc',
  Subject: 'subject',
  MessageSourceType: 'messageSourceType',
  MessageSource: 'messageSource',
  Priority: 'priority',
  FileAttachments: 'fileAttachments',
};

/** `parameter` when the expression is one parameter reference, else `expression`. */
function expressionSource(expression: string): ValueSource {
  return /^\s*@\[\$(Project|Package)::[^\]]+\]\s*$/i.test(expression) ? 'parameter' : 'expression';
}

/**
 * Resolves one property: the literal, overridden by a configuration or `--set` on the
 * property path, overridden by a property expression.
 */
function resolveProperty(
  pkg: Package,
  path: string,
  name: string,
  literal: string,
  expression: string | undefined,
  convert: (value: SsisValue) => string = toPropertyString,
): ResolvedProperty {
  const setting = pkg.propertySetting(path, name);
  const base: ResolvedProperty = setting
    ? { name, literal, value: setting.value, source: setting.source }
    : { name, literal, value: literal, source: literal === '' ? 'default' : 'literal' };
  if (expression === undefined || expression.trim() === '') return base;
  try {
    return {
      name, literal, expression, source: expressionSource(expression),
      value: convert(pkg.evaluate(expression, path)),
    };
  } catch (error) {
    return { name, literal, expression, source: 'expression', value: undefined,
      error: (error as Error).message };
  }
}

function expressionOf(
  definition: { propertyExpressions: Array<{ property: string; expression: string }> },
  property: string,
): string | undefined {
  return definition.propertyExpressions.find(
    (p) => p.property.toLowerCase() === property.toLowerCase(),
  )?.expression;
}

/**
 * The connection string a connection manager would use: the literal (after
 * configurations), its `ConnectionString` expression, then expressions on single SMTP keys
 * (`SmtpServer`, `EnableSsl`, `UseWindowsAuthentication`, `Timeout`), then `--connection`.
 * Checks an SMTP connection string with the connection-string parser.
 */
export function resolveConnection(pkg: Package, connection: PackageConnection): ResolvedConnection {
  const where = `connection manager "${connection.name}"`;
  const problems: PackageProblem[] = [];
  const literal = connection.connectionString;
  let resolved: ResolvedProperty = {
    name: 'ConnectionString', literal, value: literal, source: connection.connectionStringSource,
  };
  const expression = connection.expressionFor('ConnectionString');
  if (expression) {
    resolved = resolveProperty(pkg, 'Package', 'ConnectionString', literal, expression);
  }
  if (connection.isSmtp) {
    for (const key of ['SmtpServer', 'UseWindowsAuthentication', 'EnableSsl', 'Timeout']) {
      const keyExpression = connection.expressionFor(key);
      if (!keyExpression || resolved.value === undefined) continue;
      const keyValue = resolveProperty(pkg, 'Package', key, '', keyExpression);
      if (keyValue.value === undefined) {
        resolved = { ...resolved, value: undefined, error: keyValue.error };
      } else {
        resolved = { ...resolved, value: setConnectionStringKey(resolved.value, key,
          keyValue.value), source: 'expression',
        expression: [resolved.expression, `${key}: ${keyExpression}`].filter(Boolean).join('; ') };
      }
    }
  }
  const override = pkg.connectionOverride(connection);
  if (override !== undefined) {
    resolved = { ...resolved, value: override, source: 'override' };
    delete resolved.error;
  }
  if (resolved.error !== undefined) {
    problems.push({ severity: 'error', code: 'expression-error', where,
      message: `The connection string's expression cannot be evaluated: ${resolved.error}`,
      fix: `Supply what it needs (--param, --set), or give the connection string with ` +
        `--connection "${connection.name}=SmtpServer=...".` });
  } else if (connection.isSmtp) {
    try {
      parseConnectionString(resolved.value ?? '');
    } catch (error) {
      const empty = (resolved.value ?? '').trim() === '' ||
        /SmtpServer: is empty/.test((error as Error).message);
      const emptyFix = `Set SmtpServer in the package, or give it with --connection ` +
        `"${connection.name}=SmtpServer=host;".`;
      // Any other error carries its own fix (an unknown key: the nearest and the valid keys).
      const own = !empty && error instanceof ConfigurationError ? error : undefined;
      const text = own ? `${own.field}: ${own.problem}` : (error as Error).message;
      problems.push({ severity: 'error', code: empty ? 'empty-server' : 'invalid-connection-string',
        where,
        message: empty ? 'The SMTP server is empty: there is nothing to connect to.'
          : `The connection string is not valid: ${text}`,
        fix: own?.fix ?? emptyFix });
    }
  }
  return { connection, connectionString: resolved, problems };
}

/** Every Send Mail task of the package (main flow and event handlers), in document order. */
export function sendMailTasks(pkg: Package): ResolvedSendMailTask[] {
  return pkg.executables()
    .filter((n) => n.kind === 'send-mail')
    .map((n) => resolveSendMailTask(pkg, n));
}

/** Resolves one Send Mail task: enabled state, properties, connection, problems. */
export function resolveSendMailTask(pkg: Package, node: ContainerNode): ResolvedSendMailTask {
  const definition = node.definition as ExecutableDefinition;
  const data = definition.sendMail;
  const problems: PackageProblem[] = [];
  const where = `task "${node.path}"`;
  const properties = {} as Record<SendMailPropertyName, ResolvedProperty>;
  for (const name of SEND_MAIL_PROPERTIES) {
    properties[name] = resolveProperty(pkg, node.path, name, data ? data[LITERAL_FIELDS[name]] : '',
      expressionOf(definition, name));
    const property = properties[name];
    if (property.error !== undefined) {
      problems.push({ severity: 'error', code: 'expression-error', where,
        message: `The ${name} expression cannot be evaluated: ${property.error}`,
        fix: 'Give the variables or parameters it uses with --set or --param, or correct it.' });
    }
    const setting = pkg.propertySetting(node.path, name);
    if (setting && property.expression !== undefined) {
      problems.push({ severity: 'warning', code: 'hidden-override', where,
        message: `${name} is set by ${setting.source}, but its property expression wins, as ` +
          'in SSIS.', fix: 'Set the variables the expression uses instead.' });
    }
  }
  const { enabled, disabledBy, disable } = enabledState(pkg, node);
  let loop: string | undefined;
  let eventName: string | undefined;
  let eventOwner: string | undefined;
  for (let n = node.parent; n; n = n.parent) {
    if (!loop && (n.kind === 'for-loop' || n.kind === 'foreach-loop')) loop = n.path;
    if (!eventName && n.kind === 'event-handler') {
      eventName = n.eventName;
      eventOwner = n.parent?.path;
    }
  }
  let connection: ResolvedConnection | undefined;
  if (!data) {
    problems.push({ severity: 'error', code: 'unconfigured-task', where,
      message: 'The Send Mail task was never configured: it has no connection, sender or ' +
        'recipients.', fix: 'Open the task in the SSIS designer and set its properties, or ' +
        'remove it.' });
  } else {
    const reference = properties.SmtpConnection.value ?? '';
    const found = reference === '' ? undefined : pkg.connections.get(reference);
    if (!found) {
      problems.push({ severity: 'error', code: 'dangling-connection', where,
        message: reference === '' ? 'The task names no SMTP connection manager.'
          : `The task names connection manager ${reference}, which is neither in the package ` +
            'nor in a .conmgr file of the project folder.',
        fix: `Put its .conmgr file in the project folder (--project DIR), or give it with ` +
          `--connection "${reference || 'NAME'}=SmtpServer=host;".` });
    } else if (!found.isSmtp) {
      problems.push({ severity: 'error', code: 'not-smtp-connection', where,
        message: `The task names "${found.name}", a ${found.creationName} connection manager, ` +
          'not an SMTP one.', fix: 'Point the task at an SMTP connection manager.' });
    } else {
      connection = resolveConnection(pkg, found);
      problems.push(...connection.problems);
    }
  }
  if (loop) {
    problems.push({ severity: 'warning', code: 'loop-task', where,
      message: `The task is inside the loop "${loop}"; smtpcm runs it once.`,
      fix: 'Set the loop variables it uses with --set to choose the iteration.' });
  }
  return { path: node.path, name: node.name, id: node.id, eventName, eventOwner,
    configured: data !== undefined, enabled, disabledBy, loop, properties, disable, connection,
    problems };
}

function enabledState(pkg: Package, node: ContainerNode): {
  enabled: boolean; disabledBy: string | undefined; disable: ResolvedProperty;
} {
  const own = isDisabled(pkg, node);
  if (own.value === 'True') {
    return { enabled: false, disabledBy: describe(own), disable: own };
  }
  for (let n = node.parent; n; n = n.parent) {
    const owner = n.parent?.definition as ExecutableDefinition | undefined;
    if (n.kind === 'event-handler' && owner?.disableEventHandlers) {
      return { enabled: false, disabledBy: `DisableEventHandlers is set on "${n.parent!.path}"`,
        disable: own };
    }
    if (n.kind === 'event-handler' || n.kind === 'package') continue;
    const state = isDisabled(pkg, n);
    if (state.value === 'True') {
      return { enabled: false, disabledBy: `container "${n.path}" is disabled`, disable: own };
    }
  }
  return { enabled: true, disabledBy: undefined, disable: own };
}

function describe(state: ResolvedProperty): string {
  return state.source === 'literal' ? 'Disabled is set in the package'
    : `Disable expression ${state.expression ?? ''} is true`;
}

function isDisabled(pkg: Package, node: ContainerNode): ResolvedProperty {
  const definition = node.definition as ExecutableDefinition;
  const literal = definition.disabled ? 'True' : 'False';
  const property = resolveProperty(pkg, node.path, 'Disable', literal,
    expressionOf(definition, 'Disable'), (v) => truthy(v) ? 'True' : 'False');
  // A Disable expression that fails leaves the literal state, as the designer shows it.
  return property.value === undefined ? { ...property, value: literal } : {
    ...property, value: /^(true|-1|1)$/i.test(property.value) ? 'True' : 'False' };
}

function truthy(value: SsisValue): boolean {
  if (typeof value.value === 'boolean') return value.value;
  if (typeof value.value === 'number') return value.value !== 0;
  if (typeof value.value === 'bigint') return value.value !== 0n;
  if (typeof value.value === 'string') return /^(true|-1|1)$/i.test(value.value.trim());
  return false;
}

/** The Send Mail properties to hand to `SendMailTask`, from a resolved task. */
export function toSendMailProperties(task: ResolvedSendMailTask): SendMailTaskProperties {
  const p = task.properties;
  const v = (name: SendMailPropertyName): string | undefined =>
    p[name].value === '' ? undefined : p[name].value;
  return {
    smtpConnection: task.connection?.connection.id ?? p.SmtpConnection.value ?? '',
    fromLine: p.FromLine.value ?? '',
    toLine: p.ToLine.value ?? '',
    ...(v('CCLine') !== undefined ? { ccLine: v('CCLine')! } : {}),
    ...(v('BCCLine') !== undefined ? { bccLine: v('BCCLine')! } : {}),
    ...(v('Subject') !== undefined ? { subject: v('Subject')! } : {}),
    ...(v('MessageSourceType') !== undefined ? { messageSourceType: v('MessageSourceType')! } : {}),
    ...(v('MessageSource') !== undefined ? { messageSource: v('MessageSource')! } : {}),
    ...(v('Priority') !== undefined ? { priority: v('Priority')! } : {}),
    ...(v('FileAttachments') !== undefined ? { fileAttachments: v('FileAttachments')! } : {}),
  };
}

/** One step of a control flow in run order. */
export interface FlowStep {
  node: ContainerNode;
  /** The constraints leading to it, e.g. `after "Load" fails`. */
  after: string[];
}

/**
 * The executables of a container in the order its precedence constraints impose (a
 * topological order, document order among those free to run), containers expanded
 * depth-first. Constraint outcomes are not simulated: every step is listed.
 */
export function controlFlowOrder(pkg: Package, container: ContainerNode): FlowStep[] {
  const definition = container.definition;
  const children = definition.executables.map((e) => pkg.node(e.path)!).filter(Boolean);
  const ordered = topologicalOrder(children, definition.precedenceConstraints);
  const steps: FlowStep[] = [];
  for (const child of ordered) {
    const after = definition.precedenceConstraints
      .filter((c) => c.to.toLowerCase() === child.path.toLowerCase())
      .map((c) => `${c.value === 'Success' ? 'after' : c.value === 'Failure' ? 'if fails:'
        : 'after completion of'} "${c.from.split('\\').pop()}"${c.evalOp !== 2 && c.expression
        ? ` when ${c.expression}` : ''}`);
    steps.push({ node: child, after });
    if (child.kind === 'sequence' || child.kind === 'for-loop' || child.kind === 'foreach-loop') {
      steps.push(...controlFlowOrder(pkg, child));
    }
  }
  return steps;
}

function topologicalOrder(
  nodes: ContainerNode[],
  constraints: PrecedenceConstraintDefinition[],
): ContainerNode[] {
  const key = (path: string): string => path.toLowerCase();
  const indegree = new Map(nodes.map((n) => [key(n.path), 0]));
  const edges = constraints.filter((c) => indegree.has(key(c.from)) && indegree.has(key(c.to)));
  for (const edge of edges) indegree.set(key(edge.to), indegree.get(key(edge.to))! + 1);
  const result: ContainerNode[] = [];
  const remaining = [...nodes];
  while (remaining.length > 0) {
    // The first node in document order with no unmet predecessor; on a cycle, the first one.
    let index = remaining.findIndex((n) => indegree.get(key(n.path)) === 0);
    if (index < 0) index = 0;
    const [next] = remaining.splice(index, 1);
    result.push(next!);
    for (const edge of edges.filter((e) => key(e.from) === key(next!.path))) {
      indegree.set(key(edge.to), indegree.get(key(edge.to))! - 1);
    }
  }
  return result;
}
