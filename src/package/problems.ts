/**
 * What is wrong with a package, found while loading or resolving it: each problem names
 * where it is, what it is and how to fix it, so `inspect` can list them and `run` can refuse
 * a task before connecting.
 */

/** Where a value came from, as `inspect` shows it. */
export type ValueSource =
  /** Written in the package (or .conmgr) as a plain value. */
  | 'literal'
  /** Computed by a property expression. */
  | 'expression'
  /** A property expression that is exactly one `$Project::` or `$Package::` parameter. */
  | 'parameter'
  /** Set by a package configuration (.dtsConfig, environment variable). */
  | 'configuration'
  /** Set on the command line (`--set`, `--param`, `--connection`). */
  | 'override'
  /** Not written anywhere; SSIS's default applies. */
  | 'default';

export type ProblemCode =
  | 'dangling-connection'
  | 'not-smtp-connection'
  | 'unconfigured-task'
  | 'empty-server'
  | 'invalid-connection-string'
  | 'configuration-not-applied'
  | 'configuration-file-missing'
  | 'expression-error'
  | 'unknown-override'
  | 'hidden-override'
  | 'unreadable-file'
  | 'loop-task';

export interface PackageProblem {
  severity: 'error' | 'warning';
  code: ProblemCode;
  /** The task path, connection manager name or file the problem is about. */
  where: string;
  message: string;
  fix: string;
}
