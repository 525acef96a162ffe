/**
 * NTLMv2 against the worked example of [MS-NLMP] §4.2.4 ("NTLMv2 Authentication"): user
 * "User", domain "Domain", password "Password", workstation "COMPUTER", server challenge
 * 0123456789abcdef, client challenge aaaaaaaaaaaaaaaa, time 0, random session key 0x55 x16.
 * The byte strings are the spec's: §4.2.4.1.1 (ResponseKeyNT), §4.2.4.1.2 (SessionBaseKey),
 * §4.2.4.2.1 (LMv2 response), §4.2.4.2.2 (NTProofStr), §4.2.4.2.3 (encrypted session key),
 * §4.2.4.3 (the CHALLENGE and AUTHENTICATE messages), and §4.2.2.1.2 (NTOWFv1).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hmacMd5, ntHash, ntowfv2, rc4 } from '../../../src/auth/ntlm/crypto.js';
import {
  createAuthenticateMessage,
  createNegotiateMessage,
  parseChallengeMessage,
} from '../../../src/auth/ntlm/messages.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** §4.2.4.3 CHALLENGE_MESSAGE. */
const SPEC_CHALLENGE = hex(`
  4e544c4d53535000 02000000 0c000c00 38000000 33828ae2 0123456789abcdef 0000000000000000
  24002400 44000000 060070170000000f 530065007200760065007200
  02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000`);

/** §4.2.4.3 AUTHENTICATE_MESSAGE. */
const SPEC_AUTHENTICATE = hex(`
  4e544c4d535350000300000018001800 6c00000054005400840000000c000c00
  48000000080008005400000010001000 5c00000010001000d8000000358288e2
  0501280a0000000f44006f006d006100 69006e00550073006500720043004f00
  4d005000550054004500520086c35097 ac9cec102554764a57cccc19aaaaaaaa
  aaaaaaaa68cd0ab851e51c96aabc927b ebef6a1c010100000000000000000000
  00000000aaaaaaaaaaaaaaaa00000000 02000c0044006f006d00610069006e00
  01000c00530065007200760065007200 0000000000000000c5dad2544fc97990
  94ce1ce90bc9d03e`);

/** FILETIME 0: 1601-01-01T00:00:00Z. */
const TIME_ZERO = new Date(-11_644_473_600_000);

function specAuthenticate() {
  return createAuthenticateMessage({
    challenge: parseChallengeMessage(SPEC_CHALLENGE),
    username: 'User',
    password: 'Password',
    domain: 'Domain',
    workstation: 'COMPUTER',
    clientChallenge: hex('aaaaaaaaaaaaaaaa'),
    now: TIME_ZERO,
    flags: 0xe2888235,
    randomSessionKey: Buffer.alloc(16, 0x55),
    version: hex('0501280a0000000f'),
  });
}

