/**
 * SMTP command builders: each returns one command line without its CRLF.
 *
 * Every argument is checked where it enters: CR, LF and NUL are refused everywhere (they
 * would end the command early and let a value smuggle a second command), and so is every
 * other control character where RFC 5321 forbids it (addresses, the EHLO name, parameters,
 * SASL data). A refusal is a `ConfigurationError` naming the field; nothing is sent.
 * The builders do not check that an address is deliverable or well formed beyond that.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { ConfigurationError } from '../errors.js';
import { quoteLine } from './reply-parser.js';

/** ESMTP parameters of MAIL or RCPT: `SIZE=123`, `BODY=8BITMIME`, `SMTPUTF8` (value `true`). */
export type CommandParameters = Record<string, string | number | true | undefined>;

// Every C0 control character and DEL. CR, LF and NUL are among them.
const CONTROL = /[\u0000-\u001f\u007f]/;
const LINE_BREAKING = /[\r\n\u0000]/;

function refuse(field: string, value: string, problem: string, fix: string): never {
  throw new ConfigurationError(field, `${quoteLine(value)} ${problem}`, fix);
}

function checkNoControl(field: string, value: string): void {
  if (LINE_BREAKING.test(value)) {
    refuse(field, value, 'contains CR, LF or NUL, which would end the SMTP command early.',
      'Remove the line break from the value.');
  }
  if (CONTROL.test(value)) {
    refuse(field, value, 'contains a control character, which SMTP does not allow here.',
      'Remove the control character from the value.');
  }
}

// RFC 5321 §4.1.2 Domain: sub-domains of letters, digits and hyphens (LDH), each 1 to 63
// octets (RFC 1035 §2.3.4); the whole domain at most 255 octets (RFC 5321 §4.5.3.1.2).
const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const MAX_DOMAIN_OCTETS = 255;

/** The fix of every EHLO-name problem. */
const EHLO_DOMAIN_FIX =
  'Use a host name such as client.example.com, or a literal such as [192.0.2.1].';

/**
 * Why `name` cannot be the argument of EHLO or HELO, in words, or undefined when it can: a
 * domain of LDH labels or an address literal, `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321
 * §4.1.3). A non-ASCII name is refused with its A-label: EHLO goes before the server has said
 * whether it takes UTF-8. Does not check that the name resolves.
 */
export function ehloDomainProblem(name: string): string | undefined {
  if (name === '') return 'is empty.';
  if (name.startsWith('[')) {
    const literal = /^\[(IPv6:)?([^\]]*)\]$/i.exec(name);
    const ok = literal !== null && isIP(literal[2]!) === (literal[1] === undefined ? 4 : 6);
    return ok ? undefined : 'is not an address literal such as [192.0.2.1] or ' +
      '[IPv6:2001:db8::1].';
  }
  if (/[^\x00-\x7f]/.test(name)) {
    const aLabel = domainToASCII(name);
    if (aLabel === '') return 'is not a domain name.';
    const problem = ehloDomainProblem(aLabel);
    return problem === undefined ? `is not ASCII; write it as its A-label, ${aLabel}.`
      : `is not ASCII, and its A-label ${problem}`;
  }
  if (name.length > MAX_DOMAIN_OCTETS) {
    return `is ${name.length} octets long; a domain has at most ${MAX_DOMAIN_OCTETS}.`;
  }
  const bad = name.split('.').find((label) => !LDH_LABEL.test(label));
  if (bad === undefined) return undefined;
  return bad.length > 63
    ? `has a label of ${bad.length} octets; a label has at most 63.`
    : 'is not a domain name: labels of letters, digits and inner hyphens, separated by dots.';
}

function checkDomainArgument(field: string, name: string): void {
  checkNoControl(field, name);
  const problem = ehloDomainProblem(name);
  if (problem !== undefined) refuse(field, name, problem, EHLO_DOMAIN_FIX);
}

/**
 * RFC 5321 §4.1.2 Mailbox: `local-part@domain`, the local part a dot-string or a quoted
 * string; `Postmaster` alone is allowed as a recipient (§4.1.1.3). Only the shape is checked
 * here (an `@` with something on each side, no spaces outside quotes); the server judges the
 * rest.
 */
