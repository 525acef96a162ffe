/**
 * GSSAPI with Kerberos 5 (RFC 4752), through the optional `kerberos` module.
 *
 * The credential is the Kerberos ticket cache (after `kinit`, or a keytab named by
 * `KRB5_CLIENT_KTNAME`); no password goes through smtpcm. The context token goes as the
 * initial response; the server's tokens are stepped until the context is complete; then
 * the security-layer negotiation of RFC 4752 §3.1: the server's wrapped 4 octets are
 * unwrapped, and the client answers with wrap([0x01 = no security layer, 0, 0, 0] +
 * authorization id), the authorization id being empty (the ticket's own principal).
 *
 * TODO(auth): the integrity and confidentiality layers of RFC 4752 are not implemented
 * (TLS does that job); a server that offers no "no security layer" option is refused.
 */
import { SmtpAuthenticationError } from '../../errors.js';
import type { SaslMechanism } from '../mechanism.js';
import { malformedChallenge } from '../credentials.js';
import {
  loadKerberos,
  type KerberosAvailability,
  type KerberosClientLike,
} from './kerberos-module.js';

/** RFC 4752 §3.3: bit 0x01 of the layer octet means "no security layer". */
const NO_SECURITY_LAYER = 0x01;
/** GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG: the server proves itself too. */
const GSS_FLAGS = 2 | 8;

export interface GssapiOptions {
  /** The server's host name as the client connected to it (`smtp@<host>` by default). */
  host: string;
  /** `service@host` or `service/host` (a `@REALM` after the host is dropped). */
  targetName?: string;
  /** Injectable for tests: how the kerberos module is loaded. */
  load?: () => Promise<KerberosAvailability>;
}

/**
 * The GSS-API host-based service name (`smtp@mail.example.com`) for a target name given
 * as `smtp/mail.example.com`, `smtp/mail.example.com@REALM` or `smtp@mail.example.com`,
 * or `smtp@<host>` when none is given.
 */
export function serviceName(host: string, targetName?: string): string {
  const name = targetName?.trim();
  if (!name) return `smtp@${host}`;
  const slash = name.indexOf('/');
  if (slash > 0) {
    const hostPart = name.slice(slash + 1).split('@')[0]!;
    return `${name.slice(0, slash)}@${hostPart}`;
  }
  return name.includes('@') ? name : `${name}@${host}`;
}

export class GssapiMechanism implements SaslMechanism {
  readonly name = 'GSSAPI';
  readonly #options: GssapiOptions;
  readonly service: string;
  #client: KerberosClientLike | undefined;
  #layerDone = false;

  constructor(options: GssapiOptions) {
    this.#options = options;
    this.service = serviceName(options.host, options.targetName);
  }

  /**
   * Creates the context and its first token. Throws `SmtpAuthenticationError` with reason
   * `unavailable` when the module cannot load or there is no usable ticket (the message
   * says to run kinit or set a keytab), before anything is sent to the server.
   */
  async start(): Promise<Buffer> {
    const loaded = await (this.#options.load ?? loadKerberos)();
    if (!loaded.available) {
      throw new SmtpAuthenticationError(`GSSAPI is unavailable: ${loaded.reason}.`, 'unavailable', {
        mechanism: this.name,
      });
    }
    try {
      this.#client = await loaded.module.initializeClient(this.service, {
        mechOID: loaded.module.GSS_MECH_OID_KRB5,
        gssFlag: GSS_FLAGS,
      });
      return Buffer.from(await this.#client.step(''), 'base64');
    } catch (error) {
      throw new SmtpAuthenticationError(
        `GSSAPI could not get a Kerberos ticket for ${this.service}: ${gssMessage(error)}. ` +
          'A Kerberos credential is needed: run `kinit <user>` (or set KRB5_CLIENT_KTNAME ' +
          'to a keytab) and check that the service principal exists for this host name.',
        'unavailable',
        { mechanism: this.name, cause: error },
      );
    }
  }

  /**
   * Steps the context with each server token; once it is complete, answers the
   * security-layer challenge. Throws `SmtpAuthenticationError` (reason `refused`) when the
   * server's token does not verify or the server insists on a security layer.
   */
  async next(challenge: Buffer): Promise<Buffer> {
    const client = this.#client;
    if (!client) throw malformedChallenge(this.name, 'a challenge before the first token');
    try {
      if (!client.contextComplete) {
        const token = await client.step(challenge.toString('base64'));
        return Buffer.from(token ?? '', 'base64');
      }
      if (this.#layerDone) throw new Error('a challenge after the security layer was chosen');
      const unwrapped = Buffer.from(await client.unwrap(challenge.toString('base64')), 'base64');
      if (unwrapped.length !== 4) throw new Error('the security-layer token is not 4 octets');
      if ((unwrapped[0]! & NO_SECURITY_LAYER) === 0) {
        throw new Error('the server requires a security layer, which smtpcm does not offer');
      }
      this.#layerDone = true;
      const choice = Buffer.from([NO_SECURITY_LAYER, 0, 0, 0]).toString('base64');
      return Buffer.from(await client.wrap(choice, { user: '' }), 'base64');
    } catch (error) {
      if (error instanceof SmtpAuthenticationError) throw error;
      throw new SmtpAuthenticationError(
        `GSSAPI failed with ${this.service}: ${gssMessage(error)}.`,
        'refused',
        { mechanism: this.name, cause: error },
      );
    }
  }
}

function gssMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}
