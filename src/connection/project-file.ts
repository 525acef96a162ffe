/**
 * `smtpcm.json`: named connections for people without SSIS, the CLI's `--connection <name>`.
 *
 * ```json
 * { "connections": { "Relay": { "connectionString": "SmtpServer=relay;EnableSsl=True;",
 *                               "description": "Office relay" } } }
 * ```
 *
 * docs/connection-strings.md documents the format.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { SmtpConnectionManager, type SmtpConnectionManagerInit } from './connection-manager.js';
import { jsonSyntaxError } from './json-syntax.js';

export const DEFAULT_PROJECT_FILE = 'smtpcm.json';
export const PROJECT_FILE_ENV = 'SMTPCM_PROJECT';

export interface ProjectConnection {
  name: string;
  connectionString: string;
  description?: string;
  /** A DTSID-style GUID (`{...}`), when the project gives one. */
  id?: string;
  /**
   * What is wrong with this entry (wrong shape, a connection string that does not parse),
   * naming the file and the entry; `findConnection` throws it when the entry is asked for.
   * Other entries stay usable.
   */
  error?: ConfigurationError;
}

export interface ProjectFile {
  /** The absolute path read, or undefined when no project file exists (default location). */
  path: string | undefined;
  /** By name, in file order. */
  connections: Map<string, ProjectConnection>;
}

function fileError(path: string, problem: string, fix: string): ConfigurationError {
  return new ConfigurationError(path, problem, fix);
}

/**
 * Reads a project file: `path`, else `$SMTPCM_PROJECT`, else `./smtpcm.json`. A missing file at
 * the default location gives an empty project; a missing file that was named (argument or
 * variable) is an error. Each entry is checked on its own: a bad entry (wrong shape, a connection
 * string that does not parse) is kept with its `error`, and fails only when it is asked for.
 *
 * Throws `ConfigurationError` naming the file when the file as a whole is unusable (unreadable,
 * not JSON, no "connections" object).
 */
export async function loadProjectFile(path?: string): Promise<ProjectFile> {
  const named = path ?? (process.env[PROJECT_FILE_ENV] || undefined);
  const absolute = resolve(named ?? DEFAULT_PROJECT_FILE);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && named === undefined) {
      return { path: undefined, connections: new Map() };
    }
    throw fileError(absolute, `cannot be read (${code ?? 'error'}).`,
      named === path ? 'Check the path given.' : `Check ${PROJECT_FILE_ENV}.`);
  }
  let data: unknown;
  const json = text.replace(/^\uFEFF/, '');
  try {
    data = JSON.parse(json);
  } catch {
    // Only where: JSON.parse's message quotes the text there, and the file may hold a password.
    const at = jsonSyntaxError(json);
    throw fileError(absolute, `is not valid JSON${at ? ` (line ${at.line}, column ${at.column})`
      : ''}.`, 'Fix the JSON; the format is ' +
      '{ "connections": { "<name>": { "connectionString": "..." } } }.');
  }
  return parseProject(absolute, data);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a parsed project file. Throws `ConfigurationError` naming the file when it has no
 * "connections" object; a bad entry does not throw, it is kept with `error` set.
 */
export function parseProject(path: string, data: unknown): ProjectFile {
  const shape = 'The format is { "connections": { "<name>": { "connectionString": "...", ' +
    '"description": "..." } } }.';
  if (!isRecord(data) || !isRecord(data.connections)) {
    throw fileError(path, 'has no "connections" object.', shape);
  }
  const connections = new Map<string, ProjectConnection>();
  for (const [name, entry] of Object.entries(data.connections)) {
    connections.set(name, parseEntry(path, name, entry, shape));
  }
  return { path, connections };
}

/** One entry, with `error` set when it is unusable; never throws for the entry's content. */
function parseEntry(path: string, name: string, entry: unknown,
  shape: string): ProjectConnection {
  if (!isRecord(entry) || typeof entry.connectionString !== 'string') {
    return { name, connectionString: '',
      error: fileError(path, `connection "${name}" has no "connectionString" string.`, shape) };
  }
  const connection: ProjectConnection = {
    name,
    connectionString: entry.connectionString,
    ...(typeof entry.description === 'string' ? { description: entry.description } : {}),
    ...(typeof entry.id === 'string' ? { id: entry.id } : {}),
  };
  for (const field of ['description', 'id'] as const) {
    if (entry[field] !== undefined && typeof entry[field] !== 'string') {
      return { ...connection,
        error: fileError(path, `connection "${name}": "${field}" is not a string.`, shape) };
    }
  }
  try {
    // Parsed here so that a bad string is reported with its connection's name and file.
    new SmtpConnectionManager({ name, connectionString: entry.connectionString });
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return { ...connection, error: fileError(path, `connection "${name}": ${error.message}`,
      'Fix the connection string (docs/connection-strings.md lists every key).') };
  }
  return connection;
}

/**
 * What the CLI's `--connection <value>` names: a value containing `=` is a connection string;
 * anything else is the name of a connection in the project (exact match first, then
 * case-insensitive, as SSIS compares names).
 *
 * Returns a new manager (the caller closes it). Throws `ConfigurationError` for a bad
 * connection string, a name not in the project (listing the names it has), or an entry of the
 * project that is unusable (its own error, naming the file and the entry).
 */
export function findConnection(
  project: ProjectFile,
  nameOrString: string,
  init: Omit<SmtpConnectionManagerInit, 'connectionString' | 'name' | 'description' | 'id'> = {},
): SmtpConnectionManager {
  if (nameOrString.includes('=')) {
    return new SmtpConnectionManager({
      ...init,
      name: 'command line',
      connectionString: nameOrString,
    });
  }
  const wanted = nameOrString.trim();
  let found = project.connections.get(wanted);
  if (!found) {
    const lower = wanted.toLowerCase();
    found = [...project.connections.values()].find((c) => c.name.toLowerCase() === lower);
  }
  if (!found) {
    const names = [...project.connections.keys()];
    const where = project.path ?? `./${DEFAULT_PROJECT_FILE} (absent)`;
    throw new ConfigurationError('--connection',
      `there is no connection named "${wanted}" in ${where}.`,
      (names.length > 0 ? `The connections are: ${names.join(', ')}. ` : '') +
      `Or give a connection string, e.g. --connection "SmtpServer=${wanted};EnableSsl=True;".`);
  }
  if (found.error) throw found.error;
  return new SmtpConnectionManager({
    ...init,
    name: found.name,
    connectionString: found.connectionString,
    ...(found.description !== undefined ? { description: found.description } : {}),
    ...(found.id !== undefined ? { id: found.id } : {}),
  });
}
