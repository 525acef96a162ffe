/**
 * Reads a .dtsx package into a `PackageDefinition`, for every format SSIS has written:
 * 2 (2005) and 3 (2008), where each property is a `<DTS:Property DTS:Name="X">` child, and
 * 6 to 8 (2012+), where properties are `DTS:X` attributes. Both spellings are accepted
 * everywhere, so a 2012 file with a stray property child reads too.
 *
 * It reads and does not judge: a Send Mail task that names a missing connection manager is
 * read as it is; the package model reports the problem. It throws only for a file that is
 * not XML or not a package.
 */
import { readFile } from 'node:fs/promises';
import { ConfigurationError } from '../errors.js';
import { fromVarEnum } from './data-types.js';
import type {
  ConfigurationDefinition,
  ConnectionManagerDefinition,
  EventHandlerDefinition,
  ExecutableDefinition,
  ExecutableKind,
  PackageDefinition,
  ParameterDefinition,
  PrecedenceConstraintDefinition,
  PrecedenceValue,
  PropertyExpressionDefinition,
  SendMailDefinition,
  VariableDefinition,
} from './model.js';
import {
  attribute,
  childElements,
  decodeXmlBytes,
  DTS_NS,
  firstChild,
  parseXml,
  SEND_MAIL_NS,
  type XmlElement,
} from './xml.js';

/** Reads and parses a .dtsx file. Throws ConfigurationError for unreadable or invalid files. */
export async function readPackageFile(path: string): Promise<PackageDefinition> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ConfigurationError(path, `cannot be read (${(error as Error).message}).`,
      'Check the path and the file permissions.');
  }
  return readPackageXml(decodeXmlBytes(bytes), path);
}

/** Parses the text of a .dtsx file; `file` names it in errors and in the result. */
export function readPackageXml(text: string, file: string): PackageDefinition {
  const root = parseXml(text, file);
  if (root.localName !== 'Executable' || root.namespace.toLowerCase() !== DTS_NS.toLowerCase()) {
    throw new ConfigurationError(file, `is not an SSIS package: its root element is ` +
      `<${root.qualifiedName}>, not <DTS:Executable>.`, 'Give the path of a .dtsx file.');
  }
  const ids = new Map<string, string>();
  const container = readExecutable(root, 'Package', ids, true);
  resolveConstraintEnds(container, ids);
  return {
    ...container,
    kind: 'package',
    file,
    formatVersion: Number(dtsProperty(root, 'PackageFormatVersion') ?? 0),
    creatorName: dtsProperty(root, 'CreatorName') ?? '',
    creatorComputerName: dtsProperty(root, 'CreatorComputerName') ?? '',
    creationDate: dtsProperty(root, 'CreationDate') ?? '',
    versionMajor: Number(dtsProperty(root, 'VersionMajor') ?? 1),
    versionMinor: Number(dtsProperty(root, 'VersionMinor') ?? 0),
    versionBuild: Number(dtsProperty(root, 'VersionBuild') ?? 0),
    versionGuid: dtsProperty(root, 'VersionGUID') ?? '',
    versionComments: dtsProperty(root, 'VersionComments') ?? '',
    connectionManagers: collection(root, 'ConnectionManagers', 'ConnectionManager').map((cm) =>
      readConnectionManager(cm, file),
    ),
    parameters: collection(root, 'PackageParameters', 'PackageParameter').map(readParameter),
    configurations: collection(root, 'Configurations', 'Configuration').map(readConfiguration),
  };
}

/**
 * A DTS property in either spelling: the `DTS:name` attribute (2012+) or the
 * `<DTS:Property DTS:Name="name">` child (2005/2008, and a few in every format).
 */
export function dtsProperty(element: XmlElement, name: string): string | undefined {
  const fromAttribute = attribute(element, DTS_NS, name);
  if (fromAttribute !== undefined) return fromAttribute;
  return childElements(element, DTS_NS, 'Property').find(
    (p) => attribute(p, DTS_NS, 'Name') === name,
  )?.text;
}

/** Children listed under a wrapper (`DTS:Executables/DTS:Executable`) or directly (2005). */
function collection(element: XmlElement, wrapper: string, item: string): XmlElement[] {
  return [
    ...childElements(element, DTS_NS, item),
    ...childElements(element, DTS_NS, wrapper).flatMap((w) => childElements(w, DTS_NS, item)),
  ];
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(true|-1|1)$/i.test(value.trim());
}

/** Reads a `DTS:ConnectionManager` element from a package or a .conmgr file. */
export function readConnectionManager(
  element: XmlElement,
  file: string,
): ConnectionManagerDefinition {
  const objectData = firstChild(element, DTS_NS, 'ObjectData');
  let connectionString: string | undefined;
  if (objectData) {
    const smtp = objectData.children.find((c) => c.localName === 'SmtpConnectionManager');
    const inner = firstChild(objectData, DTS_NS, 'ConnectionManager');
    if (smtp) {
      connectionString = smtp.attributes.find((a) => a.localName === 'ConnectionString')?.value;
    } else if (inner) {
      connectionString = dtsProperty(inner, 'ConnectionString');
    }
  }
  connectionString ??= dtsProperty(element, 'ConnectionString');
  return {
    name: dtsProperty(element, 'ObjectName') ?? '',
    id: dtsProperty(element, 'DTSID') ?? '',
    description: dtsProperty(element, 'Description') ?? '',
    creationName: dtsProperty(element, 'CreationName') ?? '',
    connectionString,
    propertyExpressions: readPropertyExpressions(element),
    file,
  };
}

