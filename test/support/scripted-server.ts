/**
 * A tiny SMTP server for tests that plays a script and records what the client did.
 *
 * ```ts
 * const server = await startScriptedServer([
 *   'S: 220 mx.test ESMTP',          // send a line (CRLF added)
 *   'C: EHLO client.test',           // expect exactly this client line
 *   'S: 250-mx.test', 'S: 250 PIPELINING',
 *   { expect: /^MAIL FROM:<a@b>/ },  // or match a line with a RegExp
 *   { send: Buffer.from('...') },    // raw bytes, nothing added
 *   { expectData: true },            // DATA lines up to the lone '.', kept in `messages`
 *   { expectBytes: 12 },             // raw octets (a BDAT chunk), kept in `messages`
 *   { startTls: { key, cert } },     // upgrade to TLS as the server
 *   { wait: 50 }, { drop: true }, { stall: true }, { pause: true }, { end: true },
 * ], { split: 'byte' });
 * // ... run the client against 127.0.0.1:server.port ...
 * await server.done;
 * assert.deepEqual(server.transcript, ['S: 220 mx.test ESMTP', 'C: EHLO client.test', ...]);
 * assert.deepEqual(server.errors, []);
 * ```
 *
 * It serves the first connection only, on port 0. `transcript` has every line as the server
 * saw it (`C:` lines the client sent, `S:` lines the script sent, `C: <N octets>` for data);
 * `reads` has the raw chunks as they arrived (to check that pipelined commands came in one
 * write); `errors` lists every mismatch (the connection is then dropped). After the script,
 * the server waits for the client to close; anything the client sends then is an error.
 * `stall` stops the script but keeps reading; `pause` stops reading too (the client's writes
 * then back up), and `done` only resolves once the test calls `close()`.
 * `split` delivers every `S:`/`send` step whole (default), byte by byte, or cut in two at
 * the given offset.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';

export type ScriptStep =
  | string
  | { send: string | Buffer }
  | { expect: string | RegExp }
  | { expectData: true }
  | { expectBytes: number }
  | { startTls: { key: string; cert: string } }
  | { wait: number }
  | { drop: true }
  | { stall: true }
  | { pause: true }
  | { end: true };

export interface ScriptedServerOptions {
  /** How to deliver what the server sends. Default `whole`. */
  split?: 'whole' | 'byte' | number;
  /** Serve implicit TLS from the first byte. */
  tls?: { key: string; cert: string };
  /** Default 127.0.0.1. */
  host?: string;
}

export interface ScriptedServer {
  port: number;
  host: string;
  transcript: string[];
  reads: Buffer[];
  messages: Buffer[];
  errors: string[];
  /** Resolves when the connection is over (script done and the client gone, or dropped). */
  done: Promise<void>;
  /** Closes everything. */
  close(): Promise<void>;
}

/** Reads lines and octets from a socket in order. */
class Reader {
  #buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #ended = false;

