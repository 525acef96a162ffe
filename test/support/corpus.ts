/**
 * The SSIS corpus (real .dtsx, .conmgr, .params and .dtsConfig files), seen from a test: where
 * it is, and why corpus tests are skipped when it is not there.
 *
 * The corpus is not part of the repository. It is looked for in `$SMTPCM_CORPUS` first, then
 * in `<repo>/../shared/corpus/ssis` (where CI has it). It is found once, when this module is
 * first imported, and the outcome exported as `corpusSkipReason`, so corpus tests read:
 *
 * ```ts
 * describe('every package of the corpus', { skip: corpusSkipReason }, () => { ... });
 * ```
 *
 * When it is absent, one line saying so (and how to provide it) goes to stderr, once per test
 * run however many test files import this module; the helpers below then list no file.
 * With `CI=true` or `CORPUS_REQUIRED=1` a missing corpus is an error at import, never a skip.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const CORPUS_ENV = 'SMTPCM_CORPUS';

/** `$SMTPCM_CORPUS` when set, else `<repo>/../shared/corpus/ssis`; it may not exist. */
export const corpusDir = process.env[CORPUS_ENV]
  ? resolve(process.env[CORPUS_ENV])
  : resolve(repoRoot, '..', 'shared', 'corpus', 'ssis');

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const missing = isDirectory(corpusDir) ? undefined
  : `no SSIS corpus at ${corpusDir}` +
    (process.env[CORPUS_ENV] ? ` (from ${CORPUS_ENV})` : '');

/** Why corpus tests are skipped, or undefined when the corpus is there. */
export const corpusSkipReason: string | undefined = missing === undefined ? undefined
  : `corpus tests skipped: ${missing} (set ${CORPUS_ENV}=DIR to the folder of the corpus ` +
    'packages, or put it at ../shared/corpus/ssis beside the repository)';

/**
 * True in the first test file of a run to ask: the test runner starts every file in its own
 * process, all children of one runner, so a marker file named after the runner (its pid and
 * start time, from /proc) is created by the first only. Without /proc, every file is first.
 */
function firstInRun(): boolean {
  let runner: string;
  try {
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    // Fields after "(comm) ": state is field 3, starttime field 22.
    runner = `${process.ppid}-${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return true;
  }
  try {
    writeFileSync(join(tmpdir(), `smtpcm-corpus-notice-${runner}`), '', { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

if (corpusSkipReason !== undefined) {
  if (process.env.CI === 'true' || process.env.CORPUS_REQUIRED === '1') {
    throw new Error(`The SSIS corpus is required (CI=true or CORPUS_REQUIRED=1) but absent: ` +
      `${missing}. Set ${CORPUS_ENV}=DIR, or put it at ../shared/corpus/ssis.`);
  }
  if (firstInRun()) process.stderr.write(`*** ${corpusSkipReason} ***\n`);
}

/** A corpus file's absolute path: `corpus('vglukhov', 'Package1.dtsx')`. */
export function corpus(folder: string, file: string): string {
  return join(corpusDir, folder, file);
}

/**
 * Every corpus file with one of the extensions (compared lower-case), as [folder, file], one
 * folder deep, sorted. Empty when the corpus is absent.
 */
export function corpusFiles(...extensions: string[]): Array<[string, string]> {
  if (corpusSkipReason !== undefined) return [];
  const found: Array<[string, string]> = [];
  for (const folder of readdirSync(corpusDir, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    for (const file of readdirSync(join(corpusDir, folder.name))) {
      if (extensions.some((e) => file.toLowerCase().endsWith(e))) found.push([folder.name, file]);
    }
  }
  return found.sort();
}

/**
 * Every file under the corpus, at any depth, whose name ends with one of the extensions
 * (compared lower-case), as absolute paths, sorted. Empty when the corpus is absent.
 */
export function corpusPaths(...extensions: string[]): string[] {
  if (corpusSkipReason !== undefined) return [];
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return extensions.some((e) => entry.name.toLowerCase().endsWith(e)) ? [path] : [];
    });
  return walk(corpusDir).sort();
}