function readPropertyExpressions(element: XmlElement): PropertyExpressionDefinition[] {
  return childElements(element, DTS_NS, 'PropertyExpression').map((p) => ({
    property: attribute(p, DTS_NS, 'Name') ?? '',
    expression: p.text,
  }));
}

function readVariable(element: XmlElement): VariableDefinition {
  const value = firstChild(element, DTS_NS, 'VariableValue');
  return {
    namespace: dtsProperty(element, 'Namespace') ?? 'User',
    name: dtsProperty(element, 'ObjectName') ?? '',
    id: dtsProperty(element, 'DTSID') ?? '',
    dataType: fromVarEnum(value ? attribute(value, DTS_NS, 'DataType') : undefined),
    value: value?.text ?? '',
    expression: dtsProperty(element, 'Expression') ?? '',
    evaluateAsExpression: isTrue(dtsProperty(element, 'EvaluateAsExpression')),
    readOnly: isTrue(dtsProperty(element, 'ReadOnly')),
  };
}

function readParameter(element: XmlElement): ParameterDefinition {
  return {
    scope: 'Package',
    name: dtsProperty(element, 'ObjectName') ?? '',
    id: dtsProperty(element, 'DTSID') ?? '',
    dataType: fromVarEnum(dtsProperty(element, 'DataType')),
    value: dtsProperty(element, 'ParameterValue') ?? '',
    sensitive: isTrue(dtsProperty(element, 'Sensitive')),
    required: isTrue(dtsProperty(element, 'Required')),
  };
}

const CONFIGURATION_TYPES: Record<number, string> = {
  0: 'Parent package variable',
  1: 'XML configuration file',
  2: 'Environment variable',
  3: 'Registry entry',
  4: 'Parent package variable (indirect)',
  5: 'XML configuration file (indirect, path in an environment variable)',
  6: 'Registry entry (indirect)',
  7: 'SQL Server',
  8: 'INI file',
  9: 'SQL Server (indirect)',
  10: 'INI file (indirect)',
};

function readConfiguration(element: XmlElement): ConfigurationDefinition {
  // DTSConfigurationType: an absent ConfigurationType is 0, a parent package variable.
  const type = Number(dtsProperty(element, 'ConfigurationType') ?? 0);
  return {
    name: dtsProperty(element, 'ObjectName') ?? '',
    id: dtsProperty(element, 'DTSID') ?? '',
    type,
    typeName: CONFIGURATION_TYPES[type] ?? `type ${type}`,
    configurationString: dtsProperty(element, 'ConfigurationString') ?? '',
    configurationVariable: dtsProperty(element, 'ConfigurationVariable') ?? '',
  };
}

const SEND_MAIL_TYPE = /^Microsoft\.(SqlServer\.Dts\.Tasks\.SendMailTask\.)?SendMailTask\b/i;

function kindOf(executableType: string, isRoot: boolean): ExecutableKind {
  if (isRoot) return 'package';
  const type = executableType.trim();
  if (/^STOCK:SEQUENCE$/i.test(type)) return 'sequence';
  if (/^STOCK:FORLOOP$/i.test(type)) return 'for-loop';
  if (/^STOCK:FOREACHLOOP$/i.test(type)) return 'foreach-loop';
  if (SEND_MAIL_TYPE.test(type)) return 'send-mail';
  return 'task';
}

function readExecutable(
  element: XmlElement,
  path: string,
  ids: Map<string, string>,
  isRoot = false,
): ExecutableDefinition {
  const executableType =
    dtsProperty(element, 'ExecutableType') ?? dtsProperty(element, 'CreationName') ?? '';
  const id = dtsProperty(element, 'DTSID') ?? '';
  const refId = attribute(element, DTS_NS, 'refId');
  if (id) ids.set(id.toLowerCase(), path);
  if (refId) ids.set(refId.toLowerCase(), path);
  const kind = kindOf(executableType, isRoot);
  const objectData = firstChild(element, DTS_NS, 'ObjectData');
  const sendMailData = objectData?.children.find(
    (c) => c.localName === 'SendMailTaskData' &&
      c.namespace.toLowerCase() === SEND_MAIL_NS.toLowerCase(),
  );
  const childPath = (name: string): string => `${path}\\${name}`;
  return {
    kind: kind === 'task' && sendMailData ? 'send-mail' : kind,
    name: dtsProperty(element, 'ObjectName') ?? '',
    id,
    description: dtsProperty(element, 'Description') ?? '',
    executableType,
    disabled: isTrue(dtsProperty(element, 'Disabled')),
    disableEventHandlers: isTrue(dtsProperty(element, 'DisableEventHandlers')),
    path,
    propertyExpressions: readPropertyExpressions(element),
    variables: collection(element, 'Variables', 'Variable').map(readVariable),
    executables: collection(element, 'Executables', 'Executable').map((child) =>
      readExecutable(child, childPath(dtsProperty(child, 'ObjectName') ?? ''), ids),
    ),
    precedenceConstraints: collection(element, 'PrecedenceConstraints', 'PrecedenceConstraint')
      .map(readPrecedenceConstraint),
    eventHandlers: collection(element, 'EventHandlers', 'EventHandler').map((handler) =>
      readEventHandler(handler, path, ids),
    ),
    sendMail: sendMailData ? readSendMail(sendMailData) : undefined,
  };
}