  constructor(socket: Socket | TLSSocket, reads: Buffer[]) {
    socket.on('data', (chunk: Buffer) => {
      reads.push(chunk);
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  async #until(ready: () => boolean): Promise<boolean> {
    while (!ready()) {
      if (this.#ended) return false;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
    return true;
  }

  /** The next line without CRLF, or undefined when the client closed first. */
  async line(): Promise<string | undefined> {
    const ok = await this.#until(() => this.#buffer.includes('\r\n'));
    if (!ok) return undefined;
    const end = this.#buffer.indexOf('\r\n');
    const line = this.#buffer.subarray(0, end).toString('utf8');
    this.#buffer = this.#buffer.subarray(end + 2);
    return line;
  }

  async bytes(n: number): Promise<Buffer | undefined> {
    const ok = await this.#until(() => this.#buffer.length >= n);
    if (!ok) return undefined;
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /** DATA lines up to the lone '.', as sent (still dot-stuffed, CRLF line ends). */
  async data(): Promise<Buffer | undefined> {
    const ok = await this.#until(() => this.#buffer.includes('\r\n.\r\n')
      || this.#buffer.subarray(0, 3).equals(Buffer.from('.\r\n')));
    if (!ok) return undefined;
    if (this.#buffer.subarray(0, 3).equals(Buffer.from('.\r\n'))) {
      this.#buffer = this.#buffer.subarray(3);
      return Buffer.alloc(0);
    }
    const end = this.#buffer.indexOf('\r\n.\r\n');
    const out = this.#buffer.subarray(0, end + 2);
    this.#buffer = this.#buffer.subarray(end + 5);
    return out;
  }

  async closed(): Promise<string | undefined> {
    await this.#until(() => this.#buffer.length > 0);
    if (this.#buffer.length > 0) return this.#buffer.toString('latin1');
    return undefined;
  }
}

function pieces(bytes: Buffer, split: ScriptedServerOptions['split']): Buffer[] {
  if (split === 'byte') return [...bytes].map((b) => Buffer.from([b]));
  if (typeof split === 'number' && split > 0 && split < bytes.length) {
    return [bytes.subarray(0, split), bytes.subarray(split)];
  }
  return [bytes];
}

export async function startScriptedServer(
  script: ScriptStep[],
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  const transcript: string[] = [];
  const reads: Buffer[] = [];
  const messages: Buffer[] = [];
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  let served = false;

  const serve = async (first: Socket): Promise<void> => {
    let socket: Socket = first;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let reader = new Reader(socket, reads);
    const fail = (message: string): void => {
      errors.push(message);
      socket.destroy();
    };
    const write = async (bytes: Buffer): Promise<void> => {
      for (const piece of pieces(bytes, options.split)) {
        if (socket.destroyed) return;
        socket.write(piece);
        if (options.split !== undefined && options.split !== 'whole') await sleep(1);
      }
    };
    for (const step of script) {
      if (socket.destroyed) {
        errors.push(`the connection closed before step ${JSON.stringify(step)}`);
        break;
      }
      if (typeof step === 'string') {
        const text = step.slice(3);
        if (step.startsWith('S: ')) {
          transcript.push(step);
          await write(Buffer.from(`${text}\r\n`, 'utf8'));
          continue;
        }
        if (!step.startsWith('C: ')) throw new Error(`bad script step ${step}`);
        const line = await reader.line();
        if (line === undefined) {
          errors.push(`expected "${text}", but the client closed the connection`);
          break;
        }
        transcript.push(`C: ${line}`);
        if (line !== text) {
          fail(`expected "${text}", got "${line}"`);
          break;
        }
      } else if ('send' in step) {
        const bytes = Buffer.isBuffer(step.send) ? step.send : Buffer.from(step.send, 'utf8');
        transcript.push(`S: ${JSON.stringify(bytes.toString('latin1'))}`);
        await write(bytes);
      } else if ('expect' in step) {
        const line = await reader.line();
        if (line === undefined) {
          errors.push(`expected ${String(step.expect)}, but the client closed the connection`);
          break;
        }
        transcript.push(`C: ${line}`);
        const ok = typeof step.expect === 'string' ? line === step.expect : step.expect.test(line);
        if (!ok) {
          fail(`expected ${String(step.expect)}, got "${line}"`);
          break;
        }
      } else if ('expectData' in step) {
        const data = await reader.data();
        if (data === undefined) {
          errors.push('expected message data, but the client closed the connection');
          break;
        }
        messages.push(data);
        transcript.push(`C: <${data.length} octets>`, 'C: .');
      } else if ('expectBytes' in step) {
        const data = await reader.bytes(step.expectBytes);
        if (data === undefined) {
          errors.push(`expected ${step.expectBytes} octets, but the client closed the connection`);
          break;
        }
        messages.push(data);
        transcript.push(`C: <${data.length} octets>`);
      } else if ('startTls' in step) {
        if (reader.buffered > 0) {
          fail('the client sent data before the TLS handshake');
          break;
        }
        transcript.push('*: TLS');
        socket.removeAllListeners('data');
        const secure = new TLSSocket(socket, { isServer: true, ...step.startTls });
        secure.on('error', () => {});
        socket = secure;
        reader = new Reader(secure, reads);
        try {
          await once(secure, 'secure');
        } catch {
          errors.push('the TLS handshake failed');
          break;
        }
      } else if ('wait' in step) {
        await sleep(step.wait);
      } else if ('drop' in step) {
        transcript.push('*: drop');
        socket.destroy();
        break;
      } else if ('end' in step) {
        transcript.push('*: end');
        socket.end();
        break;
      } else if ('stall' in step) {
        transcript.push('*: stall');
        break;
      } else if ('pause' in step) {
        transcript.push('*: pause');
        socket.pause();
        await new Promise<void>((resolve) => socket.once('close', () => resolve()));
        break;
      }
    }
    if (!socket.destroyed) {
      const extra = await reader.closed();
      if (extra !== undefined) {
        transcript.push(`C: ${extra.replace(/\r\n$/, '')}`);
        errors.push(`unexpected client data after the script: ${JSON.stringify(extra)}`);
      }
    }
    socket.destroy();
  };

  const onConnection = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (served) {
      socket.destroy();
      return;
    }
    served = true;
    serve(socket).then(resolveDone, (error: unknown) => {
      errors.push(`script crashed: ${String(error)}`);
      resolveDone();
    });
  };
  const server: Server = options.tls
    ? createTlsServer({ ...options.tls } satisfies TlsOptions, onConnection)
    : createServer(onConnection);
  if (options.tls) server.on('tlsClientError', () => {});
  const host = options.host ?? '127.0.0.1';
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');

  return {
    port: address.port,
    host,
    transcript,
    reads,
    messages,
    errors,
    done,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
