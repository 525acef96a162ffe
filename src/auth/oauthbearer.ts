/**
 * OAUTHBEARER (RFC 7628): the initial response is a GS2 header and key/value pairs,
 * `n,a=<user>,^Ahost=<host>^Aport=<port>^Aauth=Bearer <token>^A^A`. A refused token gets
 * a 334 error challenge (base64 JSON); the client answers `^A` (RFC 7628 §3.2.3) and the
 * server closes with 535. The loop then refreshes the token once.
 */
import type { AccessTokenProvider, SaslMechanism } from './mechanism.js';
import type { Secret } from '../secret.js';
import { malformedChallenge, refuseSeparator } from './credentials.js';
import { parseOAuthError, resolveAccessToken, type OAuthErrorChallenge } from './token.js';

export interface OAuthBearerOptions {
  /** The authorization identity (`a=`); omitted when not given. */
  username?: string;
  accessToken: Secret | AccessTokenProvider;
  /** The server's host name (`host=`), as the client connected to it. */
  host?: string;
  /** The server's port (`port=`). */
  port?: number;
  refresh?: boolean;
}

export class OAuthBearerMechanism implements SaslMechanism {
  readonly name = 'OAUTHBEARER';
  readonly #options: OAuthBearerOptions;
  #errorChallenge: OAuthErrorChallenge | undefined;

  constructor(options: OAuthBearerOptions) {
    refuseSeparator(options.username ?? '', 'user name', this.name);
    this.#options = options;
  }

  get errorChallenge(): OAuthErrorChallenge | undefined {
    return this.#errorChallenge;
  }

  /** Throws `SmtpAuthenticationError` (reason `unavailable`) when no token can be had. */
  async start(): Promise<Buffer> {
    const { username, accessToken, host, port, refresh = false } = this.#options;
    const token = await resolveAccessToken(accessToken, refresh, this.name);
    refuseSeparator(token.reveal(), 'access token', this.name);
    // RFC 5801 §4: `=` and `,` in the saslname are escaped as in SCRAM.
    const authzid = username ? `a=${username.replace(/=/g, '=3D').replace(/,/g, '=2C')}` : '';
    const pairs = [
      host === undefined ? undefined : `host=${host}`,
      port === undefined ? undefined : `port=${port}`,
      `auth=Bearer ${token.reveal()}`,
    ].filter((pair): pair is string => pair !== undefined);
    return Buffer.from(`n,${authzid},\x01${pairs.join('\x01')}\x01\x01`, 'utf8');
  }

  /** Answers the one error challenge with `^A` (RFC 7628 §3.2.3); throws on a second. */
  async next(challenge: Buffer): Promise<Buffer> {
    if (this.#errorChallenge !== undefined) {
      throw malformedChallenge(this.name, 'a second challenge');
    }
    this.#errorChallenge = parseOAuthError(challenge);
    return Buffer.from([0x01]);
  }
}