function readEventHandler(
  element: XmlElement,
  ownerPath: string,
  ids: Map<string, string>,
): EventHandlerDefinition {
  const eventName = dtsProperty(element, 'EventName') ?? dtsProperty(element, 'CreationName') ?? '';
  const path = `${ownerPath}.EventHandlers[${eventName}]`;
  const id = dtsProperty(element, 'DTSID') ?? '';
  if (id) ids.set(id.toLowerCase(), path);
  return {
    eventName,
    id,
    path,
    variables: collection(element, 'Variables', 'Variable').map(readVariable),
    executables: collection(element, 'Executables', 'Executable').map((child) =>
      readExecutable(child, `${path}\\${dtsProperty(child, 'ObjectName') ?? ''}`, ids),
    ),
    precedenceConstraints: collection(element, 'PrecedenceConstraints', 'PrecedenceConstraint')
      .map(readPrecedenceConstraint),
  };
}

const PRECEDENCE_VALUES: PrecedenceValue[] = ['Success', 'Failure', 'Completion'];

function readPrecedenceConstraint(element: XmlElement): PrecedenceConstraintDefinition {
  let from = dtsProperty(element, 'From') ?? '';
  let to = dtsProperty(element, 'To') ?? '';
  // 2005/2008: <DTS:Executable IDREF="{guid}" DTS:IsFrom="-1"/> children name the ends.
  for (const end of childElements(element, DTS_NS, 'Executable')) {
    const idref = end.attributes.find((a) => a.localName === 'IDREF')?.value ?? '';
    if (isTrue(attribute(end, DTS_NS, 'IsFrom'))) from = idref;
    else to = idref;
  }
  return {
    name: dtsProperty(element, 'ObjectName') ?? '',
    from,
    to,
    value: PRECEDENCE_VALUES[Number(dtsProperty(element, 'Value') ?? 0)] ?? 'Success',
    evalOp: Number(dtsProperty(element, 'EvalOp') ?? 2),
    expression: dtsProperty(element, 'Expression') ?? '',
  };
}

/** Replaces DTSIDs and refIds at the ends of precedence constraints by executable paths. */
function resolveConstraintEnds(
  container: { precedenceConstraints: PrecedenceConstraintDefinition[];
    executables: ExecutableDefinition[]; eventHandlers?: EventHandlerDefinition[] },
  ids: Map<string, string>,
): void {
  for (const constraint of container.precedenceConstraints) {
    constraint.from = ids.get(constraint.from.toLowerCase()) ?? constraint.from;
    constraint.to = ids.get(constraint.to.toLowerCase()) ?? constraint.to;
  }
  for (const child of container.executables) resolveConstraintEnds(child, ids);
  for (const handler of container.eventHandlers ?? []) resolveConstraintEnds(handler, ids);
}

/**
 * Reads `SendMailTask:SendMailTaskData`: each property as an attribute or, as some older
 * files have it, as a child element; attachments as the `FileAttachments` property or as
 * `SendMailTask:Attachments FileName=…` children (joined with `|`, as SSIS shows them).
 */
function readSendMail(element: XmlElement): SendMailDefinition {
  const read = (name: string): string => {
    const fromAttribute = element.attributes.find(
      (a) => a.localName === name && (a.namespace === '' ||
        a.namespace.toLowerCase() === SEND_MAIL_NS.toLowerCase()),
    );
    if (fromAttribute) return fromAttribute.value;
    return element.children.find((c) => c.localName === name)?.text ?? '';
  };
  const attachments = element.children
    .filter((c) => c.localName === 'Attachments')
    .map((c) => c.attributes.find((a) => a.localName === 'FileName')?.value ?? c.text)
    .filter((name) => name !== '');
  const fileAttachments = read('FileAttachments');
  return {
    smtpServer: read('SMTPServer'),
    from: read('From'),
    to: read('To'),
    cc: read('CC'),
    bcc: read('BCC'),
    subject: read('Subject'),
    messageSourceType: read('MessageSourceType'),
    messageSource: read('MessageSource'),
    priority: read('Priority'),
    fileAttachments: [fileAttachments, ...attachments].filter((a) => a !== '').join('|'),
  };
}
