/**
 * CRAM-MD5 (RFC 2195): the server sends a unique challenge, the client answers
 * `user SP hex(HMAC-MD5(password, challenge))`. The password does not cross the wire,
 * but anyone who reads the exchange can test guesses against it offline.
 */
import { createHmac } from 'node:crypto';
import type { SaslMechanism } from './mechanism.js';
import { malformedChallenge, type PasswordCredentials } from './credentials.js';

export class CramMd5Mechanism implements SaslMechanism {
  readonly name = 'CRAM-MD5';
  readonly #credentials: PasswordCredentials;
  #answered = false;

  constructor(credentials: PasswordCredentials) {
    this.#credentials = credentials;
  }

  async start(): Promise<undefined> {
    return undefined;
  }

  /** Throws when the challenge is empty or comes a second time. */
  async next(challenge: Buffer): Promise<Buffer> {
    if (this.#answered) throw malformedChallenge(this.name, 'a second challenge');
    if (challenge.length === 0) throw malformedChallenge(this.name, 'an empty challenge');
    this.#answered = true;
    const digest = createHmac('md5', Buffer.from(this.#credentials.password.reveal(), 'utf8'))
      .update(challenge)
      .digest('hex');
    return Buffer.from(`${this.#credentials.username} ${digest}`, 'utf8');
  }
}
