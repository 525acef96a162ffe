/** How errors read, in process: the fix that fits the cause, one line, Unicode host names. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  argumentErrorJson,
  argumentErrorText,
  describeError,
  errorJson,
  explainArgumentError,
  explainError,
} from '../../src/cli/output.js';
import { formatTestReport } from '../../src/cli/report.js';
import {
  SmtpConnectionManager,
  type TestConnectionReport,
} from '../../src/connection/connection-manager.js';
import {
  ConfigurationError,
  SmtpAuthenticationError,
  SmtpCommandError,
  SmtpConnectionError,
  SmtpTimeoutError,
  SmtpTlsError,
} from '../../src/errors.js';

describe('describeError', () => {
  test('no doubled full stop when a message already ends a sentence (Kerberos)', () => {
    const error = new SmtpAuthenticationError(
      'GSSAPI is unavailable: No Kerberos credentials available (default cache: FILE:/x)..',
      'unavailable',
    );
    const text = describeError(error);
    assert.doesNotMatch(text, /[^.]\.\.(?!\.)/);
    assert.ok(text.endsWith('(default cache: FILE:/x).'), text);
    assert.ok(describeError(new Error('wait...')).endsWith('wait...'));
    const path = new ConfigurationError('FileAttachments', '"../q1.pdf": the file does not exist.',
      'Attach files that exist.');
    assert.match(describeError(path), /"\.\.\/q1\.pdf"/);
  });

  test('an xn-- host name in a message is shown in Unicode', () => {
    const error = new SmtpConnectionError(
      'Could not connect to xn--bcher-kva.example:25: ECONNREFUSED.', 'connect');
    assert.match(describeError(error), /bücher\.example:25/);
  });

  test('530 naming STARTTLS: set EnableSsl=True, not the credentials', () => {
    const reply = { code: 530, enhancedCode: { class: 5, subject: 7, detail: 0 } as const,
      lines: ['Must issue a STARTTLS command first'] };
    const command = new SmtpCommandError('MAIL FROM:<a@b.example>', reply);
    assert.match(describeError(command), /set EnableSsl=True \(or SecureSocketOptions=StartTls\)/);
    const auth = new SmtpAuthenticationError('Authentication failed.', 'refused', { reply });
    assert.match(describeError(auth), /set EnableSsl=True/);
    assert.doesNotMatch(describeError(auth), /UserName/);
  });

  test('credentials refused over plain text: the message says what to do, once', () => {
    const error = new SmtpAuthenticationError('Refusing to send credentials to h over an ' +
      'unencrypted connection. Use TLS (EnableSsl=True or SecureSocketOptions), or set ' +
      'AllowInsecureAuth=True to accept the risk.', 'insecure');
    const text = describeError(error);
    assert.doesNotMatch(text, /UserName and Password/);
    assert.match(text, /AllowInsecureAuth=True to accept the risk\.$/);
  });

  test('a refused OAuth2 token: check AccessToken and UserName, not a password', () => {
    const fix = 'Check AccessToken (it may have expired, or lack the scope for SMTP) and ' +
      'UserName in the connection string.';
    const reply = { code: 535, lines: ['5.7.8 token rejected'] };
    const byMechanism = new SmtpAuthenticationError('h refused it with XOAUTH2: 535.',
      'credentials', { mechanism: 'XOAUTH2', reply });
    assert.equal(explainError(byMechanism).fix, fix);
    const byMessage = new SmtpAuthenticationError('h refused the OAuth2 access token with ' +
      'OAUTHBEARER: 535 5.7.8 token rejected.', 'credentials', { reply });
    assert.equal(explainError(byMessage).fix, fix);
    const password = new SmtpAuthenticationError('h refused the password for u with PLAIN: ' +
      '535 5.7.8 bad.', 'credentials', { mechanism: 'PLAIN', reply });
    assert.equal(explainError(password).fix,
      'Check UserName and Password (or AuthMechanisms) in the connection string.');
  });

  test('EnableSsl=True and no STARTTLS: the implicit-TLS port, not CaFile', () => {
    const error = new SmtpTlsError('127.0.0.1:2525 does not offer STARTTLS, which ' +
      'EnableSsl=True (SecureSocketOptions=StartTls) requires.');
    assert.deepEqual([explainError(error).message, explainError(error).fix], [
      '127.0.0.1:2525 does not offer STARTTLS, which EnableSsl=True ' +
        '(SecureSocketOptions=StartTls) requires.',
      'As the server does not offer STARTTLS, use its port with implicit TLS (Port=465 with ' +
        'SecureSocketOptions=SslOnConnect) or, only on a trusted network, EnableSsl=False.',
    ]);
  });

  test('a greeting timeout adds the implicit-TLS hint; other stages do not', () => {
    assert.match(describeError(new SmtpTimeoutError('greeting', 1000)), /SslOnConnect/);
    assert.doesNotMatch(describeError(new SmtpTimeoutError('data', 1000)), /SslOnConnect/);
  });

  test('send names its options: CCLine is --cc, MessageSource is --body-file', () => {
    const error = new ConfigurationError('ToLine', 'has no recipient (nor have CCLine and ' +
      'BCCLine).', 'Give at least one recipient.');
    assert.equal(describeError(error, true),
      '--to: has no recipient (nor have --cc and --bcc). Give at least one recipient.');
    assert.match(describeError(error), /^ToLine: .*CCLine/);
    const body = new ConfigurationError('MessageSource', 'names "x", but it is missing.',
      'Name a File connection manager, or give the path of a readable text file.');
    assert.doesNotMatch(describeError(body, true), /connection manager/);
  });
});

describe('errorJson', () => {
  test('{ ok: false, error } with the code, name, fix, field and no undefined keys', () => {
    const json = errorJson(new ConfigurationError('Port', '"x" is not a port.', 'Write Port=587.'));
    assert.deepEqual(json, {
      ok: false,
      error: {
        code: 'ECONFIG',
        name: 'ConfigurationError',
        message: 'Port: "x" is not a port.',
        fix: 'Write Port=587.',
        field: 'Port',
      },
    });
  });

  test('a message with a line break is one line', () => {
    const { message } = explainError(new Error('first\nsecond\r\nthird'));
    assert.equal(message, 'first\\nsecond\\r\\nthird');
  });
});

describe('argument errors commander reports', () => {
  test('one line with the help of the command, and UsageError, not CommanderError', () => {
    const unknown = explainArgumentError("error: unknown option '--bogus'\n", 'send');
    assert.equal(argumentErrorText(unknown),
      "smtpcm: unknown option '--bogus'. See smtpcm send --help.\n");
    assert.deepEqual(argumentErrorJson(unknown), { ok: false, error: { code: 'EUSAGE',
      name: 'UsageError', message: "unknown option '--bogus'",
      fix: 'See smtpcm send --help.' } });
    const suggested = explainArgumentError("error: unknown option '--bdy'\n" +
      '(Did you mean --body?)\n', 'connection-string parse');
    assert.equal(argumentErrorText(suggested), "smtpcm: unknown option '--bdy' (Did you mean " +
      '--body?) See smtpcm connection-string parse --help.\n');
    assert.equal(explainArgumentError("error: unknown command 'x'", '').fix,
      'See smtpcm --help.');
  });
});

describe('formatTestReport', () => {
  test('the failure line has no doubled full stop and stays one line', () => {
    const report: TestConnectionReport = {
      success: false,
      connection: { name: 'command line', connectionString: 'SmtpServer=h;' },
      deliveryMethod: 'Network',
      steps: [],
      extensions: [],
      transcript: [],
      totalMs: 1,
      failedStep: 'auth',
      error: {
        name: 'SmtpAuthenticationError',
        message: 'Tried: GSSAPI: check that the service principal exists for this host name..',
      },
    };
    const last = formatTestReport(report).trim().split('\n').pop()!;
    assert.equal(last, 'Failed at auth: Tried: GSSAPI: check that the service principal exists ' +
      'for this host name.');
  });

  test('"Logged in with" says whether the login failed, was not reached, or was not asked for',
    () => {
      const base: TestConnectionReport = {
        success: true,
        connection: { name: 'command line', connectionString: 'SmtpServer=h;' },
        deliveryMethod: 'Network',
        steps: [],
        extensions: [],
        transcript: [],
        totalMs: 1,
      };
      const loginLine = (report: TestConnectionReport): string | undefined =>
        formatTestReport(report).split('\n').find((line) => line.startsWith('Logged in with:'));
      assert.equal(loginLine(base), 'Logged in with: no authentication');
      assert.equal(loginLine({ ...base, mechanism: 'PLAIN' }), 'Logged in with: PLAIN');
      const failed = { ...base, success: false, error: { name: 'E', message: 'x' } };
      assert.equal(loginLine({ ...failed, failedStep: 'auth' }),
        'Logged in with: none (the login failed)');
      assert.equal(loginLine({ ...failed, failedStep: 'connect' }),
        'Logged in with: none (not reached)');
    });

  test('an IPv6 server is named in brackets before its port', () => {
    const report: TestConnectionReport = {
      success: true,
      connection: { name: 'command line', connectionString: 'SmtpServer=[::1];Port=35313;' },
      deliveryMethod: 'Network',
      server: { host: '::1', port: 35313, secure: 'None' },
      steps: [],
      extensions: [],
      transcript: [],
      totalMs: 1,
    };
    assert.equal(formatTestReport(report).split('\n')[1], 'Server: [::1]:35313, None');
  });

  test('a CaFile that does not exist: the fix once, and the login not reached', async () => {
    const manager = new SmtpConnectionManager({
      connectionString: 'SmtpServer=127.0.0.1;Port=2525;EnableSsl=True;CaFile=/nonexistent.pem',
    });
    const lines = formatTestReport(await manager.testConnection()).trim().split('\n');
    assert.deepEqual(lines.slice(-2), [
      'Logged in with: none (not reached)',
      'Failed at configuration: CaFile: The file /nonexistent.pem does not exist. Give the ' +
        'path of a PEM file holding the CA certificates to trust.',
    ]);
  });
});
