/**
 * What `smtpcm inspect` reports about a package: every SMTP connection manager and Send Mail
 * task with literal and evaluated values and their sources, the configurations, and every
 * problem. Secrets are masked here, once, so no output path can leak them.
 */
import type { DataTypeName } from '../dtsx/model.js';
import { oneLine } from '../message/quote.js';
import { toPropertyString } from './expressions/index.js';
import type { ConfigurationOutcome, LoadedPackage } from './load.js';
import { maskConnectionString, maskValue } from './mask.js';
import type { Package } from './package.js';
import type { PackageProblem, ValueSource } from './problems.js';
import {
  resolveConnection,
  sendMailTasks,
  type ResolvedProperty,
  type ResolvedSendMailTask,
} from './tasks.js';
import type { Variable } from './variables.js';

export interface InspectedConnection {
  name: string;
  id: string;
  description: string;
  /** `package`, `project` (a .conmgr file) or `added` (by `--connection` for a dangling id). */
  origin: string;
  file: string | undefined;
  /** The connection string property, secrets masked in `literal` and `value`. */
  connectionString: ResolvedProperty;
}

export interface InspectedTask {
  path: string;
  name: string;
  enabled: boolean;
  disabledBy: string | undefined;
  eventName: string | undefined;
  eventOwner: string | undefined;
  loop: string | undefined;
  configured: boolean;
  /** The name of the connection manager the task resolves to. */
  connection: string | undefined;
  properties: ResolvedProperty[];
  /** The body: the text itself, the variable's value, or the file the File connection names. */
  body: { from: 'text' | 'variable' | 'file'; value: string | undefined } | undefined;
}

export interface InspectedVariable {
  /** `User::X`, or `System::X` for one a container declares. */
  name: string;
  /** The path of the container that declares it (`Package`, `Package\Sequence`). */
  container: string;
  type: DataTypeName;
  /**
   * The value SSIS would use (an expression variable's expression evaluated), masked:
   * `********` when the expression reads a sensitive parameter.
   */
  value: string;
  source: ValueSource;
  expression?: string;
}

export interface InspectReport {
  package: { name: string; id: string; file: string; formatVersion: number; projectDir: string };
  connections: InspectedConnection[];
  /** Connection managers of other types (listed, never used as SMTP). */
  otherConnections: Array<{ name: string; type: string; origin: string }>;
  tasks: InspectedTask[];
  /** Values masked: `********` when sensitive, `key=value` text as a connection string. */
  parameters: Array<{ name: string; type: DataTypeName; value: string; source: ValueSource }>;
  /** Every variable of every container, package first, values masked as parameters'. */
  variables: InspectedVariable[];
  configurations: ConfigurationOutcome[];
  problems: PackageProblem[];
}

function masked(property: ResolvedProperty): ResolvedProperty {
  return {
    ...property,
    literal: maskConnectionString(property.literal),
    value: property.value === undefined ? undefined : maskConnectionString(property.value),
  };
}

/** Builds the report. Never throws for a problem of the package: problems are listed. */
export function inspectPackage(loaded: LoadedPackage): InspectReport {
  const pkg = loaded.package;
  const connections = pkg.connections.smtp().map((connection) => {
    const resolved = resolveConnection(pkg, connection);
    return {
      connection: {
        name: connection.name, id: connection.id, description: connection.description,
        origin: connection.origin, file: connection.file,
        connectionString: masked(resolved.connectionString),
      },
      problems: resolved.problems,
    };
  });
  const tasks = sendMailTasks(pkg);
  // Before the problems are copied: a variable whose expression fails adds a warning.
  const secret = sensitiveNames(pkg);
  const variables = pkg.allVariables().map((v) => inspectVariable(pkg, v, secret));
  const problems: PackageProblem[] = [...pkg.problems];
  const add = (problem: PackageProblem): void => {
    if (!problems.some((p) => p.code === problem.code && p.where === problem.where &&
      p.message === problem.message)) problems.push(problem);
  };
  connections.forEach((c) => c.problems.forEach(add));
  tasks.forEach((t) => t.problems.map((p) => (t.enabled ? p : asDisabled(t, p))).forEach(add));
  return {
    package: { name: pkg.name, id: pkg.id, file: loaded.file,
      formatVersion: pkg.definition.formatVersion, projectDir: loaded.projectDir },
    connections: connections.map((c) => c.connection),
    otherConnections: [...pkg.connections].filter((c) => !c.isSmtp)
      .map((c) => ({ name: c.name, type: c.creationName, origin: c.origin })),
    tasks: tasks.map((task) => inspectTask(loaded, task, secret)),
    parameters: [...pkg.parameters].map((p) => ({ name: p.qualifiedName, type: p.dataType,
      value: maskValue(toPropertyString(p.value), p.sensitive), source: p.valueSource })),
    variables,
    configurations: loaded.configurations,
    problems: [...problems].sort((a, b) => (a.severity === b.severity ? 0
      : a.severity === 'error' ? -1 : 1)),
  };
}

