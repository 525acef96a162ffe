/**
 * The connection pool behind `SmtpConnectionManager`: live, authenticated sessions to one
 * server, handed out one caller at a time.
 *
 * - At most `maxConnections` sessions exist (idle, in use, or being opened); callers beyond
 *   that wait in order, up to `acquireTimeoutMs`.
 * - A session is replaced after `maxMessagesPerConnection` messages, closed politely (QUIT)
 *   after `idleTimeoutMs` unused, and checked with NOOP before reuse when it has been idle for
 *   more than `healthCheckAfterMs` (servers drop idle clients; RFC 5321 §4.5.3.2 lets them
 *   after 5 minutes, busy Postfix after 10 s).
 * - A session the server closed (421, dropped socket) leaves the pool as soon as it is seen.
 * - A `shared` caller (one `send()`, then release) may be lent a session already lent to other
 *   shared callers while its pipeline window has room (`SmtpClient.maxInFlight`), so that
 *   concurrent sends pipeline on it (docs/pipelining.md). Idle sessions and new ones (while
 *   under `maxConnections`) come first, so load spreads before it stacks; the least loaded
 *   session is shared. A session lent without `shared` is never shared.
 */
import type { SmtpClient } from '../client/smtp-client.js';
import { SmtpConnectionError, SmtpTimeoutError } from '../errors.js';
import type { Logger } from '../log.js';

/** A session lent by the pool; give it back with `releaseConnection`. */
export interface PooledConnection {
  /** Unique within the manager, counting from 1: for logs. */
  readonly id: number;
  /** The live session: connected, TLS as configured, authenticated. */
  readonly client: SmtpClient;
  readonly createdAt: Date;
  /** Messages this session has sent. */
  readonly messagesSent: number;
}

export interface PoolOptions {
  maxConnections: number;
  maxMessagesPerConnection: number;
  /** Close a session unused this long. */
  idleTimeoutMs: number;
  /** NOOP a session idle longer than this before lending it again. */
  healthCheckAfterMs: number;
  /** The longest a NOOP health check may take before the session is dropped. */
  healthCheckTimeoutMs: number;
  /** The longest a caller waits for a free session. */
  acquireTimeoutMs: number;
  /** Opens one session, ready to send (connected and authenticated). */
  open(): Promise<SmtpClient>;
  logger: Logger;
  /** The manager's name, for log lines. */
  name: string;
}

class Entry implements PooledConnection {
  readonly createdAt = new Date();
  /** Callers holding the session: 1 when lent alone; up to the window when shared. */
  lent = 0;
  /** Lent to shared callers, so more may join. */
  shared = false;
  /** Released as broken while others still hold it: closes when the last one is done. */
  retiring = false;
  /** When the session last finished a piece of work (its health is known as of then). */
  idleSince = Date.now();
  idleTimer: NodeJS.Timeout | undefined;
  onClose: () => void = () => {};

  constructor(
    readonly id: number,
    readonly client: SmtpClient,
  ) {}

  get messagesSent(): number {
    return this.client.messagesSent;
  }
}

/** One shared caller's hold on a session; releasing it twice does nothing. */
class Lease implements PooledConnection {
  released = false;

  constructor(readonly entry: Entry) {}

  get id(): number {
    return this.entry.id;
  }

  get client(): SmtpClient {
    return this.entry.client;
  }

  get createdAt(): Date {
    return this.entry.createdAt;
  }

  get messagesSent(): number {
    return this.entry.messagesSent;
  }
}

interface Waiter {
  fresh: boolean;
  shared: boolean;
  /**
   * Called with a session handed over (`joined`: a place in a session others hold, no
   * health check needed), or with undefined to try again (room was made).
   */
  wake(entry: Entry | undefined, joined?: boolean): void;
  fail(error: Error): void;
}

export interface PoolStats {
  idle: number;
  busy: number;
  opening: number;
  waiting: number;
  opened: number;
}

export class ConnectionPool {
  readonly #options: PoolOptions;
  readonly #idle: Entry[] = [];
  readonly #busy = new Set<Entry>();
  readonly #waiters: Waiter[] = [];
  readonly #closing = new Set<Promise<void>>();
  #opening = 0;
  #opened = 0;
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  get stats(): PoolStats {
    return {
      idle: this.#idle.length,
      busy: this.#busy.size,
      opening: this.#opening,
      waiting: this.#waiters.length,
      opened: this.#opened,
    };
  }

  get maxConnections(): number {
    return this.#options.maxConnections;
  }

