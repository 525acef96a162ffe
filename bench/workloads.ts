/**
 * The benchmark's workloads and the one message definition every client composes from.
 *
 * A message is defined as Nodemailer's mail options (`from`, `to`, `subject`, `text`,
 * `attachments`), because both Node clients compose it with the same MailComposer: Nodemailer
 * inside `sendMail()`, smtpcm in the benchmark client before `send()`. The text body is plain
 * US-ASCII in lines of 72 characters, so MailComposer sends it as 7bit and the message's size
 * on the wire is predictable.
 */

/** The names accepted by `--only`. */
export const WORKLOAD_NAMES = [
  'small-2kb',
  'text-100kb',
  'rcpt-5',
  'large-5mb',
  'attachment-300mb',
  'single-small',
  'cli-attachment',
] as const;

export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface Workload {
  name: WorkloadName;
  /** A short human title for tables. */
  title: string;
  /** The size of the text body in octets (the composed message adds about 350 of headers). */
  textBytes: number;
  /** Recipients per message. */
  recipients: number;
  /** The size of the attached file, when the message carries one. */
  attachmentBytes?: number;
}

export const WORKLOADS: Record<WorkloadName, Workload> = {
  'small-2kb': { name: 'small-2kb', title: '2 KB, 1 recipient', textBytes: 1750, recipients: 1 },
  'text-100kb': {
    name: 'text-100kb',
    title: '100 KB, 1 recipient',
    textBytes: 100 * 1024 - 350,
    recipients: 1,
  },
  'rcpt-5': { name: 'rcpt-5', title: '2 KB, 5 recipients', textBytes: 1750, recipients: 5 },
  'large-5mb': {
    name: 'large-5mb',
    title: '5 MB, 1 recipient',
    textBytes: 5 * 1024 * 1024 - 350,
    recipients: 1,
  },
  'attachment-300mb': {
    name: 'attachment-300mb',
    title: '300 MB attachment (file)',
    textBytes: 200,
    recipients: 1,
    attachmentBytes: 300 * 1024 * 1024,
  },
  'single-small': {
    name: 'single-small',
    title: 'one 2 KB message (memory baseline)',
    textBytes: 1750,
    recipients: 1,
  },
  // Sent by `smtpcm send --attach` (bin/smtpcm.js) in a child process: the CLI composes it.
  'cli-attachment': {
    name: 'cli-attachment',
    title: 'CLI `smtpcm send`, 300 MB attachment (file)',
    textBytes: 1,
    recipients: 1,
    attachmentBytes: 300 * 1024 * 1024,
  },
};

export const SENDER = 'sender@example.com';

/** The recipients of one message: `recipient1@example.com`, ... */
export function recipientsOf(workload: Workload): string[] {
  return Array.from({ length: workload.recipients }, (_, i) => `recipient${i + 1}@example.com`);
}

/**
 * A deterministic US-ASCII text of exactly `bytes` octets in CRLF-terminated lines of at most
 * 72 characters plus CRLF (the last line may be shorter). Throws a RangeError below 2 octets.
 */
export function bodyText(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 2) {
    throw new RangeError(`A body needs at least 2 octets (one CRLF); got ${bytes}.`);
  }
  const words = 'the quick brown fox jumps over the lazy dog and keeps on running far away ';
  const lines: string[] = [];
  let remaining = bytes;
  let line = 0;
  while (remaining > 0) {
    const length = Math.min(72, remaining - 2);
    const offset = (line * 7) % words.length;
    const text = (words.slice(offset) + words + words).slice(0, length).trimEnd();
    const padded = text.padEnd(length, '.');
    lines.push(`${padded}\r\n`);
    remaining -= length + 2;
    line += 1;
    if (remaining === 1) {
      // One octet cannot hold a CRLF: lengthen the last line by one instead.
      lines[lines.length - 1] = `${padded}.\r\n`;
      remaining = 0;
    }
  }
  return lines.join('');
}

/** The fields of Nodemailer's mail options that the benchmark uses. */
export interface MessageDefinition {
  from: string;
  to: string[];
  subject: string;
  text: string;
  attachments?: Array<{ filename: string; path: string; contentType: string }>;
}

/**
 * The definition of message `index` of `workload`. `text` is passed in (built once with
 * `bodyText`) so a run of thousands of messages does not rebuild it; `attachmentPath` is
 * required for workloads with an attachment.
 */
export function messageDefinition(
  workload: Workload,
  index: number,
  text: string,
  attachmentPath?: string,
): MessageDefinition {
  const definition: MessageDefinition = {
    from: SENDER,
    to: recipientsOf(workload),
    subject: `smtpcm benchmark ${workload.name} message ${index + 1}`,
    text,
  };
  if (workload.attachmentBytes !== undefined) {
    if (attachmentPath === undefined) {
      throw new Error(`Workload ${workload.name} needs the path of its attachment file.`);
    }
    definition.attachments = [
      { filename: 'attachment.bin', path: attachmentPath, contentType: 'application/octet-stream' },
    ];
  }
  return definition;
}
