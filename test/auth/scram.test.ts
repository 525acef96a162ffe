import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScramMechanism } from '../../src/auth/scram.js';
import { SmtpAuthenticationError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';

const text = (buffer: Buffer) => buffer.toString('utf8');
const bytes = (value: string) => Buffer.from(value, 'utf8');

test('SCRAM-SHA-1 reproduces the RFC 5802 §5 example exchange', async () => {
  const scram = new ScramMechanism({
    username: 'user',
    password: new Secret('pencil'),
    hash: 'SHA-1',
    nonce: 'fyko+d2lbbFgONRv9qkxdawL',
  });
  assert.equal(scram.name, 'SCRAM-SHA-1');
  assert.equal(text(await scram.start()), 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
  const final = await scram.next(
    bytes('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'),
  );
  assert.equal(
    text(final),
    'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  );
  const last = await scram.next(bytes('v=rmF9pqV8S7suAoZWja4dJRkFsKQ='));
  assert.equal(last.length, 0);
  await scram.finish();
});

test('SCRAM-SHA-256 reproduces the RFC 7677 §3 example exchange', async () => {
  const scram = new ScramMechanism({
    username: 'user',
    password: new Secret('pencil'),
    hash: 'SHA-256',
    nonce: 'rOprNGfwEbeRWgbNEkqO',
  });
  assert.equal(scram.name, 'SCRAM-SHA-256');
  assert.equal(text(await scram.start()), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  const final = await scram.next(
    bytes(
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    ),
  );
  assert.equal(
    text(final),
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,' +
      'p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  );
  await scram.next(bytes('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='));
  await scram.finish();
});

function rfc5802(password: string): ScramMechanism {
  return new ScramMechanism({
    username: 'user',
    password: new Secret(password),
    hash: 'SHA-1',
    nonce: 'fyko+d2lbbFgONRv9qkxdawL',
  });
}
const SERVER_FIRST = bytes(
  'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
);

test('SCRAM rejects a wrong server signature with reason server-proof', async () => {
  const scram = rfc5802('pencil');
  await scram.start();
  await scram.next(SERVER_FIRST);
  // The RFC's signature with its first byte changed: a server that does not know the
  // password (or relays someone else's salt) cannot produce the right one.
  await assert.rejects(
    scram.next(bytes('v=smF9pqV8S7suAoZWja4dJRkFsKQ=')),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'server-proof' &&
      error.mechanism === 'SCRAM-SHA-1' &&
      !error.message.includes('pencil'),
  );
  await assert.rejects(scram.finish(), /without proving/);
});

test('SCRAM rejects a 235 that came without a server signature', async () => {
  const scram = rfc5802('pencil');
  await scram.start();
  await scram.next(SERVER_FIRST);
  await assert.rejects(
    scram.finish(),
    (error: unknown) => error instanceof SmtpAuthenticationError && error.reason === 'server-proof',
  );
});

test('SCRAM rejects a server nonce that does not extend the client nonce', async () => {
  const scram = rfc5802('pencil');
  await scram.start();
  await assert.rejects(
    scram.next(bytes('r=someone-else,s=QSXCR+Q6sek8bf92,i=4096')),
    (error: unknown) => error instanceof SmtpAuthenticationError && error.reason === 'server-proof',
  );
});

test('SCRAM refuses an absurd iteration count instead of stalling', async () => {
  const scram = rfc5802('pencil');
  await scram.start();
  await assert.rejects(
    scram.next(bytes('r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=999999999')),
    /iteration count/,
  );
});

test('SCRAM answers a server error (e=) with an empty response', async () => {
  const scram = rfc5802('wrong');
  await scram.start();
  await scram.next(SERVER_FIRST);
  assert.equal((await scram.next(bytes('e=invalid-proof'))).length, 0);
});

async function clientFinal(password: string): Promise<string> {
  const scram = rfc5802(password);
  await scram.start();
  return text(await scram.next(SERVER_FIRST));
}

test('SCRAM applies SASLprep (RFC 4013 §3 examples) to the password', async () => {
  // RFC 4013 §3: "I<U+00AD>X" -> "IX" (soft hyphen mapped to nothing), "<U+2168>" -> "IX".
  const plain = await clientFinal('IX');
  assert.equal(await clientFinal('I\u00adX'), plain);
  assert.equal(await clientFinal('\u2168'), plain);
  // NFKC: a decomposed "ä" proves the same as the composed one.
  assert.equal(await clientFinal('Pa\u0308sswo\u0308rd-€-3'), await clientFinal('Pässwörd-€-3'));
  assert.notEqual(await clientFinal('Pässwörd-€-3'), await clientFinal('Passwort-€-3'));
});

test('SCRAM refuses a password SASLprep prohibits (RFC 4013 §3: U+0007), unseen', async () => {
  const scram = rfc5802('bell\u0007');
  await scram.start();
  await assert.rejects(
    scram.next(SERVER_FIRST),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'refused' &&
      /password contains a character SASLprep/.test(error.message) &&
      !error.message.includes('bell'),
  );
});

test('SCRAM escapes = and , in the user name (RFC 5802 §5.1)', async () => {
  const scram = new ScramMechanism({
    username: 'a=b,c',
    password: new Secret('x'),
    hash: 'SHA-256',
    nonce: 'abc',
  });
  assert.equal(text(await scram.start()), 'n,,n=a=3Db=2Cc,r=abc');
});

const BINDING = Buffer.from('00112233445566778899aabbccddeeff'.repeat(2), 'hex');

test('SCRAM-SHA-256-PLUS sends p=tls-exporter and binds the proof to the TLS data', async () => {
  const scram = new ScramMechanism({
    username: 'user',
    password: new Secret('pencil'),
    hash: 'SHA-256',
    nonce: 'rOprNGfwEbeRWgbNEkqO',
    plus: true,
    channelBinding: BINDING,
  });
  assert.equal(scram.name, 'SCRAM-SHA-256-PLUS');
  assert.equal(text(await scram.start()), 'p=tls-exporter,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  const serverFirst = 'r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
  const final = text(await scram.next(bytes(serverFirst)));
  const c = /^c=([^,]+),/.exec(final)![1]!;
  // RFC 5802 §7: c = base64(gs2-header + channel binding data).
  assert.deepEqual(
    Buffer.from(c, 'base64'),
    Buffer.concat([Buffer.from('p=tls-exporter,,'), BINDING]),
  );
});

test('SCRAM without -PLUS, with binding data, sends the GS2 flag y (RFC 5802 §6)', async () => {
  const scram = new ScramMechanism({
    username: 'user',
    password: new Secret('pencil'),
    hash: 'SHA-1',
    nonce: 'abc',
    channelBinding: BINDING,
  });
  assert.equal(text(await scram.start()), 'y,,n=user,r=abc');
  const final = text(await scram.next(bytes('r=abcdef,s=QSXCR+Q6sek8bf92,i=4096')));
  assert.match(final, /^c=eSws,r=abcdef,p=/); // base64("y,,")
});