  get #total(): number {
    return this.#idle.length + this.#busy.size + this.#opening;
  }

  /**
   * Lends a ready session: an idle one (NOOP-checked when idle long), or a new one while there
   * is room, else the next one released. `fresh` skips idle sessions (a retry after a dropped
   * connection wants a new one).
   *
   * `shared` (for one `send()` and release) also accepts a place in a session other shared
   * callers hold, when its pipeline window has room (see the file comment).
   *
   * Throws what opening a session throws (SmtpConnectionError, SmtpTlsError,
   * SmtpAuthenticationError...), `SmtpTimeoutError` (stage `connect`) when no session became
   * free in time, and `SmtpConnectionError` once the pool is closed.
   */
  async acquire(options: { fresh?: boolean; shared?: boolean; signal?: AbortSignal } = {}):
  Promise<PooledConnection> {
    const fresh = options.fresh ?? false;
    const shared = options.shared ?? false;
    const signal = options.signal;
    const lend = (entry: Entry): PooledConnection => {
      entry.lent = 1;
      entry.shared = shared;
      if (!shared) return entry;
      this.#offer(entry);
      return new Lease(entry);
    };
    const deadline = Date.now() + this.#options.acquireTimeoutMs;
    let urgent = false;
    for (;;) {
      this.#checkOpen();
      if (!fresh) {
        const entry = this.#idle.pop();
        if (entry) {
          this.#stopIdling(entry);
          this.#busy.add(entry);
          if (await this.#healthy(entry)) return lend(entry);
          this.#busy.delete(entry);
          this.#retire(entry, false);
          continue;
        }
      } else if (this.#total >= this.#options.maxConnections && this.#idle.length > 0) {
        const oldest = this.#idle.shift()!;
        this.#stopIdling(oldest);
        this.#retire(oldest, true);
      }
      if (this.#total < this.#options.maxConnections) return lend(await this.#openEntry());
      if (shared && !fresh) {
        const joined = this.#leastLoadedShareable();
        if (joined) {
          joined.lent += 1;
          return new Lease(joined);
        }
      }

      const handed = await this.#wait(fresh, shared, deadline, urgent, signal);
      if (handed) {
        if (handed.joined) return new Lease(handed.entry);
        if (await this.#healthy(handed.entry)) return lend(handed.entry);
        this.#busy.delete(handed.entry);
        this.#retire(handed.entry, false);
      }
      urgent = true;
    }
  }

  /** True when one more shared caller may join the session now. */
  #canJoin(entry: Entry): boolean {
    const client = entry.client;
    return entry.shared && !entry.retiring && !this.#closed && client.alive === true
      && entry.lent < client.maxInFlight
      && client.messagesSent + entry.lent < this.#options.maxMessagesPerConnection;
  }

  #leastLoadedShareable(): Entry | undefined {
    let best: Entry | undefined;
    for (const entry of this.#busy) {
      if (this.#canJoin(entry) && (best === undefined || entry.lent < best.lent)) best = entry;
    }
    return best;
  }

  /** Hands places in a shared session to the shared callers at the head of the line. */
  #offer(entry: Entry): void {
    for (;;) {
      const waiter = this.#waiters[0];
      if (!waiter || !waiter.shared || waiter.fresh || !this.#canJoin(entry)) return;
      this.#waiters.shift();
      entry.lent += 1;
      waiter.wake(entry, true);
    }
  }

  /**
   * Takes a session back. `broken: true` (or a session that is no longer usable, or has sent
   * its quota of messages) closes it; otherwise it goes to the next waiter or becomes idle.
   * Releasing a session twice, or one from another pool, does nothing.
   */
  release(connection: PooledConnection, options: { broken?: boolean } = {}): void {
    const lease = connection instanceof Lease ? connection : undefined;
    const entry = lease ? lease.entry : (connection as Entry);
    if (lease?.released || !this.#busy.has(entry)) return;
    if (lease) lease.released = true;
    entry.lent -= 1;
    if (entry.lent > 0) {
      // Others still have sends on it: a broken session closes when the last is done.
      if (options.broken) entry.retiring = true;
      else this.#offer(entry);
      return;
    }
    this.#busy.delete(entry);
    entry.shared = false;
    if (entry.retiring) {
      entry.retiring = false;
      options = { broken: true };
    }
    const client = entry.client;
    const spent = client.messagesSent >= this.#options.maxMessagesPerConnection;
    if (options.broken || this.#closed || !client.usable || spent) {
      this.#retire(entry, !options.broken && client.usable);
      this.#wakeOne(undefined);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      if (waiter.fresh) {
        this.#retire(entry, true);
        waiter.wake(undefined);
      } else {
        entry.idleSince = Date.now();
        this.#busy.add(entry);
        waiter.wake(entry);
      }
      return;
    }
    entry.idleSince = Date.now();
    this.#idle.push(entry);
    entry.idleTimer = setTimeout(() => {
      const index = this.#idle.indexOf(entry);
      if (index < 0) return;
      this.#idle.splice(index, 1);
      this.#options.logger.debug({ connection: this.#options.name, id: entry.id },
        'Closing an SMTP session left idle.');
      this.#retire(entry, true);
    }, this.#options.idleTimeoutMs);
    entry.idleTimer.unref();
  }

  /**
   * Closes the pool: waiting callers fail, idle sessions QUIT (each within the health-check
   * timeout, else dropped), sessions in use close when released. Resolves when every session
   * closed so far has finished closing.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.fail(this.#closedError('while this send waited for a session'));
    }
    for (const entry of this.#idle.splice(0)) {
      this.#stopIdling(entry);
      this.#retire(entry, true);
    }
    await Promise.all([...this.#closing]);
  }

  #checkOpen(): void {
    if (this.#closed) throw this.#closedError('before this send had a session');
  }

  /** What a caller the pool's close() stopped gets; `when` says at which point. */
  #closedError(when: string): SmtpConnectionError {
    return new SmtpConnectionError(`The connection manager ${this.#options.name} was closed ` +
      `(close()) ${when}: nothing of it was sent. Send it again: a send() after close() ` +
      'opens new connections.', 'connect');
  }

  async #openEntry(): Promise<Entry> {
    this.#opening++;
    let client: SmtpClient;
    try {
      client = await this.#options.open();
    } catch (error) {
      this.#opening--;
      this.#wakeOne(undefined);
      throw error;
    }
    this.#opening--;
    const entry = new Entry(++this.#opened, client);
    entry.onClose = () => {
      const index = this.#idle.indexOf(entry);
      if (index >= 0) {
        this.#idle.splice(index, 1);
        this.#stopIdling(entry);
        this.#options.logger.debug({ connection: this.#options.name, id: entry.id },
          'The server closed an idle SMTP session; it left the pool.');
        this.#wakeOne(undefined);
      }
    };
    client.on('close', entry.onClose);
    if (this.#closed) {
      this.#retire(entry, true);
      this.#checkOpen();
    }
    this.#busy.add(entry);
    return entry;
  }

  async #healthy(entry: Entry): Promise<boolean> {
    if (!entry.client.usable) return false;
    if (Date.now() - entry.idleSince < this.#options.healthCheckAfterMs) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#options.healthCheckTimeoutMs);
    });
    try {
      const ok = await Promise.race([entry.client.noop().then(() => true, () => false), timeout]);
      if (!ok) {
        this.#options.logger.info({ connection: this.#options.name, id: entry.id },
          'An idle SMTP session failed its NOOP check; opening another.');
      }
      return ok && entry.client.usable;
    } finally {
      clearTimeout(timer);
    }
  }

  #wait(fresh: boolean, shared: boolean, deadline: number, urgent: boolean,
    signal: AbortSignal | undefined): Promise<{ entry: Entry; joined: boolean } | undefined> {
    return new Promise<{ entry: Entry; joined: boolean } | undefined>((resolve, reject) => {
      const remaining = Math.max(0, deadline - Date.now());
      // However the wait ends: no timer, no abort listener, out of the line.
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
      };
      // The caller gave up (SendOptions.signal): out of the line at once, nothing sent.
      const onAbort = (): void => {
        settle();
        reject(new SmtpConnectionError(`The send was aborted (SendOptions.signal) while it ` +
          `waited for a session of ${this.#options.name}: nothing of it was sent.`, 'connect',
        { cause: signal?.reason }));
      };
      const timer = setTimeout(() => {
        settle();
        reject(new SmtpTimeoutError('connect', this.#options.acquireTimeoutMs,
          `No SMTP session of ${this.#options.name} became free within ` +
          `${this.#options.acquireTimeoutMs} ms (MaxConnections=` +
          `${this.#options.maxConnections}): every session was busy with other sends, and ` +
          'nothing of this one was sent. Raise MaxConnections or Timeout, or send fewer ' +
          'messages at once.'));
      }, remaining);
      const waiter: Waiter = {
        fresh,
        shared,
        wake: (entry, joined = false) => {
          settle();
          resolve(entry === undefined ? undefined : { entry, joined });
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      if (signal?.aborted) {
        queueMicrotask(onAbort);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      // A caller woken once and beaten to the room goes back to the front of the line.
      if (urgent) this.#waiters.unshift(waiter);
      else this.#waiters.push(waiter);
    });
  }

  #wakeOne(entry: Entry | undefined): void {
    this.#waiters.shift()?.wake(entry);
  }

  #stopIdling(entry: Entry): void {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
  }

  /** Closes a session: QUIT when `polite` (bounded by the health-check timeout), else drop. */
  #retire(entry: Entry, polite: boolean): void {
    entry.client.off('close', entry.onClose);
    if (!polite || !entry.client.usable) {
      entry.client.destroy();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const closing = Promise.race([
      entry.client.quit().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#options.healthCheckTimeoutMs);
      }),
    ]).then(() => {
      clearTimeout(timer);
      entry.client.destroy();
      this.#closing.delete(closing);
    });
    this.#closing.add(closing);
  }
}
