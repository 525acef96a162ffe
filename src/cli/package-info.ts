/**
 * Where the smtpcm package lives and what version it is, found from this file's location so
 * it works both from `src/` (tsx) and from `dist/src/` (the built CLI).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding smtpcm's package.json. Throws when it cannot be found. */
export function packageRoot(): string {
  if (root !== undefined) {
    return root;
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth += 1) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'smtpcm') {
        root = dir;
        return dir;
      }
    }
    dir = dirname(dir);
  }
  throw new Error('Cannot find the smtpcm package directory (package.json).');
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
