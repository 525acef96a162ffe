/**
 * Options and envelopes that cannot work are refused before anything is sent, with the field
 * and the fix: what JavaScript callers and options read from JSON get past the types with.
 * (`secure: true` was taken for a mode and meant no TLS at all.)
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { SmtpClient } from '../../src/client/smtp-client.js';
import type { Envelope, SmtpClientOptions } from '../../src/client/types.js';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { ConfigurationError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { startWireRecorder, type WireRecorder } from './wire-recorder.js';

const MESSAGE = 'Subject: x\r\n\r\nbody\r\n';

const servers: WireRecorder[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

/** Asserts that `act` throws ConfigurationError for `field`, and returns the message. */
function refused(act: () => unknown, field: string): string {
  let caught: unknown;
  try {
    act();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigurationError, `${field}: ${String(caught)}`);
  assert.equal(caught.field, field);
  return caught.message;
}

function options(extra: Record<string, unknown>): SmtpClientOptions {
  return { host: '127.0.0.1', port: 2525, ...extra } as unknown as SmtpClientOptions;
}

test('secure must be one of the five modes (true, "StartTLS", "SSL" are refused)', () => {
  for (const secure of [true, false, 'StartTLS', 'starttls', 'SSL', '']) {
    const message = refused(() => new SmtpClient(options({ secure })), 'secure');
    assert.match(message, /None, Auto, StartTls, StartTlsWhenAvailable, SslOnConnect/);
  }
  for (const secure of ['None', 'Auto', 'StartTls', 'StartTlsWhenAvailable', 'SslOnConnect']) {
    assert.doesNotThrow(() => new SmtpClient(options({ secure })));
  }
});

test('port must be a whole number from 1 to 65535', () => {
  for (const port of [0, -1, 65536, 25.5, '25', Number.NaN]) {
    refused(() => new SmtpClient(options({ port })), 'port');
  }
  assert.doesNotThrow(() => new SmtpClient(options({ port: 65535 })));
  assert.doesNotThrow(() => new SmtpClient({ host: 'mail.example.com' }));
});

test('host must be a name', () => {
  for (const host of ['', '  ', undefined, 25]) {
    refused(() => new SmtpClient(options({ host })), 'host');
  }
});

test('timeouts must be positive numbers of milliseconds, and named as the client names them',
  () => {
    for (const value of [-1, 0, '5s', Number.POSITIVE_INFINITY, Number.NaN]) {
      const message = refused(() => new SmtpClient(options({ timeouts: { command: value } })),
        'timeouts.command');
      assert.match(message, /default 300000/);
    }
    const message = refused(() => new SmtpClient(options({ timeouts: { comand: 1000 } })),
      'timeouts.comand');
    assert.match(message, /connect, greeting, command, dataInitiation, dataBlock/);
    assert.doesNotThrow(() => new SmtpClient(options({ timeouts: { dataBlock: 1 } })));
  });

test('pipelineWindow must be a whole number of 1 or more', () => {
  for (const pipelineWindow of [0, -8, 1.5, '8']) {
    refused(() => new SmtpClient(options({ pipelineWindow })), 'pipelineWindow');
  }
  assert.doesNotThrow(() => new SmtpClient(options({ pipelineWindow: 1 })));
});

test('a password or token given as a plain string is refused, without repeating it', () => {
  for (const key of ['password', 'accessToken']) {
    const message = refused(() => new SmtpClient(options({
      auth: { username: 'alice', [key]: 'hunter2-Secret' },
    })), `auth.${key}`);
    assert.match(message, /toSecret/);
    assert.doesNotMatch(message, /hunter2/);
  }
  assert.doesNotThrow(() => new SmtpClient(options({
    auth: { username: 'alice', password: new Secret('hunter2-Secret') },
  })));
});

test('an envelope without a sender, or with a recipient that is not a string, is refused '
  + 'before MAIL; the session goes on', async () => {
  const server = await startWireRecorder(['PIPELINING', 'CHUNKING']);
  servers.push(server);
  const client = new SmtpClient({ host: '127.0.0.1', port: server.port, secure: 'None',
    clientName: 'client.test' });
  await client.connect();
  try {
    const bad: Array<[unknown, string]> = [
      [undefined, 'envelope'],
      [null, 'envelope'],
      [{ to: ['b@x.test'] }, 'envelope.from'],
      [{ from: null, to: ['b@x.test'] }, 'envelope.from'],
      [{ from: 'a@x.test', to: [undefined] }, 'envelope.to'],
      [{ from: 'a@x.test', to: ['b@x.test', 7] }, 'envelope.to'],
    ];
    for (const [envelope, field] of bad) {
      await assert.rejects(client.send(envelope as Envelope, MESSAGE),
        (error: unknown) => error instanceof ConfigurationError && error.field === field);
    }
    assert.equal(client.alive, true);
    await client.send({ from: 'a@x.test', to: ['b@x.test'] }, MESSAGE);
    assert.equal(server.messages.length, 1, 'only the good envelope reached the server');
  } finally {
    await client.quit();
  }
});

test('the connection manager refuses the same envelopes with the same errors', async () => {
  const server = await startWireRecorder(['PIPELINING']);
  servers.push(server);
  const manager = new SmtpConnectionManager({
    connectionString: `SmtpServer=127.0.0.1;Port=${server.port};EnableSsl=False;` +
      'UseWindowsAuthentication=False;',
  });
  try {
    await assert.rejects(manager.send({ to: ['b@x.test'] } as unknown as Envelope, MESSAGE),
      (error: unknown) => error instanceof ConfigurationError && error.field === 'envelope.from');
    await manager.send({ from: 'a@x.test', to: ['b@x.test'] }, MESSAGE);
    assert.equal(server.messages.length, 1);
  } finally {
    await manager.close();
  }
});

test('clientName must be an RFC 5321 domain or address literal: refused at connect, before '
  + 'any connection is opened', async () => {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const connect = async (clientName: string): Promise<unknown> =>
    new SmtpClient({ host: '127.0.0.1', port, secure: 'None', clientName }).connect()
      .then(() => undefined, (error: unknown) => error);
  try {
    const long = await connect('x'.repeat(100_000));
    assert.ok(long instanceof ConfigurationError);
    assert.equal(long.field, 'clientName');
    assert.equal(long.message, `clientName: "${'x'.repeat(80)}"... is 100000 octets long; a ` +
      'domain has at most 255. Use a host name such as client.example.com, or a literal such ' +
      'as [192.0.2.1].');
    const refusedNames: Array<[string, RegExp]> = [
      [`${'a'.repeat(64)}.example`, /has a label of 64 octets; a label has at most 63\.$/],
      ['client_1.example', /is not a domain name/],
      ['-client.example', /is not a domain name/],
      ['client.example.', /is not a domain name/],
      ['[192.0.2]', /is not an address literal/],
      ['[2001:db8::1]', /is not an address literal/],
      ['bücher.example', /is not ASCII; write it as its A-label, xn--bcher-kva\.example\.$/],
    ];
    for (const [name, problem] of refusedNames) {
      const error = await connect(name);
      assert.ok(error instanceof ConfigurationError && error.field === 'clientName', name);
      assert.match(error.message.replace(/ Use a host name.*$/, ''), problem);
    }
    assert.equal(connections, 0);
    // A name of 255 octets, and both address literals, are accepted (the server hangs up).
    const accepted = [`${'a'.repeat(63)}.`.repeat(4).slice(0, 255), '[192.0.2.1]',
      '[IPv6:2001:db8::1]', 'localhost'];
    for (const name of accepted) {
      assert.ok(!((await connect(name)) instanceof ConfigurationError), name);
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
