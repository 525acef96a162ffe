/**
 * The servers the benchmark sends to, both from Debian's `postfix` package:
 *
 * - `smtp-sink`: Postfix's test server, one process, replies without storing. It offers
 *   PIPELINING but has no option for CHUNKING (Postfix 3.7: see `smtp-sink -h`; `-p` only turns
 *   PIPELINING off), so it is the "PIPELINING, no CHUNKING" server.
 * - A Postfix instance of the benchmark's own (config, queue and data directories under a
 *   temporary directory on /dev/shm, every transport `discard:`, its smtpd on a high loopback
 *   port, no DNS, no peer name lookup, no `in_flow_delay`). Postfix's smtpd offers CHUNKING
 *   (since 3.4) and PIPELINING, so it is the "CHUNKING" server. It queues each message before
 *   discarding it, so it is slower than smtp-sink: it is used where latency, not the server,
 *   bounds throughput.
 *
 * Both run as root, so smtp-sink drops to `nobody` (`-u nobody`) and the Postfix instance runs
 * its daemons as the `postfix` user, as a packaged Postfix does.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Sink {
  /** `smtp-sink` or `postfix`. */
  kind: 'smtp-sink' | 'postfix';
  /** What the server offers that matters here, from its EHLO reply. */
  extensions: string[];
  host: string;
  port: number;
  stop(): Promise<void>;
}

export const SMTP_SINK = '/usr/sbin/smtp-sink';
export const SMTP_SOURCE = '/usr/sbin/smtp-source';
export const POSTFIX = '/usr/sbin/postfix';

/**
 * Installs the `postfix` package when smtp-sink is missing (as root, with apt-get and the
 * "No configuration" debconf answer, so no system mail service is set up). Throws when it is
 * missing and cannot be installed.
 */
export async function ensurePostfix(log: (line: string) => void): Promise<void> {
  if (existsSync(SMTP_SINK) && existsSync(SMTP_SOURCE) && existsSync(POSTFIX)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'Postfix (smtp-sink, smtp-source) is missing; install it as root: ' +
        'apt-get install -y postfix (answer "No configuration").',
    );
  }
  log('Installing postfix for smtp-sink, smtp-source and the CHUNKING sink...');
  const preseed = spawnSync('debconf-set-selections', {
    input: 'postfix postfix/main_mailer_type select No configuration\n',
  });
  if (preseed.status !== 0) throw new Error('debconf-set-selections failed.');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postfix'], {
    env,
    stdio: 'inherit',
  });
  if (install.status !== 0) {
    const update = spawnSync('apt-get', ['update'], { env, stdio: 'inherit' });
    const retry = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postfix'], {
      env,
      stdio: 'inherit',
    });
    if (update.status !== 0 || retry.status !== 0) {
      throw new Error('apt-get install postfix failed; see the output above.');
    }
  }
}

/** A loopback port that was free a moment ago (bound on port 0, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('No port was bound.');
  return address.port;
}

/**
 * Reads the greeting, sends EHLO and QUIT, and returns the EHLO keywords. Retries for up to
 * `timeoutMs` while the server is starting. Throws when it never answers.
 */
export async function probeEhlo(host: string, port: number, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await ehloOnce(host, port);
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`No SMTP server answered on ${host}:${port}: ${String(lastError)}`);
}

function ehloOnce(host: string, port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let text = '';
    let sentEhlo = false;
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), 3000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!sentEhlo && /^220 .*\r\n/m.test(text)) {
        sentEhlo = true;
        text = '';
        socket.write('EHLO bench.example.com\r\n');
      } else if (sentEhlo && /^250 .*\r\n/m.test(text)) {
        clearTimeout(timer);
        socket.end('QUIT\r\n');
        const keywords = text
          .split('\r\n')
          .slice(1)
          .filter((line) => line.startsWith('250'))
          .map((line) => line.slice(4).split(' ')[0].toUpperCase())
          .filter((keyword) => keyword.length > 0);
        resolve(keywords);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Starts `smtp-sink` on a free loopback port. */
export async function startSmtpSink(): Promise<Sink> {
  const port = await freePort();
  const args = ['-u', 'nobody', '-m', '512', `127.0.0.1:${port}`, '1024'];
  if (process.getuid?.() !== 0) args.splice(0, 2);
  const child: ChildProcess = spawn(SMTP_SINK, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const extensions = await probeEhlo('127.0.0.1', port);
    return {
      kind: 'smtp-sink',
      extensions,
      host: '127.0.0.1',
      port,
      stop: async () => {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await new Promise((resolve) => child.once('exit', resolve));
        }
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`smtp-sink did not start: ${String(error)} ${stderr}`);
  }
}

const MASTER_CF = `# The services a discard-only Postfix needs; no chroot.
{SMTPD} inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`;

function mainCf(dir: string): string {
  return [
    '# A Postfix instance for the smtpcm benchmark: accepts from loopback, discards everything.',
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = bench-postfix.example.com',
    'mydomain = example.com',
    'mydestination =',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    'default_transport = discard',
    'relay_transport = discard',
    'local_transport = discard',
    'virtual_transport = discard',
    'alias_maps =',
    'alias_database =',
    'local_recipient_maps =',
    'smtpd_peername_lookup = no',
    'smtp_dns_support_level = disabled',
    // By default smtpd sleeps up to 1 s per message when arrivals outrun deliveries.
    'in_flow_delay = 0',
    'message_size_limit = 0',
    'mailbox_size_limit = 0',
    'smtpd_error_sleep_time = 0',
    'smtpd_client_connection_rate_limit = 0',
    'smtpd_recipient_limit = 10000',
    'biff = no',
    `maillog_file_prefixes = ${dir}`,
    `maillog_file = ${dir}/maillog`,
    'smtpd_banner = $myhostname ESMTP',
    '',
  ].join('\n');
}

/**
 * Creates and starts the benchmark's own Postfix instance (`postfix -c DIR start`) on a free
 * loopback port, and checks that it offers CHUNKING. `stop()` stops it and removes its
 * directory. Throws, with the tail of its log, when it does not start.
 */
export async function startPostfixInstance(): Promise<Sink> {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = await mkdtemp(join(base, 'smtpcm-bench-postfix-'));
  // Postfix's daemons run as `postfix` and must reach their queue under this directory.
  await chmod(dir, 0o755);
  const etc = join(dir, 'etc');
  await mkdir(etc);
  await mkdir(join(dir, 'queue'));
  await mkdir(join(dir, 'data'));
  const port = await freePort();
  await writeFile(join(etc, 'main.cf'), mainCf(dir));
  await writeFile(join(etc, 'master.cf'), MASTER_CF.replace('{SMTPD}', `127.0.0.1:${port}`));
  const postfixUser = spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' });
  const uid = Number.parseInt(postfixUser.stdout, 10);
  if (Number.isInteger(uid)) await chown(join(dir, 'data'), uid, -1);

  const stop = async (): Promise<void> => {
    await run(POSTFIX, ['-c', etc, 'stop']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run(POSTFIX, ['-c', etc, 'start']);
    const extensions = await probeEhlo('127.0.0.1', port, 15_000);
    if (!extensions.includes('CHUNKING')) {
      throw new Error(`it does not offer CHUNKING (EHLO: ${extensions.join(' ')})`);
    }
    return { kind: 'postfix', extensions, host: '127.0.0.1', port, stop };
  } catch (error) {
    const log = spawnSync('tail', ['-n', '15', join(dir, 'maillog')], { encoding: 'utf8' });
    await stop();
    throw new Error(`The Postfix sink did not start: ${String(error)}\n${log.stdout ?? ''}`);
  }
}
