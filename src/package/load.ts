/**
 * `loadPackage`: a .dtsx file plus its project folder (.conmgr files, Project.params), its
 * package configurations (.dtsConfig files, environment variables) and the caller's
 * overrides, turned into a `Package` ready to inspect or run.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { cutReason, keyForMessage } from '../connection/connection-string.js';
import { ConfigurationError } from '../errors.js';
import type { ConfigurationDefinition } from '../dtsx/model.js';
import { readPackageFile } from '../dtsx/package-reader.js';
import { readDtsConfigXml, readProjectFolder, readText } from '../dtsx/project-reader.js';
import { PackageConnection } from './connections.js';
import { newExecutionGuid, Package } from './package.js';
import type { PackageProblem } from './problems.js';
import { Parameter, defaultEnvironment, type RunEnvironment } from './variables.js';

/** Values given on the command line; each pair is `[name, value]`. */
export interface PackageOverrides {
  /**
   * `--set`: `User::X`, `X` (User, then System), `System::ErrorDescription`, or an SSIS
   * property path (`\Package\Task.Properties[ToLine]`).
   */
  set?: Array<[string, string]>;
  /** `--param`: `$Project::X`, `$Package::X`, or `X` (package first, then project). */
  params?: Array<[string, string]>;
  /**
   * `--connection`: a connection manager's name or DTSID, and the connection string to use
   * instead of the package's (for FILE connections, the path). A DTSID that tasks reference
   * but no connection manager defines adds an SMTP connection manager with that id.
   */
  connections?: Array<[string, string]>;
}

export interface LoadPackageOptions {
  /** The SSIS project folder (.conmgr, Project.params, .dtsConfig); default the package's. */
  projectDir?: string;
  overrides?: PackageOverrides;
  /** More .dtsConfig files to apply after the package's own configurations (dtexec /ConfigFile). */
  configFiles?: string[];
  /** Fixes what System variables report (machine, user, start time) for repeatable output. */
  environment?: Partial<RunEnvironment>;
}

/** What happened to one package configuration. */
export interface ConfigurationOutcome {
  name: string;
  typeName: string;
  /** `applied`; `missing` (its file or variable is absent); `unsupported` (SQL Server...). */
  status: 'applied' | 'missing' | 'unsupported';
  /** The .dtsConfig file used, when one was. */
  file?: string;
  /** How many values it set. */
  settings: number;
}

export interface LoadedPackage {
  package: Package;
  file: string;
  projectDir: string;
  configurations: ConfigurationOutcome[];
  /** The package's problems (`package.problems`) as of loading. */
  problems: PackageProblem[];
}

/** An assignment of the right kind for each option, as the `run` help shows them. */
const ASSIGNMENT_EXAMPLES: Record<string, string> = {
  '--set': 'User::X=hello',
  '--param': '$Project::X=hello',
  '--connection': '"SMTP Connection Manager=SmtpServer=smtp.example.com;"',
};

/** Splits `NAME=VALUE` at the first `=`; throws ConfigurationError naming the option. */
export function parseAssignment(text: string, option: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    const example = ASSIGNMENT_EXAMPLES[option];
    // `prj_Password:s3cret` has no '=': shown only up to the secret's name.
    const shown = keyForMessage(text);
    throw new ConfigurationError(option, `"${shown.text}"${cutReason(shown)} is not NAME=VALUE.`,
      `Write ${option} NAME=VALUE${example ? `, e.g. ${option} ${example}` : ''}.`);
  }
  return [text.slice(0, eq).trim(), text.slice(eq + 1)];
}

/**
 * Loads a package with its project folder, configurations and overrides.
 *
 * Problems of the package itself (a missing configuration file, a SQL Server configuration)
 * are collected in `problems`, not thrown. Throws ConfigurationError for an unreadable
 * package and for an override that names nothing in the package (a typo must not be ignored).
 */
