/**
 * Properties of the code that reads what a user or a package supplies, with fast-check on
 * thousands of generated cases (a failure prints the seed and the shrunk counter-example):
 * - connection strings: any text parses or throws `ConfigurationError`; what parses formats
 *   back to a string that parses to the same properties; a syntax error never quotes the
 *   password;
 * - the SSIS expression evaluator: any text, and any soup of its tokens, evaluates or throws
 *   `ExpressionError`, never anything else (no TypeError, no stack overflow);
 * - address lines: parsing never throws; every address it returns is a valid addr-spec
 *   without control characters; a CR, LF or NUL anywhere yields no address at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  formatConnectionString,
  parseConnectionString,
  type SmtpConnectionProperties,
} from '../../src/connection/connection-string.js';
import { ConfigurationError } from '../../src/errors.js';
import { checkAddress, parseAddressLine } from '../../src/message/addresses.js';
import {
  ExpressionError,
  evaluateExpression,
  type ExpressionScope,
  type SsisValue,
} from '../../src/package/expressions/index.js';
import { Secret } from '../../src/secret.js';

const RUNS = 3_000;

// --- Connection strings -----------------------------------------------------------------------

const KEYS = ['SmtpServer', 'smtpserver', 'UseWindowsAuthentication', 'EnableSsl', 'Timeout',
  'Port', 'SecureSocketOptions', 'UserName', 'Domain', 'AuthMechanisms', 'ClientDomain',
  'TrustServerCertificate', 'MinTlsVersion', 'AllowInsecureAuth', 'MaxConnections',
  'MaxMessagesPerConnection', 'DeliveryMethod', 'PickupDirectoryLocation', 'Server', 'Host',
  'Unknown Key'];
const VALUES = ['mail.example.com', '127.0.0.1', '[::1]', 'True', 'false', '0', '25', '465',
  '100', '-1', '1e3', 'StartTls', 'SslOnConnect', 'None', 'Auto', 'PLAIN LOGIN', 'XOAUTH2',
  'TLSv1.3', 'Network', 'PickupDirectory', '/tmp/pickup', '"quoted;value"', "'single'",
  '""', '', ' spaced ', 'ü', 'a=b', '"unterminated'];

const pairText = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES))
    .map(([k, v]) => `${k}=${v}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('=', '==', ';', '"', "'", '\0', '\t', 'Password=') },
);
const connectionText = fc.array(pairText, { maxLength: 8 }).map((parts) => parts.join(';'));

/** Properties with secrets revealed, so two parses can be compared. */
function comparable(props: SmtpConnectionProperties): unknown {
  const reveal = (ref: SmtpConnectionProperties['password']): unknown =>
    (ref?.kind === 'literal' ? { literal: ref.secret.reveal() } : ref);
  return { ...props, password: reveal(props.password), accessToken: reveal(props.accessToken) };
}

test('connection strings: any text parses or throws ConfigurationError; formatting round-trips',
  () => {
    fc.assert(fc.property(fc.oneof(connectionText, fc.string({ maxLength: 80 })), (text) => {
      let props: SmtpConnectionProperties;
      try {
        props = parseConnectionString(text, { allowEmptyServer: true });
      } catch (error) {
        assert.ok(error instanceof ConfigurationError, `${String(error)} for ${text}`);
        return;
      }
      const canonical = formatConnectionString(props, { maskSecrets: false });
      const again = parseConnectionString(canonical, { allowEmptyServer: true });
      assert.deepEqual(comparable(again), comparable(props));
      assert.equal(formatConnectionString(again, { maskSecrets: false }), canonical);
    }), { numRuns: RUNS });
  });

const PASSWORD = 'Fz9CanaryPw';

// Without unbalanced quotes around the secret: a quote left open before it would make the
// password part of another value (the user's own text, which we cannot tell from a host name).
const balancedPair = pairText.filter((pair) => !/^"[^"]*$|^'[^']*$|="[^"]*$|='[^']*$/.test(pair));

