/**
 * `smtpcm inspect <package>`: every SMTP connection manager and Send Mail task of an SSIS
 * package with literal and evaluated values, where each came from, and every problem.
 * Connects to nothing. Exit 0 when no problem is an error, else 1.
 */
import type { Command } from 'commander';
import { formatInspectReport, inspectPackage } from '../../package/inspect.js';
import { loadPackage } from '../../package/load.js';
import { EXIT, action, printJson } from '../output.js';
import { collect, overridesFrom, PROJECT_HELP, type OverrideOptions } from './run.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Show the SMTP connection managers, Send Mail tasks and problems of a ' +
      '.dtsx package.')
    .argument('<package>', 'the .dtsx file')
    .option('--project <dir>', PROJECT_HELP)
    .option('--config <file>', 'apply this .dtsConfig file too (repeatable)', collect, [])
    .option('--set <name=value>', 'set a variable or property path (repeatable)', collect, [])
    .option('--param <name=value>', 'set a parameter (repeatable)', collect, [])
    .option('--connection <name=string>', 'replace a connection string (repeatable)', collect, [])
    .option('--json', 'print the report as JSON')
    .action(
      action(async (file: string, options: OverrideOptions & { json?: boolean }) => {
        const loaded = await loadPackage(file, {
          ...(options.project ? { projectDir: options.project } : {}),
          configFiles: options.config,
          overrides: overridesFrom(options),
        });
        const report = inspectPackage(loaded);
        const ok = !report.problems.some((p) => p.severity === 'error');
        if (options.json) printJson({ ok, ...report });
        else process.stdout.write(formatInspectReport(report));
        return ok ? EXIT.ok : EXIT.failed;
      }),
    );
}
