/**
 * `smtpcm test-connection`: connect, secure and authenticate as the connection manager would,
 * then report each step, the TLS session, the server's extensions and the mechanism used.
 * Nothing is sent. Exit 0 when every step worked, else 1.
 */
import type { Command } from 'commander';
import { CONNECTION_HELP, openConnection } from '../connection.js';
import { EXIT, action, printJson } from '../output.js';
import { formatTestReport, reportSucceeded } from '../report.js';

export function register(program: Command): void {
  program
    .command('test-connection')
    .description('Connect, secure and log in through a connection manager, and report each step.')
    .requiredOption('--connection <string|name>', CONNECTION_HELP)
    .option('--json', 'print the report as JSON')
    .action(
      action(async (options: { connection: string; json?: boolean }) => {
        const connection = await openConnection(options.connection);
        try {
          const report = await connection.testConnection();
          if (options.json) {
            printJson(report);
          } else {
            process.stdout.write(formatTestReport(report));
          }
          return reportSucceeded(report) ? EXIT.ok : EXIT.failed;
        } finally {
          await connection.close();
        }
      }),
    );
}
