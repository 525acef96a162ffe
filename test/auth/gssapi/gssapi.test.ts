/**
 * GSSAPI with a stand-in for the kerberos module: the service name, the RFC 4752 §3.1
 * security-layer answer, and the "unavailable" paths. The real KDC is exercised in
 * test/auth/rig-auth.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GssapiMechanism, serviceName } from '../../../src/auth/gssapi/gssapi.js';
import {
  tryLoad,
  type KerberosClientLike,
  type KerberosModuleLike,
} from '../../../src/auth/gssapi/kerberos-module.js';
import { SmtpAuthenticationError } from '../../../src/errors.js';

test('the service name defaults to smtp@<host> and accepts smtp/host and smtp@host', () => {
  assert.equal(serviceName('mail.rig.test'), 'smtp@mail.rig.test');
  assert.equal(serviceName('mail.rig.test', 'smtp/other.rig.test'), 'smtp@other.rig.test');
  assert.equal(serviceName('x', 'smtp/other.rig.test@RIG.TEST'), 'smtp@other.rig.test');
  assert.equal(serviceName('x', 'smtp@other.rig.test'), 'smtp@other.rig.test');
  assert.equal(serviceName('mail.rig.test', 'SMTPSVC'), 'SMTPSVC@mail.rig.test');
});

/** A fake context: one token out, one in, then the security layer. */
function fakeModule(log: string[], layer = [0x07, 0x00, 0x10, 0x00]): KerberosModuleLike {
  const client: KerberosClientLike = {
    contextComplete: false,
    async step(challenge) {
      log.push(`step(${challenge})`);
      if (challenge === '') return Buffer.from('AP-REQ').toString('base64');
      client.contextComplete = true;
      return '';
    },
    async unwrap(challenge) {
      log.push(`unwrap(${Buffer.from(challenge, 'base64').toString()})`);
      return Buffer.from(layer).toString('base64');
    },
    async wrap(challenge, options) {
      log.push(`wrap(${Buffer.from(challenge, 'base64').toString('hex')}, ${options?.user})`);
      return Buffer.from('wrapped').toString('base64');
    },
  };
  return {
    GSS_MECH_OID_KRB5: 9,
    async initializeClient(service, options) {
      log.push(`initializeClient(${service}, mechOID ${options?.mechOID})`);
      return client;
    },
  };
}

test('GSSAPI steps the context, then chooses "no security layer" with max size 0', async () => {
  const log: string[] = [];
  const module = fakeModule(log);
  const gssapi = new GssapiMechanism({
    host: 'mail.rig.test',
    load: async () => ({ available: true, module }),
  });
  assert.equal((await gssapi.start()).toString(), 'AP-REQ');
  assert.equal((await gssapi.next(Buffer.from('AP-REP'))).length, 0);
  assert.equal((await gssapi.next(Buffer.from('layer-token'))).toString(), 'wrapped');
  assert.deepEqual(log, [
    'initializeClient(smtp@mail.rig.test, mechOID 9)',
    'step()',
    `step(${Buffer.from('AP-REP').toString('base64')})`,
    'unwrap(layer-token)',
    // RFC 4752 §3.1: [0x01 no security layer, 0, 0, 0], empty authorization id.
    'wrap(01000000, )',
  ]);
});

test('GSSAPI refuses a server that offers no "no security layer" option', async () => {
  const module = fakeModule([], [0x06, 0x00, 0x10, 0x00]);
  const load = async () => ({ available: true as const, module });
  const gssapi = new GssapiMechanism({ host: 'h', load });
  await gssapi.start();
  await gssapi.next(Buffer.from('AP-REP'));
  await assert.rejects(gssapi.next(Buffer.from('layer')), /requires a security layer/);
});

test('GSSAPI without the kerberos module is unavailable, with the reason', async () => {
  const loaded = await tryLoad(async () => {
    throw new Error("Cannot find module 'kerberos'");
  });
  assert.equal(loaded.available, false);
  const gssapi = new GssapiMechanism({ host: 'h', load: async () => loaded });
  await assert.rejects(
    gssapi.start(),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'unavailable' &&
      /Cannot find module 'kerberos'/.test(error.message) &&
      /npm install kerberos/.test(error.message),
  );
});

test('GSSAPI without a ticket is unavailable and says kinit or a keytab is needed', async () => {
  const module: KerberosModuleLike = {
    GSS_MECH_OID_KRB5: 9,
    async initializeClient() {
      return {
        contextComplete: false,
        async step() {
          throw new Error('No Kerberos credentials available (default cache: FILE:/tmp/x)');
        },
        async unwrap() {
          return '';
        },
        async wrap() {
          return '';
        },
      };
    },
  };
  const load = async () => ({ available: true as const, module });
  const gssapi = new GssapiMechanism({ host: 'h', load });
  await assert.rejects(
    gssapi.start(),
    (error: unknown) =>
      error instanceof SmtpAuthenticationError &&
      error.reason === 'unavailable' &&
      /kinit/.test(error.message) &&
      /KRB5_CLIENT_KTNAME/.test(error.message),
  );
});
