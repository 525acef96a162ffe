/**
 * SMTP connection strings: the SSIS keys (`SmtpServer`, `UseWindowsAuthentication`,
 * `EnableSsl`, `Timeout`) and the keys smtpcm adds, parsed and formatted with the rules of .NET's
 * `DbConnectionStringBuilder`, and turned into the options of an `SmtpClient`.
 *
 * docs/connection-strings.md is the user's reference: every key, its default, and the exact
 * parsing rules, with the .NET behaviour each one copies.
 */
import { readFile } from 'node:fs/promises';
import { domainToASCII } from 'node:url';
import { ConfigurationError } from '../errors.js';
import { quoteValue } from '../message/quote.js';
import { MASK, Secret } from '../secret.js';
import type { AuthOptions } from '../auth/mechanism.js';
import { SUPPORTED_MECHANISMS, WINDOWS_MECHANISMS } from '../auth/policy.js';
import type { SecureSocketOptions, SmtpClientOptions, TlsOptions } from '../client/types.js';
import { CA_FILE_FIX, caCertificatesProblem } from './ca-file.js';

/**
 * A password or token as written in a connection string: the value itself, or where to read it.
 * A literal is held in a `Secret`, so printing the properties never shows it.
 */
export type SecretRef =
  | { kind: 'literal'; secret: Secret }
  /** `env:NAME`: the value of environment variable NAME when the connection opens. */
  | { kind: 'env'; name: string }
  /** `file:PATH`: the first line of the file (one trailing line end removed). */
  | { kind: 'file'; path: string };

/** `Network` sends over SMTP; `PickupDirectory` writes `.eml` files, as System.Net.Mail did. */
export type DeliveryMethod = 'Network' | 'PickupDirectory';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * Every setting a connection string can hold, typed. The three SSIS keys are always present;
 * every other one is absent (not merely undefined) when the string does not set it.
 */
export interface SmtpConnectionProperties {
  /** `SmtpServer`: host name, IPv4 or IPv6 address. Empty only for pickup-directory delivery. */
  smtpServer: string;
  /** `UseWindowsAuthentication`: GSSAPI (Kerberos), then NTLM. Default false (anonymous). */
  useWindowsAuthentication: boolean;
  /** `EnableSsl`: TLS required (STARTTLS; implicit TLS on port 465). Default false. */
  enableSsl: boolean;
  /** `Timeout` in seconds, applied to every wait. Absent: 100 s (System.Net.Mail's default). */
  timeout?: number;
  /** `Port`. Default 25, or 465 with `SecureSocketOptions=SslOnConnect`. */
  port?: number;
  /** `SecureSocketOptions`, as in MailKit. Absent: follows `EnableSsl`. */
  secureSocketOptions?: SecureSocketOptions;
  userName?: string;
  password?: SecretRef;
  /** `Domain`: the NTLM domain. */
  domain?: string;
  /** `TargetName`: the Kerberos service name (`smtp@host`). */
  targetName?: string;
  /** `AuthMechanisms`: an ordered allow-list of SASL mechanism names, upper case. */
  authMechanisms?: string[];
  /** `AccessToken`: an OAuth2 access token (XOAUTH2, OAUTHBEARER). */
  accessToken?: SecretRef;
  /** `ClientDomain`: the name sent with EHLO. */
  clientDomain?: string;
  /** `TrustServerCertificate`: accept any certificate. Default false. */
  trustServerCertificate?: boolean;
  /** `CaFile`: PEM file of the CA certificates to trust instead of Node's root store. */
  caFile?: string;
  /** `CertificateThumbprint`: SHA-256 pin, upper-case hex with colons. */
  certificateThumbprint?: string;
  /** `MinTlsVersion`. Default TLSv1.2. */
  minTlsVersion?: TlsVersion;
  /** `AllowInsecureAuth`: allow credentials without TLS. Default false. */
  allowInsecureAuth?: boolean;
  /** `MaxConnections`: pool size. Default 1. */
  maxConnections?: number;
  /** `MaxMessagesPerConnection`: messages before a pooled connection is replaced. Default 100. */
  maxMessagesPerConnection?: number;
  /** `DeliveryMethod`. Default Network. */
  deliveryMethod?: DeliveryMethod;
  /** `PickupDirectoryLocation`: the folder for `DeliveryMethod=PickupDirectory`. */
  pickupDirectoryLocation?: string;
}

/** What `resolveSettings` produces: the client's options and the manager's own settings. */
export interface ResolvedSettings {
  /** Ready for `new SmtpClient(...)`; the manager adds its transcript and logger. */
  client: SmtpClientOptions;
  deliveryMethod: DeliveryMethod;
  /** Absolute or relative (to the current directory) folder, for pickup delivery. */
  pickupDirectoryLocation?: string;
  maxConnections: number;
  maxMessagesPerConnection: number;
  /** The `Timeout` in milliseconds (100 000 when absent). */
  timeoutMs: number;
}

export interface FormatOptions {
  /** Replace literal secrets with `********`. Default true: the form for display and logs. */
  maskSecrets?: boolean;
}

