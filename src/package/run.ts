/**
 * Running a package's Send Mail tasks: the enabled ones of the main control flow in
 * precedence order, or those of the event handlers for one event, or the tasks named; each
 * through its resolved connection manager (or the one given with `--connection`). Other task
 * types are listed as not run: smtpcm runs mail, not SQL or data flows.
 */
import { SmtpConnectionManager } from '../connection/connection-manager.js';
import { ConfigurationError } from '../errors.js';
import { silentLogger, type Logger, type TranscriptLogger } from '../log.js';
import {
  SendMailTask,
  type SendMailConnection,
  type SendMailResult,
} from '../tasks/send-mail-task.js';
import { toPropertyString } from './expressions/index.js';
import type { LoadedPackage } from './load.js';
import { maskConnectionString } from './mask.js';
import type { ContainerNode, Package } from './package.js';
import type { PackageConnection } from './connections.js';
import {
  controlFlowOrder,
  resolveConnection,
  resolveSendMailTask,
  toSendMailProperties,
  type FlowStep,
  type ResolvedSendMailTask,
} from './tasks.js';

export interface RunPackageOptions {
  /** Task names or paths (`Send Mail Task`, `Package\Sequence\Send Mail Task`). */
  tasks?: string[];
  /** Run the Send Mail tasks of the event handlers for this event (`OnError`) instead. */
  event?: string;
  /** Compose every message and return it as text; connect to nothing. */
  dryRun?: boolean;
  logger?: Logger;
  transcript?: TranscriptLogger;
  /** Builds the connection for a connection manager; default `new SmtpConnectionManager`. */
  createConnection?: (init: { name: string; id: string; description: string;
    connectionString: string }) => SendMailConnection & { close?(): Promise<void> };
}

export type StepStatus =
  /** Every recipient accepted. */
  | 'sent'
  /** Delivered, but some recipients were rejected. */
  | 'partial'
  | 'failed'
  /** Disabled, or an event-handler task not selected. */
  | 'skipped'
  /** `--dry-run`: composed, not sent. */
  | 'composed'
  /** Not a Send Mail task. */
  | 'not-run';

export interface StepReport {
  path: string;
  name: string;
  /** `send-mail`, or the executable type of a task smtpcm does not run. */
  type: string;
  status: StepStatus;
  /** Why it was skipped or failed, or what it is (for tasks not run). */
  reason?: string;
  /** The precedence constraints leading to it. */
  after: string[];
  eventName?: string;
  /** The connection used: name, DTSID, masked connection string and where it came from. */
  connection?: { name: string; id: string; connectionString: string; source: string };
  result?: SendMailResult;
  /** `--dry-run`: the envelope (Bcc recipients appear only here). */
  envelope?: { from: string; to: string[] };
  /** `--dry-run`: the whole message as it would be sent. */
  message?: string;
}

export interface PackageRunReport {
  package: string;
  file: string;
  steps: StepReport[];
  /** 0 all sent, 1 any failure, 3 some recipients rejected (and no failure). */
  exitCode: 0 | 1 | 3;
}

/**
 * Runs the selected Send Mail tasks one after the other. A task's failure is reported in
 * its step and the next task still runs (each alert matters on its own).
 *
 * @throws ConfigurationError when `tasks` names a task the package does not have, or a name
 *   that several tasks share (use the path then); when `event` matches no event handler.
 */
export async function runPackage(
  loaded: LoadedPackage,
  options: RunPackageOptions = {},
): Promise<PackageRunReport> {
  const pkg = loaded.package;
  const steps = selectSteps(pkg, options);
  const explicit = (options.tasks ?? []).length > 0;
  const managers = new Map<PackageConnection, SendMailConnection & { close?(): Promise<void> }>();
  const reports: StepReport[] = [];
  try {
    for (const step of steps) {
      if (step.node.kind !== 'send-mail') {
        if (step.node.kind === 'task') {
          reports.push({ path: step.node.path, name: step.node.name, after: step.after,
            type: executableTypeName(step.node), status: 'not-run',
            reason: 'smtpcm runs Send Mail tasks only' });
        }
        continue;
      }
      reports.push(await runTask(loaded, resolveSendMailTask(pkg, step.node), step, explicit,
        managers, options));
    }
  } finally {
    for (const manager of managers.values()) await manager.close?.();
  }
  const exitCode = reports.some((r) => r.status === 'failed') ? 1
    : reports.some((r) => r.status === 'partial') ? 3 : 0;
  return { package: pkg.name, file: loaded.file, steps: reports, exitCode };
}

function executableTypeName(node: ContainerNode): string {
  const type = (node.definition as { executableType?: string }).executableType ?? '';
  return type.split(',')[0]!.trim();
}

