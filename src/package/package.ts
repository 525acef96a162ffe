/**
 * A loaded SSIS package: its connection managers, variables, parameters and tasks, with the
 * expression evaluator wired to them, so every Send Mail task and SMTP connection manager
 * resolves to the values SSIS would use.
 *
 * Precedence of values, lowest first, as in SSIS: the literal in the file; package
 * configurations (in their order); command-line `--set` / `--param`; property expressions
 * (an expression always wins over a configured or set property value). One exception, on
 * purpose: `--connection NAME=STRING` replaces the connection string even when an expression
 * computes it, because its job is to redirect a package to another server safely.
 */
import { randomUUID } from 'node:crypto';
import { formatPair, splitConnectionString } from '../connection/connection-string.js';
import { ConfigurationError } from '../errors.js';
import type {
  EventHandlerDefinition,
  ExecutableDefinition,
  ExecutableKind,
  PackageDefinition,
} from '../dtsx/model.js';
import { Connections, PackageConnection } from './connections.js';
import {
  evaluateExpression,
  ExpressionError,
  type ExpressionScope,
  type SsisValue,
} from './expressions/index.js';
import type { PackageProblem, ValueSource } from './problems.js';
import { dataTypeOf, parseSsisDate, valueFromText } from './values.js';
import {
  Parameter,
  Parameters,
  systemVariable,
  Variable,
  type RunEnvironment,
  type SystemContext,
} from './variables.js';

/** A container of the control flow: the package, a Sequence, a loop, an event handler. */
export interface ContainerNode {
  path: string;
  name: string;
  id: string;
  kind: ExecutableKind | 'event-handler';
  /** For an event handler: its event (`OnError`). */
  eventName?: string;
  parent: ContainerNode | undefined;
  variables: Variable[];
  definition: ExecutableDefinition | EventHandlerDefinition;
}

/** A property value set on an executable by a configuration or `--set`. */
interface PropertySetting {
  value: string;
  source: ValueSource;
}

export class Package {
  readonly definition: PackageDefinition;
  readonly connections = new Connections();
  readonly parameters = new Parameters();
  /** Problems found while loading (configurations, overrides); tasks add their own. */
  readonly problems: PackageProblem[] = [];
  readonly environment: RunEnvironment;

  readonly #nodes = new Map<string, ContainerNode>();
  readonly #propertySettings = new Map<string, Map<string, PropertySetting>>();
  readonly #systemOverrides = new Map<string, SsisValue>();
  readonly #connectionOverrides = new Map<PackageConnection, string>();
  readonly #reportedVariables = new Set<Variable>();

  constructor(definition: PackageDefinition, environment: RunEnvironment) {
    this.definition = definition;
    this.environment = environment;
    this.#index(definition, undefined, 'package');
    for (const cm of definition.connectionManagers) {
      this.connections.insert(PackageConnection.fromDefinition(cm, 'package'));
    }
    for (const parameter of definition.parameters) this.parameters.add(new Parameter(parameter));
  }

  get name(): string {
    return this.definition.name;
  }

  get id(): string {
    return this.definition.id;
  }

  /** The package-scope variables (declared on the package itself). */
  get variables(): Variable[] {
    return this.#nodes.get('package')!.variables;
  }

