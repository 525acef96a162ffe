/**
 * Shared pieces of the hostile-server tests: a client with short timeouts, a deadline every
 * case must meet, the canary secrets, and a session runner that returns the outcome instead
 * of throwing.
 */
import assert from 'node:assert/strict';
import { SmtpClient } from '../../src/client/smtp-client.js';
import type { SecureSocketOptions, SmtpClientOptions } from '../../src/client/types.js';
import type { AuthOptions } from '../../src/auth/mechanism.js';
import { formatTranscriptLine, type Logger } from '../../src/log.js';
import { Secret } from '../../src/secret.js';
import type { SendResult } from '../../src/client/types.js';

/** Every wait of a hostile case, in ms: short, so a hang shows at once. */
export const WAIT_MS = 400;
/** What a case may take beyond its configured timeouts (scheduling, TLS, QUIT grace). */
export const MARGIN_MS = 1_500;

/** The canary password and token: they must never appear in any output. */
export const CANARY_PASSWORD = 'Canary-Pw-7c1f9e2a!';
export const CANARY_TOKEN = 'ya29.canary-token-5d8b3f0e41';
export const CANARY_USER = 'canary.user@fault.test';

/** The canary secrets and the encoded forms a mechanism could leak them in. */
export function canaryForms(): string[] {
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  return [
    CANARY_PASSWORD,
    CANARY_TOKEN,
    b64(CANARY_PASSWORD),
    b64(CANARY_TOKEN),
    b64(`\0${CANARY_USER}\0${CANARY_PASSWORD}`),
    b64(`user=${CANARY_USER}\x01auth=Bearer ${CANARY_TOKEN}\x01\x01`),
    encodeURIComponent(CANARY_PASSWORD),
  ];
}

/** Asserts that `text` holds none of the canary forms; names the case on failure. */
export function assertNoSecrets(text: string, where: string): void {
  for (const form of canaryForms()) {
    // The message never repeats the secret: it says where and which form (by index).
    assert.ok(!text.includes(form), `a secret (form ${canaryForms().indexOf(form)}) leaked ` +
      `into ${where}`);
  }
}

export function passwordAuth(extra: Partial<AuthOptions> = {}): AuthOptions {
  return { username: CANARY_USER, password: new Secret(CANARY_PASSWORD), ...extra };
}

/** A logger that keeps every line, fields as JSON. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (fields: Record<string, unknown>, message: string): void => {
    lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export interface ClientSetup extends Partial<SmtpClientOptions> {
  port: number;
  secure?: SecureSocketOptions;
}

/** A client of 127.0.0.1:port with every timeout `WAIT_MS` unless overridden. */
export function faultClient(setup: ClientSetup): SmtpClient & { lines: string[] } {
  const lines: string[] = [];
  const { port, timeouts, ...rest } = setup;
  const client = new SmtpClient({
    host: '127.0.0.1',
    clientName: 'client.fault.test',
    secure: 'None',
    transcript: (line) => lines.push(formatTranscriptLine(line)),
    ...rest,
    port,
    timeouts: {
      connect: WAIT_MS,
      greeting: WAIT_MS,
      command: WAIT_MS,
      dataInitiation: WAIT_MS,
      dataBlock: WAIT_MS,
      dataTermination: WAIT_MS,
      ...timeouts,
    },
  });
  return Object.assign(client, { lines });
}

/** What a whole session came to: the result, or the error it threw. */
export interface Outcome {
  result?: SendResult;
  error?: unknown;
  /** Which call failed. */
  failedAt?: 'connect' | 'authenticate' | 'send';
  elapsedMs: number;
}

export const ENVELOPE = { from: 'sender@fault.test', to: ['rcpt@fault.test'] };
export const MESSAGE = 'Subject: fault\r\n\r\nHello.\r\n';

/**
 * connect, authenticate (when `auth` is set), send, quit; never throws. The client is
 * destroyed at the end whatever happened.
 */
export async function runSession(client: SmtpClient,
  message: Parameters<SmtpClient['send']>[1] = MESSAGE): Promise<Outcome> {
  const started = Date.now();
  let failedAt: Outcome['failedAt'] = 'connect';
  try {
    await client.connect();
    failedAt = 'authenticate';
    await client.authenticate();
    failedAt = 'send';
    const result = await client.send(ENVELOPE, message);
    await client.quit();
    return { result, elapsedMs: Date.now() - started };
  } catch (error) {
    return { error, failedAt, elapsedMs: Date.now() - started };
  } finally {
    client.destroy();
  }
}

/**
 * Runs `work` and fails the test when it has not settled within `limitMs` (a hang). The
 * work's own result or error is returned as it is.
 */
export async function within<T>(limitMs: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({
      message: `did not finish within ${limitMs} ms (its timeouts plus ${MARGIN_MS} ms)`,
    })), limitMs);
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts `error` is an instance of `type`, with a readable failure. */
export function assertError<T extends Error>(error: unknown,
  type: abstract new (...args: never[]) => T, why = ''): asserts error is T {
  assert.ok(error instanceof type, `expected ${type.name}${why ? ` (${why})` : ''}, got ` +
    `${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
}
