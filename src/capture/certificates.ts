/**
 * A throw-away certificate authority: a CA certificate and server certificates issued by it,
 * as PEM, for tests (expired, wrong-host and self-signed certificates) and for the capture
 * server's STARTTLS. Never for production use: keys live only in memory.
 *
 * Keys come from `crypto.generateKeyPairSync` (RSA 2048, fast, native); node-forge builds and
 * signs the X.509 certificates (SHA-256).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface IssuedCertificate {
  /** The certificate, PEM. */
  cert: string;
  /** Its private key, PKCS#8 PEM. */
  key: string;
}

export interface IssueOptions {
  /** Default: one year from now. */
  notAfter?: Date;
  /** Default: one hour ago (clock skew). */
  notBefore?: Date;
  /** Sign with the certificate's own key instead of the CA's. */
  selfSigned?: boolean;
}

export interface TestAuthority {
  /** The CA certificate, PEM: what a client passes as `ca`. */
  caCert: string;
  /**
   * A server certificate for `names` (DNS names or IP addresses; the first is also the
   * common name), issued by this CA unless `selfSigned`.
   */
  issue(names: string[], opts?: IssueOptions): IssuedCertificate;
}

function newKeyPair(): { pem: string; privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { pem, privateKey: forgeKey, publicKey };
}

function serialNumber(): string {
  // Positive: the top bit clear.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

const HOUR = 3600_000;

export function createTestAuthority(commonName = 'smtpcm test CA'): TestAuthority {
  const ca = newKeyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = serialNumber();
  caCert.validity.notBefore = new Date(Date.now() - HOUR);
  caCert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * HOUR);
  const caName = [{ name: 'commonName', value: commonName }];
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  return {
    caCert: forge.pki.certificateToPem(caCert),
    issue(names, opts = {}) {
      if (names.length === 0) throw new Error('issue() needs at least one name.');
      const leaf = newKeyPair();
      const cert = forge.pki.createCertificate();
      cert.publicKey = leaf.publicKey;
      cert.serialNumber = serialNumber();
      cert.validity.notBefore = opts.notBefore ?? new Date(Date.now() - HOUR);
      cert.validity.notAfter = opts.notAfter ?? new Date(Date.now() + 365 * 24 * HOUR);
      const subject = [{ name: 'commonName', value: names[0]! }];
      cert.setSubject(subject);
      cert.setIssuer(opts.selfSigned ? subject : caName);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name }
            : { type: 2, value: name })),
        },
      ]);
      cert.sign(opts.selfSigned ? leaf.privateKey : ca.privateKey, forge.md.sha256.create());
      return { cert: forge.pki.certificateToPem(cert), key: leaf.pem };
    },
  };
}
