/**
 * The pieces every in-process `smtp-server` of the tests repeats: refusing the recipients
 * named `reject@…` as a real server refuses an unknown user, and reading a message and its
 * envelope once the data has arrived.
 */
import type { Readable } from 'node:stream';
import type { SMTPServerOptions, SMTPServerSession } from 'smtp-server';

type RcptHandler = NonNullable<SMTPServerOptions['onRcptTo']>;
type DataHandler = NonNullable<SMTPServerOptions['onData']>;

/** Refuses every recipient whose address starts with `reject@` with 550 and `text`. */
export function refuseRejectRecipients(text = '5.1.1 User unknown'): RcptHandler {
  return (address, _session, callback) => {
    if (address.address.startsWith('reject@')) {
      const error = new Error(text) as Error & { responseCode: number };
      error.responseCode = 550;
      callback(error);
      return;
    }
    callback();
  };
}

/** What a message carries besides its octets: the envelope as the server saw it. */
export interface ReceivedEnvelope {
  from: string;
  to: string[];
  raw: Buffer;
}

/**
 * An `onData` handler that reads the whole message, then calls `keep` with it and the session;
 * the server answers 250 once `keep` has finished (or the error it threw).
 */
export function keepMessages(
  keep: (message: ReceivedEnvelope, session: SMTPServerSession) => void | Promise<void>,
): DataHandler {
  return (stream: Readable, session, callback) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const message = {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
        raw: Buffer.concat(chunks),
      };
      Promise.resolve()
        .then(() => keep(message, session))
        .then(() => callback(), (error: Error) => callback(error));
    });
  };
}