test('connection strings: no error message and no masked form shows the password', () => {
  fc.assert(fc.property(fc.array(balancedPair, { maxLength: 5 }), fc.nat(), fc.constantFrom(
    `Password=${PASSWORD}`, `password = ${PASSWORD} `, `Password="${PASSWORD}"`,
    `AccessToken=${PASSWORD}`, `Pasword=${PASSWORD}`, `Password=${PASSWORD}"`,
    `Password='${PASSWORD}`), (parts, at, secretPair) => {
    const all = [...parts];
    all.splice(at % (parts.length + 1), 0, secretPair);
    const text = all.join(';');
    try {
      const props = parseConnectionString(text, { allowEmptyServer: true });
      assert.ok(!formatConnectionString(props).includes(PASSWORD), 'the masked form');
      assert.ok(!JSON.stringify(comparable({ ...props, password: undefined,
        accessToken: undefined })).includes(PASSWORD) || /Pasword/.test(secretPair));
    } catch (error) {
      assert.ok(error instanceof ConfigurationError);
      assert.ok(!error.message.includes(PASSWORD), `the error shows it: ${error.message}`);
    }
  }), { numRuns: RUNS });
});

// --- SSIS expressions -------------------------------------------------------------------------

const VARIABLES: Record<string, SsisValue> = {
  'User::Name': { type: 'DT_WSTR', value: 'Ops' },
  'User::Count': { type: 'DT_I4', value: 42 },
  'User::Big': { type: 'DT_I8', value: 9007199254740993n },
  'User::When': { type: 'DT_DBTIMESTAMP', value: new Date(2024, 0, 31, 12, 0, 0) },
  'User::Flag': { type: 'DT_BOOL', value: true },
  'User::Nothing': { type: 'DT_WSTR', value: null },
  'System::PackageName': { type: 'DT_WSTR', value: 'Nightly' },
};
const scope: ExpressionScope = {
  resolve: (name) => VARIABLES[name] ?? VARIABLES[`User::${name}`],
  now: () => new Date(2024, 1, 29, 23, 59, 59),
};

const TOKENS = ['1', '0', '-1', '2147483647', '2147483648', '9223372036854775808', '1.5', '1e308',
  '3L', '"a"', '"\\n"', '""', '"x"', '@[User::Name]', '@[User::Count]', '@[User::Big]',
  '@[User::When]', '@[User::Flag]', '@[User::Nothing]', '@Count', '@[System::PackageName]',
  '@[User::Missing]', '+', '-', '*', '/', '%', '==', '!=', '<', '>', '<=', '>=', '&&', '||', '!',
  '~', '&', '|', '^', '?', ':', '(', ')', ',', 'TRUE', 'FALSE', 'NULL(DT_I4)',
  'NULL(DT_WSTR)', '(DT_WSTR,10)', '(DT_STR,5,1252)', '(DT_I4)', '(DT_I8)', '(DT_UI1)',
  '(DT_DECIMAL,2)', '(DT_NUMERIC,10,2)', '(DT_BOOL)', '(DT_DBTIMESTAMP)', '(DT_DATE)',
  '(DT_R8)', 'UPPER(', 'LOWER(', 'LEN(', 'SUBSTRING(', 'REPLACE(', 'RIGHT(', 'LEFT(',
  'FINDSTRING(', 'TRIM(', 'REPLICATE(', 'REVERSE(', 'ISNULL(', 'REPLACENULL(', 'DATEADD(',
  'DATEDIFF(', 'DATEPART(', 'YEAR(', 'MONTH(', 'DAY(', 'GETDATE()', 'GETUTCDATE()', 'ABS(',
  'CEILING(', 'FLOOR(', 'ROUND(', 'POWER(', 'SQRT(', 'LN(', 'LOG(', 'EXP(', 'SIGN(',
  'HEX(', 'TOKEN(', 'TOKENCOUNT(', 'CODEPOINT(', '"dd"', '"mm"', '"yyyy"', '"Hh"', 'BOGUS('];

