/**
 * The mail-server test rig, seen from a test: where it listens, who may log in, where the mail
 * it accepted lands, and Kerberos tickets for GSSAPI.
 *
 * The rig itself (Postfix + Dovecot SASL + Cyrus SASL + an MIT KDC on loopback) is started by
 * `scripts/rig/rig.sh start`; docs/rig.md describes it. This module never starts or stops it.
 * It probes 127.0.0.1:3525 once, when first imported, and exports the outcome as
 * `rigSkipReason`, so rig tests read:
 *
 * ```ts
 * test('delivers through Postfix', { skip: rigSkipReason }, async () => { const r = rig()!; })
 * ```
 *
 * With `CI=true` or `RIG_REQUIRED=1` a missing rig is an error at import, never a skip.
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, truncate } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RigUser {
  username: string;
  password: string;
}

export interface RigInfo {
  /** `$RIG_DIR`: all of the rig's state, logs and delivered mail. */
  dir: string;
  /** Always connect to this address; use `hostName` for TLS server names and SPNs. */
  connectHost: '127.0.0.1';
  /** 'mail.rig.test' when it resolves (the rig adds a hosts entry), else 'localhost'. */
  hostName: string;
  /** The rig's CA certificate (`$RIG_DIR/tls/ca.pem`); pass it as `ca`, never disable checks. */
  ca: Buffer;
  ports: {
    /** Postfix, STARTTLS offered, Dovecot AUTH also in clear text. */
    plain: 3525;
    /** As `plain`, with `SIZE 1048576` advertised and enforced. */
    sizeLimited: 3526;
    /** EHLO lists only STARTTLS and AUTH. */
    bare: 3527;
    /** No TLS at all. */
    noTls: 3524;
    /** STARTTLS required (530 before it), AUTH required, AUTH only after TLS. */
    submission: 3587;
    /** Implicit TLS, AUTH required. */
    smtps: 3465;
    /** Implicit TLS with a CA-signed certificate for `wrong-name.invalid`. */
    badName: 3466;
    /** Implicit TLS with a self-signed certificate not issued by the rig CA. */
    selfSigned: 3467;
    /** Exchange-like "Default Frontend" (Cyrus SASL): GSSAPI NTLM, LOGIN only after TLS. */
    exchange: 3625;
    /** Exchange-like "Client Frontend": STARTTLS required, then GSSAPI NTLM LOGIN. */
    exchangeClient: 3687;
    /** MIT KDC for realm RIG.TEST (UDP and TCP). */
    kdc: 3088;
  };
  users: { alice: RigUser; bob: RigUser; ulrich: RigUser };
  realm: 'RIG.TEST';
  /** `$RIG_DIR/krb5/krb5.conf`, for `KRB5_CONFIG`. */
  krb5Config: string;
}

const rigDir = process.env.RIG_DIR || join(process.env.TMPDIR || '/tmp', 'mail-rig');
const probePort = 3525;
const probeTimeoutMs = 3000;

const ports: RigInfo['ports'] = {
  plain: 3525,
  sizeLimited: 3526,
  bare: 3527,
  noTls: 3524,
  submission: 3587,
  smtps: 3465,
  badName: 3466,
  selfSigned: 3467,
  exchange: 3625,
  exchangeClient: 3687,
  kdc: 3088,
};

const users: RigInfo['users'] = {
  alice: { username: 'alice', password: 'alice-Secret-1' },
  bob: { username: 'bob', password: 'bob-Secret-2' },
  // Not Latin-1: '€' forces a client to encode the password as UTF-8.
  ulrich: { username: 'ulrich', password: 'P\u00e4ssw\u00f6rd-\u20ac-3' },
};

/**
 * Connects to 127.0.0.1:3525 and waits for a 220 greeting. Resolves to undefined when it
 * came, else to a sentence saying what was found instead. Never rejects.
 */
async function probeGreeting(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: probePort });
    let received = '';
    const finish = (problem: string | undefined): void => {
      clearTimeout(timer);
      // A polite QUIT after a greeting; Postfix then logs no "lost connection".
      if (problem === undefined) socket.end('QUIT\r\n');
      else socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(
      () => finish(`no SMTP greeting from 127.0.0.1:${probePort} within ${probeTimeoutMs} ms`),
      probeTimeoutMs,
    );
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end < 0) return;
      const line = received.slice(0, end).trimEnd();
      finish(line.startsWith('220') ? undefined : `127.0.0.1:${probePort} greeted "${line}"`);
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(`no SMTP rig on 127.0.0.1:${probePort} (${error.code ?? error.message})`),
    );
    socket.on('close', () => finish(`127.0.0.1:${probePort} closed without a greeting`));
  });
}

