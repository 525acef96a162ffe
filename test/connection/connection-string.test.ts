import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  asciiHost,
  CONNECTION_STRING_KEYS,
  formatConnectionString,
  formatPair,
  parseConnectionString,
  resolveSettings,
  splitConnectionString,
  type SecretRef,
  type SmtpConnectionProperties,
} from '../../src/connection/connection-string.js';
import { validateConnection } from '../../src/connection/validate.js';
import { ConfigurationError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { corpusPaths, corpusSkipReason } from '../support/corpus.js';
import { testCertificates } from '../support/test-ca.js';

/** Asserts that `run` throws a ConfigurationError whose text contains every fragment. */
function assertConfigError(run: () => unknown, field: string, ...fragments: string[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, `not a ConfigurationError: ${String(error)}`);
    assert.equal(error.field, field);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${fragment}" missing in: ${error.message}`);
    }
    assert.ok(error.fix.length > 10, 'the error carries a fix');
    return true;
  });
}

/** Props with every secret replaced by its value, so deepEqual compares what matters. */
function comparable(props: SmtpConnectionProperties): Record<string, unknown> {
  const out: Record<string, unknown> = { ...props };
  for (const key of ['password', 'accessToken'] as const) {
    const ref = props[key];
    if (ref?.kind === 'literal') out[key] = { kind: 'literal', value: ref.secret.reveal() };
  }
  return out;
}

