/**
 * A 50 MB message with lines starting with '.', bare LFs and bare CRs, streamed to Postfix
 * (BDAT, and DATA with dot-stuffing), must arrive byte-identical after CRLF normalisation.
 * The client runs in its own process (bundled with esbuild, run by plain node) so that the
 * peak RSS recorded here is the client's alone; it is reported, not asserted.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { clearMail, clientPart, rig, rigSkipReason, waitForDelivery } from '../support/rig.js';
import { largeMessageBlock, largeMessageHeader } from './large-message-shape.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const TARGET = 50_000_000;

/** What Postfix stores of one piece of client text: every line end LF (its own rule). */
function delivered(text: string): Buffer {
  return Buffer.from(text.replace(/\r\n|\r|\n/g, '\n'), 'latin1');
}

async function bundleClient(): Promise<string> {
  // Inside node_modules so that the bundle's external packages resolve.
  const dir = join(root, 'node_modules', '.cache', 'smtpcm-rig-engine');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'large-message-client.mjs');
  await build({
    entryPoints: [join(root, 'test', 'rig-engine', 'large-message-client.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

for (const chunking of [true, false]) {
  const method = chunking ? 'BDAT' : 'DATA';
  test(`a 50 MB message arrives byte-identical through Postfix (${method})`,
    { skip: rigSkipReason, timeout: 300_000 }, async (t) => {
      const info = rig()!;
      const token = randomUUID();
      // A mailbox of its own: no other test reads (or empties) 50 MB files here.
      const recipient = `engine-large-${token}@rig.test`;
      const script = await bundleClient();
      const { stdout } = await run(process.execPath, [script, JSON.stringify({
        host: info.connectHost, port: info.ports.plain, token, targetOctets: TARGET, chunking,
        recipient,
      })], { cwd: root, maxBuffer: 1 << 20, timeout: 240_000 });
      const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        baselineRssMb: number; peakRssMb: number; size: number; method: string;
        accepted: string[]; blocks: number;
      };
      t.diagnostic(`client (${method}): ${report.size} octets sent, peak RSS ` +
        `${report.peakRssMb} MB (baseline ${report.baselineRssMb} MB)`);
      console.log(`# client peak RSS for the 50 MB message (${method}): ${report.peakRssMb} MB`);
      assert.equal(report.method, method);
      assert.deepEqual(report.accepted, [recipient]);
      assert.ok(report.size >= TARGET * 0.98, `sent ${report.size} octets`);

      const file = await waitForDelivery(recipient, token, 120_000);
      t.after(() => clearMail(recipient));
      const part = clientPart(file);
      // Compare piece by piece against the expected text, computed here independently.
      const header = delivered(largeMessageHeader(token));
      const block = delivered(largeMessageBlock);
      assert.deepEqual(part.subarray(0, header.length), header);
      let offset = header.length;
      for (let i = 0; i < report.blocks; i++) {
        const got = part.subarray(offset, offset + block.length);
        if (!got.equals(block)) {
          assert.fail(`block ${i} at offset ${offset} differs: ${JSON.stringify(
            got.toString('latin1'))}`);
        }
        offset += block.length;
      }
      assert.equal(part.length, offset, 'nothing after the last block');
    });
}
