/**
 * `SmtpConnectionManager`: SSIS's SMTP connection manager. A named description of a mail server
 * (a connection string) that turns into live, encrypted, authenticated sessions on demand,
 * pooled, with a test-connection report and pickup-directory delivery.
 */
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import type { SmtpClient } from '../client/smtp-client.js';
import type {
  Envelope,
  MessageSource,
  SendOptions,
  SendResult,
  SessionStep,
  SmtpClientOptions,
  TlsInfo,
} from '../client/types.js';
import {
  ConfigurationError,
  formatEndpoint,
  SmtpCommandError,
  SmtpConnectionError,
  SmtpError,
  SmtpRecipientsError,
  SmtpTimeoutError,
} from '../errors.js';
import {
  formatTranscriptLine,
  silentLogger,
  type Logger,
  type TranscriptLine,
  type TranscriptLogger,
} from '../log.js';
import { formatReply } from '../protocol/reply.js';
import {
  DEFAULT_PORT,
  formatConnectionString,
  parseConnectionString,
  resolveSettings,
  type ResolvedSettings,
  type SmtpConnectionProperties,
} from './connection-string.js';
import { writeToPickupDirectory } from './pickup-directory.js';
import { ConnectionPool, type PooledConnection, type PoolStats } from './pool.js';
import { validateConnection, type ValidationResult } from './validate.js';

/** Tuning of the pool; the connection string holds the sizes (`MaxConnections`...). */
export interface PoolTuning {
  /** Close a session unused this long. Default 30 000 ms. */
  idleTimeoutMs?: number;
  /** NOOP a session idle longer than this before reusing it. Default 5 000 ms. */
  healthCheckAfterMs?: number;
  /** The longest a NOOP health check or a closing QUIT may take. Default 5 000 ms. */
  healthCheckTimeoutMs?: number;
  /**
   * Lets concurrent `send()` calls pipeline on one session, up to its window
   * (`SmtpClient.maxInFlight`), once every session the pool may open is busy. Default: true
   * when `MaxConnections=1`; false otherwise, where sends spread across sessions one at a
   * time, so that a lost session fails one send, not a window of them (each retried once
   * only when it is known to have sent nothing). See docs/pipelining.md.
   */
  sharedSessions?: boolean;
}

export interface SmtpConnectionManagerInit {
  /** SSIS `ObjectName`. Default `SMTP Connection Manager` (what the SSIS designer names it). */
  name?: string;
  /** SSIS `Description`. Default empty. */
  description?: string;
  /** SSIS `DTSID`, a GUID in braces. Default: a new one. */
  id?: string;
  connectionString: string;
  /** Receives facts about sessions, retries and warnings. Default: silent. */
  logger?: Logger;
  /** Receives every line of every session, AUTH exchanges masked. */
  transcript?: TranscriptLogger;
  pool?: PoolTuning;
  /**
   * Makes the client for a session. Default `new SmtpClient(options)`; tests and
   * instrumentation may wrap it.
   */
  createClient?: (options: SmtpClientOptions) => SmtpClient | Promise<SmtpClient>;
}

/** One step of `testConnection()`, in order. */
export interface TestConnectionStep {
  /** `configuration`, `resolve`, `connect`, `tls-handshake`, `greeting`, `ehlo`, `starttls`,
   *  `auth`, `quit`; for pickup delivery `configuration`, `folder`. */
  name: string;
  ok: boolean;
  durationMs: number;
  detail?: string;
}

export interface TestConnectionReport {
  success: boolean;
  /** The manager's name and the connection string with secrets masked. */
  connection: { name: string; connectionString: string };
  deliveryMethod: 'Network' | 'PickupDirectory';
  /** Host, port and TLS mode tried (Network only). */
  server?: { host: string; port: number; secure: string };
  /** The IP address connected to (or that the name resolved to when connecting failed). */
  resolvedAddress?: string;
  steps: TestConnectionStep[];
  /** The server's 220 greeting, one line. */
  greeting?: string;
  /** Protocol, cipher and certificate, when the session was encrypted. */
  tls?: TlsInfo;
  /** EHLO keywords with their parameters as advertised last (after STARTTLS when used). */
  extensions: string[];
  /** The SASL mechanism that logged in; undefined for anonymous sessions. */
  mechanism?: string;
  /** The whole conversation, `C:`/`S:` lines, AUTH exchanges masked. */
  transcript: string[];
  /** The step that failed, when `success` is false. */
  failedStep?: string;
  error?: { name: string; code?: string; message: string; fix?: string };
  /**
   * The error that ended the test, for callers that explain it further (the CLI gives it the
   * fix `send` would). Not enumerable: `error` is what JSON shows.
   */
  readonly failure?: unknown;
  totalMs: number;
}

