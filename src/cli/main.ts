/**
 * The `smtpcm` command: a thin layer over the library. Builds a commander program from the
 * command modules listed in commands/index.ts and runs it.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import * as commands from './commands/index.js';
import { argumentErrorJson, printJson } from './output.js';
import { packageVersion } from './package-info.js';

/**
 * The program with every command registered; `parseAsync` runs it. When `argv` holds
 * `--json`, an argument error commander reports (unknown option, missing `--from`) is also
 * printed on stdout as `{ ok: false, error }`, as every other failure is.
 */
export function buildProgram(argv: readonly string[] = []): Command {
  const json = argv.includes('--json');
  const program = new Command('smtpcm')
    // Set before the commands are added: subcommands copy it when created.
    .configureOutput({
      outputError: (text, write) => {
        // Commander's "error: unknown option '--bogus'", with the prefix of every other error.
        write(text.replace(/^error: /, 'smtpcm: '));
        if (json) printJson(argumentErrorJson(text));
      },
    })
    .description(
      'The SSIS SMTP connection manager and Send Mail task, for Node.js: send mail, test ' +
        'connections, read connection strings, capture mail locally.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--debug', 'show stack traces and transcripts with errors')
    .showHelpAfterError('(add --help for usage)');
  for (const command of Object.values(commands) as Array<{ register(p: Command): void }>) {
    command.register(program);
  }
  return program;
}

/** Runs the CLI with the given arguments (process.argv form); resolves to the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  process.exitCode = 0;
  await buildProgram(argv).parseAsync(argv);
  return Number(process.exitCode ?? 0);
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) {
    return false;
  }
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main();
  // A safety net: if a socket or timer were left open, leave anyway once everything is done.
  setTimeout(() => process.exit(), 2000).unref();
}
