/**
 * What the readers take out of SSIS files: plain data, as written, nothing evaluated.
 *
 * Every value is the literal, design-time one; expressions are kept as text for the package
 * model (`src/package/`) to evaluate. Paths follow SSIS's own `refId` convention
 * (`Package\Sequence\Task`, `Package.EventHandlers[OnError]\Task`) in every format, so a task
 * is named the same way whether it came from a 2005 or a 2019 package.
 */
import type { SsisType } from '../package/expressions/types.js';

/**
 * The data types a variable or parameter can hold: the expression language's, less those only
 * a cast produces (DT_STR, DT_NUMERIC, DT_DBDATE, DT_DBTIMESTAMP), plus DT_OBJECT, an Object
 * variable (a .NET object, a recordset) that no expression can use.
 */
export type DataTypeName =
  | Exclude<SsisType, 'DT_STR' | 'DT_NUMERIC' | 'DT_DBDATE' | 'DT_DBTIMESTAMP'>
  | 'DT_OBJECT';

export interface PropertyExpressionDefinition {
  /** The property it sets (`ToLine`, `ConnectionString`, `Disable`, ...). */
  property: string;
  expression: string;
}

export interface ConnectionManagerDefinition {
  name: string;
  /** The DTSID GUID with braces, as written. */
  id: string;
  description: string;
  /** `SMTP`, `FILE`, `FLATFILE`, `OLEDB`, ... ; only exactly `SMTP` is Microsoft's SMTP type. */
  creationName: string;
  /** The literal connection string (for FILE and FLATFILE, the path), when one is written. */
  connectionString: string | undefined;
  propertyExpressions: PropertyExpressionDefinition[];
  /** The file it came from: the package, or a project's .conmgr. */
  file: string;
}

export interface VariableDefinition {
  namespace: string;
  name: string;
  id: string;
  dataType: DataTypeName;
  /** The stored value as text (booleans as written: `-1`, `0`, `True`, `False`). */
  value: string;
  expression: string;
  evaluateAsExpression: boolean;
  readOnly: boolean;
}

export interface ParameterDefinition {
  scope: 'Project' | 'Package';
  name: string;
  id: string;
  dataType: DataTypeName;
  value: string;
  sensitive: boolean;
  required: boolean;
}

/** A package configuration (`DTS:Configuration`). */
export interface ConfigurationDefinition {
  name: string;
  id: string;
  /** DTSConfigurationType: 0 parent variable (the default when absent), 1 XML file, ... */
  type: number;
  typeName: string;
  /** The file path, variable name, registry key or SQL Server connection/table/filter. */
  configurationString: string;
  /** The property path a single-value configuration sets. */
  configurationVariable: string;
}

export type PrecedenceValue = 'Success' | 'Failure' | 'Completion';

export interface PrecedenceConstraintDefinition {
  name: string;
  from: string;
  to: string;
  value: PrecedenceValue;
  /** 1 expression, 2 constraint, 3 expression and constraint, 4 expression or constraint. */
  evalOp: number;
  expression: string;
}

/** The properties of a Send Mail task as written in `SendMailTask:SendMailTaskData`. */
export interface SendMailDefinition {
  /** The connection manager's DTSID or name (`SMTPServer`). */
  smtpServer: string;
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  /** As written: `DirectInput`, `FileConnection`, `Variable`, or a number; '' when absent. */
  messageSourceType: string;
  messageSource: string;
  /** As written: `High`, `Normal`, `Low`, or a number; '' when absent. */
  priority: string;
  /** `|`-separated paths, from the attribute or the `SendMailTask:Attachments` children. */
  fileAttachments: string;
}

export type ExecutableKind =
  | 'package'
  | 'sequence'
  | 'for-loop'
  | 'foreach-loop'
  | 'send-mail'
  | 'task';

export interface ContainerDefinition {
  path: string;
  variables: VariableDefinition[];
  executables: ExecutableDefinition[];
  precedenceConstraints: PrecedenceConstraintDefinition[];
}

export interface EventHandlerDefinition extends ContainerDefinition {
  eventName: string;
  id: string;
}

export interface ExecutableDefinition extends ContainerDefinition {
  kind: ExecutableKind;
  name: string;
  id: string;
  description: string;
  /** The `ExecutableType` (or `CreationName`) as written. */
  executableType: string;
  disabled: boolean;
  /** `DisableEventHandlers`: this executable's event handlers never run. */
  disableEventHandlers: boolean;
  propertyExpressions: PropertyExpressionDefinition[];
  eventHandlers: EventHandlerDefinition[];
  /** For a Send Mail task: its data, or undefined when the task was never configured. */
  sendMail?: SendMailDefinition | undefined;
}

export interface PackageDefinition extends ExecutableDefinition {
  kind: 'package';
  file: string;
  /** 2 (SSIS 2005), 3 (2008), 6 (2012/2014), 8 (2016+). */
  formatVersion: number;
  creatorName: string;
  creatorComputerName: string;
  creationDate: string;
  versionMajor: number;
  versionMinor: number;
  versionBuild: number;
  versionGuid: string;
  versionComments: string;
  connectionManagers: ConnectionManagerDefinition[];
  parameters: ParameterDefinition[];
  configurations: ConfigurationDefinition[];
}

/** One entry of a .dtsConfig file. */
export interface ConfigurationEntry {
  /** `\Package.Connections[SMTP].Properties[ConnectionString]` and the like. */
  path: string;
  valueType: string;
  value: string;
}
