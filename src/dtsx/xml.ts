/**
 * A small, namespace-aware XML tree for SSIS files, built on fast-xml-parser.
 *
 * SSIS writes .dtsx, .conmgr, Project.params and .dtsConfig files with prefixes that are
 * conventions only (`DTS:`, `SendMailTask:`, `SSIS:`); this tree resolves every prefix through
 * the `xmlns` declarations in scope, so lookups are by namespace URI and local name and never
 * depend on the prefix or on attribute order.
 *
 * What XML 1.0 requires of a processor, and fast-xml-parser leaves to us, is done here:
 * - a UTF-8 or UTF-16 byte-order mark is dropped; CRLF and lone CR become LF (§2.11);
 * - literal tab, CR and LF in an attribute value become spaces, while character references
 *   such as `&#xA;` keep the character they name (§3.3.3), so SSIS's multi-line
 *   MessageSource attributes keep their line breaks;
 * - the five predefined entities and decimal/hex character references are decoded once,
 *   in text and attribute values; CDATA sections are kept as written.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ConfigurationError } from '../errors.js';

/** The namespace URIs SSIS uses, as written in its files. */
export const DTS_NS = 'www.microsoft.com/SqlServer/Dts';
export const SEND_MAIL_NS = 'www.microsoft.com/sqlserver/dts/tasks/sendmailtask';
export const SSIS_NS = 'www.microsoft.com/SqlServer/SSIS';

export interface XmlAttribute {
  /** The name as written, prefix included. */
  qualifiedName: string;
  /** The namespace URI, or '' for an unprefixed attribute. */
  namespace: string;
  localName: string;
  value: string;
}

export interface XmlElement {
  qualifiedName: string;
  namespace: string;
  localName: string;
  attributes: XmlAttribute[];
  children: XmlElement[];
  /** The element's own text (text nodes and CDATA, in order), decoded; children excluded. */
  text: string;
}

type RawNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: 2000,
});

/**
 * Decodes file bytes: UTF-16 when a byte-order mark says so; otherwise the encoding the XML
 * declaration names (`windows-1252`, as hand-edited .dtsConfig files may have), else UTF-8.
 * A byte-order mark is dropped. An encoding Node does not know is read as UTF-8.
 */
export function decodeXmlBytes(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  }
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  }
  const head = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
  const declared = /^(?:\xef\xbb\xbf)?<\?xml[^>]*\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/
    .exec(head)?.[1];
  if (declared && /^(windows-1252|cp1252)$/i.test(declared)) return decodeWindows1252(bytes);
  if (declared && !/^utf-?(8|16)/i.test(declared)) {
    try {
      return new TextDecoder(declared).decode(bytes);
    } catch {
      // Unknown to Node: fall through to UTF-8.
    }
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// Windows-1252 0x80-0x9F (the rest is Latin-1). Node's TextDecoder, built with small ICU,
// reads the `windows-1252` label as plain Latin-1 and would turn 0x80 into U+0080, not €.
const WINDOWS_1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021' +
  '\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014' +
  '\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function decodeWindows1252(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    text += byte >= 0x80 && byte <= 0x9f
      ? WINDOWS_1252_HIGH[byte - 0x80]
      : String.fromCharCode(byte);
  }
  return text;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the predefined entities and character references; an unknown entity is kept. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return PREDEFINED[ref] ?? whole;
  });
}

/**
 * Parses an XML document into an element tree.
 *
 * @param source names the file in errors.
 * @throws ConfigurationError when the text is not well-formed XML, with the line and column.
 */
export function parseXml(text: string, source: string): XmlElement {
  const normalized = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(
    /\r\n?/g,
    '\n',
  );
  const valid = XMLValidator.validate(normalized);
  if (valid !== true) {
    throw new ConfigurationError(
      source,
      `is not well-formed XML (line ${valid.err.line}, column ${valid.err.col}: ` +
        `${valid.err.msg}).`,
      'Open it in the SSIS designer or an XML editor and save it again.',
    );
  }
  const nodes = parser.parse(normalized) as RawNode[];
  const root = nodes.map((n) => toElement(n, new Map([['xml', XML_NS]]))).find((e) => e);
  if (!root) {
    throw new ConfigurationError(source, 'has no root element.', 'Check that it is an SSIS file.');
  }
  return root;
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

function toElement(node: RawNode, inherited: Map<string, string>): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ':@' && !k.startsWith('#'));
  if (name === undefined) return undefined;
  const rawAttributes = (node[':@'] ?? {}) as Record<string, string>;
  const scope = new Map(inherited);
  for (const [attrName, value] of Object.entries(rawAttributes)) {
    if (attrName === 'xmlns') scope.set('', decodeAttribute(value));
    else if (attrName.startsWith('xmlns:')) scope.set(attrName.slice(6), decodeAttribute(value));
  }
  const attributes: XmlAttribute[] = [];
  for (const [attrName, value] of Object.entries(rawAttributes)) {
    if (attrName === 'xmlns' || attrName.startsWith('xmlns:')) continue;
    const { prefix, local } = splitName(attrName);
    attributes.push({
      qualifiedName: attrName,
      namespace: prefix === '' ? '' : (scope.get(prefix) ?? prefix),
      localName: local,
      value: decodeAttribute(value),
    });
  }
  const { prefix, local } = splitName(name);
  const element: XmlElement = {
    qualifiedName: name,
    namespace: scope.get(prefix) ?? prefix,
    localName: local,
    attributes,
    children: [],
    text: '',
  };
  for (const child of (node[name] ?? []) as RawNode[]) {
    if ('#text' in child) element.text += decodeEntities(String(child['#text']));
    else if ('#cdata' in child) {
      for (const part of child['#cdata'] as RawNode[]) element.text += String(part['#text'] ?? '');
    } else {
      const childElement = toElement(child, scope);
      if (childElement) element.children.push(childElement);
    }
  }
  return element;
}

function decodeAttribute(raw: string): string {
  return decodeEntities(String(raw).replace(/[\t\n\r]/g, ' '));
}

function splitName(name: string): { prefix: string; local: string } {
  const colon = name.indexOf(':');
  return colon < 0
    ? { prefix: '', local: name }
    : { prefix: name.slice(0, colon), local: name.slice(colon + 1) };
}

/** The value of the attribute `namespace`:`localName`, or undefined. */
export function attribute(
  element: XmlElement,
  namespace: string,
  localName: string,
): string | undefined {
  return element.attributes.find(
    (a) => a.localName === localName && sameNamespace(a.namespace, namespace),
  )?.value;
}

/** The child elements with this namespace and local name, in document order. */
export function childElements(
  element: XmlElement,
  namespace: string,
  localName: string,
): XmlElement[] {
  return element.children.filter(
    (c) => c.localName === localName && sameNamespace(c.namespace, namespace),
  );
}

export function firstChild(
  element: XmlElement,
  namespace: string,
  localName: string,
): XmlElement | undefined {
  return childElements(element, namespace, localName)[0];
}

/**
 * SSIS compares its namespace URIs without regard to case in practice (the Send Mail task's
 * is written in lower case, DTS's in mixed case), so this does too.
 */
function sameNamespace(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
