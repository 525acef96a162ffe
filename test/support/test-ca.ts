/**
 * Certificates for TLS tests, made once per test process by `createTestAuthority`:
 * a CA, a valid certificate for localhost/127.0.0.1/::1, an expired one, one for the wrong
 * host name, and a self-signed one. Tests pass `ca` to the client; checks are never off.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createTestAuthority, type IssuedCertificate } from '../../src/capture/certificates.js';

export interface TestCertificates {
  ca: string;
  valid: IssuedCertificate;
  expired: IssuedCertificate;
  wrongHost: IssuedCertificate;
  selfSigned: IssuedCertificate;
}

let cached: TestCertificates | undefined;

export function testCertificates(): TestCertificates {
  if (cached) return cached;
  const authority = createTestAuthority();
  const names = ['localhost', '127.0.0.1', '::1'];
  const day = 24 * 3600_000;
  cached = {
    ca: authority.caCert,
    valid: authority.issue(names),
    expired: authority.issue(names, {
      notBefore: new Date(Date.now() - 30 * day),
      notAfter: new Date(Date.now() - day),
    }),
    wrongHost: authority.issue(['wrong-name.invalid']),
    selfSigned: authority.issue(names, { selfSigned: true }),
  };
  return cached;
}

/** The SHA-256 fingerprint of a PEM certificate, colon-separated upper-case hex. */
export function fingerprint256(pem: string): string {
  const fromNode = new X509Certificate(pem).fingerprint256;
  // Cross-check Node's value against a hash of the DER bytes computed here.
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const own = createHash('sha256').update(der).digest('hex').toUpperCase();
  if (own.match(/../g)!.join(':') !== fromNode) throw new Error('fingerprint mismatch');
  return fromNode;
}
