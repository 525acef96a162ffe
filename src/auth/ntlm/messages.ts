/**
 * The three NTLM messages of MS-NLMP §2.2.1: NEGOTIATE (Type 1), CHALLENGE (Type 2, parsed
 * here) and AUTHENTICATE (Type 3, NTLMv2 only). Pure functions over buffers; every input
 * that varies (client challenge, time, random session key) is a parameter, so the spec's
 * example bytes (§4.2.4) can be reproduced exactly.
 *
 * TODO(auth): no MsvAvChannelBindings or MsvAvTargetName AV pairs (MS-NLMP §3.1.5.2.1
 * SHOULD); servers that enforce Extended Protection for Authentication will refuse.
 */
import { computeNtlmV2Responses, fileTime, hmacMd5, ntowfv2, rc4 } from './crypto.js';

export const NtlmFlags = {
  NEGOTIATE_UNICODE: 0x00000001,
  NEGOTIATE_OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NEGOTIATE_SIGN: 0x00000010,
  NEGOTIATE_SEAL: 0x00000020,
  NEGOTIATE_NTLM: 0x00000200,
  NEGOTIATE_ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  NEGOTIATE_EXTENDED_SESSIONSECURITY: 0x00080000,
  NEGOTIATE_TARGET_INFO: 0x00800000,
  NEGOTIATE_VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  NEGOTIATE_KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/** AV pair ids (MS-NLMP §2.2.2.1) this code reads or writes. */
export const AvId = {
  EOL: 0,
  NB_COMPUTER_NAME: 1,
  NB_DOMAIN_NAME: 2,
  FLAGS: 6,
  TIMESTAMP: 7,
} as const;

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/**
 * What this client asks for in its NEGOTIATE message: Unicode, NTLM with extended session
 * security (NTLMv2 is always used), 128-bit keys, and the target information.
 */
export const DEFAULT_NEGOTIATE_FLAGS =
  NtlmFlags.NEGOTIATE_UNICODE |
  NtlmFlags.NEGOTIATE_OEM |
  NtlmFlags.REQUEST_TARGET |
  NtlmFlags.NEGOTIATE_NTLM |
  NtlmFlags.NEGOTIATE_ALWAYS_SIGN |
  NtlmFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY |
  NtlmFlags.NEGOTIATE_TARGET_INFO |
  NtlmFlags.NEGOTIATE_128 |
  NtlmFlags.NEGOTIATE_56;

/** The Version field this client sends (MS-NLMP §2.2.2.10): 10.0 build 19041, revision 15. */
export const CLIENT_VERSION = Buffer.from([0x0a, 0x00, 0x61, 0x4a, 0x00, 0x00, 0x00, 0x0f]);

/** A NEGOTIATE_MESSAGE with no domain or workstation (they go in the AUTHENTICATE). */
export function createNegotiateMessage(flags: number = DEFAULT_NEGOTIATE_FLAGS): Buffer {
  const message = Buffer.alloc(32);
  SIGNATURE.copy(message, 0);
  message.writeUInt32LE(1, 8);
  message.writeUInt32LE(flags >>> 0, 12);
  // Domain and workstation fields: length 0, offset at the end of the message.
  message.writeUInt32LE(32, 20);
  message.writeUInt32LE(32, 28);
  return message;
}

export interface ChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  /** The server's name or domain, decoded (Unicode or OEM as the flags say). */
  targetName: string;
  /** The raw AV pairs, empty when the server sent none (Cyrus SASL sends none). */
  targetInfo: Buffer;
  /** The MsvAvTimestamp value (8 bytes), when the server sent one. */
  timestamp: Buffer | undefined;
  /** The whole message as received (for the MIC). */
  raw: Buffer;
}

/**
 * Parses a CHALLENGE_MESSAGE. Throws `RangeError` naming the problem when the bytes are
 * not one (wrong signature or type, a field pointing outside the message, bad AV pairs).
 */
