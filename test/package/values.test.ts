import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataTypeName } from '../../src/dtsx/model.js';
import { maskConnectionString } from '../../src/package/mask.js';
import { setConnectionStringKey } from '../../src/package/package.js';
import { parseSsisDate, valueFromText } from '../../src/package/values.js';

describe('values as SSIS stores them', () => {
  it('reads the date forms found in the corpus', () => {
    // dataalias: <DTS:VariableValue DTS:DataType="7">8/7/2020 8:35:39 PM</DTS:VariableValue>
    assert.deepEqual(parseSsisDate('8/7/2020 8:35:39 PM'), new Date(2020, 7, 7, 20, 35, 39));
    assert.deepEqual(parseSsisDate('1/1/1900'), new Date(1900, 0, 1));
    // A time alone sits on the OLE zero date, 12/30/1899; 12 AM is midnight.
    assert.deepEqual(parseSsisDate('12:00:00 AM'), new Date(1899, 11, 30, 0, 0, 0));
    assert.deepEqual(parseSsisDate('2013-11-29 12:02:47'), new Date(2013, 10, 29, 12, 2, 47));
    assert.equal(parseSsisDate('tomorrow'), undefined);
  });

  it('types stored text: booleans as -1/0/True/False, integers, strings untouched', () => {
    assert.deepEqual(valueFromText('-1', 'DT_BOOL', 'x'), { type: 'DT_BOOL', value: true });
    assert.deepEqual(valueFromText('False', 'DT_BOOL', 'x'), { type: 'DT_BOOL', value: false });
    assert.deepEqual(valueFromText('500258', 'DT_I4', 'x'), { type: 'DT_I4', value: 500258 });
    assert.deepEqual(valueFromText('9007199254740993', 'DT_I8', 'x'),
      { type: 'DT_I8', value: 9007199254740993n });
    assert.deepEqual(valueFromText(' a ', 'DT_WSTR', 'x'), { type: 'DT_WSTR', value: ' a ' });
    assert.deepEqual(valueFromText('', 'DT_OBJECT', 'x'), { type: 'DT_NULL', value: null });
    assert.throws(() => valueFromText('12x', 'DT_I4', 'User::Count'), { message:
      'User::Count: "12x" is not an integer (DT_I4) from -2147483648 to 2147483647. Give a ' +
      'value of the variable\'s type (DT_I4).' });
  });

  it('refuses an integer outside its type\'s range, read without rounding', () => {
    const refused = (text: string, type: DataTypeName, range: string): void =>
      assert.throws(() => valueFromText(text, type, '$Package::pkg_IssueId'), { message:
        `$Package::pkg_IssueId: "${text}" is not an integer (${type}) from ${range}. Give a ` +
        `value of the variable's type (${type}).` });
    const i4 = '-2147483648 to 2147483647';
    for (const text of ['4294967296', '2147483648', '-2147483649', '12345678901234567890',
      '0x10', '1e3']) {
      refused(text, 'DT_I4', i4);
    }
    assert.deepEqual(valueFromText('2147483647', 'DT_I4', 'x'), { type: 'DT_I4',
      value: 2147483647 });
    assert.deepEqual(valueFromText('-2147483648', 'DT_I4', 'x'), { type: 'DT_I4',
      value: -2147483648 });
    refused('128', 'DT_I1', '-128 to 127');
    refused('-32769', 'DT_I2', '-32768 to 32767');
    refused('256', 'DT_UI1', '0 to 255');
    refused('-1', 'DT_UI2', '0 to 65535');
    refused('4294967296', 'DT_UI4', '0 to 4294967295');
    refused('9223372036854775808', 'DT_I8', '-9223372036854775808 to 9223372036854775807');
    refused('18446744073709551616', 'DT_UI8', '0 to 18446744073709551615');
    assert.deepEqual(valueFromText('18446744073709551615', 'DT_UI8', 'x'), { type: 'DT_UI8',
      value: 18446744073709551615n });
    assert.deepEqual(valueFromText('+255', 'DT_UI1', 'x'), { type: 'DT_UI1', value: 255 });
  });
});

