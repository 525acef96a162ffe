/**
 * `smtpcm connection-string parse|format|validate <string>`: the connection string rules of
 * the connection manager, from the command line. Secrets are masked in every output.
 */
import type { Command } from 'commander';
import {
  formatConnectionString,
  parseConnectionString,
} from '../../connection/connection-string.js';
import { validateConnection } from '../../connection/validate.js';
import { EXIT, action, printJson } from '../output.js';

export function register(program: Command): void {
  const group = program
    .command('connection-string')
    .description('Parse, format or validate an SMTP connection string (secrets masked).');

  group
    .command('parse')
    .description('Print the properties of a connection string as JSON.')
    .argument('<string>', 'the connection string, quoted for the shell')
    .action(
      action(async (text: string) => {
        printJson(parseConnectionString(text));
        return EXIT.ok;
      }),
    );

  group
    .command('format')
    .description('Print the canonical form: SSIS keys first, in SSIS order, then ours.')
    .argument('<string>', 'the connection string, quoted for the shell')
    .action(
      action(async (text: string) => {
        const props = parseConnectionString(text);
        process.stdout.write(`${formatConnectionString(props, { maskSecrets: true })}\n`);
        return EXIT.ok;
      }),
    );

  group
    .command('validate')
    .description('List errors and warnings without connecting; exit 1 when there are errors.')
    .argument('<string>', 'the connection string, quoted for the shell')
    .option('--json', 'print { ok, errors, warnings } as JSON')
    .action(
      action(async (text: string, options: { json?: boolean }) => {
        const { errors, warnings } = validateConnection(parseConnectionString(text));
        if (options.json) {
          // `ok` as in the { ok: false, error } of a string that does not parse.
          printJson({ ok: errors.length === 0, errors, warnings });
        } else if (errors.length === 0 && warnings.length === 0) {
          process.stdout.write('The connection string is valid.\n');
        } else {
          for (const p of [...errors, ...warnings]) {
            process.stdout.write(`${p.severity}: ${p.field}: ${p.message} ${p.fix}\n`);
          }
        }
        return errors.length === 0 ? EXIT.ok : EXIT.failed;
      }),
    );
}
