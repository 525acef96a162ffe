/**
 * `smtpcm send`: one message through a connection manager, as a Send Mail task would send
 * it, or an existing RFC 5322 file as it is (`--raw`).
 *
 * Exit 0 when every recipient was accepted, 3 when some were rejected, 1 when none was or on
 * any other error.
 */
import { constants, createReadStream } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { SendResult } from '../../client/types.js';
import { parseAddressLine } from '../../message/addresses.js';
import { quoteValue } from '../../message/quote.js';
import { formatReply } from '../../protocol/reply.js';
import {
  SendMailTask,
  type SendMailResult,
  type SendMailTaskProperties,
} from '../../tasks/send-mail-task.js';
import { CONNECTION_HELP, openConnection } from '../connection.js';
import { EXIT, UsageError, action, printJson } from '../output.js';
import { createProgress } from '../progress.js';

interface SendOptions {
  connection: string;
  from: string;
  to: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  body?: string;
  bodyFile?: string;
  htmlFile?: string;
  attach: string[];
  priority?: string;
  replyTo?: string;
  header: string[];
  json?: boolean;
  raw?: string;
}

// From this many recipients on, a terminal shows that the send is under way.
const MANY_RECIPIENTS = 100;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  program
    .command('send')
    .description('Send one message through an SMTP connection manager and report each recipient.')
    .requiredOption('--connection <string|name>', CONNECTION_HELP)
    .requiredOption('--from <address>', 'the sender (FromLine)')
    .requiredOption('--to <addresses>', 'recipients, separated by ";" or "," (ToLine)')
    .option('--cc <addresses>', 'copy recipients (CCLine)')
    .option('--bcc <addresses>', 'blind copy recipients, never in the headers (BCCLine)')
    .option('--subject <text>', 'the subject (may be non-ASCII)')
    .option('--body <text>', 'the plain-text body (MessageSourceType DirectInput)')
    .option('--body-file <path>', 'a UTF-8 text file as the body (FileConnection)')
    .option('--html-file <path>', 'an HTML file as the body')
    .option('--attach <path>', 'attach a file (repeatable)', collect, [])
    .addOption(
      new Option('--priority <priority>', 'High, Normal or Low (or 1, 3, 5)'),
    )
    .option('--reply-to <addresses>', 'the Reply-To addresses')
    .option('--header <"Name: value">', 'an extra header field (repeatable)', collect, [])
    .option('--json', 'print the result as JSON')
    .option(
      '--raw <path>',
      'send this RFC 5322 file unchanged; the envelope comes from --from/--to/--cc/--bcc',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 every recipient accepted, 3 some rejected, 1 none accepted or an error.\n' +
        '\nExample:\n' +
        '  smtpcm send --connection "SmtpServer=mail.example.com;EnableSsl=True;" \\\n' +
        '    --from reports@example.com --to "ops@example.com; audit@example.com" \\\n' +
        '    --subject "Nightly load" --body "All packages ran." --attach report.csv',
    )
    .action(action((options: SendOptions) => runSend(options), { flags: true }));
}

async function runSend(options: SendOptions): Promise<number> {
  const bodies = [options.body, options.bodyFile, options.htmlFile].filter((x) => x !== undefined);
  if (options.raw !== undefined) {
    if (bodies.length > 0 || options.attach.length > 0 || options.subject !== undefined) {
      throw new UsageError(
        '--raw sends the file as it is: leave out --subject, --body, --body-file, ' +
          '--html-file and --attach.',
      );
    }
  } else if (bodies.length !== 1) {
    throw new UsageError('Give exactly one of --body, --body-file or --html-file.');
  } else if (options.subject === undefined) {
    throw new UsageError('Give the subject with --subject (it may be "").');
  }

  const rawSize = options.raw === undefined ? undefined : await checkRawFile(options.raw);
  const connection = await openConnection(options.connection);
  const progress = options.json ? undefined : createProgress();
  const recipientCount = [options.to, options.cc, options.bcc]
    .map((line) => parseAddressLine('', line).addresses.length)
    .reduce((a, b) => a + b, 0);
  if (recipientCount >= MANY_RECIPIENTS) {
    progress?.note(`sending to ${recipientCount} recipients...`);
  }
  try {
    if (options.raw !== undefined) {
      return report(await sendRaw(options, rawSize, connection, progress?.update), options);
    }
    const task = new SendMailTask(taskProperties(options), {
      connections: { get: () => connection },
      baseDir: process.cwd(),
      name: 'smtpcm send',
    });
    for (const warning of (await task.validate()).filter((p) => p.severity === 'warning')) {
      const { field, message, fix } = warning;
      process.stderr.write(`smtpcm: warning: ${field}: ${message} ${fix}\n`);
    }
    const result = await task.execute(progress ? { onProgress: progress.update } : {});
    progress?.done();
    return report(result, options);
  } catch (error) {
    progress?.done();
    throw error;
  } finally {
    await connection.close();
  }
}

