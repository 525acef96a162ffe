/**
 * Where an OAuth2 access token comes from: a literal secret, an environment variable read
 * at each use, or an async provider (which is asked again with `refresh: true` after the
 * server refused the last token).
 */
import { SmtpAuthenticationError } from '../errors.js';
import { Secret } from '../secret.js';
import type { AccessTokenProvider, AuthOptions } from './mechanism.js';

/**
 * A provider that reads the token from `process.env[name]` each time it is called, so a
 * token refreshed by another process is picked up on the retry. Throws
 * `SmtpAuthenticationError` (reason `unavailable`) when the variable is unset or empty.
 */
export function accessTokenFromEnvironment(name: string): AccessTokenProvider {
  return async () => {
    const value = process.env[name];
    if (value === undefined || value === '') {
      throw new SmtpAuthenticationError(
        `The environment variable ${name}, which should hold the OAuth2 access token, ` +
          'is not set.',
        'unavailable',
      );
    }
    return new Secret(value, `env:${name}`);
  };
}

/** True when the token can be fetched again (a provider function, not a fixed secret). */
export function isRefreshable(token: AuthOptions['accessToken']): boolean {
  return typeof token === 'function';
}

/**
 * The token as a `Secret`. Throws `SmtpAuthenticationError` (reason `unavailable`) when
 * the provider fails or returns an empty token; the message carries the provider's
 * message, which must not itself contain the token.
 */
export async function resolveAccessToken(
  token: Secret | AccessTokenProvider,
  refresh: boolean,
  mechanism: string,
): Promise<Secret> {
  if (token instanceof Secret) return token;
  let value: string | Secret;
  try {
    value = await token({ refresh });
  } catch (error) {
    if (error instanceof SmtpAuthenticationError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new SmtpAuthenticationError(
      `The OAuth2 access token provider failed: ${reason}`,
      'unavailable',
      { mechanism, cause: error },
    );
  }
  const secret = value instanceof Secret ? value : new Secret(value, 'provider');
  if (secret.isEmpty) {
    throw new SmtpAuthenticationError(
      'The OAuth2 access token provider returned an empty token.',
      'unavailable',
      { mechanism },
    );
  }
  return secret;
}

/** What an RFC 7628 §3.2.2 error challenge says (the JSON the server sent with 334). */
export interface OAuthErrorChallenge {
  status?: string;
  scope?: string;
  schemes?: string;
  'openid-configuration'?: string;
}

/** Parses the JSON of an error challenge; a challenge that is not JSON gives `{}`. */
export function parseOAuthError(challenge: Buffer): OAuthErrorChallenge {
  try {
    const parsed: unknown = JSON.parse(challenge.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object') return {};
    const result: OAuthErrorChallenge = {};
    for (const key of ['status', 'scope', 'schemes', 'openid-configuration'] as const) {
      const value = (parsed as Record<string, unknown>)[key];
      if (typeof value === 'string') result[key] = value;
    }
    return result;
  } catch {
    return {};
  }
}
