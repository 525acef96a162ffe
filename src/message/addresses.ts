/**
 * Address lines as the Send Mail task takes them:
 * `"Müller, Jürgen" <j@example.com>; b@example.com`.
 *
 * A line is split on `;` and `,` (SSIS documents `;`, users type `,`), respecting quoted
 * display names, by Nodemailer's address parser; groups are flattened. Each address is then
 * checked against the RFC 5322 `addr-spec` (dot-atom or quoted local part, dot-atom domain or
 * address literal), without the obsolete forms. A UTF-8 local part (RFC 6531/6532) is accepted
 * and marks the address as needing SMTPUTF8; a UTF-8 domain is converted to its A-label
 * (IDNA) for the envelope, which needs no extension.
 */
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { quoteValue } from './quote.js';

/** One mailbox of an address line. */
export interface MailAddress {
  /** The display name, decoded, possibly empty. */
  name: string;
  /** The address as written (UTF-8 domain kept), used in headers. */
  address: string;
  /** The address for the envelope: the domain as an A-label (`xn--…`) when it was UTF-8. */
  envelopeAddress: string;
  /** True when the local part has non-ASCII characters: the server must offer SMTPUTF8. */
  smtpUtf8: boolean;
}

/** A problem with one field, found before anything is sent. */
export interface FieldProblem {
  field: string;
  message: string;
  fix: string;
}

export interface ParsedAddressLine {
  addresses: MailAddress[];
  problems: FieldProblem[];
}

// RFC 5322 §3.2.3 atext, plus any non-ASCII character (RFC 6532 §3.2 UTF8-non-ascii).
const ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uFFFF-]+$/u;
const QUOTED_LOCAL = /^"(?:[\x20\x21\x23-\x5B\x5D-\x7E\u0080-\uFFFF]|\\[\x20-\x7E])*"$/u;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const CONTROL = /[\x00-\x1F\x7F]/;
// RFC 5321 §4.5.3.1.1 and .3: 64 octets of local part, 256 of path including `<>`.
const MAX_LOCAL_OCTETS = 64;
const MAX_ADDRESS_OCTETS = 254;

/**
 * Checks one `addr-spec` and returns why it is wrong, or the envelope form when it is right.
 * Does not resolve the domain.
 */
export function checkAddress(
  address: string,
): { ok: true; envelopeAddress: string; smtpUtf8: boolean } | { ok: false; reason: string } {
  if (CONTROL.test(address)) {
    return { ok: false, reason: 'it contains a control character (CR, LF, NUL or another)' };
  }
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) {
    return { ok: false, reason: 'it is not of the form local-part@domain' };
  }
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const localIsQuoted = local.startsWith('"');
  if (localIsQuoted ? !QUOTED_LOCAL.test(local) : !isDotAtom(local)) {
    const reason = `its local part ${quoteValue(local)} is not a valid RFC 5322 local part`;
    return { ok: false, reason };
  }
  if (Buffer.byteLength(local) > MAX_LOCAL_OCTETS) {
    return { ok: false, reason: `its local part is longer than ${MAX_LOCAL_OCTETS} octets` };
  }
  const asciiDomain = checkDomain(domain);
  if (asciiDomain === undefined) {
    const reason = `its domain ${quoteValue(domain)} is not a valid domain or address literal`;
    return { ok: false, reason };
  }
  const envelopeAddress = `${local}@${asciiDomain}`;
  if (Buffer.byteLength(envelopeAddress) > MAX_ADDRESS_OCTETS) {
    return { ok: false, reason: `it is longer than ${MAX_ADDRESS_OCTETS} octets` };
  }
  return { ok: true, envelopeAddress, smtpUtf8: /[^\x00-\x7F]/.test(local) };
}

function isDotAtom(text: string): boolean {
  return text.split('.').every((atom) => ATOM.test(atom));
}

/** The domain as ASCII (A-labels), or undefined when it is not a valid domain. */
function checkDomain(domain: string): string | undefined {
  if (domain.startsWith('[')) {
    // RFC 5321 §4.1.3 address literals: [192.0.2.1] or [IPv6:2001:db8::1].
    return /^\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+)\]$/.test(domain)
      ? domain
      : undefined;
  }
  const ascii = /[^\x00-\x7F]/.test(domain) ? domainToASCII(domain) : domain;
  if (ascii === '' || ascii.length > 253) {
    return undefined;
  }
  return ascii.split('.').every((label) => LABEL.test(label)) ? ascii : undefined;
}

