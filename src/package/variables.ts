/**
 * Variables and parameters of a loaded package, and the System variables SSIS provides.
 */
import { hostname, userInfo } from 'node:os';
import type { DataTypeName, ParameterDefinition, VariableDefinition } from '../dtsx/model.js';
import type { SsisValue } from './expressions/index.js';
import type { ValueSource } from './problems.js';
import { valueFromText } from './values.js';

/** A variable of a container (`User::X`, or a System variable a handler declares). */
export class Variable {
  readonly namespace: string;
  readonly name: string;
  readonly id: string;
  readonly dataType: DataTypeName;
  readonly expression: string;
  readonly evaluateAsExpression: boolean;
  readonly readOnly: boolean;
  /** The path of the container that declares it (`Package`, `Package\Sequence`). */
  readonly containerPath: string;
  /** The stored value; for an expression variable, its value when the package was saved. */
  value: SsisValue;
  valueSource: ValueSource;

  constructor(definition: VariableDefinition, containerPath: string) {
    this.namespace = definition.namespace;
    this.name = definition.name;
    this.id = definition.id;
    this.dataType = definition.dataType;
    this.expression = definition.expression;
    this.evaluateAsExpression = definition.evaluateAsExpression && definition.expression !== '';
    this.readOnly = definition.readOnly;
    this.containerPath = containerPath;
    this.value = safeValue(definition.value, definition.dataType);
    this.valueSource = 'literal';
  }

  get qualifiedName(): string {
    return `${this.namespace}::${this.name}`;
  }

  /** Sets the value from text, typed as the variable; throws ConfigurationError if it fits not. */
  setText(text: string, source: ValueSource): void {
    this.value = valueFromText(text, this.dataType, this.qualifiedName);
    this.valueSource = source;
  }
}

/** A project (`$Project::X`) or package (`$Package::X`) parameter. */
export class Parameter {
  readonly scope: 'Project' | 'Package';
  readonly name: string;
  readonly dataType: DataTypeName;
  /** Sensitive parameters are never shown; `inspect` prints `********`. */
  readonly sensitive: boolean;
  value: SsisValue;
  valueSource: ValueSource;

  constructor(definition: ParameterDefinition) {
    this.scope = definition.scope;
    this.name = definition.name;
    this.dataType = definition.dataType;
    this.sensitive = definition.sensitive;
    this.value = safeValue(definition.value, definition.dataType);
    this.valueSource = 'literal';
  }

  get qualifiedName(): string {
    return `$${this.scope}::${this.name}`;
  }

  setText(text: string, source: ValueSource): void {
    this.value = valueFromText(text, this.dataType, this.qualifiedName);
    this.valueSource = source;
  }
}

/** The parameters of a package and its project, looked up as `@[$Project::X]` writes them. */
export class Parameters implements Iterable<Parameter> {
  readonly #items: Parameter[] = [];

  add(parameter: Parameter): void {
    this.#items.push(parameter);
  }

  /**
   * `$Project::X`, `$Package::X`, or a bare `X` (the package's parameter first, then the
   * project's, as the SSIS designer resolves names in its parameter list).
   */
  get(name: string): Parameter | undefined {
    const match = /^\$(Project|Package)::(.+)$/i.exec(name.trim());
    if (match) {
      const scope = match[1]!.toLowerCase() === 'project' ? 'Project' : 'Package';
      return this.#items.find((p) => p.scope === scope && p.name === match[2]);
    }
    return (
      this.#items.find((p) => p.scope === 'Package' && p.name === name) ??
      this.#items.find((p) => p.scope === 'Project' && p.name === name)
    );
  }

  [Symbol.iterator](): Iterator<Parameter> {
    return this.#items[Symbol.iterator]();
  }
}

function safeValue(text: string, type: DataTypeName): SsisValue {
  try {
    return valueFromText(text, type, 'value');
  } catch {
    // A stored value SSIS wrote in a form we do not read (a localized date): keep the text.
    return { type: 'DT_WSTR', value: text };
  }
}

/** What the System variables report about the machine and the run. */
export interface RunEnvironment {
  machineName: string;
  userName: string;
  startTime: Date;
  executionInstanceGuid: string;
}

export function defaultEnvironment(now: Date, executionInstanceGuid: string): RunEnvironment {
  let userName = 'unknown';
  try {
    userName = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep "unknown".
  }
  return { machineName: hostname(), userName, startTime: now, executionInstanceGuid };
}

/** What a System variable depends on beyond the package: the container asking. */
export interface SystemContext {
  env: RunEnvironment;
  packageName: string;
  packageId: string;
  versionMajor: number;
  versionMinor: number;
  versionBuild: number;
  versionGuid: string;
  versionComments: string;
  creatorName: string;
  creatorComputerName: string;
  creationDate: Date | undefined;
  /** The task or container whose expression is evaluated. */
  taskName: string;
  taskId: string;
  /** In an event handler: the executable that raised the event; else the task itself. */
  sourceName: string;
  sourceId: string;
}

/**
 * The value of `System::name`, or undefined for a name SSIS does not have. `ErrorCode` and
 * `ErrorDescription` are 0 and empty: no task has failed (set them with `--set`).
 */
export function systemVariable(name: string, context: SystemContext): SsisValue | undefined {
  const text = (value: string): SsisValue => ({ type: 'DT_WSTR', value });
  const int = (value: number): SsisValue => ({ type: 'DT_I4', value });
  switch (name.toLowerCase()) {
    case 'packagename': return text(context.packageName);
    case 'packageid': return text(context.packageId);
    case 'machinename': return text(context.env.machineName);
    case 'username': return text(context.env.userName);
    case 'starttime':
    case 'containerstarttime': return { type: 'DT_DATE', value: context.env.startTime };
    case 'executioninstanceguid': return text(context.env.executionInstanceGuid);
    case 'versionmajor': return int(context.versionMajor);
    case 'versionminor': return int(context.versionMinor);
    case 'versionbuild': return int(context.versionBuild);
    case 'versionguid': return text(context.versionGuid);
    case 'versioncomments': return text(context.versionComments);
    case 'creatorname': return text(context.creatorName);
    case 'creatorcomputername': return text(context.creatorComputerName);
    case 'creationdate':
      return { type: 'DT_DATE', value: context.creationDate ?? null };
    case 'taskname': return text(context.taskName);
    case 'taskid': return text(context.taskId);
    case 'sourcename': return text(context.sourceName);
    case 'sourceid': return text(context.sourceId);
    case 'sourcedescription': return text('');
    case 'errorcode': return int(0);
    case 'errordescription': return text('');
    case 'localeid': return int(1033);
    case 'servername': return text(context.env.machineName);
    case 'serverexecutionid': return { type: 'DT_I8', value: 0n };
    case 'cancelevent': return int(0);
    case 'interactivemode':
    case 'offlinemode': return { type: 'DT_BOOL', value: false };
    case 'propagate': return { type: 'DT_BOOL', value: true };
    case 'tasktransactionoption': return int(1);
    default: return undefined;
  }
}