function taskProperties(options: SendOptions): SendMailTaskProperties {
  const headers: Record<string, string> = {};
  for (const line of options.header) {
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw new UsageError(`--header ${quoteValue(line)} is not of the form "Name: value".`,
        '--header');
    }
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return {
    smtpConnection: 'command line',
    fromLine: options.from,
    toLine: options.to,
    ...(options.cc !== undefined ? { ccLine: options.cc } : {}),
    ...(options.bcc !== undefined ? { bccLine: options.bcc } : {}),
    subject: options.subject ?? '',
    ...(options.bodyFile !== undefined
      ? { messageSourceType: 'FileConnection', messageSource: options.bodyFile }
      : { messageSourceType: 'DirectInput', messageSource: options.body ?? '' }),
    ...(options.htmlFile !== undefined ? { htmlBodyFile: options.htmlFile } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
    ...(options.replyTo !== undefined ? { replyTo: options.replyTo } : {}),
    fileAttachments: options.attach.join('|'),
    headers,
  };
}

async function sendRaw(
  options: SendOptions,
  size: number | undefined,
  connection: Awaited<ReturnType<typeof openConnection>>,
  onProgress?: (bytes: number) => void,
): Promise<SendMailResult> {
  const path = resolve(options.raw as string);
  const from = parseAddressLine('--from', options.from);
  const lines = [
    parseAddressLine('--to', options.to),
    parseAddressLine('--cc', options.cc),
    parseAddressLine('--bcc', options.bcc),
  ];
  const problem = [from, ...lines].flatMap((x) => x.problems)[0];
  if (problem) {
    throw new UsageError(`${problem.field}: ${problem.message} ${problem.fix}`);
  }
  if (from.addresses.length !== 1) {
    throw new UsageError('--from: give exactly one sender address.');
  }
  const to = [...new Set(lines.flatMap((x) => x.addresses.map((a) => a.envelopeAddress)))];
  if (to.length === 0) {
    throw new UsageError('--to: give at least one recipient.');
  }
  const messageId = await readMessageId(path);
  const result: SendResult = await connection.send(
    { from: from.addresses[0]!.envelopeAddress, to },
    () => {
      const stream = createReadStream(path);
      if (onProgress) {
        let bytes = 0;
        stream.on('data', (chunk) => {
          bytes += chunk.length;
          onProgress(bytes);
        });
      }
      return stream;
    },
    // The file's size declares SIZE= and lets a message too large for the server be refused
    // before MAIL (RFC 1870); dot-stuffing and CRLF make the octets sent differ a little.
    size === undefined ? {} : { size },
  );
  return {
    messageId,
    size: result.size,
    connection: connection.name,
    accepted: result.accepted,
    rejected: result.rejected,
    recipients: result.recipients,
    reply: result.reply,
  };
}

/**
 * Refuses a `--raw` path that is not a readable file, naming the option and the fix;
 * returns the file's size.
 */
async function checkRawFile(raw: string): Promise<number> {
  const fix = 'Give the path of an RFC 5322 message file (an .eml file).';
  let problem: string | undefined;
  let size = 0;
  try {
    const info = await stat(resolve(raw));
    size = info.size;
    if (info.isDirectory()) problem = 'is a directory, not a message file';
    else if (!info.isFile()) problem = 'is not a regular file';
    else await access(resolve(raw), constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problem = code === 'ENOENT' || code === 'ENOTDIR'
      ? 'does not exist'
      : `cannot be read (${code ?? (error as Error).message})`;
  }
  if (problem) {
    throw new UsageError(`--raw ${quoteValue(raw)} ${problem}. ${fix}`, '--raw');
  }
  return size;
}

/** The Message-ID of a message file (from its first 64 KiB), or '' when it has none. */
async function readMessageId(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    const headers = (end >= 0 ? text.slice(0, end) : text).replace(/\r?\n[ \t]+/g, ' ');
    const match = /^message-id:\s*(<[^>\r\n]*>)/im.exec(headers);
    return match ? match[1]! : '';
  } finally {
    await handle.close();
  }
}

function report(result: SendMailResult, options: SendOptions): number {
  const code = result.rejected.length === 0 ? EXIT.ok : EXIT.partial;
  if (options.json) {
    // Sent: also when some recipients were rejected (exit 3; they are in `rejected`).
    printJson({ ok: true, ...result });
    return code;
  }
  const out = process.stdout;
  out.write(
    `Sent ${result.messageId || 'the message'} through "${result.connection}" ` +
      `(${result.size} octets): ${formatReply(result.reply)}\n`,
  );
  for (const r of result.recipients) {
    const reply = r.status === 'accepted' || !r.reply ? '' : `  ${formatReply(r.reply)}`;
    out.write(`  ${r.status.padEnd(8)} ${r.recipient}${reply}\n`);
  }
  if (code === EXIT.partial) {
    out.write(
      `${result.rejected.length} of ${result.recipients.length} recipient(s) rejected the ` +
        'message; the others received it.\n',
    );
  }
  return code;
}