  /** Every variable of every container, package first, in document order. */
  allVariables(): Variable[] {
    return [...this.#nodes.values()].flatMap((n) => n.variables);
  }

  /** The container or executable at `path` (`Package\Sequence\Task`), any case. */
  node(path: string): ContainerNode | undefined {
    return this.#nodes.get(path.toLowerCase());
  }

  /** The Send Mail tasks, main flow and event handlers, in document order (not resolved). */
  tasks(): ContainerNode[] {
    return this.executables().filter((n) => n.kind === 'send-mail');
  }

  /** Every executable of the package, depth first, event handlers included. */
  executables(): ContainerNode[] {
    return [...this.#nodes.values()].filter((n) => n.kind !== 'package');
  }

  #index(
    definition: ExecutableDefinition | EventHandlerDefinition,
    parent: ContainerNode | undefined,
    kind: ContainerNode['kind'],
  ): void {
    const isHandler = kind === 'event-handler';
    const handler = definition as EventHandlerDefinition;
    const executable = definition as ExecutableDefinition;
    const node: ContainerNode = {
      path: definition.path,
      name: isHandler ? handler.eventName : executable.name,
      id: definition.id,
      kind,
      parent,
      variables: definition.variables.map((v) => new Variable(v, definition.path)),
      definition,
      ...(isHandler ? { eventName: handler.eventName } : {}),
    };
    this.#nodes.set(definition.path.toLowerCase(), node);
    for (const child of definition.executables) this.#index(child, node, child.kind);
    if (!isHandler) {
      for (const h of executable.eventHandlers) this.#index(h, node, 'event-handler');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Expressions
  // -------------------------------------------------------------------------------------------

  /**
   * Evaluates an SSIS expression as the executable at `path` sees it: its own variables,
   * then each enclosing container's, System variables, and parameters.
   *
   * @throws ExpressionError for a syntax or type error, an unknown variable or an
   *   unsupported construct (quoting it and its position).
   */
  evaluate(expression: string, path = 'Package'): SsisValue {
    const node = this.node(path) ?? this.#nodes.get('package')!;
    return evaluateExpression(expression, this.#scope(node, new Set()));
  }

  #scope(node: ContainerNode, evaluating: Set<Variable>): ExpressionScope {
    return {
      resolve: (name) => this.#resolve(name, node, evaluating),
      now: () => new Date(),
    };
  }

  #resolve(name: string, node: ContainerNode, evaluating: Set<Variable>): SsisValue | undefined {
    if (name.startsWith('$')) return this.parameters.get(name)?.value;
    const separator = name.indexOf('::');
    const namespace = separator < 0 ? undefined : name.slice(0, separator);
    const local = separator < 0 ? name : name.slice(separator + 2);
    // SSIS looks an unqualified name up in User first, then System.
    for (const ns of namespace === undefined ? ['User', 'System'] : [namespace]) {
      const variable = this.findVariable(ns, local, node.path);
      if (variable) return this.variableValue(variable, evaluating);
      if (ns.toLowerCase() === 'system') {
        const value = this.#systemValue(local, node);
        if (value) return value;
      }
    }
    return undefined;
  }

  /** The variable `namespace::name` as seen from `path` (innermost declaration wins). */
  findVariable(namespace: string, name: string, path = 'Package'): Variable | undefined {
    for (let n = this.node(path); n; n = n.parent) {
      const found = n.variables.find(
        (v) => v.name === name && v.namespace.toLowerCase() === namespace.toLowerCase(),
      );
      if (found) return found;
    }
    return undefined;
  }

  /**
   * A variable's current value: for an expression variable (EvaluateAsExpression), its
   * expression evaluated now. When that fails (say a `$Project::` parameter is missing), the
   * value saved in the package is used and a warning is recorded once.
   */
  variableValue(variable: Variable, evaluating = new Set<Variable>()): SsisValue {
    if (!variable.evaluateAsExpression || variable.valueSource === 'override' ||
      evaluating.has(variable)) {
      return variable.value;
    }
    const node = this.node(variable.containerPath) ?? this.#nodes.get('package')!;
    try {
      evaluating.add(variable);
      return evaluateExpression(variable.expression, this.#scope(node, evaluating));
    } catch (error) {
      if (!this.#reportedVariables.has(variable)) {
        this.#reportedVariables.add(variable);
        this.problems.push({
          severity: 'warning',
          code: 'expression-error',
          where: variable.qualifiedName,
          message: `The expression of ${variable.qualifiedName} cannot be evaluated ` +
            `(${(error as Error).message}); its saved value is used.`,
          fix: `Give its value with --set ${variable.qualifiedName}=VALUE, or supply what the ` +
            'expression needs.',
        });
      }
      return variable.value;
    } finally {
      evaluating.delete(variable);
    }
  }

  #systemValue(name: string, node: ContainerNode): SsisValue | undefined {
    return this.#systemOverrides.get(name.toLowerCase()) ?? this.#computedSystemValue(name, node);
  }

  #computedSystemValue(name: string, node: ContainerNode): SsisValue | undefined {
    let source = node;
    for (let n: ContainerNode | undefined = node; n; n = n.parent) {
      if (n.kind === 'event-handler') {
        source = n.parent ?? node;
        break;
      }
    }
    const d = this.definition;
    return systemVariable(name, {
      env: this.environment,
      packageName: d.name,
      packageId: d.id,
      versionMajor: d.versionMajor,
      versionMinor: d.versionMinor,
      versionBuild: d.versionBuild,
      versionGuid: d.versionGuid,
      versionComments: d.versionComments,
      creatorName: d.creatorName,
      creatorComputerName: d.creatorComputerName,
      creationDate: parseSsisDate(d.creationDate),
      taskName: node.name,
      taskId: node.id,
      sourceName: source.name,
      sourceId: source.id,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Settings: configurations and command-line overrides
  // -------------------------------------------------------------------------------------------

  /**
   * Sets `System::name` for every expression (`--set System::ErrorDescription=...`), typed
   * as SSIS types it (`ErrorCode` an integer, `StartTime` a date).
   *
   * @throws ConfigurationError for a name SSIS does not have or a value of the wrong type.
   */
  setSystemVariable(name: string, value: string): void {
    const base = systemVariable(name, this.#dummySystemContext());
    if (!base) {
      throw new ConfigurationError(`System::${name}`, 'is not an SSIS System variable.',
        'Use a name such as System::ErrorDescription, System::MachineName or ' +
        'System::PackageName.');
    }
    this.#systemOverrides.set(name.toLowerCase(),
      valueFromText(value, dataTypeOf(base), `System::${name}`));
  }

  #dummySystemContext(): SystemContext {
    return {
      env: this.environment, packageName: '', packageId: '', versionMajor: 0, versionMinor: 0,
      versionBuild: 0, versionGuid: '', versionComments: '', creatorName: '',
      creatorComputerName: '', creationDate: undefined, taskName: '', taskId: '',
      sourceName: '', sourceId: '',
    };
  }

  /** Replaces a connection manager's connection string, over expressions too. */
  overrideConnection(connection: PackageConnection, connectionString: string): void {
    this.#connectionOverrides.set(connection, connectionString);
  }

  connectionOverride(connection: PackageConnection): string | undefined {
    return this.#connectionOverrides.get(connection);
  }

  /** A property value set on the executable at `path` by a configuration or `--set`. */
  propertySetting(path: string, property: string): PropertySetting | undefined {
    return this.#propertySettings.get(path.toLowerCase())?.get(property.toLowerCase());
  }

  /**
   * Applies a value to an SSIS property path, as package configurations and dtexec's /Set
   * write them:
   * - `\Package.Variables[User::X].Properties[Value]` (any container path before `.Variables`);
   * - `\Package.Connections[Name].Properties[ConnectionString]` (or `Description`, or an SMTP
   *   key such as `SmtpServer`, `EnableSsl`);
   * - `\Package\Container\Task.Properties[ToLine]` (any executable property).
   *
   * @returns undefined when applied, else why not (an unknown target).
   * @throws ConfigurationError when the value does not fit a variable's type.
   */
  applyPropertyPath(path: string, value: string, source: ValueSource): string | undefined {
    const match = /^\\?(.*)\.Properties\[([^\]]+)\]$/i.exec(path.trim());
    if (!match) return `"${path}" is not a property path (ending in .Properties[Name]).`;
    const target = match[1]!;
    const property = match[2]!;
    const variableMatch = /^(.*)\.Variables\[([^\]]+)\]$/i.exec(target);
    if (variableMatch) {
      const [containerPath, qualified] = [variableMatch[1]!, variableMatch[2]!];
      const [ns, name] = qualified.includes('::') ? qualified.split('::', 2) : ['User', qualified];
      const container = this.node(containerPath);
      const variable = container?.variables.find(
        (v) => v.name === name && v.namespace.toLowerCase() === ns!.toLowerCase(),
      );
      if (!variable) return `there is no variable ${qualified} on ${containerPath}.`;
      if (property.toLowerCase() !== 'value') return `only a variable's Value can be set.`;
      variable.setText(value, source);
      return undefined;
    }
    const connectionMatch = /^Package\.Connections\[(.+)\]$/i.exec(target);
    if (connectionMatch) {
      const connection = this.connections.get(connectionMatch[1]!);
      if (!connection) return `there is no connection manager ${connectionMatch[1]}.`;
      const key = property.toLowerCase();
      if (key === 'connectionstring') {
        connection.connectionString = value;
        connection.connectionStringSource = source;
      } else if (key === 'description') connection.description = value;
      else if (key === 'name') connection.name = value;
      else if (connection.isSmtp) {
        connection.connectionString = setConnectionStringKey(
          connection.connectionString, property, value);
        connection.connectionStringSource = source;
      } else return `property ${property} of ${connection.name} is not used by smtpcm.`;
      return undefined;
    }
    if (!this.node(target)) return `there is no executable ${target} in the package.`;
    const key = target.toLowerCase();
    if (!this.#propertySettings.has(key)) this.#propertySettings.set(key, new Map());
    this.#propertySettings.get(key)!.set(property.toLowerCase(), { value, source });
    return undefined;
  }
}

/**
 * Sets one key of a connection string, keeping the other pairs as written: what SSIS does
 * when a property expression or configuration sets `SmtpServer`, `EnableSsl`,
 * `UseWindowsAuthentication` or `Timeout` on an SMTP connection manager.
 */
export function setConnectionStringKey(text: string, key: string, value: string): string {
  const trimmed = text.trim();
  // A bare host (`smtphost`) is the SmtpServer.
  const pairs = trimmed !== '' && !trimmed.includes('=')
    ? [{ key: 'SmtpServer', value: trimmed.replace(/;+$/, '') }]
    : splitConnectionString(text).map((p) => ({ key: p.key, value: p.value ?? '' }));
  const existing = pairs.find((p) => p.key.toLowerCase() === key.toLowerCase());
  if (existing) existing.value = value;
  else pairs.push({ key, value });
  return pairs.map((p) => formatPair(p.key, p.value)).join('');
}

/** True when `error` is an expression the evaluator rejected (vs. a bug of ours). */
export function isExpressionError(error: unknown): error is ExpressionError {
  return error instanceof ExpressionError;
}

/** A fresh GUID in SSIS's form, for System::ExecutionInstanceGUID. */
export function newExecutionGuid(): string {
  return `{${randomUUID().toUpperCase()}}`;
}

