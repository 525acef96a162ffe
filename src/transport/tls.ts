/**
 * TLS settings and the certificate check, shared by implicit TLS and STARTTLS.
 *
 * By default Node verifies the chain (against `ca` or its root store) and the host name
 * (`servername`, else the host; an IP address is checked against the IP SANs), with TLS 1.2
 * as the lowest version. Two explicit opt-ins replace that check, and both are verified
 * here after the handshake, from `socket.authorized` and the peer certificate:
 * - `certificateThumbprint`: accepted on a SHA-256 pin match whatever the chain, and
 *   rejected on a mismatch even when the chain is valid;
 * - `trustServerCertificate`: any certificate, with a warning naming the server logged on
 *   every connection.
 */
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import { ConfigurationError, SmtpTlsError, formatEndpoint } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { TlsInfo, TlsOptions } from '../client/types.js';

export interface PreparedTls {
  /** Options for `tls.connect`, without `host`, `port` or `socket`. */
  options: ConnectionOptions;
  /** Checks the finished handshake; throws `SmtpTlsError` when the pin does not match. */
  verify(socket: TLSSocket, transcript: () => string[]): TlsInfo;
}

/** `AB:CD:...` or `abcd...` to 64 upper-case hex digits; throws `ConfigurationError`. */
export function normaliseThumbprint(value: string): string {
  const hex = value.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new ConfigurationError('tls.certificateThumbprint',
      'is not a SHA-256 fingerprint (64 hexadecimal digits, colons allowed).',
      'Copy the SHA-256 fingerprint of the server certificate, for example from ' +
        '`openssl x509 -noout -fingerprint -sha256`.');
  }
  return hex;
}

export function prepareTls(
  host: string,
  port: number,
  settings: TlsOptions = {},
  logger: Logger = silentLogger,
): PreparedTls {
  const pin = settings.certificateThumbprint === undefined
    ? undefined
    : normaliseThumbprint(settings.certificateThumbprint);
  const trustAny = settings.trustServerCertificate === true;
  // Node's own check rejects during the handshake; with a pin or an explicit trust we check
  // the outcome ourselves in verify() instead.
  const nodeVerifies = pin === undefined && !trustAny;
  const servername = settings.servername ?? (isIP(host) ? undefined : host);
  const options: ConnectionOptions = {
    minVersion: settings.minVersion ?? 'TLSv1.2',
    rejectUnauthorized: nodeVerifies,
  };
  if (servername !== undefined) {
    options.servername = servername;
  } else {
    // An IP address is not sent as SNI (RFC 6066 §3), and without a name Node checks the
    // certificate against "localhost" when TLS starts on an existing socket (STARTTLS):
    // check it against the address itself, that is its IP SANs.
    options.checkServerIdentity = (_name, certificate) =>
      checkServerIdentity(host, certificate);
  }
  if (settings.ca !== undefined) options.ca = settings.ca;

  return {
    options,
    verify(socket, transcript) {
      const certificate = socket.getPeerCertificate();
      const info = describeTls(socket, certificate, socket.authorized);
      const server = formatEndpoint(host, port);
      if (pin !== undefined) {
        const actual = (certificate.fingerprint256 ?? '').replace(/:/g, '').toUpperCase();
        if (actual !== pin) {
          throw new SmtpTlsError(
            `The TLS certificate of ${server} has SHA-256 fingerprint ` +
              `${certificate.fingerprint256 ?? '(none)'}, not the pinned ${formatPin(pin)}.`,
            { transcript: transcript() },
          );
        }
        info.verified = true;
      } else if (trustAny) {
        logger.warn(
          { server, authorized: socket.authorized,
            authorizationError: String(socket.authorizationError ?? '') },
          `TLS certificate of ${server} accepted without verification ` +
            '(trustServerCertificate): anyone on the path can read and change this ' +
            'session. Configure the CA (tls.ca) or pin the certificate instead.',
        );
      }
      return info;
    },
  };
}

function formatPin(hex: string): string {
  return hex.match(/../g)!.join(':');
}

function formatName(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

export function describeTls(socket: TLSSocket, certificate: PeerCertificate,
  verified: boolean): TlsInfo {
  const info: TlsInfo = {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    verified,
  };
  if (certificate && Object.keys(certificate).length > 0) {
    info.certificate = {
      subject: formatName(certificate.subject),
      issuer: formatName(certificate.issuer),
      validFrom: certificate.valid_from,
      validTo: certificate.valid_to,
      fingerprint256: certificate.fingerprint256,
    };
    if (certificate.subjectaltname) info.certificate.subjectAltName = certificate.subjectaltname;
  }
  return info;
}