test('NTOWFv1 and NTOWFv2 give MS-NLMP §4.2.2.1.2 and §4.2.4.1.1', () => {
  assert.equal(ntHash('Password').toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
  assert.equal(
    ntowfv2('User', 'Domain', 'Password').toString('hex'),
    '0c868a403bfd7a93a3001ef22ef02e3f',
  );
});

test('the §4.2.4.3 CHALLENGE_MESSAGE parses to its challenge, target and AV pairs', () => {
  const challenge = parseChallengeMessage(SPEC_CHALLENGE);
  assert.equal(challenge.flags, 0xe28a8233);
  assert.equal(challenge.serverChallenge.toString('hex'), '0123456789abcdef');
  assert.equal(challenge.targetName, 'Server');
  assert.equal(
    challenge.targetInfo.toString('hex'),
    '02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000',
  );
  assert.equal(challenge.timestamp, undefined);
});

test('NTProofStr, session base key and encrypted session key match §4.2.4.1-2', () => {
  const result = specAuthenticate();
  assert.equal(result.ntProofStr.toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c');
  assert.equal(result.sessionBaseKey.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3');
  assert.equal(
    rc4(result.sessionBaseKey, Buffer.alloc(16, 0x55)).toString('hex'),
    'c5dad2544fc9799094ce1ce90bc9d03e',
  );
});

test('the AUTHENTICATE_MESSAGE is byte for byte the one of §4.2.4.3', () => {
  const { message } = specAuthenticate();
  assert.equal(message.toString('hex'), SPEC_AUTHENTICATE.toString('hex'));
});

test('RC4 gives the RFC 6229 keystream for the 40-bit key 0102030405', () => {
  assert.equal(rc4(hex('0102030405'), Buffer.alloc(8)).toString('hex'), 'b2396305f03dc027');
});

test('the NEGOTIATE message asks for Unicode, NTLM, extended session security, 128 bit', () => {
  const negotiate = createNegotiateMessage();
  assert.equal(negotiate.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
  assert.equal(negotiate.readUInt32LE(8), 1);
  const flags = negotiate.readUInt32LE(12);
  for (const bit of [0x1, 0x200, 0x80000, 0x800000, 0x20000000]) {
    assert.ok(flags & bit, `flag 0x${bit.toString(16)} is set`);
  }
});

test('a challenge without TargetInfo (Cyrus SASL) gets NTLMv2, empty info, local time', () => {
  // Cyrus' challenge: no TargetInfo, no extended session security, target MAIL.RIG.TEST.
  const target = Buffer.from('MAIL.RIG.TEST', 'utf16le');
  const challenge = Buffer.alloc(32 + target.length);
  Buffer.from('NTLMSSP\0', 'latin1').copy(challenge, 0);
  challenge.writeUInt32LE(2, 8);
  challenge.writeUInt16LE(target.length, 12);
  challenge.writeUInt16LE(target.length, 14);
  challenge.writeUInt32LE(32, 16);
  challenge.writeUInt32LE(0x00020205, 20); // UNICODE | NTLM | TARGET_TYPE_SERVER | REQUEST_TARGET
  hex('1122334455667788').copy(challenge, 24);
  target.copy(challenge, 32);

  const parsed = parseChallengeMessage(challenge);
  assert.equal(parsed.targetName, 'MAIL.RIG.TEST');
  assert.equal(parsed.targetInfo.length, 0);
  const now = new Date('2026-12-03T12:00:00Z');
  const { message } = createAuthenticateMessage({
    challenge: parsed,
    username: 'alice',
    password: 'alice-Secret-1',
    domain: 'RIG',
    workstation: 'CLIENT',
    clientChallenge: hex('0102030405060708'),
    now,
  });
  const ntLength = message.readUInt16LE(20);
  const ntOffset = message.readUInt32LE(24);
  const blob = message.subarray(ntOffset + 16, ntOffset + ntLength);
  assert.equal(ntLength, 16 + 28 + 4, 'NTProofStr + blob header + empty info + 4 zero bytes');
  assert.deepEqual(blob.subarray(0, 2), Buffer.from([1, 1]));
  // The time is the local clock as a FILETIME: (ms + 11644473600000) * 10000.
  const ticks = (BigInt(now.getTime()) + 11_644_473_600_000n) * 10_000n;
  assert.equal(blob.readBigUInt64LE(8), ticks);
  // Unicode strings, as the server chose.
  const userOffset = message.readUInt32LE(40);
  assert.equal(message.subarray(userOffset, userOffset + 10).toString('utf16le'), 'alice');
  // The LMv2 response is present (no timestamp from the server): 24 bytes.
  assert.equal(message.readUInt16LE(12), 24);
});

test('a challenge with MsvAvTimestamp gets its time, Z(24) as LM response and a MIC', () => {
  const info = Buffer.concat([
    hex('02000c00'),
    Buffer.from('Domain', 'utf16le'),
    hex('07000800'),
    hex('0090d336b734c301'), // 2003-06-17 10:00 UTC, davenport's example time
    hex('00000000'),
  ]);
  const challenge = Buffer.alloc(48);
  Buffer.from('NTLMSSP\0', 'latin1').copy(challenge, 0);
  challenge.writeUInt32LE(2, 8);
  challenge.writeUInt32LE(48, 16);
  challenge.writeUInt32LE(0xe28a8235, 20);
  hex('0123456789abcdef').copy(challenge, 24);
  challenge.writeUInt16LE(info.length, 40);
  challenge.writeUInt16LE(info.length, 42);
  challenge.writeUInt32LE(48, 44);
  const raw = Buffer.concat([challenge, info]);
  const parsed = parseChallengeMessage(raw);
  assert.equal(parsed.timestamp?.toString('hex'), '0090d336b734c301');

  const negotiate = createNegotiateMessage();
  const { message, exportedSessionKey } = createAuthenticateMessage({
    challenge: parsed,
    username: 'User',
    password: 'Password',
    domain: 'Domain',
    workstation: 'COMPUTER',
    clientChallenge: hex('aaaaaaaaaaaaaaaa'),
    now: new Date(),
    negotiateMessage: negotiate,
  });
  const lmOffset = message.readUInt32LE(16);
  assert.deepEqual(message.subarray(lmOffset, lmOffset + 24), Buffer.alloc(24));
  const ntOffset = message.readUInt32LE(24);
  assert.equal(message.subarray(ntOffset + 24, ntOffset + 32).toString('hex'), '0090d336b734c301');
  // The blob's AV pairs carry MsvAvFlags with bit 0x2 (MIC present), and the MIC is set.
  const ntLength = message.readUInt16LE(20);
  const pairs = message.subarray(ntOffset + 44, ntOffset + ntLength - 4);
  assert.ok(pairs.includes(hex('0600040002000000')));
  // MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE + CHALLENGE + AUTHENTICATE with Z(16) MIC).
  const zeroed = Buffer.from(message);
  zeroed.fill(0, 72, 88);
  const mic = hmacMd5(exportedSessionKey, negotiate, raw, zeroed);
  assert.deepEqual(message.subarray(72, 88), mic);
  assert.notDeepEqual(mic, Buffer.alloc(16));
  assert.equal(message.readUInt32LE(32), 88, 'the payload starts after the MIC');
});

test('malformed challenges are refused with the reason', () => {
  const notNtlm = Buffer.from('not ntlm at all, really not');
  assert.throws(() => parseChallengeMessage(notNtlm), /signature/);
  const wrongType = Buffer.from(SPEC_CHALLENGE);
  wrongType.writeUInt32LE(3, 8);
  assert.throws(() => parseChallengeMessage(wrongType), /type 3/);
  const overrun = Buffer.from(SPEC_CHALLENGE);
  overrun.writeUInt32LE(0xffff, 44);
  assert.throws(() => parseChallengeMessage(overrun), /outside the message/);
});