export interface ParseOptions {
  /**
   * Accept an empty or missing `SmtpServer` (the connection manager does, so that an
   * incomplete package still loads and `validate()` reports it). Default false.
   */
  allowEmptyServer?: boolean;
}

export const DEFAULT_PORT = 25;
export const DEFAULT_IMPLICIT_TLS_PORT = 465;
export const DEFAULT_TIMEOUT_SECONDS = 100;
export const DEFAULT_MAX_CONNECTIONS = 1;
export const DEFAULT_MAX_MESSAGES_PER_CONNECTION = 100;

type ValueKind =
  | 'string'
  | 'host'
  | 'boolean'
  | 'seconds'
  | 'port'
  | 'count'
  | 'secret'
  | 'security'
  | 'mechanisms'
  | 'thumbprint'
  | 'tls-version'
  | 'delivery';

interface KeySpec {
  /** The key as written in the canonical form. */
  key: string;
  property: keyof SmtpConnectionProperties;
  kind: ValueKind;
}

/**
 * Every key, in the canonical order of `formatConnectionString`: the SSIS keys in SSIS's order,
 * then ours (server, security, credentials, TLS checks, pool, delivery).
 */
const KEYS: readonly KeySpec[] = [
  { key: 'SmtpServer', property: 'smtpServer', kind: 'host' },
  { key: 'UseWindowsAuthentication', property: 'useWindowsAuthentication', kind: 'boolean' },
  { key: 'EnableSsl', property: 'enableSsl', kind: 'boolean' },
  { key: 'Timeout', property: 'timeout', kind: 'seconds' },
  { key: 'Port', property: 'port', kind: 'port' },
  { key: 'SecureSocketOptions', property: 'secureSocketOptions', kind: 'security' },
  { key: 'UserName', property: 'userName', kind: 'string' },
  { key: 'Password', property: 'password', kind: 'secret' },
  { key: 'Domain', property: 'domain', kind: 'string' },
  { key: 'TargetName', property: 'targetName', kind: 'string' },
  { key: 'AuthMechanisms', property: 'authMechanisms', kind: 'mechanisms' },
  { key: 'AccessToken', property: 'accessToken', kind: 'secret' },
  { key: 'ClientDomain', property: 'clientDomain', kind: 'string' },
  { key: 'TrustServerCertificate', property: 'trustServerCertificate', kind: 'boolean' },
  { key: 'CaFile', property: 'caFile', kind: 'string' },
  { key: 'CertificateThumbprint', property: 'certificateThumbprint', kind: 'thumbprint' },
  { key: 'MinTlsVersion', property: 'minTlsVersion', kind: 'tls-version' },
  { key: 'AllowInsecureAuth', property: 'allowInsecureAuth', kind: 'boolean' },
  { key: 'MaxConnections', property: 'maxConnections', kind: 'count' },
  { key: 'MaxMessagesPerConnection', property: 'maxMessagesPerConnection', kind: 'count' },
  { key: 'DeliveryMethod', property: 'deliveryMethod', kind: 'delivery' },
  { key: 'PickupDirectoryLocation', property: 'pickupDirectoryLocation', kind: 'string' },
];

/** The canonical key names, in canonical order. */
export const CONNECTION_STRING_KEYS: readonly string[] = KEYS.map((spec) => spec.key);

const KEYS_BY_LOWER = new Map(KEYS.map((spec) => [spec.key.toLowerCase(), spec]));

/** Keys people write for ours, and what to write instead (checked before edit distance). */
const KEY_HINTS: Record<string, string[]> = {
  enabletls: ['EnableSsl', 'SecureSocketOptions'],
  usetls: ['EnableSsl', 'SecureSocketOptions'],
  usessl: ['EnableSsl', 'SecureSocketOptions'],
  ssl: ['EnableSsl', 'SecureSocketOptions'],
  tls: ['EnableSsl', 'SecureSocketOptions'],
  starttls: ['EnableSsl', 'SecureSocketOptions'],
  encrypt: ['EnableSsl', 'SecureSocketOptions'],
  secure: ['SecureSocketOptions', 'EnableSsl'],
  server: ['SmtpServer'],
  host: ['SmtpServer'],
  smtphost: ['SmtpServer'],
  'data source': ['SmtpServer'],
  user: ['UserName'],
  'user id': ['UserName'],
  uid: ['UserName'],
  login: ['UserName'],
  pwd: ['Password'],
  pass: ['Password'],
  passwd: ['Password'],
  token: ['AccessToken'],
  oauthtoken: ['AccessToken'],
  'connect timeout': ['Timeout'],
  connectiontimeout: ['Timeout'],
  helo: ['ClientDomain'],
  ehlo: ['ClientDomain'],
  localdomain: ['ClientDomain'],
  spn: ['TargetName'],
  servicename: ['TargetName'],
  pickupdirectory: ['PickupDirectoryLocation'],
  mechanisms: ['AuthMechanisms'],
};

const SECURITY_VALUES: readonly SecureSocketOptions[] = [
  'None',
  'StartTls',
  'StartTlsWhenAvailable',
  'SslOnConnect',
  'Auto',
];

