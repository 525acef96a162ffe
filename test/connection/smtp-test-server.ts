/**
 * An in-process `smtp-server` on 127.0.0.1, port 0, for the connection manager's tests:
 * STARTTLS with a certificate from the test CA (unless `noTls`), AUTH PLAIN/LOGIN for
 * alice/alice-Secret-1, a log of every command received (credentials redacted by smtp-server),
 * the messages received, and hooks to drop connections at chosen moments.
 */
import type { Socket } from 'node:net';
import { format } from 'node:util';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { testCertificates } from '../support/test-ca.js';

export const USER = { username: 'alice', password: 'alice-Secret-1' };

export interface ReceivedMessage {
  sessionId: string;
  from: string;
  to: string[];
  data: Buffer;
}

export interface TestServerOptions {
  /** Do not offer STARTTLS. */
  noTls?: boolean;
  /** Called at MAIL FROM; return true to drop the connection instead of answering. */
  dropAtMail?: (count: number) => boolean;
  /** Called when a message's data has arrived; return true to drop before the reply. */
  dropAtDataEnd?: (count: number) => boolean;
}

export interface TestServer {
  port: number;
  /** Every command line received, in order, as smtp-server logs it (`C: EHLO x`). */
  commands: string[];
  messages: ReceivedMessage[];
  /** Sessions opened so far. */
  connections: number;
  /** The most sessions open at once. */
  maxConcurrent: number;
  /** Destroys every open client socket, as a crashed or restarted server would. */
  dropAll(): void;
  close(): Promise<void>;
}

interface ConnectionWithSocket {
  id: string;
  _socket: Socket;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { valid } = testCertificates();
  const commands: string[] = [];
  const messages: ReceivedMessage[] = [];
  let mailCount = 0;
  let dataCount = 0;
  let open = 0;

  const capture = (_fields: unknown, message: string, ...args: unknown[]): void => {
    const line = format(message, ...args);
    if (line.startsWith('C:')) commands.push(line);
  };
  const logger = {
    level: 'debug',
    trace: capture,
    debug: capture,
    info: capture,
    warn: capture,
    error: capture,
    fatal: capture,
    child: () => logger,
  };

  const server: SMTPServer = new SMTPServer({
    key: valid.key,
    cert: valid.cert,
    authOptional: true,
    disabledCommands: options.noTls ? ['STARTTLS'] : [],
    logger: logger as never,
    onConnect(_session, callback) {
      state.connections++;
      open++;
      state.maxConcurrent = Math.max(state.maxConcurrent, open);
      callback();
    },
    onClose() {
      open--;
    },
    onAuth(auth, _session, callback) {
      if (auth.username === USER.username && auth.password === USER.password) {
        callback(null, { user: auth.username });
      } else {
        callback(new Error('Invalid username or password'));
      }
    },
    onMailFrom(_address, session, callback) {
      mailCount++;
      if (options.dropAtMail?.(mailCount)) {
        dropSession(session);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        dataCount++;
        if (options.dropAtDataEnd?.(dataCount)) {
          dropSession(session);
          return;
        }
        messages.push({
          sessionId: session.id,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });

  const sockets = (): ConnectionWithSocket[] =>
    [...(server as unknown as { connections: Set<ConnectionWithSocket> }).connections];

  function dropSession(session: SMTPServerSession): void {
    sockets().find((c) => c.id === session.id)?._socket.destroy();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = (server as unknown as { server: { address(): { port: number } } }).server
    .address();

  const state: TestServer = {
    port: address.port,
    commands,
    messages,
    connections: 0,
    maxConcurrent: 0,
    dropAll: () => {
      for (const connection of sockets()) connection._socket.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      for (const connection of sockets()) connection._socket.destroy();
      server.close(() => resolve());
    }),
  };
  return state;
}