describe('connection strings in packages', () => {
  it('sets one key, keeping the others as written (an SmtpServer expression)', () => {
    assert.equal(setConnectionStringKey(
      'SmtpServer=smtp5.example.com;UseWindowsAuthentication=False;EnableSsl=False;',
      'SmtpServer', 'relay.test'),
    'SmtpServer=relay.test;UseWindowsAuthentication=False;EnableSsl=False;');
    assert.equal(setConnectionStringKey('smtphost', 'EnableSsl', 'True'),
      'SmtpServer=smtphost;EnableSsl=True;');
    assert.equal(setConnectionStringKey('SmtpServer=a;Password="x;y";', 'Timeout', '30'),
      'SmtpServer=a;Password="x;y";Timeout=30;');
  });

  it('masks literal secrets, quoted or not, and keeps references', () => {
    assert.equal(maskConnectionString('SmtpServer=a;UserName=u;Password="p;w";Port=587;'),
      'SmtpServer=a;UserName=u;Password=********;Port=587;');
    assert.equal(maskConnectionString('SmtpServer=a;password = s3cret'),
      'SmtpServer=a;password =********');
    assert.equal(maskConnectionString('SmtpServer=a;Password=env:SMTP_PASSWORD;'),
      'SmtpServer=a;Password=env:SMTP_PASSWORD;');
    assert.equal(maskConnectionString('SmtpServer=a;AccessToken=ya29.x;'),
      'SmtpServer=a;AccessToken=********;');
  });

  it('masks the value of every key not known to be non-secret (misspelt secret keys)', () => {
    const misspelt = ['Pasword', 'AccesToken', 'Secret', 'Pass', 'SmtpPassword', 'Pwd'];
    for (const key of misspelt) {
      assert.equal(maskConnectionString(`SmtpServer=127.0.0.1;${key}=hunter2`),
        `SmtpServer=127.0.0.1;${key}=********`, key);
    }
    // A key is shown only up to a secret key's name in it: what follows may be the secret.
    const cut = [['Passwort', 'Pass…'], ['Passwrd', 'Pass…'], ['Password2', 'Password…'],
      ['Passw0rd', 'Pass…']];
    for (const [key, shown] of cut) {
      assert.equal(maskConnectionString(`SmtpServer=127.0.0.1;${key}=hunter2`),
        `SmtpServer=127.0.0.1;${shown}=********`, key);
    }
    // An unknown key's value is a literal, even when it looks like a reference.
    assert.equal(maskConnectionString('Pasword=env:X;Port=25;UserName=u;EnableSsl=True;'),
      'Pasword=********;Port=25;UserName=u;EnableSsl=True;');
    // Text that forms no pair could be a pasted password.
    assert.equal(maskConnectionString('SmtpServer=a;hunter2'), 'SmtpServer=a;********');
    assert.equal(maskConnectionString('SmtpServer=a;;'), 'SmtpServer=a;;');
  });

  it('never shows a password typed into a key instead of after "="', () => {
    const shown = (text: string): string => maskConnectionString(`SmtpServer=127.0.0.1;${text}`);
    // .NET reads "Password:CANARY;UserName" as one key: the text before its ";" is masked.
    assert.equal(shown('Password:CANARY-PW-789;UserName=u'),
      'SmtpServer=127.0.0.1;********;UserName=********');
    assert.equal(shown('Password CANARY-PW-789;UserName=u'),
      'SmtpServer=127.0.0.1;********;UserName=********');
    assert.equal(shown('AccessToken:CANARY=x'), 'SmtpServer=127.0.0.1;AccessToken…=********');
    assert.equal(shown('Password==CANARY-PW-789;UserName=u'),
      'SmtpServer=127.0.0.1;Password=********;UserName=u');
    assert.equal(shown('Password CANARY-PW-789'), 'SmtpServer=127.0.0.1;********');
    assert.equal(shown(' ; ;UserName=u'), 'SmtpServer=127.0.0.1; ; ;UserName=u');
  });
});
