/**
 * LOGIN (draft-murchison-sasl-login): the server prompts `Username:` then `Password:`
 * (base64), the client answers each. Obsolete but still what Exchange and Microsoft 365
 * offer for basic authentication. No initial response: some servers reject one.
 */
import type { SaslMechanism } from './mechanism.js';
import { malformedChallenge, type PasswordCredentials } from './credentials.js';

export class LoginMechanism implements SaslMechanism {
  readonly name = 'LOGIN';
  readonly #credentials: PasswordCredentials;
  #step = 0;

  constructor(credentials: PasswordCredentials) {
    this.#credentials = credentials;
  }

  async start(): Promise<undefined> {
    return undefined;
  }

  /**
   * Answers the user-name prompt first and the password prompt second. The prompts'
   * text is only a hint (servers word them differently), so the order decides; a
   * prompt that names the other field than expected is answered by its name.
   * Throws after two prompts.
   */
  async next(challenge: Buffer): Promise<Buffer> {
    const prompt = challenge.toString('utf8').toLowerCase();
    let field: 'username' | 'password' = this.#step === 0 ? 'username' : 'password';
    if (prompt.includes('password')) field = 'password';
    else if (prompt.includes('user')) field = 'username';
    this.#step += 1;
    if (this.#step > 2) {
      throw malformedChallenge(this.name, 'more than two prompts');
    }
    const value =
      field === 'username' ? this.#credentials.username : this.#credentials.password.reveal();
    return Buffer.from(value, 'utf8');
  }
}
