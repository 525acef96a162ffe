// Smoke test of the mail rig and of its test helper (test/support/rig.ts): one message
// through Postfix on 3525 read back from the Maildir, and one Kerberos ticket from the KDC.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  clearMail,
  clientPart,
  kdestroy,
  kinit,
  listDeliveries,
  mailboxName,
  rig,
  rigSkipReason,
  type RigInfo,
  waitForDelivery,
} from '../support/rig.js';

/** Reads SMTP replies (RFC 5321 §4.2: "250-" continues, "250 " ends) from a raw socket. */
class ReplyReader {
  private buffer = '';
  private waiting: (() => void) | undefined;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiting?.();
    });
  }

  /** Resolves with the reply code once a whole reply has arrived; rejects after 10 s. */
  async code(): Promise<number> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const match = /^(?:\d{3}-[^\n]*\n)*(\d{3})(?: [^\n]*)?\r?\n/.exec(this.buffer);
      if (match) {
        this.buffer = this.buffer.slice(match[0].length);
        return Number(match[1]);
      }
      if (Date.now() > deadline) throw new Error(`no whole reply in 10 s: ${this.buffer}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

/** Sends one command line and asserts the reply code. */
async function command(socket: Socket, reader: ReplyReader, line: string, expected: number) {
  socket.write(`${line}\r\n`);
  assert.equal(await reader.code(), expected, `reply to ${line}`);
}

/**
 * One SMTP session on the rig's plain port: EHLO, MAIL, one RCPT, DATA with `wire` (CRLF line
 * ends, already dot-stuffed), QUIT; asserts every reply code.
 */
async function sendRaw(info: RigInfo, recipient: string, wire: string): Promise<void> {
  const socket = connect({ host: info.connectHost, port: info.ports.plain });
  const reader = new ReplyReader(socket);
  try {
    assert.equal(await reader.code(), 220);
    await command(socket, reader, 'EHLO client.rig.test', 250);
    await command(socket, reader, 'MAIL FROM:<alice@rig.test>', 250);
    await command(socket, reader, `RCPT TO:<${recipient}>`, 250);
    await command(socket, reader, 'DATA', 354);
    await command(socket, reader, `${wire}.`, 250);
    await command(socket, reader, 'QUIT', 221);
  } finally {
    socket.destroy();
  }
}

test('delivers a message from a raw SMTP session to the Maildir', { skip: rigSkipReason },
  async () => {
    const info = rig();
    assert.ok(info);
    // Other test files deliver to bob@rig.test at the same time: everything below is
    // found by its unique token, and nothing of theirs is deleted.
    const token = randomUUID();
    // Headers and body as the client writes them, with LF; sent with CRLF and dot-stuffed
    // (RFC 5321 §4.5.2), so the line ".leading dot" goes over the wire as "..leading dot".
    const message =
      `From: alice@rig.test\nTo: bob@rig.test\nSubject: rig smoke ${token}\n\n` +
      'first line\n.leading dot\nlast line\n';
    await sendRaw(info, 'bob@rig.test', message.replace(/\n/g, '\r\n').replace(/^\./gm, '..'));

    const delivered = await waitForDelivery('bob@rig.test', token);
    assert.equal(clientPart(delivered).toString('utf8'), message);
    const head = delivered.toString('utf8');
    assert.match(head, /^Return-Path: <alice@rig\.test>\nX-Original-To: bob@rig\.test\n/);
    assert.match(head, /\nReceived: from client\.rig\.test \(unknown \[127\.0\.0\.1\]\)\n/);

    const ours = [];
    for (const file of await listDeliveries('Bob@Rig.Test')) {
      if ((await readFile(file)).includes(token)) ours.push(file);
    }
    assert.equal(ours.length, 1, 'one file for the one message');
    assert.match(ours[0]!, /\/mail\/bob@rig\.test\/new\/\d+\.\d+\.P\d+\.mail-rig$/);
    const log = await readFile(join(info.dir, 'mail', 'deliveries.log'), 'utf8');
    assert.ok(log.includes(`\talice@rig.test\tbob@rig.test\t${ours[0]}\n`), 'logged');
  });

test('clearMail(recipient) empties that Maildir and keeps its tree', { skip: rigSkipReason },
  async () => {
    const info = rig();
    assert.ok(info);
    const token = randomUUID();
    const recipient = `Rig-Smoke-${token}@Rig.Test`;
    await sendRaw(info, recipient, `Subject: ${token}\r\n\r\nbody\r\n`);
    await waitForDelivery(recipient, token);
    assert.equal((await listDeliveries(recipient)).length, 1);

    await clearMail(recipient);
    assert.deepEqual(await listDeliveries(recipient), []);
    assert.ok(existsSync(join(info.dir, 'mail', mailboxName(recipient), 'new')), 'tree kept');
  });

test('kinit gets a ticket for alice into a ccache of its own', { skip: rigSkipReason },
  async () => {
    const info = rig();
    assert.ok(info);
    const env = await kinit('alice');
    assert.equal(env.KRB5_CONFIG, info.krb5Config);
    const path = env.KRB5CCNAME.replace(/^FILE:/, '');
    assert.ok(existsSync(path), `ccache ${path} exists`);
    await kdestroy(env);
    assert.equal(existsSync(path), false);
  });

test('waitForDelivery gives up after its timeout', { skip: rigSkipReason }, async () => {
  await assert.rejects(
    waitForDelivery('nobody-sent-this@rig.test', randomUUID(), 300),
    /No message containing the token arrived for nobody-sent-this@rig\.test/,
  );
});

test('clientPart strips what the rig adds, up to the end of the first Received block', () => {
  // A delivery written by the rig for swaks over STARTTLS with AUTH PLAIN.
  const delivered = Buffer.from(
    'Return-Path: <alice@rig.test>\nX-Original-To: bob@rig.test\nDelivered-To: bob@rig.test\n' +
      'Received: from client.rig.test (unknown [127.0.0.1])\n' +
      '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n' +
      '\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\n' +
      '\t(No client certificate requested)\n' +
      '\tby mail.rig.test (Postfix) with ESMTPSA id DDD6920C084\n' +
      '\tfor <bob@rig.test>; Thu,  3 Dec 2026 17:03:28 +0000 (UTC)\n' +
      'Received: from older.example (older.example [192.0.2.1])\n\tby client\n' +
      'Subject: tok1\n\nThis is a test mailing\n',
  );
  assert.equal(
    clientPart(delivered).toString(),
    'Received: from older.example (older.example [192.0.2.1])\n\tby client\n' +
      'Subject: tok1\n\nThis is a test mailing\n',
  );
});

test('mailboxName lower-cases A-Z and replaces every other byte outside a-z0-9@._+=-', () => {
  assert.equal(mailboxName('Bob@Rig.Test'), 'bob@rig.test');
  assert.equal(mailboxName('a+b=c-d_e@rig.test'), 'a+b=c-d_e@rig.test');
  // 'ü' is two UTF-8 bytes, so two underscores; '/' can never make a path.
  assert.equal(mailboxName('j\u00fcrgen/x@rig.test'), 'j__rgen_x@rig.test');
  assert.equal(mailboxName('..'), '_');
});
