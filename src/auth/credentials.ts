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

/** The error a mechanism throws when the server's challenge is not what the RFC says. */
export function malformedChallenge(mechanism: string, problem: string): SmtpAuthenticationError {
  return new SmtpAuthenticationError(
    `The server's ${mechanism} challenge is malformed: ${problem}.`,
    'refused',
    { mechanism },
  );
}
