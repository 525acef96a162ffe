import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginMechanism } from '../../src/auth/login.js';
import { SmtpAuthenticationError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';

const credentials = { username: 'alice', password: new Secret('alice-Secret-1') };

test('LOGIN sends no initial response and answers the two prompts in order', async () => {
  const login = new LoginMechanism(credentials);
  assert.equal(await login.start(), undefined);
  // The prompts servers send: "VXNlcm5hbWU6" and "UGFzc3dvcmQ6" (Username:, Password:).
  const user = await login.next(Buffer.from('VXNlcm5hbWU6', 'base64'));
  const password = await login.next(Buffer.from('UGFzc3dvcmQ6', 'base64'));
  assert.equal(user.toString('base64'), 'YWxpY2U=');
  assert.equal(password.toString('utf8'), 'alice-Secret-1');
});

test('LOGIN answers prompts that name the field, whatever their wording', async () => {
  const login = new LoginMechanism(credentials);
  assert.equal((await login.next(Buffer.from('User Name'))).toString(), 'alice');
  assert.equal((await login.next(Buffer.from('Password:'))).toString(), 'alice-Secret-1');
});

test('LOGIN refuses a third prompt', async () => {
  const login = new LoginMechanism(credentials);
  await login.next(Buffer.from('Username:'));
  await login.next(Buffer.from('Password:'));
  await assert.rejects(login.next(Buffer.from('Password:')), SmtpAuthenticationError);
});
