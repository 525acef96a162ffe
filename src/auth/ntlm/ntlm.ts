/**
 * NTLM as a SASL mechanism (MS-NLMP, used by Exchange as `AUTH NTLM`, [MS-SMTPNTLM]):
 * the NEGOTIATE message goes as the initial response, the server's CHALLENGE comes in the
 * 334, the AUTHENTICATE message (NTLMv2 with extended session security) answers it.
 * NTLMv1 and LM are never sent, whatever the server offers.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SmtpAuthenticationError } from '../../errors.js';
import type { Secret } from '../../secret.js';
import type { SaslMechanism } from '../mechanism.js';
import { malformedChallenge } from '../credentials.js';
import {
  createAuthenticateMessage,
  createNegotiateMessage,
  parseChallengeMessage,
  type ChallengeMessage,
} from './messages.js';

export interface NtlmOptions {
  /** `user`, `DOMAIN\user` (domain taken from it when `domain` is not given) or a UPN. */
  username: string;
  password: Secret;
  /** The Windows domain; default: the one in `DOMAIN\user`, else empty. */
  domain?: string;
  /** The workstation name; default: this host's name (first label), upper case. */
  workstation?: string;
  /** Injectable for tests: 8 bytes. Default: random. */
  clientChallenge?: () => Buffer;
  /** Injectable for tests. Default: the current time. */
  now?: () => Date;
}

export class NtlmMechanism implements SaslMechanism {
  readonly name = 'NTLM';
  readonly #options: NtlmOptions;
  readonly #username: string;
  readonly #domain: string;
  #negotiate: Buffer | undefined;
  #answered = false;

  constructor(options: NtlmOptions) {
    this.#options = options;
    const split = /^([^\\]+)\\(.+)$/.exec(options.username);
    this.#username = split && options.domain === undefined ? split[2]! : options.username;
    this.#domain = options.domain ?? (split ? split[1]! : '');
  }

  async start(): Promise<Buffer> {
    this.#negotiate = createNegotiateMessage();
    return this.#negotiate;
  }

  /** Throws `SmtpAuthenticationError` (reason `refused`) when the challenge is malformed. */
  async next(challenge: Buffer): Promise<Buffer> {
    if (this.#answered) throw malformedChallenge(this.name, 'a second challenge');
    if (challenge.length === 0) {
      // Exchange without an initial response: an empty 334 asks for the NEGOTIATE message.
      return this.start();
    }
    let parsed: ChallengeMessage;
    try {
      parsed = parseChallengeMessage(challenge);
    } catch (error) {
      throw malformedChallenge(this.name, (error as Error).message);
    }
    this.#answered = true;
    try {
      return createAuthenticateMessage({
        challenge: parsed,
        username: this.#username,
        password: this.#options.password.reveal(),
        domain: this.#domain,
        workstation: this.#options.workstation ?? defaultWorkstation(),
        clientChallenge: this.#options.clientChallenge?.() ?? randomBytes(8),
        now: this.#options.now?.() ?? new Date(),
        ...(this.#negotiate ? { negotiateMessage: this.#negotiate } : {}),
        randomSessionKey: randomBytes(16),
      }).message;
    } catch (error) {
      throw new SmtpAuthenticationError(
        `NTLM could not answer the server's challenge: ${(error as Error).message}.`,
        'refused',
        { mechanism: this.name },
      );
    }
  }
}

/** This host's name up to the first dot, upper case, at most 15 characters (NetBIOS). */
export function defaultWorkstation(): string {
  return (hostname().split('.')[0] ?? '').toUpperCase().slice(0, 15);
}
