/** Where the shared SSIS corpus lives (../shared beside the clone), read in place. */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const corpusDir = resolve(repoRoot, '..', 'shared', 'corpus', 'ssis');

/** A corpus file's absolute path: `corpus('vglukhov', 'Package1.dtsx')`. */
export function corpus(folder: string, file: string): string {
  return join(corpusDir, folder, file);
}

/** Every corpus file with one of the extensions, as [folder, file]. */
export function corpusFiles(...extensions: string[]): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  for (const folder of readdirSync(corpusDir, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    for (const file of readdirSync(join(corpusDir, folder.name))) {
      if (extensions.some((e) => file.toLowerCase().endsWith(e))) found.push([folder.name, file]);
    }
  }
  return found.sort();
}
