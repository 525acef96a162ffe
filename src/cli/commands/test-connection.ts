/**
 * `smtpcm test-connection`: connect, secure and authenticate as the connection manager would,
 * then report each step, the TLS session, the server's extensions and the mechanism used.
 * Nothing is sent. Exit 0 when every step worked, else 1.
 */
import type { Command } from 'commander';
import type { TestConnectionReport } from '../../connection/connection-manager.js';
import { ConfigurationError, SmtpError } from '../../errors.js';
import { CONNECTION_HELP, openConnection } from '../connection.js';
import {
  EXIT,
  action,
  explainError,
  printJson,
  reportDetail,
  type ErrorDescription,
} from '../output.js';
import { formatTestReport } from '../report.js';

export function register(program: Command): void {
  program
    .command('test-connection')
    .description('Connect, secure and log in through a connection manager, and report each step.')
    .requiredOption('--connection <string|name>', CONNECTION_HELP)
    .option('--json', 'print the report as JSON')
    .action(
      action(async (options: { connection: string; json?: boolean }, command: Command) => {
        const connection = await openConnection(options.connection);
        try {
          const report = await connection.testConnection();
          const failure = explainable(report);
          const explained = failure === undefined ? undefined : explainError(failure);
          const shown = explained ? { ...report, error: withoutTranscript(explained) } : report;
          if (options.json) {
            printJson({ ok: report.success, ...shown });
          } else {
            process.stdout.write(formatTestReport(shown));
          }
          if (explained && command.optsWithGlobals().debug) {
            reportDetail(failure, explained);
          }
          return report.success ? EXIT.ok : EXIT.failed;
        } finally {
          await connection.close();
        }
      }),
    );
}

/**
 * The error the report describes, so that it gets the explanation (message and fix) `send`
 * gives; undefined after success, and for a configuration error, whose report already
 * carries the fix.
 */
function explainable(report: TestConnectionReport): SmtpError | undefined {
  const failure = report.failure;
  return failure instanceof SmtpError && !(failure instanceof ConfigurationError)
    ? failure : undefined;
}

/** The explained error for the report, which holds the whole transcript already. */
function withoutTranscript(
  explained: ErrorDescription,
): NonNullable<TestConnectionReport['error']> {
  const { transcript: _transcript, ...error } = explained;
  return error;
}
