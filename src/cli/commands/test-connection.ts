/**
 * `smtpcm test-connection`: connect, secure and authenticate as the connection manager would,
 * then report each step, the TLS session, the server's extensions and the mechanism used.
 * Nothing is sent. Exit 0 when every step worked, else 1.
 */
import type { Command } from 'commander';
import { SmtpClient, type ConnectHooks } from '../../client/smtp-client.js';
import type { SmtpClientOptions } from '../../client/types.js';
import type { TestConnectionReport } from '../../connection/connection-manager.js';
import { SmtpConnectionError } from '../../errors.js';
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
        const failures: unknown[] = [];
        const connection = await openConnection(options.connection, {
          createClient: (clientOptions) => new ObservedClient(clientOptions, failures),
        });
        try {
          const report = await connection.testConnection();
          const failure = report.error ? failedWith(report.error, failures) : undefined;
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
 * gives: the one a session's client threw, else one made from the report's name, code and
 * message for the errors that the manager itself raises (a name that does not resolve).
 * undefined for a configuration error, whose report already carries the fix.
 */
function failedWith(
  error: NonNullable<TestConnectionReport['error']>,
  thrown: unknown[],
): unknown {
  const own = thrown.find((e) => e instanceof Error && e.message === error.message);
  if (own) return own;
  if (error.code === 'ECONNECTION') return new SmtpConnectionError(error.message, 'connect');
  return undefined;
}

/** The explained error for the report, which holds the whole transcript already. */
function withoutTranscript(
  explained: ErrorDescription,
): NonNullable<TestConnectionReport['error']> {
  const { transcript: _transcript, ...error } = explained;
  return error;
}

/** A session's client that remembers what it threw, for the report to explain. */
class ObservedClient extends SmtpClient {
  readonly #failures: unknown[];

  constructor(options: SmtpClientOptions, failures: unknown[]) {
    super(options);
    this.#failures = failures;
  }

  override connect(hooks?: ConnectHooks): Promise<void> {
    return this.#observe(super.connect(hooks));
  }

  override authenticate(): Promise<string | undefined> {
    return this.#observe(super.authenticate());
  }

  override quit(): Promise<void> {
    return this.#observe(super.quit());
  }

  async #observe<T>(step: Promise<T>): Promise<T> {
    try {
      return await step;
    } catch (error) {
      this.#failures.push(error);
      throw error;
    }
  }
}
