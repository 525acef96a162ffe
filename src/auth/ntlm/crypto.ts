/**
 * The NTLMv2 computations of MS-NLMP §3.3.2 and the primitives they need. MD4 comes from
 * js-md4 (Node 20 with OpenSSL 3 has no MD4 outside the legacy provider), HMAC-MD5 from
 * node:crypto, RC4 is written out here (also legacy in OpenSSL 3; 16 bytes of key
 * exchange are all it is used for).
 */
import { createHmac } from 'node:crypto';
import md4 from 'js-md4';

/** MD4 of the UTF-16LE password: NTOWFv1, the "NT hash" (MS-NLMP §3.3.1). */
export function ntHash(password: string): Buffer {
  return Buffer.from(md4.arrayBuffer(Buffer.from(password, 'utf16le')));
}

export function hmacMd5(key: Buffer, ...data: Buffer[]): Buffer {
  const mac = createHmac('md5', key);
  for (const part of data) mac.update(part);
  return mac.digest();
}

/** NTOWFv2 = HMAC_MD5(MD4(UNICODE(password)), UNICODE(UPPER(user) + domain)) (§3.3.2). */
export function ntowfv2(username: string, domain: string, password: string): Buffer {
  return hmacMd5(ntHash(password), Buffer.from(username.toUpperCase() + domain, 'utf16le'));
}

/** RC4 (MS-NLMP §3.4.5 uses it to seal the exported session key under the key exchange key). */
export function rc4(key: Buffer, data: Buffer): Buffer {
  const state = Array.from({ length: 256 }, (_, i) => i);
  let j = 0;
  for (let i = 0; i < 256; i += 1) {
    j = (j + state[i]! + key[i % key.length]!) & 0xff;
    [state[i], state[j]] = [state[j]!, state[i]!];
  }
  const output = Buffer.alloc(data.length);
  let i = 0;
  j = 0;
  for (let n = 0; n < data.length; n += 1) {
    i = (i + 1) & 0xff;
    j = (j + state[i]!) & 0xff;
    [state[i], state[j]] = [state[j]!, state[i]!];
    output[n] = data[n]! ^ state[(state[i]! + state[j]!) & 0xff]!;
  }
  return output;
}

/** A time as a FILETIME: 100-ns ticks since 1601-01-01 UTC, 8 bytes little-endian. */
export function fileTime(date: Date): Buffer {
  const ticks = (BigInt(date.getTime()) + 11_644_473_600_000n) * 10_000n;
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(ticks);
  return buffer;
}

export interface NtlmV2Responses {
  ntChallengeResponse: Buffer;
  lmChallengeResponse: Buffer;
  /** NTProofStr, the first 16 bytes of the NT response. */
  ntProofStr: Buffer;
  /** SessionBaseKey = HMAC_MD5(NTOWFv2, NTProofStr); also the key exchange key for v2. */
  sessionBaseKey: Buffer;
}

/**
 * ComputeResponse for NTLMv2 (MS-NLMP §3.3.2). `time` is 8 bytes (FILETIME) and
 * `targetInfo` the AV pairs to put in the blob. `omitLmResponse` sends Z(24) in place of
 * the LMv2 response, as the spec requires when the server gave an MsvAvTimestamp.
 */
export function computeNtlmV2Responses(input: {
  responseKey: Buffer;
  serverChallenge: Buffer;
  clientChallenge: Buffer;
  time: Buffer;
  targetInfo: Buffer;
  omitLmResponse: boolean;
}): NtlmV2Responses {
  const { responseKey, serverChallenge, clientChallenge, time, targetInfo } = input;
  const temp = Buffer.concat([
    Buffer.from([0x01, 0x01, 0, 0, 0, 0, 0, 0]),
    time,
    clientChallenge,
    Buffer.alloc(4),
    targetInfo,
    Buffer.alloc(4),
  ]);
  const ntProofStr = hmacMd5(responseKey, serverChallenge, temp);
  const lmChallengeResponse = input.omitLmResponse
    ? Buffer.alloc(24)
    : Buffer.concat([hmacMd5(responseKey, serverChallenge, clientChallenge), clientChallenge]);
  return {
    ntChallengeResponse: Buffer.concat([ntProofStr, temp]),
    lmChallengeResponse,
    ntProofStr,
    sessionBaseKey: hmacMd5(responseKey, ntProofStr),
  };
}
