/**
 * The benchmark matrix: which clients send which workload to which server at which
 * round-trip time, and how many messages. Counts are smaller at 10 ms RTT (a client that
 * waits three round trips per message sends about 30 a second there) so the whole run fits in
 * ten minutes on two cores; `--quick` divides them further for a smoke run.
 */
import type { WorkloadName } from './workloads.js';

export const CLIENT_IDS = [
  'smtpcm-1',
  'smtpcm-8',
  'nodemailer-1',
  'nodemailer-8',
  'python-smtplib',
  'smtp-source',
  'smtpcm-1-raw',
  'nodemailer-1-raw',
  'smtpcm-cli',
  'smtpcm-cli-version',
] as const;

export type ClientId = (typeof CLIENT_IDS)[number];

export const CLIENT_TITLES: Record<ClientId, string> = {
  'smtpcm-1': 'smtpcm, 1 connection',
  'smtpcm-8': 'smtpcm, pool of 8, shared sessions',
  'nodemailer-1': 'Nodemailer, 1 pooled connection',
  'nodemailer-8': 'Nodemailer, pool of 8',
  'python-smtplib': 'Python smtplib, 1 connection',
  'smtp-source': 'smtp-source, 1 session',
  'smtpcm-1-raw': 'smtpcm, 1 connection, prebuilt bytes',
  'nodemailer-1-raw': 'Nodemailer, 1 pooled connection, prebuilt bytes',
  'smtpcm-cli': 'CLI: smtpcm send --attach',
  'smtpcm-cli-version': 'CLI: smtpcm --version (baseline)',
};

/** The `smtpcm` command (bin/smtpcm.js) run as a child process: see bench/cli-rss.ts. */
export function isCli(client: ClientId): boolean {
  return client === 'smtpcm-cli' || client === 'smtpcm-cli-version';
}

/**
 * Clients that send the message composed once by the parent, as it is (no composition): the
 * engine alone, to compare engine with engine and with smtp-source.
 */
export function isPrebuilt(client: ClientId): boolean {
  return client.endsWith('-raw');
}

/** Clients that open more than one connection. */
export function isPool(client: ClientId): boolean {
  return client === 'smtpcm-8' || client === 'nodemailer-8';
}

/** The peers that wait for every reply: Python smtplib and smtp-source. */
export function isLockstepPeer(client: ClientId): boolean {
  return client === 'python-smtplib' || client === 'smtp-source';
}

/** Messages per run of `client` in `scenario`. */
export function countFor(scenario: Scenario, client: ClientId): number {
  if (isPool(client)) return scenario.poolCount;
  if (isLockstepPeer(client)) return scenario.peerCount ?? scenario.count;
  return scenario.count;
}

/** The most warm-up messages a Node client sends before its measured run. */
export const MAX_WARMUP_MESSAGES = 1000;

/**
 * Messages a Node client (smtpcm or Nodemailer) sends straight to the server, untimed, before
 * its measured run, so that V8's compilation of the send path is not in the figures: a fifth
 * of the run, at most `MAX_WARMUP_MESSAGES`; none for one-message workloads (the memory
 * baseline and the attachment: a cold send is what they measure) and none for the other
 * clients (C and CPython compile nothing at run time).
 */
export function warmupCountFor(scenario: Scenario, client: ClientId): number {
  const count = countFor(scenario, client);
  if (count <= 1 || isCli(client) || isLockstepPeer(client)) return 0;
  return Math.min(MAX_WARMUP_MESSAGES, Math.ceil(count / 5));
}

/** Clients that are smtpcm, and need its engine's files. */
export function isSmtpcm(client: ClientId): boolean {
  return client.startsWith('smtpcm');
}

export type SinkKind = 'smtp-sink' | 'postfix';

export interface Scenario {
  /** `<workload>@<rtt>ms/<sink>`, unique. */
  id: string;
  workload: WorkloadName;
  /** Round-trip time added by the delay proxy; 0 connects directly. */
  rttMs: number;
  sink: SinkKind;
  /** Messages per run for one-connection clients. */
  count: number;
  /**
   * Messages per run for pools: more at 10 ms (so connection set-up does not dominate), fewer
   * on loopback (no target is about a pool there; it saves time).
   */
  poolCount: number;
  /**
   * Messages per run for Python smtplib and smtp-source when fewer than `count` (at 10 ms):
   * they wait for every reply, 4 round trips a message (8 with 5 recipients), so a run of
   * `count` takes seconds, and a few dozen messages give as steady a rate.
   */
  peerCount?: number;
  /** In the order of the first repetition; later repetitions rotate it. */
  clients: ClientId[];
}