async function computeSkipReason(): Promise<string | undefined> {
  const problem = await probeGreeting();
  if (problem !== undefined) return problem;
  if (!existsSync(join(rigDir, 'tls', 'ca.pem'))) {
    return `an SMTP server answers on 127.0.0.1:${probePort}, but ${rigDir}/tls/ca.pem is ` +
      'missing: set RIG_DIR to the running rig\'s directory';
  }
  return undefined;
}

async function resolvesToLoopback(name: string): Promise<boolean> {
  try {
    const { address } = await lookup(name, { family: 4 });
    return address.startsWith('127.');
  } catch {
    return false;
  }
}

const problem = await computeSkipReason();

/** Why rig tests are skipped, or undefined when the rig answers on its ports. */
export const rigSkipReason: string | undefined =
  problem === undefined ? undefined : `rig tests skipped: ${problem} ` +
    '(start it: scripts/rig/rig.sh start)';

if (rigSkipReason !== undefined) {
  if (process.env.CI === 'true' || process.env.RIG_REQUIRED === '1') {
    throw new Error(`The mail rig is required (CI=true or RIG_REQUIRED=1) but absent: ${problem}`);
  }
  process.stderr.write(`*** ${rigSkipReason} ***\n`);
}

const hostName = (await resolvesToLoopback('mail.rig.test')) ? 'mail.rig.test' : 'localhost';

let info: RigInfo | undefined;

/**
 * The rig's facts, or undefined when it is absent (then `rigSkipReason` says why).
 * Reads the CA certificate on first call; the result is shared, do not mutate it.
 */
export function rig(): RigInfo | undefined {
  if (rigSkipReason !== undefined) return undefined;
  info ??= {
    dir: rigDir,
    connectHost: '127.0.0.1',
    hostName,
    ca: readFileSync(join(rigDir, 'tls', 'ca.pem')),
    ports,
    users,
    realm: 'RIG.TEST',
    krb5Config: join(rigDir, 'krb5', 'krb5.conf'),
  };
  return info;
}

/**
 * The directory name the rig's delivery script gives a recipient: ASCII A-Z lower-cased, then
 * every UTF-8 byte outside `a-z0-9@._+=-` replaced by `_` ("." and ".." become "_").
 */
export function mailboxName(recipient: string): string {
  const lower = recipient.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  let name = '';
  for (const byte of Buffer.from(lower, 'utf8')) {
    const char = String.fromCharCode(byte);
    name += /[a-z0-9@._+=-]/.test(char) ? char : '_';
  }
  return name === '' || name === '.' || name === '..' ? '_' : name;
}

function newDir(recipient: string): string {
  return join(rigDir, 'mail', mailboxName(recipient), 'new');
}

/**
 * The files delivered to `recipient` so far (full paths, oldest first by name), or [] when
 * nothing arrived. Does not wait; see `waitForDelivery`.
 */
export async function listDeliveries(recipient: string): Promise<string[]> {
  const dir = newDir(recipient);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.sort().map((name) => join(dir, name));
}

/** Files delivered before this process started cannot hold its tokens (2 s for clock skew). */
const notBefore = performance.timeOrigin - 2000;

/**
 * Polls `$RIG_DIR/mail/<recipient>/new/` every 100 ms until a file containing `token`
 * arrives, and returns that file's bytes as delivered (see `clientPart`). Reads each file at
 * most once, newest first, and ignores files delivered before this process started (so a
 * token reused from an earlier run cannot match, and old 50 MB messages are not re-read).
 * Throws when none came within `timeoutMs` (default 20 s); the message points at the log.
 */
export async function waitForDelivery(
  recipient: string,
  token: string,
  timeoutMs = 20_000,
): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  const needle = Buffer.from(token, 'utf8');
  // A file appears in new/ only once it is complete, and never changes: read each one once.
  const seen = new Set<string>();
  for (;;) {
    for (const path of (await listDeliveries(recipient)).reverse()) {
      if (seen.has(path)) continue;
      seen.add(path);
      const modified = await stat(path).then((s) => s.mtimeMs, () => 0);
      if (modified < notBefore) continue;
      const content = await readFile(path).catch(() => undefined);
      if (content?.includes(needle)) return content;
    }
    if (Date.now() >= deadline) break;
    await sleep(100);
  }
  throw new Error(
    `No message containing the token arrived for ${recipient} in ${newDir(recipient)} ` +
      `within ${timeoutMs} ms; see ${join(rigDir, 'log', 'postfix.log')}`,
  );
}

