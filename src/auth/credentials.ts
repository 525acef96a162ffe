/**
 * What the password mechanisms (PLAIN, LOGIN, CRAM-MD5, SCRAM, NTLM) need, and the helpers
 * they share. Nothing here prints a secret: errors name the mechanism, never the value.
 */
import { SmtpAuthenticationError } from '../errors.js';
import type { Secret } from '../secret.js';

/** A user name and password, as the password mechanisms take them. */
export interface PasswordCredentials {
  /** The login name; sent as UTF-8 (after SASLprep for SCRAM). */
  username: string;
  password: Secret;
}

/**
 * Throws `SmtpAuthenticationError` (reason `refused`) when `value` holds a NUL, which
 * would split a PLAIN message or end a C string on the server. The message names the
 * field, not the value.
 */
export function refuseNul(value: string, field: string, mechanism: string): void {
  if (value.includes('\0')) {
    throw new SmtpAuthenticationError(
      `The ${field} contains a NUL character, which ${mechanism} cannot carry.`,
      'refused',
      { mechanism },
    );
  }
}

/**
 * Throws `SmtpAuthenticationError` (reason `refused`) when `value` holds %x01, the
 * separator of the XOAUTH2 and OAUTHBEARER key/value pairs (RFC 7628 §3.1), or a NUL.
 */
export function refuseSeparator(value: string, field: string, mechanism: string): void {
  refuseNul(value, field, mechanism);
  if (value.includes('\x01')) {
    throw new SmtpAuthenticationError(
      `The ${field} contains the control character %x01, which ${mechanism} uses as its ` +
        'separator.',
      'refused',
      { mechanism },
    );
  }
}

/** The error a mechanism throws when the server's challenge is not what the RFC says. */
export function malformedChallenge(mechanism: string, problem: string): SmtpAuthenticationError {
  return new SmtpAuthenticationError(
    `The server's ${mechanism} challenge is malformed: ${problem}.`,
    'refused',
    { mechanism },
  );
}
