/**
 * An SMTP server for data-path tests that keeps every message octet for octet as it came
 * off the wire: DATA bodies still dot-stuffed with their `CRLF.CRLF`, BDAT chunks with the
 * sizes the client announced. It answers in order, so pipelined commands work; it offers
 * the extensions it is given (PIPELINING, CHUNKING, 8BITMIME, SIZE n).
 *
 * A DATA body ends where RFC 5321 §4.5.2 says a server sees the end: at the first
 * `CRLF.CRLF` (or `.CRLF` right after the 354). A client that lets a lone `.` line through
 * thus shows up as a cut message followed by text read as commands (`errors`).
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

export interface RecordedMessage {
  method: 'DATA' | 'BDAT';
  /** The MAIL FROM line as received. */
  mailLine: string;
  to: string[];
  /** DATA: the octets after the 354 up to and including the end mark. BDAT: the chunks. */
  wire: Buffer;
  /** BDAT: each chunk's announced size, in order. */
  chunks: number[];
}

export interface WireRecorder {
  port: number;
  /** Messages answered 250, in the order their data ended. */
  messages: RecordedMessage[];
  /** Protocol violations seen (an unknown command, a line with a bare LF...). */
  errors: string[];
  close(): Promise<void>;
}

const CRLF = Buffer.from('\r\n');
const END_OF_DATA = Buffer.from('\r\n.\r\n');

/** Starts the recorder on 127.0.0.1, port 0. `extensions` are EHLO keywords. */
export async function startWireRecorder(extensions: string[]): Promise<WireRecorder> {
  const messages: RecordedMessage[] = [];
  const errors: string[] = [];
  const sockets = new Set<Socket>();

  const serve = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    let input: Buffer = Buffer.alloc(0);
    let mode: 'command' | 'data' | 'bdat' = 'command';
    let bdatLeft = 0;
    let bdatLast = false;
    let tx: RecordedMessage | undefined;
    let parts: Buffer[] = [];
    const reply = (text: string): void => {
      if (!socket.destroyed) socket.write(`${text}\r\n`);
    };

    const command = (line: string): void => {
      if (line.includes('\n') || line.includes('\r')) errors.push(`bare CR/LF in ${line}`);
      const verb = line.split(' ')[0]!.toUpperCase();
      if (verb === 'EHLO') {
        const lines = ['recorder.test', ...extensions];
        lines.forEach((text, i) => reply(`250${i === lines.length - 1 ? ' ' : '-'}${text}`));
      } else if (verb === 'MAIL') {
        if (tx !== undefined) {
          // As Postfix does: the open transaction (and any BDAT chunk in it) stays.
          reply('503 5.5.1 nested MAIL command');
          return;
        }
        tx = { method: 'DATA', mailLine: line, to: [], wire: Buffer.alloc(0), chunks: [] };
        parts = [];
        reply('250 2.1.0 ok');
      } else if (verb === 'RCPT') {
        const address = /<([^>]*)>/.exec(line)?.[1] ?? '';
        if (tx === undefined) {
          reply('503 5.5.1 MAIL first');
        } else if (address.startsWith('reject@')) {
          reply('550 5.1.1 no such user');
        } else {
          tx.to.push(address);
          reply('250 2.1.5 ok');
        }
      } else if (verb === 'DATA') {
        if (tx === undefined || tx.to.length === 0) {
          reply('554 5.5.1 no valid recipients');
          return;
        }
        mode = 'data';
        reply('354 go ahead');
      } else if (verb === 'BDAT') {
        const match = /^BDAT (\d+)( LAST)?$/i.exec(line);
        if (match === null) {
          errors.push(`bad BDAT line ${line}`);
          reply('501 5.5.4 syntax');
          return;
        }
        bdatLeft = Number(match[1]);
        bdatLast = match[2] !== undefined;
        tx?.chunks.push(bdatLeft);
        mode = 'bdat';
      } else if (verb === 'RSET') {
        tx = undefined;
        reply('250 2.0.0 ok');
      } else if (verb === 'NOOP') {
        reply('250 2.0.0 ok');
      } else if (verb === 'QUIT') {
        reply('221 2.0.0 bye');
        socket.end();
      } else {
        errors.push(`unknown command ${JSON.stringify(line.slice(0, 80))}`);
        reply('500 5.5.2 unknown command');
      }
    };

    const bdatDone = (): void => {
      mode = 'command';
      if (tx === undefined || tx.to.length === 0) {
        reply('503 5.5.1 no transaction');
        return;
      }
      tx.method = 'BDAT';
      if (!bdatLast) {
        reply(`250 2.0.0 ${tx.chunks.at(-1)} octets`);
        return;
      }
      tx.wire = Buffer.concat(parts);
      messages.push(tx);
      tx = undefined;
      reply('250 2.0.0 queued');
    };

    const consume = (): void => {
      for (;;) {
        if (mode === 'command') {
          const end = input.indexOf(CRLF);
          if (end < 0) return;
          const line = input.subarray(0, end).toString('latin1');
          input = input.subarray(end + 2);
          command(line);
        } else if (mode === 'bdat') {
          const take = Math.min(bdatLeft, input.length);
          if (take > 0) {
            parts.push(Buffer.from(input.subarray(0, take)));
            input = input.subarray(take);
          }
          bdatLeft -= take;
          if (bdatLeft > 0) return;
          bdatDone();
        } else {
          // The end mark: `.CRLF` at once (an empty message), else the first `CRLF.CRLF`.
          const empty = input.subarray(0, 3).equals(Buffer.from('.\r\n'));
          const start = empty ? 0 : input.indexOf(END_OF_DATA);
          if (start < 0) return;
          const length = empty ? 3 : start + END_OF_DATA.length;
          tx!.wire = Buffer.from(input.subarray(0, length));
          input = input.subarray(length);
          mode = 'command';
          messages.push(tx!);
          tx = undefined;
          reply('250 2.0.0 queued');
        }
      }
    };

    socket.on('data', (chunk: Buffer) => {
      input = input.length === 0 ? chunk : Buffer.concat([input, chunk]);
      consume();
    });
    reply('220 recorder.test ESMTP');
  };

  const server: Server = createServer(serve);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    messages,
    errors,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
