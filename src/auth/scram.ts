/**
 * SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), and their -PLUS variants with the
 * `tls-exporter` channel binding (RFC 9266, TLS 1.3 only).
 *
 * client-first `n,,n=<user>,r=<nonce>` goes as the initial response; the server's
 * `r=,s=,i=` gives the salt and iteration count; client-final carries the proof; the
 * server-final `v=` proves the server knows the password too. A server that sends a wrong
 * `v=`, or says 235 without sending one, is rejected (reason `server-proof`): it may be
 * an impostor that only relays. User name and password go through SASLprep (RFC 4013).
 *
 * Channel binding (RFC 5802 §6): -PLUS sends `p=tls-exporter` and binds the proof to this
 * TLS connection, so a man in the middle holding its own TLS session cannot relay it.
 * Without -PLUS, a client that has binding data sends the GS2 flag `y` ("I could bind, you
 * did not offer it"), so a server that does support -PLUS detects a stripped offer; with
 * no binding data (no TLS 1.3) the flag is `n`.
 *
 * TODO(auth): -PLUS is checked against a scripted server only; the rig's Dovecot 2.3 does
 * not offer it.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { saslprep } from '@mongodb-js/saslprep';
import { SmtpAuthenticationError } from '../errors.js';
import type { SaslMechanism } from './mechanism.js';
import { malformedChallenge, type PasswordCredentials } from './credentials.js';

export type ScramHash = 'SHA-1' | 'SHA-256';

/** The highest iteration count accepted; PBKDF2 beyond it would stall the client. */
export const MAX_SCRAM_ITERATIONS = 1_000_000;

export interface ScramOptions extends PasswordCredentials {
  hash: ScramHash;
  /** The `tls-exporter` value of the TLS connection (RFC 9266), when there is one. */
  channelBinding?: Buffer;
  /** Use the -PLUS variant; requires `channelBinding`. */
  plus?: boolean;
  /** The client nonce (printable ASCII, no comma). Default: 24 random bytes, base64. */
  nonce?: string;
}

const DIGESTS: Record<ScramHash, { node: string; length: number }> = {
  'SHA-1': { node: 'sha1', length: 20 },
  'SHA-256': { node: 'sha256', length: 32 },
};

export class ScramMechanism implements SaslMechanism {
  readonly name: string;
  readonly #options: ScramOptions;
  readonly #nonce: string;
  readonly #gs2Header: string;
  readonly #channelBindingData: Buffer;
  #clientFirstBare = '';
  #expectedServerSignature: Buffer | undefined;
  #state: 'initial' | 'sent-first' | 'sent-final' | 'verified' | 'failed' = 'initial';

  /** Throws `SmtpAuthenticationError` (reason `refused`) when SASLprep refuses a field. */
  constructor(options: ScramOptions) {
    this.name = `SCRAM-${options.hash}${options.plus ? '-PLUS' : ''}`;
    this.#options = options;
    if (options.plus && !options.channelBinding) {
      throw new RangeError('SCRAM -PLUS needs the channel binding data.');
    }
    this.#gs2Header = options.plus ? 'p=tls-exporter,,' : options.channelBinding ? 'y,,' : 'n,,';
    this.#channelBindingData = options.plus ? options.channelBinding! : Buffer.alloc(0);
    this.#nonce = options.nonce ?? randomBytes(24).toString('base64');
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(this.#nonce)) {
      throw new RangeError('A SCRAM nonce is printable ASCII without a comma.');
    }
  }

