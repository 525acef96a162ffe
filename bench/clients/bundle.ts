/**
 * The Node benchmark client as one JavaScript file, so that each client run is plain `node`:
 * bench/clients/node-client.ts and the smtpcm `src/` it imports, bundled once per run by
 * esbuild. Under `node --import tsx` the loader (its worker thread, its esbuild compiles) was
 * in every client's CPU time and peak RSS.
 *
 * Packages stay external: the bundle imports `nodemailer` and smtpcm's dependencies at run
 * time, so it is written under the repository (bench/.client-bundle-XXXXXX/, git-ignored),
 * where they resolve to the project's node_modules.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '../..');

export interface NodeClientBundle {
  /** The bundled client: `node <path> '<NodeClientSpec as JSON>'`. */
  path: string;
  /** Removes the bundle and its directory. */
  remove(): Promise<void>;
}

/**
 * Points node-client.ts's imports of the repository's `src/` (`../../src/...js`) at the
 * TypeScript files of `smtpcmRoot/src/` instead: the snapshot of the revision measured.
 * Imports inside smtpcm's own files are relative and stay within that tree.
 */
function smtpcmSource(smtpcmRoot: string): Plugin {
  return {
    name: 'smtpcm-source',
    setup(builder) {
      builder.onResolve({ filter: /^(\.\.\/)+src\// }, (args) => {
        if (resolve(args.importer, '..') !== resolve(here)) return undefined;
        const fromRoot = relative(root, resolve(args.resolveDir, args.path));
        return { path: join(smtpcmRoot, fromRoot.replace(/\.js$/, '.ts')) };
      });
    },
  };
}

/**
 * Bundles bench/clients/node-client.ts with smtpcm loaded from `smtpcmRoot` (the repository
 * root, or a snapshot under it) into a fresh directory under bench/. The caller removes it.
 * Throws esbuild's error when the sources do not compile or an import is missing (for
 * example a snapshot whose src/index.ts lacks SmtpClient).
 */
export async function bundleNodeClient(smtpcmRoot: string): Promise<NodeClientBundle> {
  const dir = await mkdtemp(join(root, 'bench/.client-bundle-'));
  const path = join(dir, 'node-client.mjs');
  try {
    await build({
      absWorkingDir: root,
      entryPoints: [join(here, 'node-client.ts')],
      outfile: path,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      // Unminified: profile.ts maps its lines back to files by esbuild's `// path` comments.
      minify: false,
      logLevel: 'silent',
      plugins: [smtpcmSource(smtpcmRoot)],
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
