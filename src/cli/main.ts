/**
 * The `smtpcm` command: a thin layer over the library. Builds a commander program from the
 * command modules listed in commands/index.ts and runs it.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import * as commands from './commands/index.js';
import {
  argumentErrorJson,
  argumentErrorText,
  explainArgumentError,
  printJson,
} from './output.js';
import { packageVersion } from './package-info.js';

/**
 * The program with every command registered; `parseAsync` runs it. An argument error
 * commander reports (unknown option, missing `--from`) is one line with the prefix of every
 * other error and the fix (`See smtpcm send --help.`); when `argv` holds `--json`, it is also
 * printed on stdout as `{ ok: false, error }`, as every other failure is.
 */
export function buildProgram(argv: readonly string[] = []): Command {
  const json = argv.includes('--json');
  const program: Command = new Command('smtpcm')
    // Set before the commands are added: subcommands copy it when created.
    .configureOutput({
      outputError: (text, write) => {
        const described = explainArgumentError(text, commandPath(program, argv));
        write(argumentErrorText(described));
        if (json) printJson(argumentErrorJson(described));
      },
    })
    .description(
      'The SSIS SMTP connection manager and Send Mail task, for Node.js: send mail, test ' +
        'connections, read connection strings, capture mail locally.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--debug', 'show stack traces and transcripts with errors');
  for (const command of Object.values(commands) as Array<{ register(p: Command): void }>) {
    command.register(program);
  }
  return program;
}

/**
 * The words of the command `argv` runs (`send`, `connection-string parse`), '' for none: each
 * argument that names a subcommand of the one before, options skipped.
 */
function commandPath(program: Command, argv: readonly string[]): string {
  const words: string[] = [];
  let command = program;
  for (const arg of argv.slice(2)) {
    const sub = arg.startsWith('-') ? undefined
      : command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub) {
      words.push(sub.name());
      command = sub;
    }
  }
  return words.join(' ');
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