export async function loadPackage(
  path: string,
  options: LoadPackageOptions = {},
): Promise<LoadedPackage> {
  const file = resolve(path);
  const projectDir = resolve(options.projectDir ?? dirname(file));
  const definition = await readPackageFile(file);
  const now = options.environment?.startTime ?? new Date();
  const environment: RunEnvironment = {
    ...defaultEnvironment(now, newExecutionGuid()),
    ...options.environment,
  };
  const pkg = new Package(definition, environment);

  const project = await readProjectFolder(projectDir);
  for (const error of project.errors) {
    pkg.problems.push({ severity: 'warning', code: 'unreadable-file', where: error.file,
      message: `Cannot read ${error.file}: ${error.message}`, fix: 'Fix or remove the file.' });
  }
  for (const parameter of project.parameters) pkg.parameters.add(new Parameter(parameter));
  for (const cm of project.connectionManagers) {
    if (pkg.connections.get(cm.id) || pkg.connections.get(cm.name)) continue;
    pkg.connections.insert(PackageConnection.fromDefinition(cm, 'project'));
  }

  const configurations: ConfigurationOutcome[] = [];
  for (const configuration of definition.configurations) {
    configurations.push(await applyConfiguration(pkg, configuration, projectDir));
  }
  for (const extra of options.configFiles ?? []) {
    const settings = await applyConfigFile(pkg, resolve(extra), extra);
    configurations.push({ name: basename(extra), typeName: 'XML configuration file',
      status: 'applied', file: resolve(extra), settings });
  }
  applyOverrides(pkg, options.overrides ?? {});
  return { package: pkg, file, projectDir, configurations, problems: pkg.problems };
}

/** The last part of a Windows or POSIX path. */
function windowsBasename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

async function applyConfigFile(pkg: Package, file: string, name: string): Promise<number> {
  const entries = readDtsConfigXml(await readText(file), file);
  let settings = 0;
  for (const entry of entries) {
    const why = pkg.applyPropertyPath(entry.path, entry.value, 'configuration');
    if (why === undefined) settings++;
    else {
      pkg.problems.push({ severity: 'warning', code: 'configuration-not-applied', where: name,
        message: `Configuration ${entry.path} in ${file} was not applied: ${why}`,
        fix: 'Correct the path in the .dtsConfig file.' });
    }
  }
  return settings;
}

/** The override that replaces what a configuration would have set. */
function replacementFor(pkg: Package, configuration: ConfigurationDefinition): string {
  const variable = /Variables\[([^\]]+)\]/i.exec(configuration.configurationVariable);
  if (variable) return `--set ${variable[1]}=VALUE`;
  const connection = /Connections\[([^\]]+)\]/i.exec(configuration.configurationVariable);
  if (connection) return `--connection "${connection[1]}=..."`;
  // A SQL Server configuration's filter often names what it configures.
  const filter = /"([^"]*)";\s*$/.exec(configuration.configurationString)?.[1] ?? '';
  const named = pkg.connections.get(filter) ?? pkg.connections.get(configuration.name);
  if (named) return `--connection "${named.name}=..."`;
  return '--set NAME=VALUE or --connection NAME=STRING for each value it holds';
}