function inspectVariable(pkg: Package, variable: Variable,
  secret: readonly string[]): InspectedVariable {
  const computed = variable.evaluateAsExpression && variable.valueSource !== 'override';
  return {
    name: variable.qualifiedName, container: variable.containerPath, type: variable.dataType,
    value: maskValue(toPropertyString(pkg.variableValue(variable)),
      computed && readsSensitive(secret, variable.expression)),
    source: computed ? 'expression' : variable.valueSource,
    ...(variable.expression !== '' ? { expression: variable.expression } : {}),
  };
}

/**
 * True when an expression names one of the `secret` names (`sensitiveNames`): its value is
 * as secret. By the text (any case), so a name in a string literal counts too; more is
 * masked, never less.
 */
function readsSensitive(secret: readonly string[], expression: string): boolean {
  const text = expression.toLowerCase();
  return secret.some((name) => text.includes(name));
}

/**
 * The names, lower case, whose values are secret: every sensitive parameter's qualified
 * name, then, until nothing is added, every expression variable whose expression names one
 * of them, as `User::Key` (in `@[User::Key]`) and as `@Key` (SSIS lets the namespace go).
 */
function sensitiveNames(pkg: Package): string[] {
  const names = [...pkg.parameters].filter((p) => p.sensitive)
    .map((p) => p.qualifiedName.toLowerCase());
  const pending = pkg.allVariables().filter((v) => v.evaluateAsExpression);
  for (let added = names.length > 0; added;) {
    added = false;
    for (const variable of [...pending]) {
      if (!readsSensitive(names, variable.expression)) continue;
      names.push(variable.qualifiedName.toLowerCase(), `@${variable.name.toLowerCase()}`);
      pending.splice(pending.indexOf(variable), 1);
      added = true;
    }
  }
  return names;
}

/**
 * A problem of a disabled task, as a warning: `run` skips the task (unless `--task` names it),
 * so the problem stops nothing. The task's own problems only; its connection manager's
 * problems are listed as they are, under the connection manager.
 */
function asDisabled(task: ResolvedSendMailTask, problem: PackageProblem): PackageProblem {
  if (problem.severity !== 'error' || problem.where !== `task "${task.path}"`) return problem;
  return { ...problem, severity: 'warning',
    message: `${problem.message} The task is disabled (${task.disabledBy}): run skips it.` };
}

