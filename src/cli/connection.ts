/**
 * `--connection <string|name>`: a value containing `=` is a connection string; anything else
 * names a connection in the project file (`smtpcm.json`, or `$SMTPCM_PROJECT`).
 */
import { SmtpConnectionManager } from '../connection/connection-manager.js';
import { findConnection, loadProjectFile } from '../connection/project-file.js';
import type { Logger, TranscriptLogger } from '../log.js';
import { recordTranscript } from './output.js';

/** The help text of every `--connection` option. */
export const CONNECTION_HELP = 'a connection string (has "=") or a name in smtpcm.json';

export interface OpenConnectionOptions {
  logger?: Logger;
  transcript?: TranscriptLogger;
}

/** True when the `--connection` value is a connection string rather than a name. */
export function isConnectionString(value: string): boolean {
  return value.includes('=');
}

/**
 * The connection manager the value designates; the caller closes it. Throws
 * ConfigurationError for a bad connection string, a bad project file or an unknown name.
 * The project file is read only for a name. Unless `options.transcript` is given, the masked
 * transcript is recorded for error reports (`recordTranscript`).
 */
export async function openConnection(
  value: string,
  options: OpenConnectionOptions = {},
): Promise<SmtpConnectionManager> {
  const recorded = { transcript: recordTranscript, ...options };
  if (isConnectionString(value)) {
    return new SmtpConnectionManager({
      name: 'command line',
      connectionString: value,
      ...recorded,
    });
  }
  return findConnection(await loadProjectFile(), value, recorded);
}
