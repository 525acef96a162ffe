/**
 * SmtpClient against an in-process `smtp-server` on port 0: STARTTLS, implicit TLS and
 * every certificate check, with certificates from the test CA (checks are never switched
 * off), and messages compared byte for byte.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SmtpClient } from '../../src/client/smtp-client.js';
import type { SmtpClientOptions } from '../../src/client/types.js';
import { ConfigurationError, SmtpTlsError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { createTestAuthority } from '../../src/capture/certificates.js';
import { fingerprint256, testCertificates } from '../support/test-ca.js';

const certs = testCertificates();
const servers: SMTPServer[] = [];
after(async () => {
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Started {
  port: number;
  messages: Buffer[];
}

async function startServer(options: Partial<SMTPServerOptions>,
  host = '127.0.0.1'): Promise<Started> {
  const messages: Buffer[] = [];
  const server = new SMTPServer({
    authOptional: true,
    logger: false,
    banner: 'smtp-server test',
    onData(stream, _session, callback) {
      const parts: Buffer[] = [];
      stream.on('data', (part: Buffer) => parts.push(part));
      stream.on('end', () => {
        messages.push(Buffer.concat(parts));
        callback(null);
      });
    },
    ...options,
  });
  server.on('error', () => {});
  servers.push(server);
  server.listen(0, host);
  await once(server.server, 'listening');
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, messages };
}

function client(port: number, options: Partial<SmtpClientOptions> = {}): {
  client: SmtpClient; warnings: string[]; lines: string[] } {
  const warnings: string[] = [];
  const lines: string[] = [];
  const logger: Logger = {
    debug() {}, info() {}, error() {},
    warn(_fields, message) {
      warnings.push(message);
    },
  };
  return {
    client: new SmtpClient({
      host: 'localhost',
      port,
      clientName: 'client.test',
      logger,
      transcript: (line) => lines.push(`${line.direction}: ${line.text}`),
      ...options,
    }),
    warnings,
    lines,
  };
}

// Independent of the encoder: what a server stores after CRLF normalisation and unstuffing.
function normalised(message: string): Buffer {
  let text = message.replace(/\r\n|\r|\n/g, '\r\n');
  if (text.length > 0 && !text.endsWith('\r\n')) text += '\r\n';
  return Buffer.from(text, 'utf8');
}

const MESSAGE = 'Subject: TLS test\r\nFrom: a@x.test\r\n\r\n' +
  '.leading dot\nbare LF\rbare CR\r\n..two\n.';

test('STARTTLS with the test CA: verified, EHLO again, message byte-identical', async () => {
  const server = await startServer({ key: certs.valid.key, cert: certs.valid.cert });
  const { client: c, lines } = client(server.port, { secure: 'StartTls', tls: { ca: certs.ca } });
  const steps: string[] = [];
  await c.connect({ onStep: (step) => steps.push(step.name) });
  assert.deepEqual(steps, ['connect', 'greeting', 'ehlo', 'starttls', 'ehlo']);
  assert.equal(c.secure, true);
  assert.equal(c.tlsInfo?.verified, true);
  assert.match(c.tlsInfo!.protocol, /^TLSv1\.[23]$/);
  assert.equal(c.tlsInfo?.certificate?.subject, 'CN=localhost');
  assert.equal(c.tlsInfo?.certificate?.issuer, 'CN=smtpcm test CA');
  assert.equal(c.tlsInfo?.certificate?.fingerprint256, fingerprint256(certs.valid.cert));
  assert.equal(c.capabilities.startTls, false, 'capabilities come from the EHLO after TLS');
  const result = await c.send({ from: 'a@x.test', to: ['b@y.test'] }, MESSAGE);
  assert.deepEqual(result.accepted, ['b@y.test']);
  await c.quit();
  assert.deepEqual(server.messages, [normalised(MESSAGE)]);
  assert.equal(lines.filter((line) => line.startsWith('C: EHLO')).length, 2);
});

test('implicit TLS (SslOnConnect): verified, message byte-identical', async () => {
  const server = await startServer({ secure: true, key: certs.valid.key, cert: certs.valid.cert });
  const { client: c } = client(server.port, { secure: 'SslOnConnect', tls: { ca: certs.ca } });
  const steps: string[] = [];
  await c.connect({ onStep: (step) => steps.push(step.name) });
  assert.deepEqual(steps, ['connect', 'tls-handshake', 'greeting', 'ehlo']);
  assert.equal(c.secure, true);
  await c.send({ from: 'a@x.test', to: ['b@y.test'] }, MESSAGE);
  await c.quit();
  assert.deepEqual(server.messages, [normalised(MESSAGE)]);
});

test('a streamed 5 MB message with dots, bare LF and bare CR arrives byte-identical', async () => {
  const server = await startServer({ secure: true, key: certs.valid.key, cert: certs.valid.cert });
  const { client: c } = client(server.port, { secure: 'SslOnConnect', tls: { ca: certs.ca } });
  await c.connect();
  const block = 'Line\n.dot\r..dots\r\nend\r';
  const perChunk = 1000;
  const count = Math.ceil(5 * 1024 * 1024 / block.length / perChunk) * perChunk;
  const header = 'Subject: big\r\n\r\n';
  // Chunks of 23 000 octets cut lines (and CRLF pairs) at arbitrary places.
  const source = Readable.from((function* () {
    yield Buffer.from(header);
    const chunk = Buffer.from(block.repeat(perChunk));
    for (let i = 0; i < count / perChunk; i++) yield chunk;
  })());
  await c.send({ from: 'a@x.test', to: ['b@y.test'] }, source);
  await c.quit();
  assert.deepEqual(server.messages[0], normalised(header + block.repeat(count)));
});

test('the host name is checked: a certificate for another name is refused', async () => {
  const server = await startServer({ secure: true, key: certs.wrongHost.key,
    cert: certs.wrongHost.cert });
  const { client: c } = client(server.port, { secure: 'SslOnConnect', tls: { ca: certs.ca } });
  await assert.rejects(c.connect(), (error: unknown) => error instanceof SmtpTlsError
    && /ERR_TLS_CERT_ALTNAME_INVALID/.test(error.message));
});

test('an expired certificate is refused, over STARTTLS too', async () => {
  const server = await startServer({ key: certs.expired.key, cert: certs.expired.cert });
  const { client: c } = client(server.port, { secure: 'StartTls', tls: { ca: certs.ca } });
  await assert.rejects(c.connect(), (error: unknown) => error instanceof SmtpTlsError
    && /CERT_HAS_EXPIRED/.test(error.message));
  assert.equal(c.usable, false);
});

test('a self-signed certificate is refused', async () => {
  const server = await startServer({ secure: true, key: certs.selfSigned.key,
    cert: certs.selfSigned.cert });
  const { client: c } = client(server.port, { secure: 'SslOnConnect', tls: { ca: certs.ca } });
  await assert.rejects(c.connect(), (error: unknown) => error instanceof SmtpTlsError
    && /SELF_SIGNED/.test(error.message));
});

test('a SHA-256 pin accepts a self-signed certificate', async () => {
  const server = await startServer({ secure: true, key: certs.selfSigned.key,
    cert: certs.selfSigned.cert });
  const pin = fingerprint256(certs.selfSigned.cert);
  const { client: c } = client(server.port, { secure: 'SslOnConnect',
    tls: { certificateThumbprint: pin.replace(/:/g, '').toLowerCase() } });
  await c.connect();
  assert.equal(c.tlsInfo?.verified, true);
  assert.equal(c.tlsInfo?.certificate?.fingerprint256, pin);
  await c.quit();
});

test('a pin mismatch is refused even when the chain is valid', async () => {
  const server = await startServer({ secure: true, key: certs.valid.key, cert: certs.valid.cert });
  const { client: c } = client(server.port, { secure: 'SslOnConnect', tls: { ca: certs.ca,
    certificateThumbprint: fingerprint256(certs.selfSigned.cert) } });
  await assert.rejects(c.connect(), (error: unknown) => error instanceof SmtpTlsError
    && /not the pinned/.test(error.message));
});

test('a malformed pin is a ConfigurationError', async () => {
  const server = await startServer({ secure: true, key: certs.valid.key, cert: certs.valid.cert });
  const { client: c } = client(server.port, { secure: 'SslOnConnect',
    tls: { certificateThumbprint: 'abcd' } });
  await assert.rejects(c.connect(), (error: unknown) => error instanceof ConfigurationError
    && error.field === 'tls.certificateThumbprint');
});

test('trustServerCertificate accepts a self-signed certificate and warns every time',
  async () => {
    const server = await startServer({ key: certs.selfSigned.key, cert: certs.selfSigned.cert });
    for (let i = 0; i < 2; i++) {
      const { client: c, warnings } = client(server.port, { secure: 'StartTls',
        tls: { trustServerCertificate: true } });
      await c.connect();
      assert.equal(c.tlsInfo?.verified, false);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, new RegExp(`localhost:${server.port}.*without verification`));
      await c.quit();
    }
  });

test('an IP address host is checked against the IP SANs; servername overrides it', async () => {
  const server = await startServer({ secure: true, key: certs.valid.key, cert: certs.valid.cert });
  const first = client(server.port, { host: '127.0.0.1', secure: 'SslOnConnect',
    tls: { ca: certs.ca } }).client;
  await first.connect();
  assert.equal(first.tlsInfo?.verified, true);
  await first.quit();
  const wrong = client(server.port, { host: '127.0.0.1', secure: 'SslOnConnect',
    tls: { ca: certs.ca, servername: 'other.test' } }).client;
  await assert.rejects(wrong.connect(), SmtpTlsError);
});

test('an IP host is checked against the address, never against "localhost"', async () => {
  // RFC 6125 / RFC 5280: a certificate for the name localhost does not vouch for 127.0.0.1,
  // and a certificate whose only SAN is IP:127.0.0.1 does, over implicit TLS and STARTTLS.
  const authority = createTestAuthority();
  const nameOnly = authority.issue(['localhost']);
  const ipOnly = authority.issue(['127.0.0.1']);
  for (const secure of ['SslOnConnect', 'StartTls'] as const) {
    const implicit = secure === 'SslOnConnect';
    const byName = await startServer({ secure: implicit, key: nameOnly.key, cert: nameOnly.cert });
    const refused = client(byName.port, { host: '127.0.0.1', secure,
      tls: { ca: authority.caCert } }).client;
    await assert.rejects(refused.connect(), SmtpTlsError, `${secure}: localhost-only cert`);
    refused.destroy();
    const byIp = await startServer({ secure: implicit, key: ipOnly.key, cert: ipOnly.cert });
    const accepted = client(byIp.port, { host: '127.0.0.1', secure,
      tls: { ca: authority.caCert } }).client;
    await accepted.connect();
    assert.equal(accepted.tlsInfo?.verified, true, `${secure}: IP-only cert`);
    await accepted.quit();
  }
});

test('minVersion TLSv1.3 refuses a TLS 1.2-only server', async () => {
  const server = await startServer({ secure: true, key: certs.valid.key, cert: certs.valid.cert,
    maxVersion: 'TLSv1.2' } as Partial<SMTPServerOptions>);
  const { client: c } = client(server.port, { secure: 'SslOnConnect',
    tls: { ca: certs.ca, minVersion: 'TLSv1.3' } });
  await assert.rejects(c.connect(), SmtpTlsError);
});

test('connects over IPv6 to [::1]', async (t) => {
  let server: Started;
  try {
    server = await startServer({}, '::1');
  } catch {
    t.skip('IPv6 loopback is not available on this machine');
    return;
  }
  const { client: c } = client(server.port, { host: '::1', secure: 'None', clientName: undefined });
  await c.connect();
  assert.equal(c.remoteAddress, '::1');
  await c.send({ from: 'a@x.test', to: ['b@y.test'] }, 'x');
  await c.quit();
  assert.equal(server.messages.length, 1);
});
