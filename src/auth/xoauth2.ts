/**
 * XOAUTH2 (Google's, also Microsoft 365's): the initial response is
 * `user=<user>^Aauth=Bearer <token>^A^A`. A refused token gets a 334 error challenge
 * (base64 JSON, RFC 7628 §3.2.2 style); the client answers with an empty line and the
 * server closes with 535. The authentication loop then asks the provider for a fresh
 * token (`refresh: true`) and tries once more.
 */
import type { AccessTokenProvider, SaslMechanism } from './mechanism.js';
import type { Secret } from '../secret.js';
import { malformedChallenge, refuseSeparator } from './credentials.js';
import { parseOAuthError, resolveAccessToken, type OAuthErrorChallenge } from './token.js';

export interface OAuth2Options {
  /** The mailbox the token was issued for; XOAUTH2 requires it. */
  username: string;
  accessToken: Secret | AccessTokenProvider;
  /** True to ask the provider for a new token (after the server refused the last). */
  refresh?: boolean;
}

export class XOAuth2Mechanism implements SaslMechanism {
  readonly name = 'XOAUTH2';
  readonly #options: OAuth2Options;
  #errorChallenge: OAuthErrorChallenge | undefined;

  constructor(options: OAuth2Options) {
    refuseSeparator(options.username, 'user name', this.name);
    this.#options = options;
  }

  /** What the server's error challenge said, when it sent one. */
  get errorChallenge(): OAuthErrorChallenge | undefined {
    return this.#errorChallenge;
  }

  /** Throws `SmtpAuthenticationError` (reason `unavailable`) when no token can be had. */
  async start(): Promise<Buffer> {
    const { username, accessToken, refresh = false } = this.#options;
    const token = await resolveAccessToken(accessToken, refresh, this.name);
    refuseSeparator(token.reveal(), 'access token', this.name);
    return Buffer.from(`user=${username}\x01auth=Bearer ${token.reveal()}\x01\x01`, 'utf8');
  }

  /** Answers the one error challenge with an empty response; throws on a second one. */
  async next(challenge: Buffer): Promise<Buffer> {
    if (this.#errorChallenge !== undefined) {
      throw malformedChallenge(this.name, 'a second challenge');
    }
    this.#errorChallenge = parseOAuthError(challenge);
    return Buffer.alloc(0);
  }
}