export interface MatrixOptions {
  quick: boolean;
  /** Only these workloads; all when empty. */
  only: WorkloadName[];
}

const ALL_PEERS: ClientId[] = [
  'smtpcm-1',
  'nodemailer-1',
  'python-smtplib',
  'smtp-source',
  'smtpcm-8',
  'nodemailer-8',
];
const ONE_CONNECTION: ClientId[] = ['smtpcm-1', 'nodemailer-1', 'python-smtplib', 'smtp-source'];
const NODE_CLIENTS: ClientId[] = ['smtpcm-1', 'nodemailer-1', 'smtpcm-8', 'nodemailer-8'];
/** smtpcm and Nodemailer sending prebuilt bytes: engine against engine. */
const PREBUILT: ClientId[] = ['smtpcm-1-raw', 'nodemailer-1-raw'];

/** The full matrix, or the quick one, filtered by `only`. */
export function buildScenarios(options: MatrixOptions): Scenario[] {
  const q = (full: number, quick: number): number => (options.quick ? quick : full);
  const scenario = (
    workload: WorkloadName,
    rttMs: number,
    sink: SinkKind,
    count: number,
    poolCount: number,
    clients: ClientId[],
    peerCount?: number,
  ): Scenario => ({
    id: `${workload}@${rttMs}ms/${sink}`,
    workload,
    rttMs,
    sink,
    count,
    poolCount,
    ...(peerCount === undefined ? {} : { peerCount }),
    clients,
  });
  const all: Scenario[] = [
    // Loopback, PIPELINING without CHUNKING: where the client's CPU is the limit.
    scenario('small-2kb', 0, 'smtp-sink', q(5000, 500), q(2000, 500), [
      ...ALL_PEERS,
      ...PREBUILT,
    ]),
    scenario('text-100kb', 0, 'smtp-sink', q(300, 60), q(150, 60), ALL_PEERS),
    scenario('rcpt-5', 0, 'smtp-sink', q(600, 100), q(300, 100), ALL_PEERS),
    scenario('large-5mb', 0, 'smtp-sink', q(10, 3), q(10, 3), [...ONE_CONNECTION, ...PREBUILT]),
    scenario('attachment-300mb', 0, 'smtp-sink', 1, 1, ['smtpcm-1', 'nodemailer-1']),
    // The memory baseline: one message, composed and prebuilt (the prebuilt rows' 5,000
    // messages above against it: the engine's memory without MailComposer's).
    scenario('single-small', 0, 'smtp-sink', 1, 1, ['smtpcm-1', 'nodemailer-1', ...PREBUILT]),
    // The CLI's memory (issue 5), against its own start-up as the baseline.
    scenario('cli-attachment', 0, 'smtp-sink', 1, 1, ['smtpcm-cli-version', 'smtpcm-cli']),
    // Loopback, CHUNKING (Postfix): for reference; Postfix's own queueing bounds it.
    scenario('small-2kb', 0, 'postfix', q(500, 200), q(500, 200), [
      'smtpcm-1',
      'nodemailer-1',
      'smtp-source',
    ]),
    // 10 ms RTT through the delay proxy: where round trips are the limit.
    // 200 per run for one connection: at 100, a run is 1.4 s and a few late timer ticks of the
    // proxy move the rate by several percent.
    scenario('small-2kb', 10, 'smtp-sink', q(200, 30), q(500, 120), ALL_PEERS, q(40, 20)),
    scenario('small-2kb', 10, 'postfix', q(200, 30), q(500, 120), NODE_CLIENTS),
    scenario('text-100kb', 10, 'smtp-sink', q(40, 10), q(160, 40), ALL_PEERS, q(20, 10)),
    scenario('rcpt-5', 10, 'smtp-sink', q(50, 20), q(250, 80), ALL_PEERS, q(20, 10)),
    scenario('large-5mb', 10, 'smtp-sink', q(4, 2), q(4, 2), ONE_CONNECTION),
  ];
  return options.only.length === 0 ? all : all.filter((s) => options.only.includes(s.workload));
}

/** The clients of repetition `rep` (0-based): the list rotated by `rep`, so none is always
 * first or last. */
export function clientOrder(clients: readonly ClientId[], rep: number): ClientId[] {
  if (clients.length === 0) return [];
  const shift = rep % clients.length;
  return [...clients.slice(shift), ...clients.slice(0, shift)];
}