function selectSteps(pkg: Package, options: RunPackageOptions): FlowStep[] {
  const root = pkg.node('Package')!;
  if (options.tasks && options.tasks.length > 0) {
    const all = pkg.executables().filter((n) => n.kind === 'send-mail');
    return options.tasks.map((wanted) => {
      const key = wanted.replace(/^\\/, '').toLowerCase();
      const byPath = all.filter((n) => n.path.toLowerCase() === key);
      const matches = byPath.length > 0 ? byPath : all.filter((n) => n.name.toLowerCase() === key);
      if (matches.length !== 1) {
        throw new ConfigurationError(`--task ${wanted}`, matches.length === 0
          ? 'names no Send Mail task of the package.'
          : `names ${matches.length} Send Mail tasks.`,
          `Give one of these paths: ${all.map((n) => n.path).join(' | ') || '(none)'}.`);
      }
      return { node: matches[0]!, after: [] };
    });
  }
  if (options.event) {
    const event = options.event.toLowerCase();
    const handlers = pkg.executables().filter((n) => n.kind === 'event-handler');
    const selected = handlers.filter((n) => n.eventName?.toLowerCase() === event);
    if (selected.length === 0) {
      const events = [...new Set(handlers.map((h) => h.eventName))].join(', ') || 'none';
      throw new ConfigurationError(`--event ${options.event}`, 'matches no event handler of ' +
        'the package.', `Its handlers are for: ${events}.`);
    }
    return selected.flatMap((handler) => controlFlowOrder(pkg, handler));
  }
  return controlFlowOrder(pkg, root);
}

async function runTask(
  loaded: LoadedPackage,
  task: ResolvedSendMailTask,
  step: FlowStep,
  explicit: boolean,
  managers: Map<PackageConnection, SendMailConnection & { close?(): Promise<void> }>,
  options: RunPackageOptions,
): Promise<StepReport> {
  const pkg = loaded.package;
  const report: StepReport = { path: task.path, name: task.name, type: 'send-mail',
    status: 'skipped', after: step.after,
    ...(task.eventName ? { eventName: task.eventName } : {}) };
  if (task.connection) {
    const value = task.connection.connectionString;
    report.connection = { name: task.connection.connection.name,
      id: task.connection.connection.id,
      connectionString: maskConnectionString(value.value ?? ''), source: value.source };
  }
  if (!task.enabled) {
    if (!explicit) return { ...report, reason: `disabled (${task.disabledBy})` };
    report.reason = `disabled (${task.disabledBy}); run because --task names it`;
  }
  const errors = task.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    return { ...report, status: 'failed', reason: errors.map((e) => `${e.message} ${e.fix}`)
      .join(' ') };
  }
  const connection = task.connection!;
  const connectionFor = (nameOrId: string): SendMailConnection | undefined => {
    const found = pkg.connections.get(nameOrId);
    if (!found || found !== connection.connection) return undefined;
    let manager = managers.get(found);
    if (!manager) {
      const init = { name: found.name, id: found.id, description: found.description,
        connectionString: connection.connectionString.value ?? '' };
      manager = options.createConnection?.(init) ?? new SmtpConnectionManager({ ...init,
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.transcript ? { transcript: options.transcript } : {}) });
      managers.set(found, manager);
    }
    return manager;
  };
  const sendMail = new SendMailTask(toSendMailProperties(task), {
    connections: { get: connectionFor },
    fileConnections: {
      get: (name) => {
        const file = pkg.connections.get(name);
        return file?.isFile ? resolveConnection(pkg, file).connectionString.value : undefined;
      },
    },
    variables: {
      get: (name) => {
        const qualified = name.includes('::') ? name : `User::${name}`;
        return toPropertyString(pkg.evaluate(`@[${qualified}]`, task.path));
      },
    },
    baseDir: loaded.projectDir,
    logger: options.logger ?? silentLogger,
    name: task.name,
  });
  try {
    if (options.dryRun) {
      const composed = await sendMail.compose();
      const chunks: Buffer[] = [];
      for await (const chunk of composed.createStream()) chunks.push(Buffer.from(chunk));
      return { ...report, status: 'composed', envelope: composed.envelope,
        message: Buffer.concat(chunks).toString('utf8') };
    }
    const result = await sendMail.execute();
    return { ...report, status: result.rejected.length > 0 ? 'partial' : 'sent', result };
  } catch (error) {
    return { ...report, status: 'failed', reason: explainFailure(pkg, task, error) };
  }
}

const FILE_SOURCE_FIX = 'Name a File connection manager, or give the path of a readable text file.';

/**
 * The reason a task failed, as a sentence. When MessageSource names a File connection manager
 * whose file cannot be read, the task's own message ("names X, but the file does not exist")
 * does not say that X is a connection manager nor where it points: this names both and the
 * `--connection` override that redirects it. Any other error's message is returned as is.
 *
 * TODO(package): this rewrites the Send Mail task's sentence by its text (src/tasks is not this
 * module's); a field on the task's error naming the File connection would be sturdier.
 */
function explainFailure(pkg: Package, task: ResolvedSendMailTask, error: unknown): string {
  const message = (error as Error).message;
  if (!(error instanceof ConfigurationError) || error.field !== 'MessageSource') return message;
  const source = task.properties.MessageSource.value ?? '';
  const file = pkg.connections.get(source);
  const names = `names "${source}", but `;
  if (!file?.isFile || !message.includes(names)) return message;
  const path = resolveConnection(pkg, file).connectionString.value ?? '';
  return message
    .replace(names, `names the file connection manager "${file.name}", whose path ` +
      `"${path}" cannot be read: `)
    .replace(FILE_SOURCE_FIX, "Give the message file's path on this machine with " +
      `--connection "${file.name}=PATH", or change the connection manager's ` +
      'ConnectionString in the package.');
}
