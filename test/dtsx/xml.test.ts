import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.js';
import {
  attribute,
  childElements,
  decodeXmlBytes,
  DTS_NS,
  parseXml,
  SEND_MAIL_NS,
} from '../../src/dtsx/xml.js';

describe('parseXml', () => {
  it('keeps &#xA; in attributes and turns literal line breaks into spaces (XML 1.0 §3.3.3)', () => {
    const root = parseXml('<a v="one&#xA;two\r\nthree\tfour &amp; &lt;&quot;&apos;"/>', 't');
    assert.equal(root.attributes[0]!.value, 'one\ntwo three four & <"\'');
  });

  it('normalizes CRLF in text to LF (§2.11) and decodes references once', () => {
    const root = parseXml('<a>line1\r\nline2\rline3 &amp;lt; &#x41;&#66;</a>', 't');
    assert.equal(root.text, 'line1\nline2\nline3 &lt; AB');
  });

  it('keeps CDATA as written', () => {
    assert.equal(parseXml('<a><![CDATA[<x>&amp;]]></a>', 't').text, '<x>&amp;');
  });

  it('resolves prefixes through xmlns, so prefixes and attribute order do not matter', () => {
    const one = parseXml(
      `<D:E xmlns:D="${DTS_NS}" D:ObjectName="n" D:DTSID="{1}"><D:Executables/></D:E>`, 't');
    const two = parseXml(
      `<X:E X:DTSID="{1}" X:ObjectName="n" xmlns:X="${DTS_NS}"><X:Executables/></X:E>`, 't');
    for (const root of [one, two]) {
      assert.equal(root.namespace, DTS_NS);
      assert.equal(attribute(root, DTS_NS, 'ObjectName'), 'n');
      assert.equal(attribute(root, DTS_NS, 'DTSID'), '{1}');
      assert.equal(childElements(root, DTS_NS, 'Executables').length, 1);
    }
    const data = parseXml(`<S:D xmlns:S="${SEND_MAIL_NS}" S:To="a"/>`, 't');
    assert.equal(attribute(data, SEND_MAIL_NS, 'To'), 'a');
  });

  it('drops a UTF-8 or UTF-16 byte-order mark', () => {
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a>é</a>')]);
    assert.equal(parseXml(decodeXmlBytes(utf8), 't').text, 'é');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<a>é</a>', 'utf16le')]);
    assert.equal(parseXml(decodeXmlBytes(utf16), 't').text, 'é');
  });

  it('honours a declared single-byte encoding (windows-1252)', () => {
    const bytes = Buffer.concat([
      Buffer.from('<?xml version="1.0" encoding="windows-1252"?><a>'),
      Buffer.from([0x80, 0xe9]), // € and é in windows-1252
      Buffer.from('</a>'),
    ]);
    assert.equal(parseXml(decodeXmlBytes(bytes), 't').text, '€é');
  });

  it('rejects malformed XML naming the file and the line', () => {
    assert.throws(() => parseXml('<a>\n<b></a>', 'broken.dtsx'), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.field, 'broken.dtsx');
      assert.match(error.message, /line 2/);
      return true;
    });
  });
});
