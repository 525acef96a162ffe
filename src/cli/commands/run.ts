/**
 * `smtpcm run <package>`: runs the enabled Send Mail tasks of an SSIS package's main control
 * flow in precedence order (or those of one event's handlers, or the tasks named), each
 * through its connection manager. `--connection NAME=STRING` redirects a connection manager
 * (by name or DTSID). Exit 0 all sent, 1 any failure, 3 some recipients rejected.
 */
import type { Command } from 'commander';
import { oneLine } from '../../message/quote.js';
import { loadPackage, parseAssignment, type PackageOverrides } from '../../package/load.js';
import { runPackage, type PackageRunReport } from '../../package/run.js';
import { EXIT, action, printJson } from '../output.js';

export interface OverrideOptions {
  project?: string;
  config: string[];
  set: string[];
  param: string[];
  connection: string[];
}

export const PROJECT_HELP = 'the SSIS project folder (.conmgr, Project.params, .dtsConfig); ' +
  "default: the package's folder";

/** Commander's collector for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The `--set`, `--param` and `--connection` values as package overrides. */
export function overridesFrom(options: OverrideOptions): PackageOverrides {
  return {
    set: options.set.map((s) => parseAssignment(s, '--set')),
    params: options.param.map((s) => parseAssignment(s, '--param')),
    connections: options.connection.map((s) => parseAssignment(s, '--connection')),
  };
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run the Send Mail tasks of a .dtsx package.')
    .argument('<package>', 'the .dtsx file')
    .option('--project <dir>', PROJECT_HELP)
    .option('--config <file>', 'apply this .dtsConfig file too (repeatable)', collect, [])
    .option('--task <name|path>', 'run only this Send Mail task, even if disabled or in an ' +
      'event handler (repeatable)', collect, [])
    .option('--event <name>', 'run the Send Mail tasks of the handlers for this event ' +
      '(OnError) instead of the main flow')
    .option('--set <name=value>', 'set a variable (User::X=V, System::ErrorDescription=V) or ' +
      'a property path (repeatable)', collect, [])
    .option('--param <name=value>', 'set a parameter ($Project::X=V, $Package::X=V, X=V) ' +
      '(repeatable)', collect, [])
    .option('--connection <name=string>', 'use this connection string for a connection ' +
      'manager, by name or DTSID (repeatable)', collect, [])
    .option('--dry-run', 'compose and print every message; connect to nothing')
    .option('--json', 'print the report as JSON')
    .action(
      action(async (file: string, options: OverrideOptions & { task: string[]; event?: string;
        dryRun?: boolean; json?: boolean }) => {
        const loaded = await loadPackage(file, {
          ...(options.project ? { projectDir: options.project } : {}),
          configFiles: options.config,
          overrides: overridesFrom(options),
        });
        const report = await runPackage(loaded, {
          tasks: options.task,
          ...(options.event ? { event: options.event } : {}),
          ...(options.dryRun ? { dryRun: true } : {}),
        });
        // ok as send's: every message sent, some recipients maybe rejected (exit 3).
        if (options.json) printJson({ ok: report.exitCode !== EXIT.failed, ...report });
        else process.stdout.write(formatRunReport(report));
        return report.exitCode;
      }),
    );
}

/** The run report for a terminal: one block per step. */
export function formatRunReport(report: PackageRunReport): string {
  const lines = [`Package ${report.package}: ${report.file}`];
  for (const step of report.steps) {
    const head = `${step.status.toUpperCase().padEnd(8)} ${step.path}`;
    lines.push(step.type === 'send-mail' ? head : `${head} (${step.type})`);
    if (step.after.length > 0) lines.push(`         ${step.after.join('; ')}`);
    if (step.connection && step.status !== 'skipped') {
      lines.push(`         via ${step.connection.name}: ${step.connection.connectionString} ` +
        `[${step.connection.source}]`);
    }
    if (step.reason) lines.push(`         ${oneLine(step.reason)}`);
    if (step.result) {
      lines.push(`         ${step.result.messageId} accepted for ` +
        step.result.accepted.join(', '));
      for (const rejected of step.result.rejected) {
        const reply = rejected.reply
          ? ` (${rejected.reply.code} ${rejected.reply.lines.join(' ')})` : '';
        lines.push(`         rejected: ${rejected.recipient}${reply}`);
      }
    }
    if (step.envelope) {
      lines.push(`         envelope: MAIL FROM:<${step.envelope.from}> RCPT TO: ${step.envelope.to
        .map((t) => `<${t}>`).join(' ')}`);
    }
    if (step.message !== undefined) lines.push(step.message.replace(/\r\n/g, '\n'));
  }
  const count = (...statuses: string[]): number =>
    report.steps.filter((s) => statuses.includes(s.status)).length;
  const composed = count('composed');
  lines.push(`${count('sent', 'partial')} sent, ${count('failed')} failed, ` +
    `${count('skipped')} skipped${composed > 0 ? `, ${composed} composed (dry run)` : ''}, ` +
    `exit ${report.exitCode}.`);
  return `${lines.join('\n')}\n`;
}
