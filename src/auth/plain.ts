/**
 * PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, sent as the initial response.
 * The password travels as it is, so the policy allows PLAIN only over TLS (or with
 * `allowInsecureAuth`).
 */
import type { SaslMechanism } from './mechanism.js';
import { malformedChallenge, refuseNul, type PasswordCredentials } from './credentials.js';

export interface PlainOptions extends PasswordCredentials {
  /** The identity to act as (RFC 4616 authzid); empty by default: the login's own. */
  authorizationId?: string;
}

export class PlainMechanism implements SaslMechanism {
  readonly name = 'PLAIN';
  readonly #options: PlainOptions;
  #sent = false;

  /** Throws `SmtpAuthenticationError` (reason `refused`) when a field holds a NUL. */
  constructor(options: PlainOptions) {
    refuseNul(options.username, 'user name', this.name);
    refuseNul(options.authorizationId ?? '', 'authorization id', this.name);
    refuseNul(options.password.reveal(), 'password', this.name);
    this.#options = options;
  }

  async start(): Promise<Buffer> {
    this.#sent = true;
    const { authorizationId = '', username, password } = this.#options;
    return Buffer.from(`${authorizationId}\0${username}\0${password.reveal()}`, 'utf8');
  }

  /**
   * Used only when the message was not sent as the initial response: an empty challenge
   * asks for it. A challenge after the message is an error (PLAIN has one message).
   */
  async next(challenge: Buffer): Promise<Buffer> {
    if (this.#sent || challenge.length > 0) {
      throw malformedChallenge(this.name, 'PLAIN expects no challenge after its message');
    }
    return this.start();
  }
}
