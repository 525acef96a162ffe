/**
 * `smtpcm capture`: the embedded local SMTP server. Every message it receives is written to
 * DIR as an `.eml` file and announced on one stdout line; it never relays anything.
 * Stops cleanly on SIGINT (Ctrl-C) and SIGTERM.
 */
import type { Command } from 'commander';
import type { CapturedMessage } from '../../capture/capture-server.js';
import { formatEndpoint } from '../../errors.js';
import { quoteValue } from '../../message/quote.js';
import { UsageError, action } from '../output.js';

interface CaptureOptions {
  port: string;
  dir: string;
  host: string;
  tls?: boolean;
  auth?: boolean;
}

export function register(program: Command): void {
  program
    .command('capture')
    .description('Run a local SMTP server that writes every message it receives to an .eml file.')
    .option('--port <n>', 'the port to listen on; 0 picks a free one', '2525')
    .option('--dir <dir>', 'where the .eml files go', 'captured-mail')
    .option('--host <address>', 'the address to listen on', '127.0.0.1')
    .option('--tls', 'offer STARTTLS with a throw-away CA (its path is printed)')
    .option('--auth', 'require AUTH PLAIN or LOGIN, accepting any user name and password')
    .addHelpText(
      'after',
      '\nOne line per message on stdout: <file> from=<sender> to=<recipients> size=<octets>.\n' +
        'Stop it with Ctrl-C.',
    )
    .action(action((options: CaptureOptions) => runCapture(options)));
}

async function runCapture(options: CaptureOptions): Promise<number> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port ${quoteValue(options.port)} is not a port number (0 to 65535).`,
      '--port');
  }
  // Loaded on use: smtp-server is not needed by the other commands.
  const { startCaptureServer } = await import('../../capture/capture-server.js');
  const server = await startCaptureServer({
    dir: options.dir,
    port,
    host: options.host,
    tls: Boolean(options.tls),
    auth: Boolean(options.auth),
    onMessage: (message) => process.stdout.write(`${describeCaptured(message)}\n`),
  }).catch((error: unknown) => {
    throw directoryError(error, options.dir) ?? error;
  });
  const features = [
    options.tls ? 'STARTTLS' : 'no TLS',
    options.auth ? 'AUTH any user' : 'no AUTH',
  ];
  process.stdout.write(
    `Listening on ${formatEndpoint(server.host, server.port)} (${features.join(', ')}); ` +
      `messages go to ${server.dir}\n`,
  );
  if (server.caPath) {
    process.stdout.write(`CA certificate for clients (CaFile): ${server.caPath}\n`);
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      process.stderr.write(`Received ${signal}; stopping.\n`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      void server.close().then(resolve);
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  process.stdout.write(`Stopped after ${server.messages.length} message(s).\n`);
  return 0;
}

/**
 * A file-system error from preparing `--dir` (it has a `syscall` and a `path`) as a usage
 * error naming the option and the fix; undefined for any other error.
 */
function directoryError(error: unknown, dir: string): UsageError | undefined {
  const { code, syscall } = error as NodeJS.ErrnoException;
  if (syscall === undefined || code === undefined || syscall === 'listen') {
    return undefined;
  }
  const problem =
    code === 'ENOTDIR' || code === 'EEXIST'
      ? 'is not a directory (a file is in the way)'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'cannot be written by this account'
        : `cannot be used (${code})`;
  return new UsageError(
    `--dir ${quoteValue(dir)} ${problem}. Give a directory this account can write to, ` +
      'or a path where one can be created.',
    '--dir',
  );
}

/** `<file> from=<sender> to=<a,b> size=<n>`: one line per captured message. */
export function describeCaptured(message: CapturedMessage): string {
  return (
    `${message.path} from=<${message.from}> to=${message.to.map((t) => `<${t}>`).join(',')} ` +
    `size=${message.size}${message.user ? ` user=${message.user}` : ''} tls=${message.tls}`
  );
}
