/**
 * What one client run reports to bench/run.ts, whatever the client's language: the Node
 * clients print it after `BENCH-RESULT `, the Python client too, and smtp-source's figures are
 * assembled from the rusage wrapper's report.
 */
export interface ClientResult {
  /** Messages accepted by the server. */
  messages: number;
  /** Message octets sent (as the client counts them; 0 when it does not). */
  bytes: number;
  /** From before the first connection to the last message's final reply. */
  wallSeconds: number;
  /** CPU time of the client process over the same span (whole process for smtp-source). */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  /** The process's peak resident set size, from getrusage (whole life of the process). */
  peakRssBytes: number;
  /** Messages that failed. */
  errors: number;
  /** The first failure, for the report. */
  firstError?: string;
}

/** Finds the `BENCH-RESULT {...}` line in a child's stdout; throws when there is none. */
export function parseClientResult(stdout: string): ClientResult {
  const line = stdout.split('\n').find((text) => text.startsWith('BENCH-RESULT '));
  if (line === undefined) throw new Error('The client printed no BENCH-RESULT line.');
  return JSON.parse(line.slice('BENCH-RESULT '.length)) as ClientResult;
}
