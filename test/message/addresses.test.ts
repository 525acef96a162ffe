import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAddress, parseAddressLine } from '../../src/message/addresses.js';

describe('parseAddressLine', () => {
  it('splits on ";" and "," but not inside quoted display names', () => {
    const { addresses, problems } = parseAddressLine(
      'ToLine',
      '"Müller; Jürgen" <j@example.com>; b@example.com, "Ops, Night" <ops@example.com>',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(
      addresses.map((a) => [a.name, a.address]),
      [
        ['Müller; Jürgen', 'j@example.com'],
        ['', 'b@example.com'],
        ['Ops, Night', 'ops@example.com'],
      ],
    );
  });

  it('gives nothing and no problem for an empty or missing line', () => {
    assert.deepEqual(parseAddressLine('CCLine', undefined), { addresses: [], problems: [] });
    assert.deepEqual(parseAddressLine('CCLine', '  '), { addresses: [], problems: [] });
  });

  it('reports each invalid address, naming the field', () => {
    const { addresses, problems } = parseAddressLine(
      'ToLine',
      'ok@example.com; a..b@example.com; c@exa_mple.com; plainname',
    );
    assert.deepEqual(addresses.map((a) => a.address), ['ok@example.com']);
    assert.equal(problems.length, 3);
    assert.ok(problems.every((p) => p.field === 'ToLine'));
    assert.match(problems[0]!.message, /a\.\.b@example\.com/);
    assert.match(problems[2]!.message, /plainname/);
  });

  it('refuses a stray "<" or ">" (or text) outside a quoted name and its <address>', () => {
    assert.deepEqual(parseAddressLine('ToLine', 'b@example.com> NOTIFY=SUCCESS'), {
      addresses: [],
      problems: [{
        field: 'ToLine',
        message: '"b@example.com> NOTIFY=SUCCESS" has a "<" or ">", or text, outside a quoted ' +
          'display name and its <address>.',
        fix: 'Write the address as name@domain or "Name" <name@domain>; put a display name ' +
          'that holds < or > in double quotes.',
      }],
    });
    for (const bad of ['<b@example.com', 'Name <a@example.com>>', 'x <a@example.com> y',
      'a@example.com; <<c@example.com>']) {
      assert.equal(parseAddressLine('ToLine', bad).problems.length, 1, bad);
    }
    const good = parseAddressLine('ToLine',
      '"x<y>" <c@example.com>, Name <e@example.com> (work); "a>b"@example.com');
    assert.deepEqual(good.problems, []);
    assert.deepEqual(good.addresses.map((a) => [a.name, a.address]),
      [['x<y>', 'c@example.com'], ['Name', 'e@example.com'], ['', '"a>b"@example.com']]);
  });

  it('refuses CR and LF in the line (header injection)', () => {
    const { addresses, problems } = parseAddressLine('CCLine', 'a@example.com\r\nBcc: x@evil.test');
    assert.deepEqual(addresses, []);
    assert.equal(problems[0]!.field, 'CCLine');
    assert.match(problems[0]!.message, /line break/);
  });

  it('converts a UTF-8 domain to its A-label for the envelope (IDNA, no SMTPUTF8)', () => {
    const [a] = parseAddressLine('ToLine', 'info@bücher.de').addresses;
    assert.equal(a!.envelopeAddress, 'info@xn--bcher-kva.de');
    assert.equal(a!.smtpUtf8, false);
  });

  it('accepts a UTF-8 local part and marks it as needing SMTPUTF8 (RFC 6531)', () => {
    const [a] = parseAddressLine('ToLine', 'jörg@example.com').addresses;
    assert.equal(a!.envelopeAddress, 'jörg@example.com');
    assert.equal(a!.smtpUtf8, true);
  });
});

describe('checkAddress (RFC 5322 addr-spec, RFC 5321 limits)', () => {
  it('accepts dot-atoms, quoted local parts and address literals', () => {
    for (const good of [
      "o'brien+tag@example.com",
      '"john doe"@example.com',
      'user@[192.0.2.1]',
      'user@[IPv6:2001:db8::1]',
      'x@localhost',
    ]) {
      assert.equal(checkAddress(good).ok, true, good);
    }
  });

  it('refuses what RFC 5322 forbids', () => {
    for (const bad of ['.a@example.com', 'a.@example.com', 'a@', '@example.com',
      'a@example..com', 'a@-example.com', 'a b@example.com', 'a@exam ple.com']) {
      assert.equal(checkAddress(bad).ok, false, bad);
    }
  });

  it('refuses a local part over 64 octets (RFC 5321 §4.5.3.1.1)', () => {
    assert.equal(checkAddress(`${'a'.repeat(64)}@example.com`).ok, true);
    assert.equal(checkAddress(`${'a'.repeat(65)}@example.com`).ok, false);
  });
});