const MAILBOX = /^(?:[^\s@"]+|"(?:[^"\\]|\\.)*")@[^\s@"]+$/;

function checkAddress(field: string, address: string): void {
  checkNoControl(field, address);
  if (/[<>]/.test(address)) {
    refuse(field, address, 'contains < or >, which would break the SMTP path.',
      'Give the bare address, such as user@example.com, without angle brackets.');
  }
  if (address !== '' && !MAILBOX.test(address)
    && !(field === 'envelope.to' && /^postmaster$/i.test(address))) {
    refuse(field, address, 'is not an e-mail address (local-part@domain).',
      'Give the bare address, such as user@example.com.');
  }
}

function formatParameters(field: string, params: CommandParameters | undefined): string {
  if (!params) return '';
  let out = '';
  for (const [keyword, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(keyword)) {
      refuse(`${field} parameter`, keyword, 'is not an ESMTP keyword.',
        'Use letters, digits and hyphens only.');
    }
    if (value === true) {
      out += ` ${keyword}`;
      continue;
    }
    const text = String(value);
    checkNoControl(`${field} parameter ${keyword}`, text);
    if (text === '' || /[\s=]/.test(text)) {
      refuse(`${field} parameter ${keyword}`, text, 'is not a valid ESMTP value.',
        'ESMTP values may not be empty or contain spaces or "="; xtext-encode them.');
    }
    out += ` ${keyword}=${text}`;
  }
  return out;
}

export function ehlo(name: string): string {
  checkDomainArgument('clientName', name);
  return `EHLO ${name}`;
}

export function helo(name: string): string {
  checkDomainArgument('clientName', name);
  return `HELO ${name}`;
}

/** `MAIL FROM:<address> params`; an empty address gives the null reverse path `<>`. */
export function mailFrom(address: string, params?: CommandParameters): string {
  checkAddress('envelope.from', address);
  return `MAIL FROM:<${address}>${formatParameters('MAIL', params)}`;
}

export function rcptTo(address: string, params?: CommandParameters): string {
  checkAddress('envelope.to', address);
  if (address === '') {
    refuse('envelope.to', address, 'is empty.', 'Give every recipient an address.');
  }
  return `RCPT TO:<${address}>${formatParameters('RCPT', params)}`;
}

export function data(): string {
  return 'DATA';
}

/** `BDAT <size> [LAST]` (RFC 3030); the chunk's octets follow the line. */
export function bdat(size: number, last: boolean): string {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ConfigurationError('bdat size', `${size} is not a whole number of octets.`,
      'Pass the chunk length.');
  }
  return `BDAT ${size}${last ? ' LAST' : ''}`;
}

export function rset(): string {
  return 'RSET';
}

export function noop(): string {
  return 'NOOP';
}

export function quit(): string {
  return 'QUIT';
}

export function startTls(): string {
  return 'STARTTLS';
}

/**
 * `AUTH <mechanism> [initial-response]` (RFC 4954). The initial response is already base64
 * (or `=` for an empty one); it is checked, not encoded.
 */
export function auth(mechanism: string, initialResponse?: string): string {
  if (!/^[A-Za-z0-9_-]{1,20}$/.test(mechanism)) {
    checkNoControl('auth.mechanism', mechanism);
    refuse('auth.mechanism', mechanism, 'is not a SASL mechanism name.',
      'Use a name such as PLAIN or SCRAM-SHA-256.');
  }
  const name = mechanism.toUpperCase();
  if (initialResponse === undefined) return `AUTH ${name}`;
  checkSaslResponse('auth.initialResponse', initialResponse);
  return `AUTH ${name} ${initialResponse}`;
}

/** Checks a base64 SASL response line (or `*`, `=`), never quoting it: it may be a secret. */
export function checkSaslResponse(field: string, response: string): void {
  if (!/^[A-Za-z0-9+/=*]*$/.test(response)) {
    throw new ConfigurationError(field, 'is not base64 (it may hold a secret, so it is not shown).',
      'Encode SASL data as base64.');
  }
}

/** RFC 3461 xtext: octets `!`..`~` except `+` and `=` as they are, others as `+HH`. */
export function xtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte >= 0x21 && byte <= 0x7e && byte !== 0x2b && byte !== 0x3d) {
      out += String.fromCharCode(byte);
    } else {
      out += `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}