/** The SASL mechanisms smtpcm implements, from the policy that chooses among them. */
export const KNOWN_MECHANISMS: readonly string[] = SUPPORTED_MECHANISMS;

const CONNECTION_STRING_FIX =
  'Write key=value pairs separated by ";", quoting a value that holds ";" with double quotes.';

// ---------------------------------------------------------------------------------------------
// The DbConnectionStringBuilder grammar
// ---------------------------------------------------------------------------------------------

/** One `key=value` pair as the .NET parser returns it; `value` undefined for `key=`. */
export interface ConnectionStringPair {
  /** The key as written, trimmed, `==` read as `=`. */
  key: string;
  value: string | undefined;
  /** Where the pair starts in the text (0-based), for error messages. */
  position: number;
}

const isWhiteSpace = (char: string): boolean => /\s/u.test(char);
// \p{Cc}: C0 and C1 control characters, as .NET's char.IsControl.
const isControl = (char: string): boolean => /\p{Cc}/u.test(char);

function syntaxError(position: number, problem: string): ConfigurationError {
  return new ConfigurationError(
    'ConnectionString',
    `syntax error at character ${position + 1}: ${problem}.`,
    CONNECTION_STRING_FIX,
  );
}

/**
 * Splits a connection string into pairs exactly as .NET's `DbConnectionOptions` does
 * (`GetKeyValuePair`, non-ODBC rules): leading blanks and `;` skipped; a key runs to `=`
 * (`==` is a literal `=`), trailing blanks trimmed; a value is quoted with `"` or `'` (the quote
 * doubled inside stands for one) or runs to `;`, trimmed, and must not end with a quote.
 * Keys are returned as written; callers compare them case-insensitively.
 *
 * Throws `ConfigurationError` (field `ConnectionString`) on a syntax error, naming the position.
 */
export function splitConnectionString(text: string): ConnectionStringPair[] {
  const pairs: ConnectionStringPair[] = [];
  let index = 0;
  const length = text.length;

  while (index < length) {
    // Leading blanks and empty pairs.
    while (index < length && (text[index] === ';' || isWhiteSpace(text[index]!))) index++;
    if (index >= length) break;
    const start = index;
    if (text[index] === '\0') {
      if (/^[\0\s]*$/u.test(text.slice(index))) break;
      throw syntaxError(index, 'a NUL character before the end');
    }

    // The key, up to a single '='.
    let key = '';
    for (;;) {
      if (index >= length) throw syntaxError(start, missingEquals(key.trim()));
      const char = text[index]!;
      if (char === '=') {
        if (text[index + 1] === '=') {
          key += '=';
          index += 2;
          continue;
        }
        index++;
        break;
      }
      if (isControl(char)) throw syntaxError(index, 'a control character in a key');
      key += char;
      index++;
    }
    key = key.trimEnd();
    if (key === '') throw syntaxError(start, 'a value without a key');

    // Blanks before the value.
    while (index < length && isWhiteSpace(text[index]!)) index++;
    if (index >= length || text[index] === ';') {
      pairs.push({ key, value: undefined, position: start });
      index++;
      continue;
    }

    const first = text[index]!;
    if (first === '"' || first === "'") {
      let value = '';
      index++;
      for (;;) {
        if (index >= length) throw syntaxError(start, `the ${first} quote opened is never closed`);
        const char = text[index]!;
        if (char === first) {
          if (text[index + 1] === first) {
            value += first;
            index += 2;
            continue;
          }
          index++;
          break;
        }
        if (char === '\0') throw syntaxError(index, 'a NUL character inside a quoted value');
        value += char;
        index++;
      }
      while (index < length && isWhiteSpace(text[index]!)) index++;
      if (index < length && text[index] !== ';') {
        throw syntaxError(index, `text after the closing ${first} quote (quote the whole value)`);
      }
      index++;
      pairs.push({ key, value, position: start });
      continue;
    }

    if (isControl(first)) throw syntaxError(index, 'a control character in a value');
    let end = index;
    while (end < length && text[end] !== ';' && !isControl(text[end]!)) end++;
    if (end < length && text[end] !== ';') {
      if (!/^[\0\s]*$/u.test(text.slice(end))) {
        throw syntaxError(end, 'a control character in a value (quote the value)');
      }
    }
    const value = text.slice(index, end).trim();
    const last = value[value.length - 1];
    if (last === '"' || last === "'") {
      const shownKey = keyForMessage(key);
      throw syntaxError(start, `the value of ${shownKey.text}${cutReason(shownKey)} ends with ` +
        `a ${last} quote but does not start with one`);
    }
    pairs.push({ key, value, position: start });
    index = end < length && text[end] === ';' ? end + 1 : length;
  }
  return pairs;
}

/**
 * Appends one pair as .NET's `DbConnectionStringBuilder.AppendKeyValuePair` writes it: a value
 * free of quotes, `=`, `;`, blanks and control characters as it is; one holding `"` but no `'`
 * in single quotes; anything else in double quotes with `"` doubled. Always ends with `;`
 * (the SSIS form).
 */
