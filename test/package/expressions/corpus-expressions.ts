/**
 * Extracts every expression from the SSIS corpus (../shared/corpus/ssis): property
 * expressions (`<DTS:PropertyExpression DTS:Name="…">`, all formats, .dtsx and .conmgr),
 * 2005/2008 expression
 * properties (`<DTS:Property DTS:Name="Expression">`, on variables and precedence
 * constraints) and 2012+ expression attributes (`DTS:Expression="…"`).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { corpusDir, corpusPaths } from '../../support/corpus.js';

/** The corpus folder (test/support/corpus.ts finds it); `corpusPaths` lists none if absent. */
export const CORPUS_DIR = corpusDir;

export interface CorpusExpression {
  /** `folder/file.dtsx`. */
  file: string;
  /** 1-based line of the element or attribute. */
  line: number;
  /** The property the expression sets (`Subject`), or `Expression` for the other forms. */
  property: string;
  /** The expression text, XML entities decoded. */
  text: string;
}

const PROPERTY_EXPRESSION =
  /<DTS:PropertyExpression\s+DTS:Name="([^"]*)"\s*>([^<]*)<\/DTS:PropertyExpression>/g;
const EXPRESSION_PROPERTY =
  /<DTS:Property\s+DTS:Name="Expression"\s*>([^<]*)<\/DTS:Property>/g;
const EXPRESSION_ATTRIBUTE = /\sDTS:Expression="([^"]*)"/g;

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

/** XML 1.0 §3.3.3: literal white space in an attribute value becomes a space. */
function decodeAttribute(raw: string): string {
  return decodeEntities(raw.replace(/[\t\n]/g, ' '));
}

/** Every .dtsx and .conmgr file of the corpus; none when it is absent. */
function packageFiles(): string[] {
  return corpusPaths('.dtsx', '.conmgr');
}

/** Every expression, empty ones (variables without an expression) included. */
export function corpusExpressions(): CorpusExpression[] {
  const found: CorpusExpression[] = [];
  for (const path of packageFiles()) {
    const xml = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
    const file = relative(CORPUS_DIR, path);
    const lineOf = (index: number): number => xml.slice(0, index).split('\n').length;
    for (const m of xml.matchAll(PROPERTY_EXPRESSION)) {
      found.push({ file, line: lineOf(m.index), property: m[1], text: decodeEntities(m[2]) });
    }
    for (const m of xml.matchAll(EXPRESSION_PROPERTY)) {
      const text = decodeEntities(m[1]);
      found.push({ file, line: lineOf(m.index), property: 'Expression', text });
    }
    for (const m of xml.matchAll(EXPRESSION_ATTRIBUTE)) {
      const text = decodeAttribute(m[1]);
      found.push({ file, line: lineOf(m.index), property: 'Expression', text });
    }
  }
  return found;
}

/** How many expression elements and attributes the files hold, counted by opening tag. */
export function corpusExpressionCount(): number {
  const marker = /<DTS:PropertyExpression[\s>]|DTS:Name="Expression"|\sDTS:Expression="/g;
  return packageFiles()
    .map((path) => readFileSync(path, 'utf8').match(marker)?.length ?? 0)
    .reduce((a, b) => a + b, 0);
}