const DEFAULT_NAME = 'SMTP Connection Manager';

function newDtsId(): string {
  return `{${randomUUID().toUpperCase()}}`;
}

/** True for a message source that can be produced again for a second attempt. */
function replayable(message: MessageSource): boolean {
  if (typeof message === 'function' || typeof message === 'string') return true;
  if (Buffer.isBuffer(message)) return true;
  const stream = message as Readable;
  return !stream.readableDidRead && !stream.destroyed;
}

async function defaultCreateClient(options: SmtpClientOptions): Promise<SmtpClient> {
  const { SmtpClient: Client } = await import('../client/smtp-client.js');
  return new Client(options);
}

function elapsed(start: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100;
}

export class SmtpConnectionManager {
  name: string;
  description: string;
  readonly id: string;
  #props: SmtpConnectionProperties;
  readonly #logger: Logger;
  readonly #transcript: TranscriptLogger | undefined;
  readonly #tuning: Required<Omit<PoolTuning, 'sharedSessions'>>;
  readonly #sharedSessions: boolean | undefined;
  readonly #createClient: (options: SmtpClientOptions) => SmtpClient | Promise<SmtpClient>;
  #pool: ConnectionPool | undefined;
  readonly #retiredPools = new Set<ConnectionPool>();
  #poolSettings: Promise<ResolvedSettings> | undefined;