async function applyConfiguration(
  pkg: Package,
  configuration: ConfigurationDefinition,
  projectDir: string,
): Promise<ConfigurationOutcome> {
  const outcome = (status: ConfigurationOutcome['status'], settings = 0, file?: string) => ({
    name: configuration.name, typeName: configuration.typeName, status, settings,
    ...(file ? { file } : {}),
  });
  const where = `configuration "${configuration.name}"`;
  const type = configuration.type;
  if (type === 1 || type === 5) {
    const written = type === 1 ? configuration.configurationString
      : process.env[configuration.configurationString] ?? '';
    const candidates = [written, join(projectDir, windowsBasename(written))]
      .filter((c) => c !== '');
    const found = candidates.find((c) => existsSync(c));
    if (!found) {
      pkg.problems.push({ severity: 'warning', code: 'configuration-file-missing', where,
        message: `The XML configuration file ${written || `named by environment variable ` +
          configuration.configurationString} is not there; the package's own values are used.`,
        fix: `Copy ${windowsBasename(written) || 'the .dtsConfig file'} into ${projectDir}, ` +
          `or give its values with --set and --connection.` });
      return outcome('missing');
    }
    return outcome('applied', await applyConfigFile(pkg, found, where), found);
  }
  if (type === 2) {
    const value = process.env[configuration.configurationString];
    if (value === undefined) {
      pkg.problems.push({ severity: 'warning', code: 'configuration-not-applied', where,
        message: `Environment variable ${configuration.configurationString} is not set; ` +
          `${configuration.configurationVariable} keeps the package's value.`,
        fix: `Set ${configuration.configurationString}, or use ${replacementFor(pkg,
          configuration)}.` });
      return outcome('missing');
    }
    const why = pkg.applyPropertyPath(configuration.configurationVariable, value, 'configuration');
    if (why !== undefined) {
      pkg.problems.push({ severity: 'warning', code: 'configuration-not-applied', where,
        message: `Not applied: ${why}`, fix: 'Correct the configuration in the package.' });
      return outcome('missing');
    }
    return outcome('applied', 1);
  }
  pkg.problems.push({ severity: 'warning', code: 'configuration-not-applied', where,
    message: `${configuration.typeName} configuration "${configuration.name}" ` +
      `(${configuration.configurationString || configuration.configurationVariable}) cannot be ` +
      'applied outside SSIS; the values saved in the package are used.',
    fix: `Use ${replacementFor(pkg, configuration)}.` });
  return outcome('unsupported');
}

function applyOverrides(pkg: Package, overrides: PackageOverrides): void {
  for (const [name, value] of overrides.params ?? []) {
    const parameter = pkg.parameters.get(name);
    if (!parameter) {
      const known = [...pkg.parameters].map((p) => p.qualifiedName).join(', ') || 'none';
      throw new ConfigurationError(`--param ${name}`, 'names no parameter of the package or ' +
        'project.', `The parameters are: ${known}.`);
    }
    parameter.setText(value, 'override');
  }
  for (const [name, value] of overrides.set ?? []) applySet(pkg, name, value);
  for (const [name, value] of overrides.connections ?? []) {
    let connection = pkg.connections.get(name);
    if (!connection && /^\{?[0-9a-f-]{36}\}?$/i.test(name)) {
      // A dangling reference: supply the missing connection manager under that DTSID.
      const id = name.startsWith('{') ? name : `{${name}}`;
      connection = new PackageConnection({ creationName: 'SMTP', name: id, id, origin: 'added' });
      pkg.connections.insert(connection);
    }
    if (!connection) {
      const known = [...pkg.connections].map((c) => c.name).join(', ') || 'none';
      throw new ConfigurationError(`--connection ${name}`, 'names no connection manager.',
        `The connection managers are: ${known}.`);
    }
    pkg.overrideConnection(connection, value);
  }
}

function applySet(pkg: Package, name: string, value: string): void {
  if (name.startsWith('\\') || /\.Properties\[[^\]]+\]$/i.test(name)) {
    const why = pkg.applyPropertyPath(name, value, 'override');
    if (why !== undefined) {
      throw new ConfigurationError(`--set ${name}`, `cannot be applied: ${why}`,
        'Write a path such as \\Package.Variables[User::X].Properties[Value].');
    }
    return;
  }
  const [namespace, local] = name.includes('::') ? name.split('::', 2) as [string, string]
    : [undefined, name];
  if (namespace?.toLowerCase() === 'system') {
    pkg.setSystemVariable(local, value);
    return;
  }
  const matches = pkg.allVariables().filter((v) => v.name === local &&
    (namespace === undefined || v.namespace.toLowerCase() === namespace.toLowerCase()));
  if (matches.length === 0) {
    if (namespace === undefined) {
      pkg.setSystemVariable(local, value);
      return;
    }
    throw new ConfigurationError(`--set ${name}`, 'names no variable of the package.',
      'List the variables with smtpcm inspect --json, or use a property path.');
  }
  for (const variable of matches) variable.setText(value, 'override');
}