function inspectTask(loaded: LoadedPackage, task: ResolvedSendMailTask,
  secret: readonly string[]): InspectedTask {
  const pkg = loaded.package;
  const type = (task.properties.MessageSourceType.value ?? '').toLowerCase();
  const source = task.properties.MessageSource.value;
  let body: InspectedTask['body'];
  if (!task.configured) body = undefined;
  else if (type === 'variable' || type === '2') {
    let value: string | undefined;
    try {
      const name = (source ?? '').includes('::') ? source : `User::${source}`;
      value = toPropertyString(pkg.evaluate(`@[${name}]`, task.path));
    } catch {
      value = undefined;
    }
    body = { from: 'variable', value };
  } else if (type === 'fileconnection' || type === '1') {
    const file = pkg.connections.get(source ?? '');
    body = { from: 'file',
      value: file?.isFile ? resolveConnection(pkg, file).connectionString.value : source };
  } else body = { from: 'text', value: source };
  return {
    path: task.path, name: task.name, enabled: task.enabled, disabledBy: task.disabledBy,
    eventName: task.eventName, eventOwner: task.eventOwner, loop: task.loop,
    configured: task.configured, connection: task.connection?.connection.name,
    properties: task.configured ? [...Object.values(task.properties),
      ...(task.disable.expression !== undefined ? [task.disable] : [])]
      .map((p) => (p.expression !== undefined && p.value !== undefined &&
        readsSensitive(secret, p.expression) ? { ...p, value: maskValue(p.value, true) } : p))
      : [], body,
  };
}

/** A value for one line: in quotes with its control characters escaped when it has any. */
function show(value: string | undefined): string {
  if (value === undefined) return '(cannot be evaluated)';
  if (value === '') return '(empty)';
  const escaped = oneLine(value);
  return escaped === value ? value : `"${escaped}"`;
}

function describeSource(property: ResolvedProperty): string {
  if (property.expression === undefined) return property.source;
  return `${property.source} ${property.expression.replace(/\s*\n\s*/g, ' ')}`;
}

/** The report as text for a terminal: sections, two-space indents, one value a line. */
export function formatInspectReport(report: InspectReport): string {
  const lines: string[] = [];
  const p = report.package;
  lines.push(`Package ${p.name} (format ${p.formatVersion})`, `  file: ${p.file}`,
    `  project folder: ${p.projectDir}`, '');
  lines.push(`SMTP connection managers (${report.connections.length})`);
  for (const c of report.connections) {
    lines.push(`  ${c.name} ${c.id} (${c.origin}${c.file && c.origin === 'project'
      ? `: ${c.file}` : ''})`);
    lines.push(`    ConnectionString: ${show(c.connectionString.value)}  [${describeSource(
      c.connectionString)}]`);
    if (c.connectionString.value !== c.connectionString.literal) {
      lines.push(`      literal: ${show(c.connectionString.literal)}`);
    }
  }
  if (report.otherConnections.length > 0) {
    lines.push(`  other connection managers: ${report.otherConnections
      .map((c) => `${c.name} (${c.type})`).join(', ')}`);
  }
  lines.push('', `Send Mail tasks (${report.tasks.length})`);
  for (const t of report.tasks) {
    const state = t.enabled ? 'enabled' : `disabled: ${t.disabledBy}`;
    const where = t.eventName ? `, ${t.eventName} handler of ${t.eventOwner}` : '';
    lines.push(`  ${t.path} [${state}${where}${t.loop ? `, in loop ${t.loop}` : ''}]`);
    if (!t.configured) {
      lines.push('    (never configured)');
      continue;
    }
    for (const property of t.properties) {
      if (property.literal === '' && property.value === '' && !property.expression) continue;
      lines.push(`    ${property.name}: ${show(property.value)}  [${describeSource(property)}]`);
      if (property.expression !== undefined && property.literal !== property.value) {
        lines.push(`      literal: ${show(property.literal)}`);
      }
      if (property.error) lines.push(`      error: ${property.error}`);
    }
    if (t.connection) lines.push(`    connection manager: ${t.connection}`);
    if (t.body && t.body.from !== 'text') {
      lines.push(`    body from ${t.body.from}: ${show(t.body.value)}`);
    }
  }
  if (report.configurations.length > 0) {
    lines.push('', 'Configurations');
    for (const c of report.configurations) {
      lines.push(`  ${c.name}: ${c.typeName}, ${c.status}${c.file ? ` (${c.file})` : ''}`);
    }
  }
  lines.push('', report.problems.length === 0 ? 'No problems found.'
    : `Problems (${report.problems.length})`);
  for (const problem of report.problems) {
    lines.push(`  ${problem.severity}: ${problem.where}: ${problem.message}`,
      `    fix: ${problem.fix}`);
  }
  return `${lines.join('\n')}\n`;
}