  async start(): Promise<Buffer> {
    const user = escapeSaslName(prepare(this.#options.username, 'user name', this.name));
    this.#clientFirstBare = `n=${user},r=${this.#nonce}`;
    this.#state = 'sent-first';
    return Buffer.from(this.#gs2Header + this.#clientFirstBare, 'utf8');
  }

  /**
   * First challenge: server-first, answered with client-final. Second: server-final,
   * checked and answered with an empty response. An `e=` server error is answered with an
   * empty response too, so that the server closes the exchange with its 535.
   * Throws `SmtpAuthenticationError`: reason `server-proof` for a wrong signature,
   * `refused` for a malformed challenge.
   */
  async next(challenge: Buffer): Promise<Buffer> {
    const text = challenge.toString('utf8');
    if (this.#state === 'sent-first') return this.#clientFinal(text);
    if (this.#state === 'sent-final') {
      this.#verify(text);
      return Buffer.alloc(0);
    }
    throw malformedChallenge(this.name, 'a challenge after the server-final message');
  }

  /** Throws reason `server-proof` when the server said 235 without proving itself. */
  async finish(): Promise<void> {
    if (this.#state !== 'verified') {
      throw new SmtpAuthenticationError(
        `The server accepted ${this.name} without proving it knows the password ` +
          '(no server signature); it may be an impostor, so the session is not trusted.',
        'server-proof',
        { mechanism: this.name },
      );
    }
  }

  #clientFinal(serverFirst: string): Buffer {
    const attributes = parseAttributes(serverFirst, this.name);
    if (attributes.has('m')) throw malformedChallenge(this.name, 'an unsupported extension (m=)');
    const nonce = attributes.get('r');
    const salt = attributes.get('s');
    const iterationText = attributes.get('i');
    if (nonce === undefined || salt === undefined || iterationText === undefined) {
      throw malformedChallenge(this.name, 'server-first lacks r=, s= or i=');
    }
    if (!nonce.startsWith(this.#nonce) || nonce.length === this.#nonce.length) {
      throw new SmtpAuthenticationError(
        `The server's ${this.name} nonce does not extend the client's nonce.`,
        'server-proof',
        { mechanism: this.name },
      );
    }
    const iterations = Number(iterationText);
    if (!/^[1-9][0-9]*$/.test(iterationText) || iterations > MAX_SCRAM_ITERATIONS) {
      throw malformedChallenge(
        this.name,
        `iteration count ${iterationText} is not between 1 and ${MAX_SCRAM_ITERATIONS}`,
      );
    }
    const digest = DIGESTS[this.#options.hash];
    const password = prepare(this.#options.password.reveal(), 'password', this.name);
    const saltedPassword = pbkdf2Sync(
      password,
      Buffer.from(salt, 'base64'),
      iterations,
      digest.length,
      digest.node,
    );
    const clientKey = hmac(digest.node, saltedPassword, 'Client Key');
    const storedKey = createHash(digest.node).update(clientKey).digest();
    const channelBinding = Buffer.concat([
      Buffer.from(this.#gs2Header, 'utf8'),
      this.#channelBindingData,
    ]).toString('base64');
    const clientFinalWithoutProof = `c=${channelBinding},r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
    const clientSignature = hmac(digest.node, storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i += 1) proof[i] = clientKey[i]! ^ clientSignature[i]!;
    const serverKey = hmac(digest.node, saltedPassword, 'Server Key');
    this.#expectedServerSignature = hmac(digest.node, serverKey, authMessage);
    this.#state = 'sent-final';
    return Buffer.from(`${clientFinalWithoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  #verify(serverFinal: string): void {
    const attributes = parseAttributes(serverFinal, this.name);
    const error = attributes.get('e');
    if (error !== undefined) {
      this.#state = 'failed';
      return;
    }
    const signature = attributes.get('v');
    const expected = this.#expectedServerSignature;
    if (signature === undefined || expected === undefined) {
      throw malformedChallenge(this.name, 'server-final has neither v= nor e=');
    }
    const given = Buffer.from(signature, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.#state = 'failed';
      throw new SmtpAuthenticationError(
        `The server's ${this.name} signature is wrong: it does not know the password, so it ` +
          'is not the server it claims to be. Authentication was abandoned.',
        'server-proof',
        { mechanism: this.name },
      );
    }
    this.#state = 'verified';
  }
}

function hmac(algorithm: string, key: Buffer, data: string): Buffer {
  return createHmac(algorithm, key).update(data, 'utf8').digest();
}

/** SASLprep (RFC 4013) for a query: unassigned code points are allowed (RFC 4013 §2.5). */
function prepare(value: string, field: string, mechanism: string): string {
  try {
    return saslprep(value, { allowUnassigned: true });
  } catch {
    throw new SmtpAuthenticationError(
      `The ${field} contains a character SASLprep (RFC 4013) prohibits, so ${mechanism} ` +
        'cannot send it.',
      'refused',
      { mechanism },
    );
  }
}

/** RFC 5802 §5.1: `=` and `,` in a saslname are written `=3D` and `=2C`. */
function escapeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function parseAttributes(message: string, mechanism: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of message.split(',')) {
    const match = /^([a-zA-Z])=(.*)$/s.exec(part);
    if (!match) throw malformedChallenge(mechanism, `"${part.slice(0, 20)}" is no attribute`);
    if (!attributes.has(match[1]!)) attributes.set(match[1]!, match[2]!);
  }
  return attributes;
}