function decodeXml(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

describe('the SSIS corpus', { skip: corpusSkipReason }, () => {
  const strings: Array<{ file: string; text: string }> = [];
  let smtpManagers = 0;
  for (const file of corpusPaths('.dtsx', '.conmgr', '.params')) {
    const xml = readFileSync(file, 'utf8');
    smtpManagers += (xml.match(/CreationName="SMTP"|CreationName">SMTP</g) ?? []).length;
    const managerElement = /<SmtpConnectionManager\b[^>]*?\bConnectionString="([^"]*)"/g;
    for (const match of xml.matchAll(managerElement)) {
      strings.push({ file, text: decodeXml(match[1]!) });
    }
    // Project.params values that hold a whole SMTP connection string.
    for (const match of xml.matchAll(/SSIS:Name="Value">(SmtpServer=[^<]*)</g)) {
      strings.push({ file, text: decodeXml(match[1]!) });
    }
  }

  test('every SMTP connection manager has a connection string', () => {
    const managers = strings.filter((s) => !s.file.endsWith('.params'));
    assert.equal(managers.length, smtpManagers);
    assert.ok(managers.length >= 19, `found only ${managers.length}`);
  });

  test('every connection string parses, validates and formats back to the same text', () => {
    const saved = process.env.KRB5CCNAME;
    process.env.KRB5CCNAME = 'FILE:/nonexistent/krb5cc_smtpcm_test';
    try {
      for (const { file, text } of strings) {
        const props = parseConnectionString(text);
        assert.equal(formatConnectionString(props), text, file);
        assert.equal(formatConnectionString(props, { maskSecrets: false }), text, file);
        const { errors, warnings } = validateConnection(props);
        assert.deepEqual(errors, [], `${file}: ${text}`);
        const fields = warnings.map((w) => w.field).sort();
        if (!props.useWindowsAuthentication && !/office365|outlook|yahoo/.test(text)) {
          assert.deepEqual(fields, [], `${file}: anonymous, no TLS: nothing to warn about`);
        }
        if (props.useWindowsAuthentication && process.platform !== 'win32') {
          assert.ok(fields.includes('UseWindowsAuthentication'), `${file}: no identity warning`);
        }
      }
    } finally {
      if (saved === undefined) delete process.env.KRB5CCNAME;
      else process.env.KRB5CCNAME = saved;
    }
  });

  test('the designer-saved Timeout=22 is read as 22 seconds', async () => {
    const text =
      'SmtpServer=mail.yahoo.com;UseWindowsAuthentication=True;EnableSsl=True;Timeout=22;';
    assert.ok(strings.some((s) => s.text === text), 'rtumaykin string present in the corpus');
    const settings = await resolveSettings(parseConnectionString(text));
    assert.equal(settings.timeoutMs, 22_000);
    assert.equal(settings.client.timeouts?.command, 22_000);
    assert.equal(settings.client.secure, 'StartTls');
    assert.equal(settings.client.port, 25);
    assert.equal(settings.client.auth?.windowsAuthentication, true);
  });

  test('Office 365 with Windows authentication and no TLS gets the warnings it deserves', () => {
    const text =
      'SmtpServer=smtp.office365.com;UseWindowsAuthentication=True;EnableSsl=False;Timeout=30;';
    assert.ok(strings.some((s) => s.text === text), 'santhoshballa string present in the corpus');
    const fields = validateConnection(parseConnectionString(text)).warnings.map((w) => w.field);
    assert.ok(fields.includes('EnableSsl'));
    assert.ok(fields.includes('Port'));
    assert.ok(fields.filter((f) => f === 'UseWindowsAuthentication').length >= 1);
  });
});

describe('DbConnectionStringBuilder rules', () => {
  test('keys are case-insensitive and trimmed; values trimmed unless quoted', () => {
    const props = parseConnectionString('  smtpserver = mail.example.com ; ENABLESSL=true;' +
      'username=" spaced ";');
    assert.equal(props.smtpServer, 'mail.example.com');
    assert.equal(props.enableSsl, true);
    assert.equal(props.userName, ' spaced ');
  });

  test('a bare host is the server, with SSIS defaults', () => {
    const props = parseConnectionString('smtphost');
    assert.deepEqual(props, { smtpServer: 'smtphost', useWindowsAuthentication: false,
      enableSsl: false });
    assert.equal(formatConnectionString(props),
      'SmtpServer=smtphost;UseWindowsAuthentication=False;EnableSsl=False;');
    assert.equal(parseConnectionString(' smtphost; ').smtpServer, 'smtphost');
  });

  test('quoted values hold ";" and "="; a doubled quote stands for one', () => {
    const props = parseConnectionString(
      `SmtpServer=h;UserName="a;b=c";Domain='it''s';ClientDomain="say ""hi""";`);
    assert.equal(props.userName, 'a;b=c');
    assert.equal(props.domain, "it's");
    assert.equal(props.clientDomain, 'say "hi"');
  });

  test('an unquoted value may hold a quote inside but not at its end (as .NET)', () => {
    assert.equal(parseConnectionString(`SmtpServer=h;UserName=o'brien`).userName, "o'brien");
    assertConfigError(() => parseConnectionString(`SmtpServer=h;UserName=obrien'`),
      'ConnectionString', 'quote');
  });

  test('"==" in a key is a literal "="', () => {
    assert.deepEqual(splitConnectionString('a==b=c;'), [{ key: 'a=b', value: 'c', position: 0 }]);
  });

  test('booleans: True/False/Yes/No/1/0 in any case', () => {
    for (const [word, value] of [['True', true], ['false', false], ['YES', true], ['no', false],
      ['1', true], ['0', false], ['tRuE', true]] as const) {
      assert.equal(parseConnectionString(`SmtpServer=h;EnableSsl=${word}`).enableSsl, value, word);
    }
  });

  test('a repeated key: the last value wins, as DbConnectionStringBuilder', () => {
    assert.equal(parseConnectionString('SmtpServer=a;SmtpServer=b;').smtpServer, 'b');
    assert.equal(parseConnectionString('SmtpServer=a;Timeout=5;Timeout=7').timeout, 7);
  });

  test('an empty value resets the key to its default, as DbConnectionStringBuilder', () => {
    const props = parseConnectionString('SmtpServer=a;Timeout=30;Port=587;Timeout=;Port=""');
    assert.equal(props.timeout, undefined);
    assert.equal('timeout' in props, false);
    assert.equal('port' in props, false);
  });

  test('empty pairs and blanks between pairs are skipped', () => {
    assert.equal(parseConnectionString(';; SmtpServer=a ;;; EnableSsl=True;;').enableSsl, true);
  });

  test('the canonical order: SSIS keys first, Timeout, then ours in documented order', () => {
    const props = parseConnectionString('PickupDirectoryLocation=/x;Port=587;UserName=u;' +
      'Timeout=30;EnableSsl=True;SmtpServer=h;UseWindowsAuthentication=False;MaxConnections=4');
    assert.equal(formatConnectionString(props),
      'SmtpServer=h;UseWindowsAuthentication=False;EnableSsl=True;Timeout=30;Port=587;' +
      'UserName=u;MaxConnections=4;PickupDirectoryLocation=/x;');
    assert.deepEqual(CONNECTION_STRING_KEYS.slice(0, 4),
      ['SmtpServer', 'UseWindowsAuthentication', 'EnableSsl', 'Timeout']);
  });

  test('values are quoted as DbConnectionStringBuilder quotes them', () => {
    const base: SmtpConnectionProperties = { smtpServer: 'h', useWindowsAuthentication: false,
      enableSsl: false };
    const cases: Array<[string, string]> = [
      ['plain', 'UserName=plain;'],
      ['a b', 'UserName="a b";'],
      ['a;b', 'UserName="a;b";'],
      ['a=b', 'UserName="a=b";'],
      ['a"b', `UserName='a"b';`],
      ["a'b", `UserName="a'b";`],
      [`a'"b`, `UserName="a'""b";`],
    ];
    for (const [value, expected] of cases) {
      const text = formatConnectionString({ ...base, userName: value });
      assert.ok(text.endsWith(expected), `${value} -> ${text}`);
      assert.equal(parseConnectionString(text).userName, value);
    }
  });
});

describe('secrets', () => {
  const literal = (value: string): SecretRef => ({ kind: 'literal', secret: new Secret(value) });

  test('literals are masked by default and shown only with maskSecrets: false', () => {
    const props = parseConnectionString('SmtpServer=h;UserName=u;Password=hunter2;' +
      'AccessToken=tok');
    const masked = formatConnectionString(props);
    assert.ok(!masked.includes('hunter2') && !masked.includes('tok;'));
    assert.ok(masked.includes('Password=********;') && masked.includes('AccessToken=********;'));
    const clear = formatConnectionString(props, { maskSecrets: false });
    assert.ok(clear.includes('Password=hunter2;') && clear.includes('AccessToken=tok;'));
    assert.equal(String(props.password && 'secret' in props.password ? props.password.secret : ''),
      '********');
    assert.ok(!JSON.stringify(props).includes('hunter2'));
  });

  test('references are kept as env:NAME and file:PATH, masked or not', () => {
    const props = parseConnectionString('SmtpServer=h;UserName=u;Password=env:SMTP_PW;' +
      'AccessToken="file:/run/secrets/token"');
    assert.deepEqual(props.password, { kind: 'env', name: 'SMTP_PW' });
    assert.deepEqual(props.accessToken, { kind: 'file', path: '/run/secrets/token' });
    assert.ok(formatConnectionString(props).includes('Password=env:SMTP_PW;'));
    assert.ok(formatConnectionString(props).includes('AccessToken=file:/run/secrets/token;'));
  });

  test('a literal that looks like a reference round-trips with the literal: prefix', () => {
    const props: SmtpConnectionProperties = { smtpServer: 'h', useWindowsAuthentication: false,
      enableSsl: false, userName: 'u', password: literal('env:NOT_A_VARIABLE') };
    const text = formatConnectionString(props, { maskSecrets: false });
    assert.ok(text.includes('Password=literal:env:NOT_A_VARIABLE;'));
    const back = parseConnectionString(text).password;
    assert.equal(back?.kind, 'literal');
    assert.equal(back?.kind === 'literal' && back.secret.reveal(), 'env:NOT_A_VARIABLE');
  });

  test('an error about a secret never shows its value', () => {
    assert.throws(() => parseConnectionString('SmtpServer=h;UserName=u;Password="pa\nss"'),
      (error: Error) => !error.message.includes('pa') && error instanceof ConfigurationError);
  });

  test('a secret typed into a key is cut after the secret key\'s name in every error', () => {
    const cutNote = 'the key is cut after "Password", as what follows may be a secret';
    const unknownKey = (text: string, field: string, note: string): void => {
      assert.throws(() => parseConnectionString(text), (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.equal(error.field, field);
        assert.equal(error.message.slice(0, error.message.indexOf(').') + 2),
          `${field}: is not a key of an SMTP connection string (its value is not shown; ${note}).`);
        assert.ok(!JSON.stringify({ ...error, message: error.message }).includes('CANARY'));
        return true;
      });
    };
    // "==" is a literal "=" in a key: the password and the next pair are part of the key.
    unknownKey('SmtpServer=a;Password==CANARY-PW-123;UserName=u', 'Password…', cutNote);
    unknownKey('SmtpServer=a;Password:CANARY-PW-123;UserName=u', 'Password…', cutNote);
    unknownKey('SmtpServer=a;Password CANARY-PW-123;UserName=u', 'Password…', cutNote);
    unknownKey('SmtpServer=a;pwd CANARY-PW-123;UserName=u', 'pwd…',
      'the key is cut after "pwd", as what follows may be a secret');
    unknownKey('SmtpServer=a;AccessToken:CANARY=x', 'AccessToken…',
      'the key is cut after "AccessToken", as what follows may be a secret');
    unknownKey('SmtpServer=a;MyClientSecret:CANARY=x', 'MyClientSecret…',
      'the key is cut after "Secret", as what follows may be a secret');
    assert.throws(() => parseConnectionString('SmtpServer=a;Password==CANARY-PW-123;UserName=u'),
      (error: ConfigurationError) => error.fix.startsWith('Did you mean Password? "==" in a ' +
        'key stands for a literal "=": write one "=" between a key and its value.'));
    // A key that is only a secret key's name, or holds none, is shown whole.
    assertConfigError(() => parseConnectionString('SmtpServer=a;Pwd=CANARY'), 'Pwd', 'Password');

    const syntax = (text: string, problem: string): void => {
      assert.throws(() => parseConnectionString(text), (error: ConfigurationError) => {
        assert.equal(error.field, 'ConnectionString');
        assert.equal(error.message.split('. Write')[0], `ConnectionString: ${problem}`);
        return true;
      });
    };
    syntax('SmtpServer=a;Password CANARY-PW-123', 'syntax error at character 14: the key ' +
      '"Password…" (cut after "Password": what follows may be a secret) has no "="');
    syntax('SmtpServer=a;Password==CANARY-PW-123', 'syntax error at character 14: the key ' +
      '"Password…" (cut after "Password": what follows may be a secret) is never followed by ' +
      'a single "=" ("==" in a key stands for a literal "=", so it does not end the key)');
    syntax("SmtpServer=a;Password==CANARY';x=1'", 'syntax error at character 14: the value of ' +
      'Password… (cut after "Password": what follows may be a secret) ends with a \' quote ' +
      'but does not start with one');
    // Without any "=", the text is read as a bare host.
    for (const text of ['Password CANARY-PW-123', 'Password:CANARY-PW-123']) {
      assert.throws(() => parseConnectionString(text), (error: ConfigurationError) => {
        assert.equal(error.field, 'SmtpServer');
        assert.equal(error.message, 'SmtpServer: "Password…" (cut after "Password": what ' +
          'follows may be a secret) is neither a host name nor a connection string. Write a ' +
          'host (smtp.example.com) or key=value pairs (SmtpServer=smtp.example.com;' +
          'EnableSsl=True;).');
        return true;
      });
    }
    assert.equal(parseConnectionString('smtp-token.example.com').smtpServer,
      'smtp-token.example.com');
  });

  test('resolveSettings reads env: and file: secrets and names what is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtpcm-secret-'));
    try {
      await writeFile(join(dir, 'pw'), 'from-file\n');
      process.env.SMTPCM_TEST_TOKEN = 'from-env';
      const settings = await resolveSettings(parseConnectionString(
        `SmtpServer=h;EnableSsl=True;UserName=u;Password=file:${join(dir, 'pw')};` +
        'AccessToken=env:SMTPCM_TEST_TOKEN'));
      assert.equal(settings.client.auth?.password?.reveal(), 'from-file');
      assert.equal(settings.client.auth?.password?.source, `file:${join(dir, 'pw')}`);
      const token = settings.client.auth?.accessToken;
      assert.ok(token instanceof Secret && token.reveal() === 'from-env');

      delete process.env.SMTPCM_TEST_TOKEN;
      await assert.rejects(resolveSettings(parseConnectionString(
        'SmtpServer=h;UserName=u;Password=env:SMTPCM_TEST_TOKEN')),
      (error: ConfigurationError) => error.field === 'Password' &&
        error.message.includes('SMTPCM_TEST_TOKEN') && error.message.includes('not set'));
      await assert.rejects(resolveSettings(parseConnectionString(
        `SmtpServer=h;UserName=u;Password=file:${join(dir, 'absent')}`)),
      (error: ConfigurationError) => error.message.includes(join(dir, 'absent')) &&
        error.message.includes('ENOENT'));

      // Empty, as a variable or a file: refused alike, saying "empty" (not "not set").
      process.env.SMTPCM_TEST_TOKEN = '';
      await assert.rejects(resolveSettings(parseConnectionString(
        'SmtpServer=h;UserName=u;Password=env:SMTPCM_TEST_TOKEN')),
      (error: ConfigurationError) => error.field === 'Password' && error.message ===
        'Password: refers to the environment variable SMTPCM_TEST_TOKEN, which is empty. Set ' +
        'SMTPCM_TEST_TOKEN in the environment that runs smtpcm, or change Password.');
      const problems = validateConnection(parseConnectionString(
        'SmtpServer=h;EnableSsl=True;UserName=u;Password=env:SMTPCM_TEST_TOKEN'));
      assert.ok(problems.errors.some((p) => p.message === 'Password refers to the ' +
        'environment variable SMTPCM_TEST_TOKEN, which is empty.'), JSON.stringify(problems));
      delete process.env.SMTPCM_TEST_TOKEN;
      await writeFile(join(dir, 'empty'), '\n');
      await assert.rejects(resolveSettings(parseConnectionString(
        `SmtpServer=h;UserName=u;Password=file:${join(dir, 'empty')}`)),
      (error: ConfigurationError) => error.field === 'Password' && error.message ===
        `Password: refers to the file ${join(dir, 'empty')}, which is empty. Write the ` +
        'password into it as its only line, or change Password.');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('errors name the key, the value and the fix', () => {
  test('an unknown key names the nearest known key', () => {
    assertConfigError(() => parseConnectionString('SmtpServer=h;EnableTls=True'), 'EnableTls',
      'EnableTls', 'EnableSsl or SecureSocketOptions');
    assertConfigError(() => parseConnectionString('SmtpServr=h'), 'SmtpServr', 'SmtpServer');
    assertConfigError(() => parseConnectionString('SmtpServer=h;Usrname=x'), 'Usrname',
      'UserName');
    assertConfigError(() => parseConnectionString('Host=h'), 'Host', 'SmtpServer');
    assert.throws(() => parseConnectionString('SmtpServer=h;Pasword=hunter2'),
      (error: ConfigurationError) => error.message.includes('Did you mean Password?') &&
        !error.message.includes('hunter2'));
    // No unknown key's value is shown, whatever its name: it may be another product's secret.
    assert.throws(() => parseConnectionString('SmtpServer=h;Foo=s3cr3t-value'),
      (error: ConfigurationError) => error.field === 'Foo' &&
        !error.message.includes('s3cr3t-value'));
  });

  test('a Timeout out of range names the accepted range, 1 to 2147483 (0 is refused)', () => {
    assert.throws(() => parseConnectionString('SmtpServer=h;Timeout=99999999999999999999'),
      (error: ConfigurationError) => error.field === 'Timeout' && error.message ===
        'Timeout: "99999999999999999999" is not a whole number from 1 to 2147483. Write the ' +
        'timeout in whole seconds, e.g. Timeout=100, or remove the key for the default (100 s).');
    assert.equal(parseConnectionString('SmtpServer=h;Timeout=2147483').timeout, 2_147_483);
    assert.deepEqual(validateConnection(parseConnectionString('SmtpServer=h;Timeout=0'))
      .errors.map((e) => e.field), ['Timeout']);
    assert.deepEqual(validateConnection(parseConnectionString('SmtpServer=h;Timeout=1'))
      .errors, []);
  });

  test('EnableSSL in another case is simply EnableSsl', () => {
    assert.equal(parseConnectionString('SmtpServer=h;EnableSSL=True').enableSsl, true);
  });

  test('a value of the wrong type', () => {
    assertConfigError(() => parseConnectionString('SmtpServer=h;EnableSsl=maybe'), 'EnableSsl',
      '"maybe"', 'boolean', 'True');
    assertConfigError(() => parseConnectionString('SmtpServer=h;Timeout=10s'), 'Timeout',
      '"10s"', 'whole number');
    assertConfigError(() => parseConnectionString('SmtpServer=h;Timeout=-1'), 'Timeout', '"-1"');
    assertConfigError(() => parseConnectionString('SmtpServer=h;Port=70000'), 'Port',
      '"70000"', '65535');
    assertConfigError(() => parseConnectionString('SmtpServer=h;SecureSocketOptions=Tls'),
      'SecureSocketOptions', '"Tls"', 'StartTls');
    assertConfigError(() => parseConnectionString('SmtpServer=h;MaxConnections=0'),
      'MaxConnections', '"0"');
    assertConfigError(() => parseConnectionString('SmtpServer=h;AuthMechanisms=PLAIN,MAGIC'),
      'AuthMechanisms', '"PLAIN,MAGIC"');
    assertConfigError(() => parseConnectionString('SmtpServer=h;MinTlsVersion=1.0'),
      'MinTlsVersion', '"1.0"');
    assertConfigError(() => parseConnectionString('SmtpServer=h;DeliveryMethod=Carrier'),
      'DeliveryMethod', '"Carrier"', 'PickupDirectory');
  });

  test('a SHA-1 thumbprint is refused with the reason', () => {
    assertConfigError(() => parseConnectionString('SmtpServer=h;CertificateThumbprint=' +
      'a'.repeat(40)), 'CertificateThumbprint', 'SHA-256');
    const pin = parseConnectionString(`SmtpServer=h;CertificateThumbprint=${'ab'.repeat(32)}`);
    assert.equal(pin.certificateThumbprint, Array(32).fill('AB').join(':'));
  });

  test('keys that contradict each other', () => {
    assertConfigError(() => parseConnectionString('SmtpServer=h;EnableSsl=False;' +
      'SecureSocketOptions=StartTls'), 'SecureSocketOptions', 'EnableSsl=False', 'StartTls');
    assertConfigError(() => parseConnectionString('SmtpServer=h;EnableSsl=True;' +
      'SecureSocketOptions=None'), 'SecureSocketOptions', 'EnableSsl=True', 'None');
    assertConfigError(() => parseConnectionString('SmtpServer=h;UseWindowsAuthentication=True;' +
      'AccessToken=x'), 'AccessToken', 'GSSAPI or NTLM');
    assertConfigError(() => parseConnectionString('SmtpServer=h;UseWindowsAuthentication=True;' +
      'AuthMechanisms=NTLM,PLAIN'), 'AuthMechanisms', 'PLAIN');
  });

  test('an empty server', () => {
    assertConfigError(() => parseConnectionString(''), 'SmtpServer', 'empty');
    assertConfigError(() => parseConnectionString('SmtpServer=;EnableSsl=True;'), 'SmtpServer',
      'empty');
    assertConfigError(() => parseConnectionString('EnableSsl=True'), 'SmtpServer', 'empty');
    assert.equal(parseConnectionString('', { allowEmptyServer: true }).smtpServer, '');
    assert.equal(parseConnectionString('DeliveryMethod=PickupDirectory;' +
      'PickupDirectoryLocation=/tmp').smtpServer, '');
  });

  test('syntax errors name the position', () => {
    assertConfigError(() => parseConnectionString('SmtpServer="unclosed'), 'ConnectionString',
      'never closed');
    assertConfigError(() => parseConnectionString('SmtpServer="a"b;'), 'ConnectionString',
      'after the closing');
    assertConfigError(() => parseConnectionString('=x;SmtpServer=h'), 'ConnectionString',
      'without a key');
    assertConfigError(() => parseConnectionString('SmtpServer=h;EnableSsl'), 'ConnectionString',
      'no "="');
    assertConfigError(() => parseConnectionString('smtp host'), 'SmtpServer', 'neither');
  });
});

describe('messages a user reads', () => {
  test('a shortened key is suggested: Pass= means Password', () => {
    assertConfigError(() => parseConnectionString('SmtpServer=h;Pass=x'), 'Pass',
      'Did you mean Password?');
  });

  test('"==a" says that "==" in a key is a literal "="', () => {
    assertConfigError(() => parseConnectionString('==a'), 'ConnectionString',
      '"==" in a key stands for a literal "="');
  });

  test('a quoted value is escaped: CR and LF never reach the message raw', () => {
    assert.throws(() => parseConnectionString('SmtpServer=h;EnableSsl="x\r\nBcc: y"'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.doesNotMatch(error.message, /[\r\n]/);
        assert.ok(error.message.includes('"x\\r\\nBcc: y"'), error.message);
        return true;
      });
  });
});

describe('resolveSettings: what each key means on the wire', () => {
  const resolve = (text: string) => resolveSettings(parseConnectionString(text));

  test('an internationalised SmtpServer is connected to in its xn-- form (RFC 5891)', async () => {
    const { client } = await resolve('SmtpServer=bücher.example');
    assert.equal(client.host, 'xn--bcher-kva.example');
    assert.equal(asciiHost('[::1]'), '::1');
    assert.equal(asciiHost('Mail.Example.com'), 'Mail.Example.com');
  });

  test('EnableSsl=True is required STARTTLS on port 25', async () => {
    const { client } = await resolve('SmtpServer=h;EnableSsl=True');
    assert.equal(client.secure, 'StartTls');
    assert.equal(client.port, 25);
  });

  test('EnableSsl=True with Port=465 is implicit TLS', async () => {
    const { client } = await resolve('SmtpServer=h;EnableSsl=True;Port=465');
    assert.equal(client.secure, 'SslOnConnect');
    assert.equal(client.port, 465);
  });

  test('EnableSsl=False without SecureSocketOptions is no TLS at all', async () => {
    assert.equal((await resolve('SmtpServer=h;EnableSsl=False')).client.secure, 'None');
    assert.equal((await resolve('SmtpServer=h')).client.secure, 'None');
  });

  test('SecureSocketOptions decides when given; SslOnConnect defaults to 465', async () => {
    const implicit = await resolve('SmtpServer=h;SecureSocketOptions=SslOnConnect');
    assert.equal(implicit.client.secure, 'SslOnConnect');
    assert.equal(implicit.client.port, 465);
    const props = parseConnectionString('SmtpServer=h;SecureSocketOptions=SslOnConnect');
    assert.equal(props.enableSsl, true, 'EnableSsl follows a mode that requires TLS');
    const opportunistic = await resolve('SmtpServer=h;EnableSsl=False;' +
      'SecureSocketOptions=StartTlsWhenAvailable');
    assert.equal(opportunistic.client.secure, 'StartTlsWhenAvailable');
  });

  test('Timeout is seconds, applied to every wait; absent is 100 s', async () => {
    const absent = await resolve('SmtpServer=h');
    assert.equal(absent.timeoutMs, 100_000);
    assert.deepEqual(Object.values(absent.client.timeouts ?? {}), Array(6).fill(100_000));
    const set = await resolve('SmtpServer=h;Timeout=30');
    assert.deepEqual(Object.values(set.client.timeouts ?? {}), Array(6).fill(30_000));
    await assert.rejects(resolve('SmtpServer=h;Timeout=0'), ConfigurationError);
  });

  test('anonymous sends no credentials; the other keys map one to one', async () => {
    assert.equal((await resolve('SmtpServer=h')).client.auth, undefined);
    const { client, maxConnections, maxMessagesPerConnection } = await resolve(
      'SmtpServer=[::1];UseWindowsAuthentication=True;EnableSsl=True;UserName=u;Password=p;' +
      'Domain=CORP;TargetName=smtp@mail.corp;AuthMechanisms=gssapi,NTLM;ClientDomain=me.example;' +
      'MinTlsVersion=1.3;CertificateThumbprint=' + '0'.repeat(64) + ';MaxConnections=4;' +
      'MaxMessagesPerConnection=10');
    assert.equal(client.host, '::1');
    assert.equal(client.clientName, 'me.example');
    // EHLO goes before the server can say it takes UTF-8: a U-label name is sent as A-labels.
    const idn = await resolve('SmtpServer=h;ClientDomain=bücher.example');
    assert.equal(idn.client.clientName, 'xn--bcher-kva.example');
    assert.equal(client.tls?.minVersion, 'TLSv1.3');
    assert.equal(client.tls?.certificateThumbprint, Array(32).fill('00').join(':'));
    assert.equal(client.auth?.windowsAuthentication, true);
    assert.equal(client.auth?.username, 'u');
    assert.equal(client.auth?.password?.reveal(), 'p');
    assert.equal(client.auth?.domain, 'CORP');
    assert.equal(client.auth?.targetName, 'smtp@mail.corp');
    assert.deepEqual(client.auth?.mechanisms, ['GSSAPI', 'NTLM']);
    assert.equal(maxConnections, 4);
    assert.equal(maxMessagesPerConnection, 10);
    const defaults = await resolve('SmtpServer=h');
    assert.equal(defaults.maxConnections, 1);
    assert.equal(defaults.maxMessagesPerConnection, 100);
    assert.equal(defaults.deliveryMethod, 'Network');
  });

  test('CaFile is read; a missing one is named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtpcm-ca-'));
    try {
      const { ca } = testCertificates();
      await writeFile(join(dir, 'ca.pem'), ca);
      const { client } = await resolve(`SmtpServer=h;EnableSsl=True;CaFile=${dir}/ca.pem`);
      assert.equal(client.tls?.ca, ca);
      await assert.rejects(resolve(`SmtpServer=h;CaFile=${dir}/none.pem`),
        (error: ConfigurationError) => error.field === 'CaFile' &&
          error.message.includes(`${dir}/none.pem`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a CaFile without a PEM certificate is a CaFile error before any connection', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtpcm-ca-'));
    try {
      await writeFile(join(dir, 'hostname'), 'mail-relay-1\n');
      await assert.rejects(resolve(`SmtpServer=h;EnableSsl=True;CaFile=${dir}/hostname`),
        (error: ConfigurationError) => error.field === 'CaFile' && error.message ===
          `CaFile: ${dir}/hostname holds no PEM certificate (a -----BEGIN CERTIFICATE----- ` +
          'block); if it is DER, convert it with openssl x509 -inform DER -in FILE -out ' +
          'FILE.pem. Give the path of a PEM file holding the CA certificates to trust.');
      // A block cut short, or with a body that is not a certificate.
      const bad = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n' +
        '-----END CERTIFICATE-----\n';
      await writeFile(join(dir, 'bad.pem'), testCertificates().ca + bad);
      await assert.rejects(resolve(`SmtpServer=h;EnableSsl=True;CaFile=${dir}/bad.pem`),
        (error: ConfigurationError) => error.field === 'CaFile' && error.message.startsWith(
          `CaFile: Certificate 2 of 2 in ${dir}/bad.pem is not a valid X.509 certificate.`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('property-based', () => {
  const hostile = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ';', '=', '"', "'", '\t',
    'é', '-', '.', '\\', '/'), minLength: 1, maxLength: 12 })
    .filter((s) => s.trim() !== '');
  const host = fc.domain();
  const secret = fc.oneof(
    hostile.map((value): SecretRef => ({ kind: 'literal', secret: new Secret(value) })),
    fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/).map((name): SecretRef => ({ kind: 'env', name })),
    hostile.map((path): SecretRef => ({ kind: 'file', path })),
  );
  const security = fc.constantFrom('None', 'StartTls', 'StartTlsWhenAvailable', 'SslOnConnect',
    'Auto' as const);

  const props: fc.Arbitrary<SmtpConnectionProperties> = fc.record({
    smtpServer: host,
    useWindowsAuthentication: fc.constant(false),
    enableSsl: fc.boolean(),
    timeout: fc.integer({ min: 1, max: 100_000 }),
    port: fc.integer({ min: 1, max: 65_535 }),
    secureSocketOptions: security,
    userName: hostile,
    password: secret,
    domain: hostile,
    targetName: hostile,
    authMechanisms: fc.uniqueArray(fc.constantFrom('PLAIN', 'LOGIN', 'CRAM-MD5', 'NTLM',
      'SCRAM-SHA-256'), { minLength: 1 }),
    accessToken: secret,
    clientDomain: hostile,
    trustServerCertificate: fc.boolean(),
    caFile: hostile,
    certificateThumbprint: fc.constant(Array(32).fill('AB').join(':')),
    minTlsVersion: fc.constantFrom('TLSv1.2', 'TLSv1.3' as const),
    allowInsecureAuth: fc.boolean(),
    maxConnections: fc.integer({ min: 1, max: 64 }),
    maxMessagesPerConnection: fc.integer({ min: 1, max: 10_000 }),
    deliveryMethod: fc.constantFrom('Network', 'PickupDirectory' as const),
    pickupDirectoryLocation: hostile,
  }, { requiredKeys: ['smtpServer', 'useWindowsAuthentication', 'enableSsl'] })
    // Valid properties only: EnableSsl agrees with a SecureSocketOptions that is set.
    .map((p) => (p.secureSocketOptions === undefined ? p
      : { ...p, enableSsl: p.secureSocketOptions === 'StartTls' ||
          p.secureSocketOptions === 'SslOnConnect' }));

  test('parse(format(props)) gives the same properties', () => {
    fc.assert(fc.property(props, (p) => {
      const text = formatConnectionString(p, { maskSecrets: false });
      assert.deepEqual(comparable(parseConnectionString(text)), comparable(p));
    }), { numRuns: 2000 });
  });

  test('format(parse(x)) is stable', () => {
    fc.assert(fc.property(props, fc.boolean(), (p, shuffle) => {
      let text = formatConnectionString(p, { maskSecrets: false });
      if (shuffle) {
        // The same pairs in reverse order, keys in lower case, requoted by the .NET rules.
        text = splitConnectionString(text).reverse()
          .map((pair) => formatPair(pair.key.toLowerCase(), pair.value ?? '')).join('');
      }
      const once = formatConnectionString(parseConnectionString(text), { maskSecrets: false });
      const twice = formatConnectionString(parseConnectionString(once), { maskSecrets: false });
      assert.equal(twice, once);
    }), { numRuns: 1000 });
  });

  test('parsing arbitrary text either succeeds or throws ConfigurationError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (text) => {
      try {
        parseConnectionString(text);
      } catch (error) {
        assert.ok(error instanceof ConfigurationError, String(error));
      }
    }), { numRuns: 3000 });
  });
});
