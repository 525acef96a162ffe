import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bundleNodeClient } from '../../../bench/clients/bundle.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

test('the Node client bundle holds smtpcm from the root given, packages external', async () => {
  const bundle = await bundleNodeClient(root);
  try {
    assert.ok(bundle.path.startsWith(join(root, 'bench/.client-bundle-')), bundle.path);
    const code = readFileSync(bundle.path, 'utf8');
    // esbuild's comment before each module: smtpcm's engine and the client are inside.
    assert.match(code, /^\/\/ src\/client\/smtp-client\.ts$/m);
    assert.match(code, /^\/\/ src\/connection\/connection-manager\.ts$/m);
    assert.match(code, /^\/\/ bench\/clients\/node-client\.ts$/m);
    // Nodemailer is imported at run time from node_modules, not copied in.
    assert.match(code, /^import \w+ from "nodemailer";$/m);
    assert.doesNotMatch(code, /^\/\/ node_modules\//m);
  } finally {
    await bundle.remove();
  }
  assert.equal(existsSync(dirname(bundle.path)), false);
});

test('a root without smtpcm sources fails to bundle, naming the file it lacks', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'smtpcm-no-src-'));
  try {
    await assert.rejects(bundleNodeClient(empty), /Cannot read file: .*\/src\/index\.ts/);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
