/**
 * A scripted SCRAM server for the loop tests: it answers the client's real messages with
 * RFC 5802 arithmetic, and can be told to send a wrong signature or none at all.
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import type { SmtpReply } from '../../src/protocol/reply.js';
import { challenge, decodeLine, reply } from './fake-exchange.js';

export interface ScramServerOptions {
  password: string;
  hash: 'sha1' | 'sha256';
  /** `wrong`: a signature made with another key; `none`: 235 right after client-final. */
  signature?: 'right' | 'wrong' | 'none';
  /** The GS2 header plus binding data the client must send in c= (RFC 5802 §7). */
  expectedChannelBinding?: Buffer;
}

/** The three steps of the server side, as script entries. */
export function scramServer(options: ScramServerOptions): Array<(line: string) => SmtpReply> {
  const salt = Buffer.from('QSXCR+Q6sek8bf92', 'base64');
  const length = options.hash === 'sha1' ? 20 : 32;
  let clientFirstBare = '';
  let serverFirst = '';
  const steps: Array<(line: string) => SmtpReply> = [
    (line) => {
      clientFirstBare = decodeLine(line).replace(/^(n|y|p=[a-z0-9-]+),,/, '');
      const nonce = /r=([^,]+)/.exec(clientFirstBare)![1]!;
      serverFirst = `r=${nonce}server-part,s=${salt.toString('base64')},i=4096`;
      return challenge(serverFirst);
    },
    (line) => {
      const clientFinal = decodeLine(line);
      const c = /^c=([^,]*),/.exec(clientFinal)![1]!;
      const expected = options.expectedChannelBinding;
      if (expected && !Buffer.from(c, 'base64').equals(expected)) {
        return challenge('e=channel-bindings-dont-match');
      }
      const withoutProof = clientFinal.replace(/,p=.*$/, '');
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const salted = pbkdf2Sync(options.password, salt, 4096, length, options.hash);
      const hmac = (key: Buffer, data: string) =>
        createHmac(options.hash, key).update(data).digest();
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash(options.hash).update(clientKey).digest();
      const signature = hmac(storedKey, authMessage);
      const proof = Buffer.from(/,p=(.*)$/.exec(clientFinal)![1]!, 'base64');
      const recovered = Buffer.from(proof.map((byte, i) => byte ^ signature[i]!));
      if (!createHash(options.hash).update(recovered).digest().equals(storedKey)) {
        return challenge('e=invalid-proof');
      }
      if (options.signature === 'none') return reply('235 2.7.0 Authentication successful');
      const serverKey = hmac(salted, options.signature === 'wrong' ? 'Other Key' : 'Server Key');
      return challenge(`v=${hmac(serverKey, authMessage).toString('base64')}`);
    },
  ];
  return steps;
}