  /**
   * Throws `ConfigurationError` when the connection string cannot be parsed (syntax, unknown
   * key, wrong value, contradiction). An empty `SmtpServer` is accepted here, as SSIS loads an
   * incomplete package, and reported by `validate()` and when a session is needed.
   */
  constructor(init: SmtpConnectionManagerInit) {
    this.name = init.name ?? DEFAULT_NAME;
    this.description = init.description ?? '';
    this.id = init.id ?? newDtsId();
    this.#props = parseConnectionString(init.connectionString, { allowEmptyServer: true });
    this.#logger = init.logger ?? silentLogger;
    this.#transcript = init.transcript;
    this.#tuning = {
      idleTimeoutMs: init.pool?.idleTimeoutMs ?? 30_000,
      healthCheckAfterMs: init.pool?.healthCheckAfterMs ?? 5_000,
      healthCheckTimeoutMs: init.pool?.healthCheckTimeoutMs ?? 5_000,
    };
    this.#sharedSessions = init.pool?.sharedSessions;
    this.#createClient = init.createClient ?? defaultCreateClient;
  }

  /**
   * The canonical connection string (SSIS keys first), secrets as given: literals in clear,
   * `env:`/`file:` references as written. Use `toString()` for display. Setting it parses the
   * new string (throws `ConfigurationError` as the constructor does) and closes pooled
   * sessions opened with the old settings.
   */
  get connectionString(): string {
    return formatConnectionString(this.#props, { maskSecrets: false });
  }

  set connectionString(text: string) {
    this.#replace(parseConnectionString(text, { allowEmptyServer: true }));
  }

  /**
   * The typed properties. The object is live: assigning one of its fields
   * (`manager.properties.port = 587`) re-checks the whole set (throws `ConfigurationError` on a
   * wrong value or a contradiction) and updates `connectionString`; assigning `undefined`
   * removes an optional key; assigning `secureSocketOptions` also sets `enableSsl` to agree
   * (true for `StartTls` and `SslOnConnect`). Assigning `properties` replaces them all.
   */
  get properties(): SmtpConnectionProperties {
    const snapshot: SmtpConnectionProperties = { ...this.#props };
    return new Proxy(snapshot, {
      set: (target, key, value: unknown) => {
        const next: Record<string, unknown> = { ...this.#props };
        if (value === undefined) delete next[key as string];
        else next[key as string] = value;
        if (key === 'secureSocketOptions' && value !== undefined) {
          // EnableSsl means "TLS required"; choosing a mode sets it to agree, as parsing does.
          next.enableSsl = value === 'StartTls' || value === 'SslOnConnect';
        }
        this.properties = next as unknown as SmtpConnectionProperties;
        // The snapshot follows what was accepted.
        for (const name of Object.keys(target)) {
          delete (target as unknown as Record<string, unknown>)[name];
        }
        Object.assign(target, this.#props);
        return true;
      },
      deleteProperty: (target, key) => {
        const next: Record<string, unknown> = { ...this.#props };
        delete next[key as string];
        this.properties = next as unknown as SmtpConnectionProperties;
        for (const name of Object.keys(target)) {
          delete (target as unknown as Record<string, unknown>)[name];
        }
        Object.assign(target, this.#props);
        return true;
      },
    });
  }

  set properties(props: SmtpConnectionProperties) {
    const known = new Set(PROPERTY_NAMES);
    for (const key of Object.keys(props)) {
      if (!known.has(key)) {
        throw new ConfigurationError(key, 'is not a property of an SMTP connection.',
          `The properties are: ${PROPERTY_NAMES.join(', ')}.`);
      }
    }
    // Formatting and parsing back checks every type and contradiction with the parser's rules.
    const text = formatConnectionString(props, { maskSecrets: false });
    this.#replace(parseConnectionString(text, { allowEmptyServer: true }));
  }

  /** The connection string with secrets masked: for display and logs. */
  toString(): string {
    return formatConnectionString(this.#props, { maskSecrets: true });
  }

  /** Pool counters (idle, busy, opening, waiting, opened), for monitoring and tests. */
  get poolStats(): PoolStats {
    return this.#pool?.stats ?? { idle: 0, busy: 0, opening: 0, waiting: 0, opened: 0 };
  }

  /** Every problem found without the network (see `validateConnection`). Never throws. */
  validate(): ValidationResult {
    return validateConnection(this.#props);
  }

  /**
   * Lends a ready session from the pool (connected, TLS as configured, authenticated). Give it
   * back with `releaseConnection`, in a `finally`.
   *
   * Throws `ConfigurationError` when validation finds an error or a secret cannot be read,
   * or for pickup delivery (no session exists); otherwise what connecting throws
   * (`SmtpConnectionError`, `SmtpTlsError`, `SmtpTimeoutError`, `SmtpAuthenticationError`...).
   */
  async acquireConnection(options: { fresh?: boolean } = {}): Promise<PooledConnection> {
    const pool = await this.#getPool();
    return pool.acquire(options);
  }

  /**
   * Takes a session back. Pass `broken: true` after an error that left it unusable; a session
   * in the middle of a transaction must be reset (`client.reset()`) or released as broken.
   */
  releaseConnection(connection: PooledConnection, options: { broken?: boolean } = {}): void {
    this.#pool?.release(connection, options);
    // A session lent before close() or a change of settings goes back to its own pool.
    for (const pool of this.#retiredPools) {
      pool.release(connection, options);
      const { busy, opening } = pool.stats;
      if (busy === 0 && opening === 0) this.#retiredPools.delete(pool);
    }
  }

  /**
   * Sends one message: acquire, send, release. When the send fails with
   * `SmtpConnectionError` (the connection dropped or a 421 closed it before the message was
   * handed over, so nothing was delivered), it is sent once more on a fresh connection, if the
   * message can be produced again (a Buffer, a string, a function returning a new stream, or a
   * stream not yet read); when that fails too, the error says so. `SmtpUnknownOutcomeError` is
   * never retried: the server may have the message. Nor is a send the caller aborted
   * (`options.signal`): its error is the client's, saying it was aborted; one aborted while
   * it waits for a pooled session stops waiting at once.
   *
   * With `DeliveryMethod=PickupDirectory` the message is written as an `.eml` file instead
   * (see pickup-directory.ts) and every recipient is reported accepted.
   *
   * Throws what the client throws (see src/errors.ts) and `ConfigurationError` for settings
   * that cannot work.
   */
  async send(
    envelope: Envelope,
    message: MessageSource,
    options?: SendOptions,
  ): Promise<SendResult> {
    if (this.#props.deliveryMethod === 'PickupDirectory') {
      return this.#writePickup(envelope, message);
    }

    const pool = await this.#getPool();
    const shared = this.#sharedSessions ?? pool.maxConnections === 1;
    let first: SmtpConnectionError | undefined;
    for (let attempt = 1; attempt <= 2; attempt++) {
      // Shared: concurrent sends pipeline on a session with room in its window.
      const connection = await pool.acquire({ fresh: attempt > 1, shared,
        signal: options?.signal });
      try {
        const result = await connection.client.send(envelope, message, options);
        pool.release(connection);
        if (first) {
          this.#logger.info({ connection: this.name, connectionId: connection.id },
            'The message was sent on a fresh connection after the first one dropped.');
        }
        return result;
      } catch (error) {
        const sessionSurvives = (error instanceof SmtpCommandError ||
          error instanceof SmtpRecipientsError) && connection.client.alive;
        pool.release(connection, { broken: !sessionSurvives });
        // The caller's own abort is not a dropped connection: the client's error says the
        // send was aborted (and whether anything was delivered); no fresh connection.
        if (options?.signal?.aborted) throw error;
        if (error instanceof SmtpConnectionError && attempt === 1 && replayable(message)) {
          first = error;
          this.#logger.warn({ connection: this.name, connectionId: connection.id,
            stage: error.stage, error: error.message },
            'The SMTP connection failed before the message was handed over (nothing was ' +
            'delivered); sending once more on a fresh connection.');
          continue;
        }
        if (first && error instanceof SmtpConnectionError) {
          throw new SmtpConnectionError(
            `${error.message} This was the second attempt, on a fresh connection; the first ` +
            `failed too (${first.message}). The message was not delivered.`,
            error.stage,
            {
              cause: error,
              transcript: error.transcript,
              ...(error.reply ? { reply: error.reply } : {}),
            },
          );
        }
        if (first) {
          this.#logger.error({ connection: this.name, error: (error as Error).message },
            'The retry on a fresh connection failed too.');
        }
        throw error;
      }
    }
    // The loop returns or throws on its second pass.
    throw new Error('unreachable');
  }

  /**
   * Connects, upgrades to TLS as configured, authenticates, and quits, timing each step; never
   * throws for a failure of the server or the settings: the report says which step failed and
   * why. For pickup delivery it checks that the folder exists and is writable.
   */
  async testConnection(): Promise<TestConnectionReport> {
    const started = process.hrtime.bigint();
    const report: TestConnectionReport = {
      success: false,
      connection: { name: this.name, connectionString: this.toString() },
      deliveryMethod: this.#props.deliveryMethod ?? 'Network',
      steps: [],
      extensions: [],
      transcript: [],
      totalMs: 0,
    };
    const fail = (step: string, error: unknown): TestConnectionReport => {
      report.failedStep = step;
      report.error = describeError(error);
      Object.defineProperty(report, 'failure', { value: error, enumerable: false });
      report.totalMs = elapsed(started);
      return report;
    };

    let stepStart = process.hrtime.bigint();
    const problems = this.validate();
    let settings: ResolvedSettings;
    try {
      if (problems.errors.length > 0) {
        const problem = problems.errors[0]!;
        throw new ConfigurationError(problem.field, problem.message, problem.fix);
      }
      settings = await resolveSettings(this.#props);
    } catch (error) {
      report.steps.push({ name: 'configuration', ok: false, durationMs: elapsed(stepStart) });
      return fail('configuration', error);
    }
    report.steps.push({
      name: 'configuration',
      ok: true,
      durationMs: elapsed(stepStart),
      detail: problems.warnings.length > 0
        ? `${problems.warnings.length} warning(s): ` +
          problems.warnings.map((w) => w.field).join(', ')
        : undefined,
    });

    if (settings.deliveryMethod === 'PickupDirectory') {
      stepStart = process.hrtime.bigint();
      const folder = settings.pickupDirectoryLocation ?? '';
      try {
        if (!(await stat(folder)).isDirectory()) {
          throw new ConfigurationError('PickupDirectoryLocation', `${folder} is not a folder.`,
            'Give the path of a folder.');
        }
        await access(folder, constants.W_OK);
      } catch (error) {
        report.steps.push({ name: 'folder', ok: false, durationMs: elapsed(stepStart) });
        return fail('folder', error);
      }
      report.steps.push({ name: 'folder', ok: true, durationMs: elapsed(stepStart),
        detail: `${folder} is writable` });
      report.success = true;
      report.totalMs = elapsed(started);
      return report;
    }

    const options = settings.client;
    report.server = {
      host: options.host,
      port: options.port ?? 25,
      secure: options.secure ?? 'Auto',
    };

    stepStart = process.hrtime.bigint();
    if (isIP(options.host) === 0) {
      try {
        report.resolvedAddress = (await lookup(options.host)).address;
        report.steps.push({ name: 'resolve', ok: true, durationMs: elapsed(stepStart),
          detail: report.resolvedAddress });
      } catch (error) {
        report.steps.push({ name: 'resolve', ok: false, durationMs: elapsed(stepStart) });
        return fail('resolve', new SmtpConnectionError(
          `The name ${options.host} does not resolve (${(error as NodeJS.ErrnoException).code}).`,
          'connect', { cause: error }));
      }
    }

    const transcript = (line: TranscriptLine): void => {
      report.transcript.push(formatTranscriptLine(line));
      this.#transcript?.(line);
    };
    let client: SmtpClient | undefined;
    let phase = 'connect';
    try {
      client = await this.#createClient({ ...options, transcript, logger: this.#logger });
      stepStart = process.hrtime.bigint();
      await client.connect({
        onStep: (step: SessionStep) => {
          report.steps.push({ name: step.name, ok: true, durationMs: step.durationMs,
            ...(step.detail !== undefined ? { detail: step.detail } : {}) });
          phase = nextPhase(step.name, options.secure ?? 'Auto');
          stepStart = process.hrtime.bigint();
        },
      });
      report.resolvedAddress = client.remoteAddress ?? report.resolvedAddress;
      report.greeting = client.greeting ? formatReply(client.greeting) : undefined;
      report.tls = client.tlsInfo;
      report.extensions = describeCapabilities(client);

      phase = 'auth';
      stepStart = process.hrtime.bigint();
      const mechanism = await client.authenticate();
      report.mechanism = mechanism;
      report.steps.push({ name: 'auth', ok: true, durationMs: elapsed(stepStart),
        detail: mechanism ?? 'anonymous: no AUTH command sent' });

      phase = 'quit';
      stepStart = process.hrtime.bigint();
      await client.quit();
      report.steps.push({ name: 'quit', ok: true, durationMs: elapsed(stepStart) });
      report.success = true;
      report.totalMs = elapsed(started);
      return report;
    } catch (error) {
      const step = failedStepOf(error, phase);
      report.steps.push({ name: step, ok: false, durationMs: elapsed(stepStart) });
      if (client) {
        report.resolvedAddress = client.remoteAddress ?? report.resolvedAddress;
        report.tls ??= client.tlsInfo;
        if (report.extensions.length === 0) report.extensions = describeCapabilities(client);
      }
      return fail(step, error);
    } finally {
      client?.destroy();
    }
  }

  /**
   * Closes every pooled session (QUIT, bounded by the health-check timeout). Callers waiting
   * for a session fail; sessions in use close when released. The manager can be used again
   * afterwards: a new pool opens on demand.
   */
  async close(): Promise<void> {
    await this.#retirePool();
  }

  #replace(props: SmtpConnectionProperties): void {
    this.#props = props;
    void this.#retirePool();
  }

  /** Closes the current pool; sessions still lent out close when they are released. */
  async #retirePool(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#poolSettings = undefined;
    if (!pool) return;
    const { busy, opening } = pool.stats;
    if (busy > 0 || opening > 0) this.#retiredPools.add(pool);
    await pool.close();
  }

  async #getPool(): Promise<ConnectionPool> {
    if (this.#props.deliveryMethod === 'PickupDirectory') {
      throw new ConfigurationError('DeliveryMethod',
        'DeliveryMethod=PickupDirectory writes files and opens no SMTP session.',
        'Use send() to write a message, or set DeliveryMethod=Network.');
    }
    if (this.#pool) return this.#pool;
    const { errors } = this.validate();
    if (errors.length > 0) {
      const problem = errors[0]!;
      throw new ConfigurationError(problem.field, problem.message, problem.fix);
    }
    this.#poolSettings ??= resolveSettings(this.#props);
    const pending = this.#poolSettings;
    let settings: ResolvedSettings;
    try {
      settings = await pending;
    } catch (error) {
      if (this.#poolSettings === pending) this.#poolSettings = undefined;
      throw error;
    }
    if (this.#pool) return this.#pool;
    this.#pool = new ConnectionPool({
      maxConnections: settings.maxConnections,
      maxMessagesPerConnection: settings.maxMessagesPerConnection,
      idleTimeoutMs: this.#tuning.idleTimeoutMs,
      healthCheckAfterMs: this.#tuning.healthCheckAfterMs,
      healthCheckTimeoutMs: this.#tuning.healthCheckTimeoutMs,
      acquireTimeoutMs: settings.timeoutMs,
      logger: this.#logger,
      name: this.name,
      open: () => this.#openSession(settings.client),
    });
    return this.#pool;
  }

  async #openSession(options: SmtpClientOptions): Promise<SmtpClient> {
    const client = await this.#createClient({
      ...options,
      logger: this.#logger,
      ...(this.#transcript ? { transcript: this.#transcript } : {}),
    });
    try {
      await client.connect();
      const mechanism = await client.authenticate();
      // resolveSettings always sets the port; 25 is only the client's own default.
      const server = formatEndpoint(options.host, options.port ?? DEFAULT_PORT);
      this.#logger.debug({ connection: this.name, server,
        mechanism: mechanism ?? 'none', tls: client.tlsInfo?.protocol ?? 'none' },
        'Opened an SMTP session for the pool.');
      return client;
    } catch (error) {
      client.destroy();
      throw error;
    }
  }

  async #writePickup(envelope: Envelope, message: MessageSource): Promise<SendResult> {
    const { errors } = this.validate();
    if (errors.length > 0) {
      const problem = errors[0]!;
      throw new ConfigurationError(problem.field, problem.message, problem.fix);
    }
    const result = await writeToPickupDirectory(this.#props.pickupDirectoryLocation!, envelope,
      message);
    this.#logger.info(
      { connection: this.name, path: result.path, recipients: result.accepted.length },
      'Wrote the message to the pickup directory.');
    const { path: _path, ...sendResult } = result;
    return sendResult;
  }
}

