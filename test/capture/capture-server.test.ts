import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { startCaptureServer } from '../../src/capture/capture-server.js';

// The client side here is Nodemailer's SMTP transport, independent of smtpcm's engine.
const RAW = [
  'From: a@example.com',
  'To: b@example.com',
  'Subject: capture test',
  'Message-ID: <capture-1@example.com>',
  '',
  'Line one.',
  '.Line starting with a dot.',
  '',
].join('\r\n');

const ENVELOPE = { from: 'a@example.com', to: ['b@example.com'] };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtpcm-capture-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('capture server', () => {
  it('names an IPv6 address it cannot listen on in brackets: [::1]:PORT', async () => {
    const first = await startCaptureServer({ dir: join(dir, 'ipv6-a'), host: '::1' });
    try {
      assert.equal(first.host, '::1');
      await assert.rejects(startCaptureServer({ dir: join(dir, 'ipv6-b'), host: '::1',
        port: first.port }), (error: Error) => error.message.startsWith(
        `Cannot listen on [::1]:${first.port}: `));
    } finally {
      await first.close();
    }
  });

  it('writes each message unchanged to an .eml file, with the whole envelope', async () => {
    const out = join(dir, 'plain');
    const server = await startCaptureServer({ dir: out });
    try {
      assert.equal(server.host, '127.0.0.1');
      assert.ok(server.port > 0);
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: server.port,
        secure: false,
        ignoreTLS: true,
      });
      await transport.sendMail({
        envelope: { from: 'a@example.com', to: ['b@example.com', 'hidden@example.com'] },
        raw: RAW,
      });
      transport.close();
      assert.equal(server.messages.length, 1);
      const [message] = server.messages;
      assert.deepEqual(message!.to, ['b@example.com', 'hidden@example.com']);
      assert.equal(message!.from, 'a@example.com');
      assert.equal(message!.tls, 'none');
      assert.equal(await readFile(message!.path, 'utf8'), RAW);
      assert.deepEqual(await readdir(out), [message!.path.slice(out.length + 1)]);
    } finally {
      await server.close();
    }
  });

  it('with tls and auth: STARTTLS under its own CA, any user name and password', async () => {
    const out = join(dir, 'secure');
    const server = await startCaptureServer({ dir: out, tls: true, auth: true });
    try {
      assert.equal(server.caPath, join(out, 'ca.pem'));
      const ca = await readFile(server.caPath!, 'utf8');
      const transport = nodemailer.createTransport({
        host: 'localhost',
        port: server.port,
        secure: false,
        requireTLS: true,
        tls: { ca },
        auth: { user: 'anyone', pass: 'any-password' },
      });
      await transport.sendMail({ envelope: ENVELOPE, raw: RAW });
      transport.close();
      const [message] = server.messages;
      assert.equal(message!.tls, 'STARTTLS');
      assert.equal(message!.user, 'anyone');
      assert.ok(!JSON.stringify(message).includes('any-password'));
    } finally {
      await server.close();
    }
  });

  it('fails to start with EADDRINUSE, naming the address, when the port is taken', async () => {
    const first = await startCaptureServer({ dir: join(dir, 'first') });
    try {
      await assert.rejects(
        startCaptureServer({ dir: join(dir, 'second'), port: first.port }),
        (error: NodeJS.ErrnoException) => {
          assert.equal(error.code, 'EADDRINUSE');
          assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${first.port}`));
          return true;
        },
      );
    } finally {
      await first.close();
    }
  });

  it('with auth, refuses a message from a client that did not log in (530)', async () => {
    const out = join(dir, 'auth-required');
    const server = await startCaptureServer({ dir: out, auth: true });
    try {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: server.port,
        secure: false,
        ignoreTLS: true,
      });
      await assert.rejects(
        transport.sendMail({ envelope: ENVELOPE, raw: RAW }),
        (error: { responseCode?: number }) => error.responseCode === 530,
      );
      transport.close();
      assert.equal(server.messages.length, 0);
    } finally {
      await server.close();
    }
  });
});
