import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConnectionString } from '../../src/connection/connection-string.js';
import { validateConnection, type Problem } from '../../src/connection/validate.js';
import { testCertificates } from '../support/test-ca.js';

function check(text: string): { errors: Problem[]; warnings: Problem[] } {
  return validateConnection(parseConnectionString(text, { allowEmptyServer: true }));
}

function fields(problems: Problem[]): string[] {
  return problems.map((p) => p.field).sort();
}

describe('validateConnection', () => {
  let dir = '';
  const savedCache = process.env.KRB5CCNAME;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smtpcm-validate-'));
    process.env.KRB5CCNAME = `FILE:${join(dir, 'no-ccache')}`;
  });
  after(async () => {
    if (savedCache === undefined) delete process.env.KRB5CCNAME;
    else process.env.KRB5CCNAME = savedCache;
    await rm(dir, { recursive: true, force: true });
  });

  test('an internationalised SmtpServer is valid (its xn-- form is a DNS name)', () => {
    assert.deepEqual(check('SmtpServer=bücher.example').errors, []);
    assert.deepEqual(check('SmtpServer=xn--bcher-kva.example').errors, []);
    assert.deepEqual(fields(check('SmtpServer=bü cher.example').errors), ['SmtpServer']);
  });

  test('a plain SSIS string has no problem', () => {
    assert.deepEqual(check('SmtpServer=smtp.example.com;UseWindowsAuthentication=False;' +
      'EnableSsl=True;'), { errors: [], warnings: [] });
  });

  test('every problem has a field, a message and a fix', () => {
    const { errors, warnings } = check('SmtpServer=;Timeout=0;Password=********;' +
      'TrustServerCertificate=True;AllowInsecureAuth=True');
    for (const problem of [...errors, ...warnings]) {
      assert.ok(problem.field && problem.message.length > 10 && problem.fix.length > 10,
        JSON.stringify(problem));
    }
  });

  test('errors: empty server, bad host, Timeout=0, masked password, missing references', () => {
    assert.deepEqual(fields(check('SmtpServer=').errors), ['SmtpServer']);
    assert.deepEqual(fields(check('SmtpServer=http://mail.example.com').errors), ['SmtpServer']);
    assert.deepEqual(fields(check('SmtpServer=h;Timeout=0').errors), ['Timeout']);
    assert.ok(fields(check('SmtpServer=h;UserName=u;Password=********').errors)
      .includes('Password'));
    assert.deepEqual(fields(check('SmtpServer=h;UserName=u;Password=env:SMTPCM_UNSET_VAR')
      .errors), ['Password']);
    assert.deepEqual(fields(check(`SmtpServer=h;UserName=u;Password=file:${dir}/absent`)
      .errors), ['Password']);
    assert.deepEqual(fields(check('SmtpServer=h;Password=env:HOME').errors), ['UserName']);
    assert.deepEqual(fields(check(`SmtpServer=h;CaFile=${dir}/none.pem`).errors), ['CaFile']);
  });

  test('a CaFile that holds no PEM certificate (/etc/hostname) is an error naming the file',
    async () => {
      await writeFile(join(dir, 'hostname'), 'mail-relay-1\n');
      assert.deepEqual(check(`SmtpServer=h;EnableSsl=True;CaFile=${dir}/hostname`).errors, [{
        severity: 'error',
        field: 'CaFile',
        message: `${dir}/hostname holds no PEM certificate (a -----BEGIN CERTIFICATE----- ` +
          'block); if it is DER, convert it with openssl x509 -inform DER -in FILE -out ' +
          'FILE.pem.',
        fix: 'Give the path of a PEM file holding the CA certificates to trust.',
      }]);
      assert.deepEqual(check(`SmtpServer=h;CaFile=${dir}`).errors.map((e) => e.message),
        [`${dir} is not a file.`]);
      await writeFile(join(dir, 'ca.pem'), testCertificates().ca);
      assert.deepEqual(check(`SmtpServer=h;EnableSsl=True;CaFile=${dir}/ca.pem`).errors, []);
    });

  test('ClientDomain must be a host name or an address literal (RFC 5321 §4.1.3)', () => {
    assert.deepEqual(check(`SmtpServer=h;ClientDomain=${'x'.repeat(100_000)}`).errors, [{
      severity: 'error',
      field: 'ClientDomain',
      message: `"${'x'.repeat(200)}"… (99800 more) is 100000 octets long; a domain has at ` +
        'most 255.',
      fix: 'Write the name EHLO gives for this host, e.g. ClientDomain=client.example.com, or ' +
        'an address literal such as ClientDomain=[192.0.2.1]; or remove it for the default.',
    }]);
    for (const bad of ['client_1.example', 'two words', `${'a'.repeat(64)}.example`,
      '[192.0.2]', '[2001:db8::1]', 'a..b']) {
      assert.deepEqual(fields(check(`SmtpServer=h;ClientDomain=${bad}`).errors),
        ['ClientDomain'], bad);
    }
    for (const good of ['client.example.com', 'localhost', '[192.0.2.1]',
      '[IPv6:2001:db8::1]', 'bücher.example']) {
      assert.deepEqual(check(`SmtpServer=h;ClientDomain=${good}`).errors, [], good);
    }
  });

  test('the error for a missing variable names it and never shows a value', () => {
    const [problem] = check('SmtpServer=h;UserName=u;Password=env:SMTPCM_UNSET_VAR').errors;
    assert.ok(problem!.message.includes('SMTPCM_UNSET_VAR'));
  });

  test('a Timeout over an hour asks whether milliseconds were meant', () => {
    const [warning] = check('SmtpServer=h;Timeout=30000').warnings;
    assert.equal(warning?.field, 'Timeout');
    assert.match(warning!.message, /milliseconds\?/);
    assert.match(warning!.fix, /Timeout=30\b/);
    assert.deepEqual(check('SmtpServer=h;Timeout=3600').warnings, []);
  });

  test('a literal password is a warning; a reference is not', async () => {
    await writeFile(join(dir, 'pw'), 'x\n');
    assert.deepEqual(fields(check('SmtpServer=h;EnableSsl=True;UserName=u;Password=x').warnings),
      ['Password']);
    assert.deepEqual(check(`SmtpServer=h;EnableSsl=True;UserName=u;Password=file:${dir}/pw`),
      { errors: [], warnings: [] });
  });

  test('certificate checks off, insecure auth and credentials without TLS are warnings', () => {
    assert.deepEqual(fields(check('SmtpServer=h;EnableSsl=True;TrustServerCertificate=True')
      .warnings), ['TrustServerCertificate']);
    assert.deepEqual(fields(check('SmtpServer=h;UserName=u;Password=env:HOME;' +
      'AllowInsecureAuth=True').warnings), ['AllowInsecureAuth', 'EnableSsl']);
    assert.deepEqual(fields(check('SmtpServer=h;UserName=u;Password=env:HOME').warnings),
      ['EnableSsl']);
    assert.deepEqual(fields(check('SmtpServer=h;SecureSocketOptions=StartTlsWhenAvailable;' +
      'UserName=u;Password=env:HOME').warnings), ['EnableSsl']);
  });

  test('Windows authentication outside Windows without a ticket cache or NTLM credentials',
    { skip: process.platform === 'win32' ? 'this is Windows' : undefined }, async () => {
      const text = 'SmtpServer=mail.corp.example;UseWindowsAuthentication=True;EnableSsl=True';
      const [warning] = check(text).warnings;
      assert.equal(warning?.field, 'UseWindowsAuthentication');
      assert.match(warning!.fix, /kinit/);
      assert.deepEqual(check(`${text};UserName=u;Password=env:HOME;Domain=CORP`).warnings, []);
      await writeFile(join(dir, 'no-ccache'), 'ticket');
      assert.deepEqual(check(text).warnings, [], 'a ticket cache is enough');
      await rm(join(dir, 'no-ccache'));
    });

  test('pickup delivery needs an existing folder and no server', () => {
    assert.deepEqual(fields(check('DeliveryMethod=PickupDirectory').errors),
      ['PickupDirectoryLocation']);
    assert.deepEqual(fields(check(`DeliveryMethod=PickupDirectory;PickupDirectoryLocation=${dir}` +
      '/missing').errors), ['PickupDirectoryLocation']);
    assert.deepEqual(check(`DeliveryMethod=PickupDirectory;PickupDirectoryLocation=${dir}`),
      { errors: [], warnings: [] });
    assert.deepEqual(fields(check(`SmtpServer=h;PickupDirectoryLocation=${dir}`).warnings),
      ['PickupDirectoryLocation']);
  });

  test('port 465 without implicit TLS', () => {
    assert.deepEqual(fields(check('SmtpServer=h;Port=465').warnings), ['Port']);
    assert.deepEqual(fields(check('SmtpServer=h;Port=465;SecureSocketOptions=StartTls').warnings),
      ['Port']);
    assert.deepEqual(check('SmtpServer=h;Port=465;EnableSsl=True').warnings, []);
  });
});