test('expressions: any text evaluates or throws ExpressionError, never anything else', () => {
  const soup = fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 14 })
    .map((tokens) => tokens.join(' '));
  fc.assert(fc.property(fc.oneof(soup, fc.string({ maxLength: 40 })), (text) => {
    try {
      const value = evaluateExpression(text, scope);
      assert.equal(typeof value.type, 'string');
    } catch (error) {
      assert.ok(error instanceof ExpressionError,
        `${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} for ` +
        JSON.stringify(text));
    }
  }), { numRuns: 6_000 });
});

test('expressions: deep nesting is refused with ExpressionError, not a stack overflow', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5_000 }), fc.constantFrom('(', 'UPPER(',
    '-', '!', '(DT_WSTR,5)'), (depth, open) => {
    const close = open.endsWith('(') ? ')' : '';
    const text = `${open.repeat(depth)}"x"${close.repeat(depth)}`;
    try {
      evaluateExpression(text, scope);
    } catch (error) {
      assert.ok(error instanceof ExpressionError, String(error));
    }
  }), { numRuns: 100 });
});

// --- Address lines ----------------------------------------------------------------------------

const ADDRESS_PARTS = ['a', 'bob', 'o.k', '.', '..', '@', '@@', 'example.com', 'ex-ample.org',
  '[192.0.2.1]', '[IPv6:2001:db8::1]', '<', '>', '"', '"Doe, J"', ',', ';', ' ', '\t', '(', ')',
  ':', 'group:', '\\', 'ü', 'müller', 'bücher.de', 'xn--bcher-kva.de', '\r\n', '\n', '\0',
  '\x7f', 'a'.repeat(70), `${'b'.repeat(63)}.`, '=?utf-8?q?x?='];

test('address lines: never throw; every address valid and free of control characters', () => {
  const line = fc.oneof(
    fc.array(fc.constantFrom(...ADDRESS_PARTS), { maxLength: 16 }).map((p) => p.join('')),
    fc.string({ maxLength: 60 }),
  );
  fc.assert(fc.property(line, (text) => {
    const parsed = parseAddressLine('ToLine', text);
    if (/[\r\n\0]/.test(text) && text.trim() !== '') {
      assert.deepEqual(parsed.addresses, [], 'a line break or NUL gives no address');
      assert.equal(parsed.problems.length, 1);
    }
    for (const address of parsed.addresses) {
      assert.ok(!/[\x00-\x1f\x7f]/.test(address.address + address.envelopeAddress));
      const checked = checkAddress(address.address);
      assert.ok(checked.ok);
      assert.equal(checked.envelopeAddress, address.envelopeAddress);
      assert.ok(Buffer.byteLength(address.envelopeAddress) <= 254);
      if (!address.smtpUtf8) assert.ok(!/[^\x00-\x7f]/.test(address.envelopeAddress));
    }
    for (const problem of parsed.problems) assert.equal(problem.field, 'ToLine');
  }), { numRuns: RUNS });
});

test('checkAddress: never throws on any string', () => {
  fc.assert(fc.property(fc.string({ maxLength: 80, unit: 'binary' }), (text) => {
    const checked = checkAddress(text);
    if (checked.ok) assert.ok(!/[\x00-\x1f\x7f]/.test(checked.envelopeAddress));
  }), { numRuns: RUNS });
});

test('a Secret never shows itself in JSON, String or a template', () => {
  fc.assert(fc.property(fc.string({ minLength: 1 }), (value) => {
    const secret = new Secret(value);
    assert.equal(String(secret), '********');
    assert.equal(`${secret}`, '********');
    assert.equal(JSON.stringify({ secret }), '{"secret":"********"}');
  }), { numRuns: 500 });
});
