/**
 * `smtpcm demo`: the whole product in one command, with nothing to install or configure.
 *
 * Starts the capture server on a free loopback port with STARTTLS (a throw-away CA) and
 * AUTH; builds an SMTP connection manager for it from a real connection string whose
 * password is a reference to an environment variable the demo sets; runs the shipped Send
 * Mail task `examples/demo/send-mail-task.json` (a non-ASCII subject, To and CC, an
 * attachment) through it; prints each recipient's result and the captured `.eml` file.
 */
import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { SmtpConnectionManager } from '../../connection/connection-manager.js';
import type { Logger } from '../../log.js';
import { formatReply } from '../../protocol/reply.js';
import { SendMailTask, type SendMailTaskProperties } from '../../tasks/send-mail-task.js';
import { EXIT, action } from '../output.js';
import { packageRoot } from '../package-info.js';

/** The environment variable the demo's connection string takes its password from. */
export const DEMO_PASSWORD_VARIABLE = 'SMTPCM_DEMO_PASSWORD';
const CONNECTION_NAME = 'Demo SMTP';

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'Send the example Send Mail task over STARTTLS with AUTH to a local capture server.',
    )
    .option('--dir <dir>', 'where to keep the captured .eml (default: a new temporary directory)')
    .option('--task <file>', 'a Send Mail task JSON file to run instead of the shipped example')
    .action(action((options: { dir?: string; task?: string }) => runDemo(options)));
}

async function runDemo(options: { dir?: string; task?: string }): Promise<number> {
  const taskFile = resolve(
    options.task ?? join(packageRoot(), 'examples/demo/send-mail-task.json'),
  );
  const task = JSON.parse(await readFile(taskFile, 'utf8')) as SendMailTaskProperties & {
    name?: string;
  };
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'smtpcm-demo-')));
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };

  const { startCaptureServer } = await import('../../capture/capture-server.js');
  const server = await startCaptureServer({
    dir,
    port: 0,
    host: '127.0.0.1',
    tls: true,
    auth: true,
  });
  out(
    `Capture server listening on ${server.host}:${server.port} (STARTTLS, AUTH), ` +
      `writing to ${dir}`,
  );
  // The password is never a literal in the connection string: it is read from the environment.
  process.env[DEMO_PASSWORD_VARIABLE] = randomBytes(12).toString('base64url');
  const connectionString =
    `SmtpServer=localhost;UseWindowsAuthentication=False;EnableSsl=True;Port=${server.port};` +
    `UserName=demo;Password=env:${DEMO_PASSWORD_VARIABLE};CaFile=${quote(server.caPath ?? '')};`;
  const connection = new SmtpConnectionManager({ name: CONNECTION_NAME, connectionString });
  out(`Connection manager "${CONNECTION_NAME}": ${String(connection)}`);

  try {
    const sendMail = new SendMailTask(
      { ...task, smtpConnection: task.smtpConnection ?? CONNECTION_NAME },
      {
        connections: { get: (name) => (name === CONNECTION_NAME ? connection : undefined) },
        baseDir: resolve(taskFile, '..'),
        logger: eventPrinter(out),
        name: task.name ?? 'Send Mail Task',
      },
    );
    out(`Running the Send Mail task in ${taskFile}`);
    const result = await sendMail.execute();
    out('');
    out(
      `Message ${result.messageId}, ${result.size} octets, ` +
        `server reply: ${formatReply(result.reply)}`,
    );
    for (const r of result.recipients) {
      const reply = r.status !== 'accepted' && r.reply ? `  ${formatReply(r.reply)}` : '';
      out(`  ${r.status.padEnd(8)} ${r.recipient}${reply}`);
    }
    const captured = server.messages.at(-1);
    if (captured) {
      out(`Captured over ${captured.tls} as user "${captured.user ?? ''}": ${captured.path}`);
    }
    return result.rejected.length === 0 ? EXIT.ok : EXIT.partial;
  } finally {
    await connection.close();
    await server.close();
  }
}

/** A connection-string value, quoted when it holds `;`, quotes or outer spaces. */
function quote(value: string): string {
  return /[;"'=]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Prints the task's SSIS log events as they happen. */
function eventPrinter(out: (line: string) => void): Logger {
  const print = (fields: Record<string, unknown>, message: string): void => {
    out(`[${String(fields.event ?? 'log')}] ${message}`);
  };
  return { debug() {}, info: print, warn: print, error: print };
}
