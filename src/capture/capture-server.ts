/**
 * The embedded capture server: a local SMTP server (the `smtp-server` package) that accepts
 * every message and writes each one, byte for byte as received, to an `.eml` file.
 *
 * For demos and for users testing their packages without a real mail server. It accepts any
 * sender and recipient; with `tls` it offers STARTTLS with a certificate from a throw-away CA
 * (written as `ca.pem` in the capture directory, for the client's `CaFile`); with `auth` it
 * requires AUTH PLAIN or LOGIN and accepts any user name and password. It never relays.
 *
 * Files are written atomically: a hidden temporary name in the same directory, fsync, then a
 * rename, so a watcher never sees half a message.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { formatEndpoint } from '../errors.js';

export interface CaptureServerOptions {
  /** Where `.eml` files go (created when missing). */
  dir: string;
  /** 0 (the default) picks a free port; see `CaptureServer.port`. */
  port?: number;
  /** Default `127.0.0.1`: loopback only. */
  host?: string;
  /** Offer STARTTLS with a certificate for localhost, 127.0.0.1 and the host. Default false. */
  tls?: boolean;
  /** Require AUTH (PLAIN, LOGIN); any user name and password are accepted. Default false. */
  auth?: boolean;
  /** Called after each message is safely on disk. */
  onMessage?(message: CapturedMessage): void;
}

export interface CapturedMessage {
  /** The `.eml` file, absolute. */
  path: string;
  /** The envelope sender (`MAIL FROM`), empty for `<>`. */
  from: string;
  /** Every accepted `RCPT TO`, in order: Bcc recipients included. */
  to: string[];
  /** Octets written (the message as received, dot-stuffing removed). */
  size: number;
  /** The user name given to AUTH, when there was one. Passwords are never kept. */
  user?: string;
  /** `STARTTLS` when the message arrived over TLS, else `none`. */
  tls: 'STARTTLS' | 'none';
}

export interface CaptureServer {
  readonly host: string;
  readonly port: number;
  /** The CA certificate file clients should trust, when `tls` is on. */
  readonly caPath: string | undefined;
  readonly dir: string;
  /** Every message captured so far, oldest first. */
  readonly messages: CapturedMessage[];
  /** Stops listening and ends open sessions (after at most a second). */
  close(): Promise<void>;
}

/**
 * Starts the server; resolves once it listens. Throws (code `EADDRINUSE`, `EACCES`...) when the
 * address cannot be bound, with a message that names it.
 */
export async function startCaptureServer(options: CaptureServerOptions): Promise<CaptureServer> {
  const dir = resolve(options.dir);
  const host = options.host ?? '127.0.0.1';
  await mkdir(dir, { recursive: true });

  let tlsFiles: { key: string; cert: string } | undefined;
  let caPath: string | undefined;
  if (options.tls) {
    const { createTestAuthority } = await import('./certificates.js');
    const authority = createTestAuthority();
    const names = [...new Set(['localhost', '127.0.0.1', '::1', host])];
    tlsFiles = authority.issue(names);
    caPath = join(dir, 'ca.pem');
    await writeFile(caPath, authority.caCert);
  }

  const messages: CapturedMessage[] = [];
  let sequence = 0;
  const server = new SMTPServer({
    name: 'localhost',
    banner: 'smtpcm capture server: every message is written to a file, none is relayed',
    disableReverseLookup: true,
    closeTimeout: 1000,
    logger: false,
    hideSTARTTLS: !options.tls,
    ...(tlsFiles ? { key: tlsFiles.key, cert: tlsFiles.cert } : {}),
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !options.auth,
    disabledCommands: options.auth ? [] : ['AUTH'],
    // Without TLS there is nothing to protect the password with; this server is a test tool.
    allowInsecureAuth: !options.tls,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? '' });
    },
    onData(stream, session, callback) {
      sequence += 1;
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${sequence}`;
      const finalPath = join(dir, `${name}.eml`);
      const tempPath = join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
      writeAtomically(stream, tempPath, finalPath)
        .then((size) => {
          const message: CapturedMessage = {
            path: finalPath,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r: SMTPServerAddress) => r.address),
            size,
            tls: session.secure ? 'STARTTLS' : 'none',
            ...(typeof session.user === 'string' && session.user ? { user: session.user } : {}),
          };
          messages.push(message);
          options.onMessage?.(message);
          callback(null, `Message captured as ${name}.eml`);
        })
        .catch((error: Error) => {
          stream.resume();
          callback(new Error(`Could not write the message: ${error.message}`));
        });
    },
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const fix = error.code === 'EADDRINUSE' ? ' Choose another port (0 picks a free one).' : '';
      rejectListen(
        Object.assign(
          new Error(`Cannot listen on ${formatEndpoint(host, options.port ?? 0)}: ` +
            `${error.message}.${fix}`),
          { code: error.code },
        ),
      );
    };
    // smtp-server re-emits the listening socket's errors on itself.
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolveListen();
    });
  });
  // Errors of single sessions (a client hanging up) must not end the server.
  server.on('error', () => {});
  const port = (server.server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    caPath,
    dir,
    messages,
    close() {
      closing ??= new Promise<void>((done) => server.close(() => done()));
      return closing;
    },
  };
}

async function writeAtomically(
  stream: NodeJS.ReadableStream,
  tempPath: string,
  finalPath: string,
): Promise<number> {
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    size += chunk.length;
  });
  try {
    await pipeline(stream, createWriteStream(tempPath, { flags: 'wx', mode: 0o600 }));
    const handle = await open(tempPath, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, finalPath);
    return size;
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}