/**
 * Parses an address line (`;` or `,` separated) into mailboxes and the problems found.
 * `field` names the property in problems (`ToLine`). An empty or missing line gives no
 * addresses and no problem: whether one is required is the caller's decision.
 */
export function parseAddressLine(field: string, line: string | undefined): ParsedAddressLine {
  const addresses: MailAddress[] = [];
  const problems: FieldProblem[] = [];
  if (line === undefined || line.trim() === '') {
    return { addresses, problems };
  }
  if (/[\r\n\0]/.test(line)) {
    problems.push(injectionProblem(field));
    return { addresses, problems };
  }
  // Nodemailer's parser turns a stray `<` or `>` into part of the display name
  // (`b@example.com> NOTIFY=SUCCESS` became `"> NOTIFY=SUCCESS" <b@example.com>`).
  for (const entry of strayBracketEntries(line)) {
    problems.push({
      field,
      message: `${quoteValue(entry)} has a "<" or ">", or text, outside a quoted display name ` +
        'and its <address>.',
      fix: 'Write the address as name@domain or "Name" <name@domain>; put a display name ' +
        'that holds < or > in double quotes.',
    });
  }
  if (problems.length > 0) return { addresses, problems };
  for (const entry of addressparser(line, { flatten: true })) {
    const written = entry.address.trim();
    if (written === '') {
      problems.push({
        field,
        message: `${quoteValue(entry.name)} is not an e-mail address.`,
        fix: isSenderField(field)
          ? 'Write the sender as name@domain or "Name" <name@domain>.'
          : 'Write each recipient as name@domain or "Name" <name@domain>, separated by ";".',
      });
      continue;
    }
    const checked = checkAddress(written);
    if (!checked.ok) {
      problems.push({
        field,
        message: `${quoteValue(written)} is not a valid address: ${checked.reason}.`,
        fix: isSenderField(field)
          ? 'Correct the sender address.'
          : 'Correct the address; separate several addresses with ";".',
      });
      continue;
    }
    addresses.push({
      name: entry.name,
      address: written,
      envelopeAddress: checked.envelopeAddress,
      smtpUtf8: checked.smtpUtf8,
    });
  }
  return { addresses, problems };
}

/**
 * The entries of an address line (split at `,` and `;` outside quotes, comments and angle
 * brackets) that have a `<` or `>` outside a quoted string or comment other than one
 * `<address>` pair, or text after that pair (RFC 5322 §3.4 name-addr).
 */
function strayBracketEntries(line: string): string[] {
  const bad: string[] = [];
  let start = 0;
  let quoted = false;
  let comment = 0;
  // 0: before `<`, 1: inside `<...>`, 2: after `>`.
  let angle = 0;
  let stray = false;
  const end = (at: number): void => {
    if (stray || angle === 1) bad.push(line.slice(start, at).trim());
    start = at + 1;
    angle = 0;
    stray = false;
  };
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if ((quoted || comment > 0) && char === '\\') i++;
    else if (quoted) quoted = char !== '"';
    else if (char === '(') comment++;
    else if (comment > 0) comment -= char === ')' ? 1 : 0;
    else if (char === '"') quoted = true;
    else if (char === '<' && angle === 0) angle = 1;
    else if (char === '>' && angle === 1) angle = 2;
    else if ((char === ',' || char === ';') && angle !== 1) end(i);
    else if (char === '<' || char === '>' || (angle === 2 && !/\s/.test(char))) stray = true;
  }
  end(line.length);
  return bad;
}

/** True for the fields that hold the sender (`FromLine`, the CLI's `--from`). */
function isSenderField(field: string): boolean {
  return field === 'FromLine' || field === '--from';
}

/** The problem reported for a CR, LF or NUL in a header value (header injection). */
export function injectionProblem(field: string): FieldProblem {
  return {
    field,
    message: 'contains a line break (CR or LF) or NUL, which would inject header lines.',
    fix: 'Remove the line breaks from the value; a header value is a single line.',
  };
}

/** True when the value has a CR, LF or NUL: it must not reach a header. */
export function hasLineBreak(value: string): boolean {
  return /[\r\n\0]/.test(value);
}