export function formatPair(key: string, value: string): string {
  const escapedKey = key.replace(/=/g, '==');
  if (/^[^"'=;\s\p{Cc}]*$/u.test(value)) return `${escapedKey}=${value};`;
  if (value.includes('"') && !value.includes("'")) return `${escapedKey}='${value}';`;
  return `${escapedKey}="${value.replace(/"/g, '""')}";`;
}

// ---------------------------------------------------------------------------------------------
// Keys and values
// ---------------------------------------------------------------------------------------------

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known keys closest to `key`: hints first, else the nearest by edit distance. */
export function suggestKeys(key: string): string[] {
  const lower = key.trim().toLowerCase();
  const hinted = KEY_HINTS[lower];
  if (hinted) return hinted;
  // A shortened key (`Pass`, `Time`) names the keys it starts.
  const prefixed = KEYS.filter((spec) => lower.length >= 3 &&
    spec.key.toLowerCase().startsWith(lower)).map((spec) => spec.key);
  if (prefixed.length > 0) return prefixed;
  let best: string[] = [];
  let bestDistance = Infinity;
  for (const spec of KEYS) {
    const distance = editDistance(lower, spec.key.toLowerCase());
    if (distance < bestDistance) {
      best = [spec.key];
      bestDistance = distance;
    } else if (distance === bestDistance) {
      best.push(spec.key);
    }
  }
  // Only a plausible typo is a suggestion: at most a third of the key's letters wrong.
  return bestDistance <= Math.max(2, Math.ceil(lower.length / 3)) ? best : [];
}

/**
 * The host to connect to: brackets of an IPv6 literal removed, an internationalised name
 * (`bücher.example`) in its ASCII `xn--` form (RFC 5891, `url.domainToASCII`). An ASCII name
 * or an address is returned as written; a name `domainToASCII` refuses gives `''`.
 * Messages show the name as the user wrote it.
 */
export function asciiHost(host: string): string {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1');
  return /[^\x00-\x7f]/.test(bare) ? domainToASCII(bare) : bare;
}

/**
 * The `ClientDomain` as EHLO sends it: a non-ASCII name as its A-labels (RFC 5891), anything
 * else as written. Left unchanged when it cannot be converted, for validation to refuse.
 */
export function asciiClientDomain(name: string): string {
  const ascii = /[^\x00-\x7f]/.test(name) ? domainToASCII(name) : name;
  return ascii === '' ? name : ascii;
}

/**
 * Why a key ends without `=`: `==` inside a key is a literal `=`, so `==a` is the key `=a`
 * with no value, which the message says rather than showing a puzzling `"=a" has no "="`.
 */
function missingEquals(key: string): string {
  const shownKey = keyForMessage(key);
  const quoted = `${shown(shownKey.text)}${cutReason(shownKey)}`;
  return key.includes('=')
    ? `the key ${quoted} is never followed by a single "=" ("==" in a key stands for ` +
        'a literal "=", so it does not end the key)'
    : `the key ${quoted} has no "="`;
}

/**
 * The names after which a key's text may be a secret, lower case: the secret keys, the aliases
 * `KEY_HINTS` points to them (`pwd`, `pass`, `token`...), and `secret` (`ClientSecret`).
 */
const SECRET_KEY_NAMES: readonly string[] = [...new Set([
  ...KEYS.filter((spec) => spec.kind === 'secret').map((spec) => spec.key.toLowerCase()),
  ...Object.entries(KEY_HINTS)
    .filter(([, keys]) => keys.some((key) => KEYS_BY_LOWER.get(key.toLowerCase())?.kind ===
      'secret'))
    .map(([hint]) => hint),
  'secret',
])];

/** A key (or keyless text) as a message may show it: `text`, cut after `secretName` if set. */
export interface KeyForMessage {
  text: string;
  /** The secret key's name the text was cut after, as written (`Password`); unset: not cut. */
  secretName?: string;
}

/**
 * A key as messages show it: cut after the first secret key's name it holds when anything
 * follows the name (`Password==hunter2;UserName` is one key, as `==` is a literal `=`), so a
 * password typed next to its key never reaches an error, a field or a log.
 */
export function keyForMessage(key: string): KeyForMessage {
  const lower = key.toLowerCase();
  let start = -1;
  let end = -1;
  for (const name of SECRET_KEY_NAMES) {
    const at = lower.indexOf(name);
    if (at < 0) continue;
    if (start < 0 || at < start || (at === start && at + name.length > end)) {
      start = at;
      end = at + name.length;
    }
  }
  if (start < 0 || end >= key.trimEnd().length) return { text: key };
  return { text: `${key.slice(0, end)}…`, secretName: key.slice(start, end) };
}

/** Why a key in a message ends with `…`, or `''` when it was not cut. */
export function cutReason(shownKey: KeyForMessage): string {
  return shownKey.secretName === undefined ? ''
    : ` (cut after "${shownKey.secretName}": what follows may be a secret)`;
}

/** Quotes a value for an error message: escaped, cut at 60 characters (`quoteValue`). */
function shown(value: string): string {
  return quoteValue(value, 60);
}

function wrongValue(
  spec: KeySpec,
  value: string,
  expected: string,
  fix: string,
): ConfigurationError {
  const display = spec.kind === 'secret' ? MASK : shown(value);
  return new ConfigurationError(spec.key, `${display} is not ${expected}.`, fix);
}

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);

function parseBoolean(spec: KeySpec, value: string): boolean {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw wrongValue(spec, value, 'a boolean', `Write ${spec.key}=True or ${spec.key}=False ` +
    '(Yes/No and 1/0 are accepted too, in any case).');
}

/**
 * A whole number from `min` to `max`. `accepted` is the lowest value that works, when it is
 * above `min`: the values between parse (so validation can say why they cannot work) but the
 * message names only the range that is accepted.
 */
function parseInteger(
  spec: KeySpec,
  value: string,
  [min, max, accepted = min]: [number, number, number?],
  fix: string,
): number {
  const text = value.trim();
  const expected = `a whole number from ${accepted} to ${max}`;
  if (!/^[+]?\d+$/.test(text)) {
    throw wrongValue(spec, value, expected, fix);
  }
  const number = Number(text);
  if (number < min || number > max) {
    throw wrongValue(spec, value, expected, fix);
  }
  return number;
}

function parseSecret(value: string): SecretRef {
  if (value.startsWith('env:')) return { kind: 'env', name: value.slice(4) };
  if (value.startsWith('file:')) return { kind: 'file', path: value.slice(5) };
  if (value.startsWith('literal:')) {
    return { kind: 'literal', secret: new Secret(value.slice(8)) };
  }
  return { kind: 'literal', secret: new Secret(value) };
}

function parseSecurity(spec: KeySpec, value: string): SecureSocketOptions {
  const match = SECURITY_VALUES.find((option) => option.toLowerCase() === value.toLowerCase());
  if (match) return match;
  throw wrongValue(spec, value, `one of ${SECURITY_VALUES.join(', ')}`,
    'Write SecureSocketOptions=StartTls (STARTTLS required), SslOnConnect (implicit TLS, port ' +
    '465), StartTlsWhenAvailable, Auto or None.');
}

function parseMechanisms(spec: KeySpec, value: string): string[] {
  const names = value.split(/[\s,]+/).filter((name) => name !== '').map((n) => n.toUpperCase());
  const unknown = names.filter((name) => !KNOWN_MECHANISMS.includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw wrongValue(spec, value, 'a list of SASL mechanisms smtpcm knows',
      `List some of ${KNOWN_MECHANISMS.join(', ')}, separated by commas, in the order to try.`);
  }
  return [...new Set(names)];
}

function parseThumbprint(spec: KeySpec, value: string): string {
  const hex = value.replace(/[\s:]/g, '').toUpperCase();
  if (/^[0-9A-F]{64}$/.test(hex)) return hex.match(/../g)!.join(':');
  const sha1 = /^[0-9A-F]{40}$/.test(hex);
  throw wrongValue(spec, value, 'a SHA-256 fingerprint (64 hexadecimal digits)',
    (sha1 ? 'That looks like a SHA-1 thumbprint (40 digits), as Windows shows; ' : '') +
    'Give the SHA-256 fingerprint, e.g. from `openssl x509 -noout -fingerprint -sha256`.');
}

function parseTlsVersion(spec: KeySpec, value: string): TlsVersion {
  const compact = value.trim().toLowerCase().replace(/^(tlsv?|v)/, '').replace(/[._]/g, '');
  if (compact === '12') return 'TLSv1.2';
  if (compact === '13') return 'TLSv1.3';
  const old = compact === '10' || compact === '11' || compact === '1';
  throw wrongValue(spec, value, old ? 'a TLS version smtpcm accepts' : 'a TLS version',
    'Write MinTlsVersion=1.2 or MinTlsVersion=1.3 (TLS 1.0 and 1.1 are not offered: RFC 8996).');
}

function parseDelivery(spec: KeySpec, value: string): DeliveryMethod {
  const lower = value.trim().toLowerCase();
  if (lower === 'network') return 'Network';
  // System.Net.Mail's name for the same thing.
  if (lower === 'pickupdirectory' || lower === 'specifiedpickupdirectory') return 'PickupDirectory';
  throw wrongValue(spec, value, 'a delivery method',
    'Write DeliveryMethod=Network (SMTP) or DeliveryMethod=PickupDirectory with ' +
    'PickupDirectoryLocation=<folder>.');
}

function parseValue(spec: KeySpec, value: string): SmtpConnectionProperties[typeof spec.property] {
  if (spec.kind !== 'secret' && /[\p{Cc}]/u.test(value.replace(/\t/g, ''))) {
    throw wrongValue(spec, value, 'free of control characters (CR, LF, NUL...)',
      `Remove the control characters from ${spec.key}.`);
  }
  if (spec.kind === 'secret' && /[\r\n\0]/.test(value)) {
    throw new ConfigurationError(spec.key, 'the value holds a line break or NUL character.',
      `Remove it; a secret read with file: loses one trailing line end by itself.`);
  }
  switch (spec.kind) {
    case 'string':
    case 'host':
      return value;
    case 'boolean':
      return parseBoolean(spec, value);
    case 'seconds':
      // 0 parses, and validation refuses it saying why (no time for any reply).
      return parseInteger(spec, value, [0, 2_147_483, 1], 'Write the timeout in whole ' +
        'seconds, e.g. Timeout=100, or remove the key for the default (100 s).');
    case 'port':
      return parseInteger(spec, value, [1, 65_535], 'Write a TCP port, e.g. Port=587.');
    case 'count':
      return parseInteger(spec, value, [1, 1_000_000], `Write a whole number of at least 1, e.g. ` +
        `${spec.key}=${spec.key === 'MaxConnections' ? 4 : 100}.`);
    case 'secret':
      return parseSecret(value);
    case 'security':
      return parseSecurity(spec, value);
    case 'mechanisms':
      return parseMechanisms(spec, value);
    case 'thumbprint':
      return parseThumbprint(spec, value);
    case 'tls-version':
      return parseTlsVersion(spec, value);
    case 'delivery':
      return parseDelivery(spec, value);
  }
}

/** Security modes that require TLS: what `EnableSsl=True` promises. */
const TLS_REQUIRED: ReadonlySet<SecureSocketOptions> = new Set(['StartTls', 'SslOnConnect']);

/**
 * The TLS mode a connection uses: `SecureSocketOptions` when given; else `EnableSsl=True` is
 * required STARTTLS, or implicit TLS on port 465; `EnableSsl=False` is no TLS at all.
 */
export function effectiveSecurity(props: SmtpConnectionProperties): SecureSocketOptions {
  if (props.secureSocketOptions) return props.secureSocketOptions;
  if (!props.enableSsl) return 'None';
  return props.port === DEFAULT_IMPLICIT_TLS_PORT ? 'SslOnConnect' : 'StartTls';
}

/** The port a connection uses: `Port`, else 465 for implicit TLS, else 25. */
export function effectivePort(props: SmtpConnectionProperties): number {
  if (props.port !== undefined) return props.port;
  return props.secureSocketOptions === 'SslOnConnect' ? DEFAULT_IMPLICIT_TLS_PORT : DEFAULT_PORT;
}

/**
 * Throws `ConfigurationError` when keys contradict each other. `explicitEnableSsl` is the
 * `EnableSsl` value as written (undefined when the key is absent).
 */
function checkContradictions(
  props: SmtpConnectionProperties,
  explicitEnableSsl: boolean | undefined,
): void {
  const security = props.secureSocketOptions;
  if (security !== undefined && explicitEnableSsl !== undefined) {
    const required = TLS_REQUIRED.has(security);
    if (explicitEnableSsl && !required) {
      throw new ConfigurationError('SecureSocketOptions',
        `EnableSsl=True requires TLS but SecureSocketOptions=${security} allows a session ` +
        'without it.',
        'Remove one of them: EnableSsl=True alone means STARTTLS required (implicit TLS on ' +
        'port 465); or set SecureSocketOptions=StartTls or SslOnConnect.');
    }
    if (!explicitEnableSsl && required) {
      throw new ConfigurationError('SecureSocketOptions',
        `EnableSsl=False means no TLS but SecureSocketOptions=${security} requires it.`,
        'Set EnableSsl=True, or remove EnableSsl and let SecureSocketOptions decide.');
    }
  }
  if (props.useWindowsAuthentication) {
    if (props.accessToken !== undefined) {
      throw new ConfigurationError('AccessToken',
        'UseWindowsAuthentication=True logs in with GSSAPI or NTLM, never with an access token.',
        'Remove AccessToken, or set UseWindowsAuthentication=False and give UserName and ' +
        'AccessToken for OAuth2.');
    }
    const windows: readonly string[] = WINDOWS_MECHANISMS;
    const other = (props.authMechanisms ?? []).filter((m) => !windows.includes(m));
    if (other.length > 0) {
      throw new ConfigurationError('AuthMechanisms',
        `UseWindowsAuthentication=True allows only GSSAPI and NTLM, not ${other.join(', ')}.`,
        'Remove those mechanisms, or set UseWindowsAuthentication=False to log in with ' +
        'UserName and Password.');
    }
  }
}

/**
 * Parses an SMTP connection string: the SSIS form
 * (`SmtpServer=host;UseWindowsAuthentication=False;EnableSsl=False;Timeout=30;`), a bare host
 * (`smtphost`), and the keys smtpcm adds. Keys are case-insensitive and trimmed; a repeated key's
 * last value wins and an empty value (`Key=;`) resets the key to its default, as .NET's
 * `DbConnectionStringBuilder` does.
 *
 * Reads no file and no environment variable (see `resolveSettings`).
 * Throws `ConfigurationError` naming the key, the value (never a secret's) and the fix: a syntax
 * error, an unknown key (with the nearest known keys), a value of the wrong type, keys that
 * contradict each other, an empty `SmtpServer` (unless `allowEmptyServer` or pickup delivery).
 */
export function parseConnectionString(
  text: string,
  options: ParseOptions = {},
): SmtpConnectionProperties {
  const trimmed = text.trim();
  const values = new Map<KeySpec, string>();

  if (trimmed !== '' && !trimmed.includes('=')) {
    // A bare host, as SSIS accepts: `smtphost` (trailing `;` tolerated).
    const host = trimmed.replace(/;+$/, '').trim();
    // `Password:hunter2` is no host: a secret key's name followed by more than a host holds.
    const shownText = keyForMessage(trimmed);
    const secretInside = shownText.secretName !== undefined && !/^[\w.-]+$/.test(host);
    if (host.includes(';') || /[\s\p{Cc}]/u.test(host) || secretInside) {
      throw new ConfigurationError('SmtpServer', `${shown(shownText.text)}${cutReason(shownText)}` +
        ' is neither a host name nor a connection string.', 'Write a host (smtp.example.com) ' +
        'or key=value pairs (SmtpServer=smtp.example.com;EnableSsl=True;).');
    }
    values.set(KEYS[0]!, host);
  } else {
    for (const pair of splitConnectionString(text)) {
      const spec = KEYS_BY_LOWER.get(pair.key.toLowerCase());
      if (!spec) {
        // The value of a key we do not know is never shown: a misspelt Password, or a
        // ClientSecret of another product's syntax, holds a secret. Nor is the key past a
        // secret's name: `Password==x;UserName` and `Password:x;UserName` are keys.
        const shownKey = keyForMessage(pair.key);
        const cut = shownKey.secretName !== undefined;
        const nearest = suggestKeys(cut ? shownKey.text.slice(0, -1) : pair.key);
        throw new ConfigurationError(shownKey.text,
          `is not a key of an SMTP connection string (its value is not shown${cut
            ? `; the key is cut after "${shownKey.secretName}", as what follows may be a ` +
              'secret' : ''}).`,
          (nearest.length > 0 ? `Did you mean ${nearest.join(' or ')}? ` : '') +
          (cut && pair.key.includes('=') ? '"==" in a key stands for a literal "=": write ' +
            'one "=" between a key and its value. ' : '') +
          `The keys are: ${CONNECTION_STRING_KEYS.join(', ')}.`);
      }
      // .NET: an empty value removes the key; later pairs override earlier ones.
      if (pair.value === undefined || pair.value === '') values.delete(spec);
      else {
        values.delete(spec);
        values.set(spec, pair.value);
      }
    }
  }

  const props: SmtpConnectionProperties = {
    smtpServer: '',
    useWindowsAuthentication: false,
    enableSsl: false,
  };
  let explicitEnableSsl: boolean | undefined;
  for (const spec of KEYS) {
    const raw = values.get(spec);
    if (raw === undefined) continue;
    const value = parseValue(spec, raw);
    Object.assign(props, { [spec.property]: value });
    if (spec.property === 'enableSsl') explicitEnableSsl = value as boolean;
  }
  if (explicitEnableSsl === undefined && props.secureSocketOptions !== undefined) {
    // EnableSsl means "TLS required"; without the key it follows SecureSocketOptions.
    props.enableSsl = TLS_REQUIRED.has(props.secureSocketOptions);
  }
  checkContradictions(props, explicitEnableSsl);

  const pickup = props.deliveryMethod === 'PickupDirectory';
  if (props.smtpServer.trim() === '' && !pickup && !options.allowEmptyServer) {
    throw new ConfigurationError('SmtpServer', 'is empty: there is no server to connect to.',
      'Write SmtpServer=<host name or address>, e.g. SmtpServer=smtp.example.com.');
  }
  return props;
}

function formatSecret(ref: SecretRef, maskSecrets: boolean): string {
  switch (ref.kind) {
    case 'env':
      return `env:${ref.name}`;
    case 'file':
      return `file:${ref.path}`;
    case 'literal': {
      if (maskSecrets) return MASK;
      const value = ref.secret.reveal();
      // A literal that looks like a reference keeps its meaning with the `literal:` prefix.
      return /^(env|file|literal):/.test(value) ? `literal:${value}` : value;
    }
  }
}

function formatValue(spec: KeySpec, value: unknown, maskSecrets: boolean): string {
  switch (spec.kind) {
    case 'boolean':
      return value ? 'True' : 'False';
    case 'secret':
      return formatSecret(value as SecretRef, maskSecrets);
    case 'mechanisms':
      return (value as string[]).join(',');
    default:
      return String(value);
  }
}

/**
 * Formats properties as the canonical connection string:
 * `SmtpServer=…;UseWindowsAuthentication=…;EnableSsl=…;`, then `Timeout` when set, then
 * smtpcm's keys in the order of `CONNECTION_STRING_KEYS`, each pair ending in `;`, values
 * quoted as `DbConnectionStringBuilder` quotes them. Literal secrets are masked (`********`)
 * unless `maskSecrets: false`; `env:` and `file:` references are always shown as written.
 *
 * Does not validate: properties that contradict each other format, and fail to parse back.
 */
export function formatConnectionString(
  props: SmtpConnectionProperties,
  options: FormatOptions = {},
): string {
  const maskSecrets = options.maskSecrets ?? true;
  let text = '';
  for (const spec of KEYS) {
    const value = props[spec.property];
    if (value === undefined) continue;
    if (spec.kind === 'mechanisms' && (value as string[]).length === 0) continue;
    text += formatPair(spec.key, formatValue(spec, value, maskSecrets));
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Resolving: secrets, files, and the client's options
// ---------------------------------------------------------------------------------------------

/**
 * Reads a secret from where it lives. `env:NAME` must name a set, non-empty variable;
 * `file:PATH` a readable file, whose one trailing line end is dropped.
 *
 * Throws `ConfigurationError` naming the key and the variable or file, never the content.
 */
export async function resolveSecret(key: string, ref: SecretRef): Promise<Secret> {
  switch (ref.kind) {
    case 'literal':
      return ref.secret;
    case 'env': {
      const value = process.env[ref.name];
      if (value === undefined || value === '') {
        throw new ConfigurationError(key,
          `refers to the environment variable ${ref.name}, which is ${value === undefined
            ? 'not set' : 'empty'}.`,
          `Set ${ref.name} in the environment that runs smtpcm, or change ${key}.`);
      }
      return new Secret(value, `env:${ref.name}`);
    }
    case 'file': {
      let content: string;
      try {
        content = await readFile(ref.path, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
        throw new ConfigurationError(key,
          `refers to the file ${ref.path}, which cannot be read (${code}).`,
          `Create the file with the ${key.toLowerCase()} as its only line, make it readable ` +
          `by this user, or change ${key}.`);
      }
      const value = content.replace(/\r?\n$/, '');
      if (value === '') {
        // As for an empty variable: an empty password is never what was meant.
        throw new ConfigurationError(key, `refers to the file ${ref.path}, which is empty.`,
          `Write the ${key.toLowerCase()} into it as its only line, or change ${key}.`);
      }
      return new Secret(value, `file:${ref.path}`);
    }
  }
}

/**
 * Turns properties into what a connection needs: the `SmtpClient` options (host, port, TLS
 * mode and checks, timeouts, credentials, EHLO name) and the pool and delivery settings.
 *
 * Reads `env:`/`file:` secrets and `CaFile`. Opens no connection.
 * Throws `ConfigurationError` for a secret reference or `CaFile` that cannot be read (naming
 * the variable or file, never its content), a `CaFile` without a PEM certificate, and for
 * `Timeout=0`.
 */
export async function resolveSettings(props: SmtpConnectionProperties): Promise<ResolvedSettings> {
  if (props.timeout === 0) {
    throw new ConfigurationError('Timeout', '0 seconds leaves no time for any reply.',
      'Remove Timeout for the default (100 s), or give a number of seconds such as 60.');
  }
  const timeoutMs = Math.min((props.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000, 2_147_483_647);
  const secure = effectiveSecurity(props);

  const tls: TlsOptions = {};
  if (props.caFile !== undefined) {
    try {
      tls.ca = await readFile(props.caFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigurationError('CaFile', `${props.caFile} cannot be read (${code}).`,
        CA_FILE_FIX);
    }
    const problem = caCertificatesProblem(props.caFile, tls.ca);
    if (problem !== undefined) throw new ConfigurationError('CaFile', problem, CA_FILE_FIX);
  }
  if (props.certificateThumbprint !== undefined) {
    tls.certificateThumbprint = props.certificateThumbprint;
  }
  if (props.trustServerCertificate) tls.trustServerCertificate = true;
  if (props.minTlsVersion !== undefined) tls.minVersion = props.minTlsVersion;

  const auth: AuthOptions = {};
  if (props.useWindowsAuthentication) auth.windowsAuthentication = true;
  if (props.userName !== undefined) auth.username = props.userName;
  if (props.password !== undefined) auth.password = await resolveSecret('Password', props.password);
  if (props.accessToken !== undefined) {
    auth.accessToken = await resolveSecret('AccessToken', props.accessToken);
  }
  if (props.domain !== undefined) auth.domain = props.domain;
  if (props.targetName !== undefined) auth.targetName = props.targetName;
  if (props.authMechanisms !== undefined) auth.mechanisms = [...props.authMechanisms];
  if (props.allowInsecureAuth) auth.allowInsecureAuth = true;
  const anonymous = !auth.windowsAuthentication && auth.username === undefined &&
    auth.accessToken === undefined;

  const client: SmtpClientOptions = {
    host: asciiHost(props.smtpServer),
    port: effectivePort(props),
    secure,
    timeouts: {
      connect: timeoutMs,
      greeting: timeoutMs,
      command: timeoutMs,
      dataInitiation: timeoutMs,
      dataBlock: timeoutMs,
      dataTermination: timeoutMs,
    },
  };
  if (Object.keys(tls).length > 0) client.tls = tls;
  if (!anonymous) client.auth = auth;
  if (props.clientDomain !== undefined) client.clientName = asciiClientDomain(props.clientDomain);

  const settings: ResolvedSettings = {
    client,
    deliveryMethod: props.deliveryMethod ?? 'Network',
    maxConnections: props.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxMessagesPerConnection: props.maxMessagesPerConnection ?? DEFAULT_MAX_MESSAGES_PER_CONNECTION,
    timeoutMs,
  };
  if (props.pickupDirectoryLocation !== undefined) {
    settings.pickupDirectoryLocation = props.pickupDirectoryLocation;
  }
  return settings;
}