export function parseChallengeMessage(raw: Buffer): ChallengeMessage {
  if (raw.length < 32 || !raw.subarray(0, 8).equals(SIGNATURE)) {
    throw new RangeError('not an NTLM message (no NTLMSSP signature)');
  }
  if (raw.readUInt32LE(8) !== 2) {
    throw new RangeError(`NTLM message type ${raw.readUInt32LE(8)} where 2 was expected`);
  }
  const flags = raw.readUInt32LE(20);
  const unicode = (flags & NtlmFlags.NEGOTIATE_UNICODE) !== 0;
  const targetNameBytes = readField(raw, 12, 'TargetName');
  // Old servers end the header after the challenge (32 bytes) and put the target name
  // right there; the TargetInfo field exists only when the payload starts at 48 or later.
  const targetNameOffset = raw.readUInt32LE(16);
  const hasTargetInfoField =
    raw.length >= 48 && (targetNameBytes.length === 0 || targetNameOffset >= 48);
  let targetInfo: Buffer = Buffer.alloc(0);
  if (hasTargetInfoField) targetInfo = readField(raw, 40, 'TargetInfo');
  const pairs = parseAvPairs(targetInfo);
  return {
    flags,
    serverChallenge: Buffer.from(raw.subarray(24, 32)),
    targetName: targetNameBytes.toString(unicode ? 'utf16le' : 'latin1'),
    targetInfo,
    timestamp: pairs.get(AvId.TIMESTAMP),
    raw: Buffer.from(raw),
  };
}

function readField(message: Buffer, at: number, name: string): Buffer {
  const length = message.readUInt16LE(at);
  const offset = message.readUInt32LE(at + 4);
  if (length === 0) return Buffer.alloc(0);
  if (offset + length > message.length) {
    throw new RangeError(`the ${name} field points outside the message`);
  }
  return Buffer.from(message.subarray(offset, offset + length));
}