/** The property names of `SmtpConnectionProperties`, in canonical order. */
const PROPERTY_NAMES = [
  'smtpServer', 'useWindowsAuthentication', 'enableSsl', 'timeout', 'port',
  'secureSocketOptions', 'userName', 'password', 'domain', 'targetName', 'authMechanisms',
  'accessToken', 'clientDomain', 'trustServerCertificate', 'caFile', 'certificateThumbprint',
  'minTlsVersion', 'allowInsecureAuth', 'maxConnections', 'maxMessagesPerConnection',
  'deliveryMethod', 'pickupDirectoryLocation',
];

/** The step that comes after `done` while connecting, for naming a failure. */
function nextPhase(done: SessionStep['name'], secure: string): string {
  switch (done) {
    case 'connect':
      return secure === 'SslOnConnect' ? 'tls-handshake' : 'greeting';
    case 'tls-handshake':
      return 'greeting';
    case 'greeting':
      return 'ehlo';
    case 'ehlo':
    case 'helo':
      return secure === 'None' ? 'ehlo' : 'starttls';
    case 'starttls':
      return 'ehlo';
    case 'auth':
      return 'auth';
  }
}

function failedStepOf(error: unknown, phase: string): string {
  if (error instanceof SmtpConnectionError || error instanceof SmtpTimeoutError) {
    return error.stage === 'idle' ? phase : error.stage;
  }
  if (error instanceof SmtpCommandError) {
    const verb = error.command.split(' ')[0]!.toLowerCase();
    return verb === 'ehlo' || verb === 'helo' || verb === 'starttls' || verb === 'auth'
      ? verb : phase;
  }
  if (error instanceof SmtpError && error.code === 'ETLS') {
    return phase === 'connect' || phase === 'tls-handshake' ? 'tls-handshake' : 'starttls';
  }
  if (error instanceof SmtpError && error.code === 'EAUTH') return 'auth';
  return phase;
}

function describeError(error: unknown): NonNullable<TestConnectionReport['error']> {
  if (error instanceof ConfigurationError) {
    return { name: error.name, code: error.code, message: error.message, fix: error.fix };
  }
  if (error instanceof SmtpError) {
    return { name: error.name, code: error.code, message: error.message };
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { name: error.name, ...(code ? { code } : {}), message: error.message };
  }
  return { name: 'Error', message: String(error) };
}

function describeCapabilities(client: SmtpClient): string[] {
  const capabilities = client.capabilities;
  if (!capabilities) return [];
  return [...capabilities.keywords].map(([keyword, parameters]) =>
    parameters ? `${keyword} ${parameters}` : keyword);
}
