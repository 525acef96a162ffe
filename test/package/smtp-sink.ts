/** An in-process smtp-server on 127.0.0.1, port 0, that keeps every message it accepts. */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { keepMessages, refuseRejectRecipients } from '../support/smtp-handlers.js';

export interface ReceivedMessage {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

export interface SmtpSink {
  port: number;
  received: ReceivedMessage[];
  /** A connection string for it: `SmtpServer=127.0.0.1;Port=N;`. */
  connectionString: string;
  close(): Promise<void>;
}

/** Starts the sink. Recipients starting with `reject@` are refused with 550 5.1.1. */
export async function startSink(): Promise<SmtpSink> {
  const received: ReceivedMessage[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    onRcptTo: refuseRejectRecipients(),
    onData: keepMessages(async (message) => {
      received.push({ ...message, parsed: await simpleParser(message.raw) });
    }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    received,
    connectionString: `SmtpServer=127.0.0.1;Port=${port};`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
