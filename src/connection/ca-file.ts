/**
 * `CaFile`: checks that the file holds what Node's `tls.ca` takes, PEM certificates. Node
 * ignores anything else in `ca` without a word, and the connection then fails at the handshake
 * with a generic "unable to verify the first certificate".
 */
import { X509Certificate } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;

/** The fix of every CaFile problem. */
export const CA_FILE_FIX = 'Give the path of a PEM file holding the CA certificates to trust.';

/**
 * Why the content of the CA file at `path` cannot serve as `tls.ca`, in one sentence, or
 * undefined when it holds at least one PEM certificate and every one of them parses.
 * Does not check that the certificates are CAs or still valid.
 */
export function caCertificatesProblem(path: string, content: string): string | undefined {
  const blocks = content.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    // A .cer exported from Windows is often DER: the same certificate, not yet PEM.
    return `${path} holds no PEM certificate (a -----BEGIN CERTIFICATE----- block); if it ` +
      'is DER, convert it with openssl x509 -inform DER -in FILE -out FILE.pem.';
  }
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return `Certificate ${index + 1} of ${blocks.length} in ${path} is not a valid X.509 ` +
        'certificate.';
    }
  }
  return undefined;
}