/** The AV pairs up to MsvAvEOL, by id. Throws `RangeError` when a pair overruns. */
export function parseAvPairs(targetInfo: Buffer): Map<number, Buffer> {
  const pairs = new Map<number, Buffer>();
  let at = 0;
  while (at + 4 <= targetInfo.length) {
    const id = targetInfo.readUInt16LE(at);
    const length = targetInfo.readUInt16LE(at + 2);
    if (id === AvId.EOL) return pairs;
    if (at + 4 + length > targetInfo.length) throw new RangeError('an AV pair overruns TargetInfo');
    pairs.set(id, targetInfo.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (targetInfo.length > 0) throw new RangeError('TargetInfo lacks its MsvAvEOL');
  return pairs;
}

/**
 * The target info to echo in the NTLMv2 blob: the server's pairs, with MsvAvFlags bit 0x2
 * ("a MIC is present") set when `withMic`. Pairs are copied in the server's order.
 */
function targetInfoForBlob(serverInfo: Buffer, withMic: boolean): Buffer {
  if (!withMic) return serverInfo;
  const parts: Buffer[] = [];
  let flagsSeen = false;
  let at = 0;
  while (at + 4 <= serverInfo.length) {
    const id = serverInfo.readUInt16LE(at);
    const length = serverInfo.readUInt16LE(at + 2);
    if (id === AvId.EOL) break;
    const pair = Buffer.from(serverInfo.subarray(at, at + 4 + length));
    if (id === AvId.FLAGS && length === 4) {
      pair.writeUInt32LE((pair.readUInt32LE(4) | 0x2) >>> 0, 4);
      flagsSeen = true;
    }
    parts.push(pair);
    at += 4 + length;
  }
  if (!flagsSeen) parts.push(avPair(AvId.FLAGS, Buffer.from([0x02, 0, 0, 0])));
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

function avPair(id: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16LE(id, 0);
  header.writeUInt16LE(value.length, 2);
  return Buffer.concat([header, value]);
}

export interface AuthenticateInput {
  challenge: ChallengeMessage;
  username: string;
  password: string;
  /** The user's domain; empty for a UPN user name or a stand-alone server. */
  domain: string;
  workstation: string;
  /** 8 random bytes; injectable for tests. */
  clientChallenge: Buffer;
  /** Used as the blob's time when the server sent no MsvAvTimestamp. */
  now: Date;
  /** The flags to send. Default: what the client asked for and the server granted. */
  flags?: number;
  /** The NEGOTIATE message sent, needed for the MIC when the server sent a timestamp. */
  negotiateMessage?: Buffer;
  /** 16 bytes, required when the flags hold NEGOTIATE_KEY_EXCH; injectable for tests. */
  randomSessionKey?: Buffer;
  /** The Version field; default CLIENT_VERSION. Zeros go out when VERSION is not set. */
  version?: Buffer;
}

export interface AuthenticateResult {
  message: Buffer;
  ntProofStr: Buffer;
  sessionBaseKey: Buffer;
  /** The key a signing or sealing layer would use (MS-NLMP §3.1.5.1.2). */
  exportedSessionKey: Buffer;
}

/**
 * Builds the AUTHENTICATE_MESSAGE with an NTLMv2 response (MS-NLMP §3.1.5.1.2, §3.3.2).
 * The time and target info come from the challenge; with no TargetInfo (Cyrus SASL) the
 * blob carries an empty one and the local time. When the server sent a timestamp, the
 * LMv2 response is Z(24) and a MIC is added (§3.1.5.1.2). Strings are UTF-16LE when the
 * server chose Unicode, else Latin-1 (OEM).
 */
export function createAuthenticateMessage(input: AuthenticateInput): AuthenticateResult {
  const { challenge } = input;
  const flags =
    (input.flags ?? chooseFlags(DEFAULT_NEGOTIATE_FLAGS, challenge.flags)) >>> 0;
  const withMic = challenge.timestamp !== undefined && input.negotiateMessage !== undefined;
  const responses = computeNtlmV2Responses({
    responseKey: ntowfv2(input.username, input.domain, input.password),
    serverChallenge: challenge.serverChallenge,
    clientChallenge: input.clientChallenge,
    time: challenge.timestamp ?? fileTime(input.now),
    targetInfo: targetInfoForBlob(challenge.targetInfo, withMic),
    omitLmResponse: challenge.timestamp !== undefined,
  });
  const keyExchangeKey = responses.sessionBaseKey;
  let exportedSessionKey: Buffer = keyExchangeKey;
  let encryptedRandomSessionKey: Buffer = Buffer.alloc(0);
  if (flags & NtlmFlags.NEGOTIATE_KEY_EXCH) {
    if (input.randomSessionKey?.length !== 16) {
      throw new RangeError('NEGOTIATE_KEY_EXCH needs a 16-byte random session key');
    }
    exportedSessionKey = input.randomSessionKey;
    encryptedRandomSessionKey = rc4(keyExchangeKey, input.randomSessionKey);
  }

  const encoding = flags & NtlmFlags.NEGOTIATE_UNICODE ? 'utf16le' : 'latin1';
  const payload: Array<[fieldAt: number, value: Buffer]> = [
    [28, Buffer.from(input.domain, encoding)],
    [36, Buffer.from(input.username, encoding)],
    [44, Buffer.from(input.workstation, encoding)],
    [12, responses.lmChallengeResponse],
    [20, responses.ntChallengeResponse],
    [52, encryptedRandomSessionKey],
  ];
  const headerLength = 72 + (withMic ? 16 : 0);
  const header = Buffer.alloc(headerLength);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(3, 8);
  header.writeUInt32LE(flags, 60);
  if (flags & NtlmFlags.NEGOTIATE_VERSION) (input.version ?? CLIENT_VERSION).copy(header, 64);
  let offset = headerLength;
  for (const [fieldAt, value] of payload) {
    header.writeUInt16LE(value.length, fieldAt);
    header.writeUInt16LE(value.length, fieldAt + 2);
    header.writeUInt32LE(offset, fieldAt + 4);
    offset += value.length;
  }
  const message = Buffer.concat([header, ...payload.map(([, value]) => value)]);
  if (withMic) {
    const mic = hmacMd5(exportedSessionKey, input.negotiateMessage!, challenge.raw, message);
    mic.copy(message, 72);
  }
  return {
    message,
    ntProofStr: responses.ntProofStr,
    sessionBaseKey: responses.sessionBaseKey,
    exportedSessionKey,
  };
}

/**
 * The AUTHENTICATE flags: what both sides support, with Unicode preferred over OEM and
 * the target info and version bits only when the server set them.
 */
export function chooseFlags(clientFlags: number, serverFlags: number): number {
  let flags = (clientFlags & serverFlags) >>> 0;
  if (flags & NtlmFlags.NEGOTIATE_UNICODE) flags &= ~NtlmFlags.NEGOTIATE_OEM;
  return flags >>> 0;
}