const addedHeaders = ['Return-Path:', 'X-Original-To:', 'Delivered-To:'];

/**
 * What the client sent, from a delivered file: drops the headers the rig adds (Return-Path,
 * X-Original-To, Delivered-To) and everything up to the end of the first `Received:` block
 * (Postfix's own, continuation lines start with a space or TAB). Line ends stay as delivered:
 * LF, with dot-stuffing already removed by Postfix. Returns the input unchanged when it has
 * neither.
 */
export function clientPart(delivered: Buffer): Buffer {
  let start = 0;
  let seenReceived = false;
  while (start < delivered.length) {
    const end = delivered.indexOf(0x0a, start);
    const next = end < 0 ? delivered.length : end + 1;
    const line = delivered.subarray(start, next).toString('latin1');
    const isContinuation = line.startsWith(' ') || line.startsWith('\t');
    if (seenReceived && !isContinuation) break;
    if (line.startsWith('Received:')) {
      seenReceived = true;
    } else if (!seenReceived && !addedHeaders.some((name) => line.startsWith(name))) {
      break;
    }
    start = next;
  }
  return delivered.subarray(start);
}

/**
 * Empties the delivered mail: removes every message file under `$RIG_DIR/mail/<recipient>/`
 * (new, cur, tmp) and truncates deliveries.log, keeping the directories. With `recipient`,
 * empties only that recipient's Maildir and leaves deliveries.log alone.
 *
 * Test files run in parallel processes: emptying everything can delete a message another
 * file is waiting for. Prefer unique tokens (`waitForDelivery`) or a recipient of your own.
 */
export async function clearMail(recipient?: string): Promise<void> {
  const mailDir = join(rigDir, 'mail');
  let entries: string[];
  if (recipient !== undefined) {
    entries = [mailboxName(recipient)];
  } else {
    try {
      entries = await readdir(mailDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
  }
  for (const entry of entries) {
    if (entry === 'deliveries.log') {
      await truncate(join(mailDir, entry));
      continue;
    }
    for (const sub of ['new', 'cur', 'tmp']) {
      const dir = join(mailDir, entry, sub);
      const names = await readdir(dir).catch(() => [] as string[]);
      await Promise.all(names.map((name) => rm(join(dir, name), { force: true })));
    }
  }
}

/** Runs a program with `input` on stdin; rejects with its stderr on a non-zero exit. */
async function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
    // A program that exits without reading stdin (kdestroy) makes the write fail with EPIPE;
    // its exit status is what counts.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/**
 * Gets a Kerberos ticket for `user`@RIG.TEST into a fresh file ccache of its own (a new
 * directory under the system temp dir), with the password on kinit's stdin. Returns the
 * environment variables a GSSAPI client needs; it does not set them. Throws when kinit fails
 * (KDC down, rig absent); the password never appears in the error.
 */
export async function kinit(
  user: 'alice' | 'bob',
): Promise<{ KRB5_CONFIG: string; KRB5CCNAME: string }> {
  const KRB5_CONFIG = join(rigDir, 'krb5', 'krb5.conf');
  const dir = await mkdtemp(join(tmpdir(), `rig-krb5cc-${user}-`));
  const KRB5CCNAME = `FILE:${join(dir, 'ccache')}`;
  const env = { ...process.env, KRB5_CONFIG, KRB5CCNAME };
  try {
    await run('kinit', [`${user}@RIG.TEST`], env, `${users[user].password}\n`);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { KRB5_CONFIG, KRB5CCNAME };
}

/** Destroys a ccache made by `kinit` and removes its directory. Never throws for a gone file. */
export async function kdestroy(env: { KRB5CCNAME: string }): Promise<void> {
  const path = env.KRB5CCNAME.replace(/^FILE:/, '');
  await run('kdestroy', [], { ...process.env, KRB5CCNAME: env.KRB5CCNAME }, '').catch(() => {});
  await rm(path, { force: true });
  if (path.startsWith(join(tmpdir(), 'rig-krb5cc-'))) {
    await rm(dirname(path), { recursive: true, force: true });
  }
}
