/**
 * The EHLO capability parser (RFC 5321 §4.1.1.1): what the server said it supports.
 *
 * Keywords are matched case-insensitively and kept upper case; unknown ones stay in
 * `keywords` with their parameters. The old `AUTH=PLAIN LOGIN` form (sent by servers for
 * Outlook Express) is merged into `auth`. It does not check that the server keeps its word.
 */
import type { SmtpReply } from './reply.js';

export interface Capabilities {
  /** The fixed maximum message size (RFC 1870); absent when not advertised or 0 (no limit). */
  size?: number;
  /** The SASL mechanisms offered (RFC 4954), upper case, in the server's order, no duplicates. */
  auth: string[];
  /** RFC 3207. */
  startTls: boolean;
  /** RFC 2920. */
  pipelining: boolean;
  /** RFC 6152. */
  eightBitMime: boolean;
  /** RFC 6531. */
  smtpUtf8: boolean;
  /** RFC 3030 BDAT. */
  chunking: boolean;
  /** RFC 3030. */
  binaryMime: boolean;
  /** RFC 3461. */
  dsn: boolean;
  /** RFC 2034. */
  enhancedStatusCodes: boolean;
  /** RFC 8689. */
  requireTls: boolean;
  /** Every keyword, upper case, with its parameters as one string (`''` when it has none). */
  keywords: Map<string, string>;
}

/** What a server that answered HELO (or nothing) supports: nothing. */
export function noCapabilities(): Capabilities {
  return {
    auth: [],
    startTls: false,
    pipelining: false,
    eightBitMime: false,
    smtpUtf8: false,
    chunking: false,
    binaryMime: false,
    dsn: false,
    enhancedStatusCodes: false,
    requireTls: false,
    keywords: new Map(),
  };
}

/** Reads the EHLO reply; its first line (the server's name and greeting) is skipped. */
export function parseCapabilities(reply: SmtpReply): Capabilities {
  const capabilities = noCapabilities();
  const auth = new Set<string>();
  for (const line of reply.lines.slice(1)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    // The old form AUTH=LOGIN PLAIN is one token with '=' before the first mechanism.
    const oldAuth = /^AUTH=(.*)$/i.exec(trimmed);
    const match = oldAuth ? ['', 'AUTH', oldAuth[1]!] : /^(\S+)\s*(.*)$/.exec(trimmed);
    if (!match) continue;
    const keyword = match[1]!.toUpperCase();
    const params = match[2]!.trim();
    if (keyword === 'AUTH') {
      for (const mechanism of params.split(/\s+/)) if (mechanism) auth.add(mechanism.toUpperCase());
      const previous = capabilities.keywords.get('AUTH');
      capabilities.keywords.set('AUTH', previous ? `${previous} ${params}`.trim() : params);
      continue;
    }
    capabilities.keywords.set(keyword, params);
  }
  const has = (keyword: string): boolean => capabilities.keywords.has(keyword);
  capabilities.auth = [...auth];
  capabilities.startTls = has('STARTTLS');
  capabilities.pipelining = has('PIPELINING');
  capabilities.eightBitMime = has('8BITMIME');
  capabilities.smtpUtf8 = has('SMTPUTF8');
  capabilities.chunking = has('CHUNKING');
  capabilities.binaryMime = has('BINARYMIME');
  capabilities.dsn = has('DSN');
  capabilities.enhancedStatusCodes = has('ENHANCEDSTATUSCODES');
  capabilities.requireTls = has('REQUIRETLS');
  const size = capabilities.keywords.get('SIZE');
  if (size !== undefined && /^\d+$/.test(size) && Number(size) > 0) {
    capabilities.size = Number(size);
  }
  return capabilities;
}
