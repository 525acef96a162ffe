/**
 * The client side of the 50 MB test, run in its own process so that its peak RSS is the
 * client's alone. Usage (after bundling, see large-message.test.ts):
 *   node large-message-client.mjs '{"host":"127.0.0.1","port":3525,"token":"...",
 *     "targetOctets":50000000,"chunking":true,"recipient":"x@rig.test"}'
 * Prints one JSON line: { baselineRssMb, peakRssMb, size, method, accepted }.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { SmtpClient } from '../../src/client/smtp-client.js';
import { largeMessageBlock, largeMessageHeader } from './large-message-shape.js';

interface Args {
  host: string;
  port: number;
  token: string;
  targetOctets: number;
  chunking: boolean;
  recipient: string;
}

const args = JSON.parse(process.argv[2]!) as Args;

/** The message, streamed: header, then the block repeated, cut into odd-sized chunks. */
function* message(blocks: number): Generator<Buffer> {
  yield Buffer.from(largeMessageHeader(args.token));
  const unit = Buffer.from(largeMessageBlock.repeat(64));
  const total = blocks * largeMessageBlock.length;
  const cut = 65_521; // prime: chunk boundaries fall everywhere, CR|LF pairs included
  let sent = 0;
  let offset = 0;
  while (sent < total) {
    const size = Math.min(cut, total - sent, unit.length - offset);
    yield unit.subarray(offset, offset + size);
    sent += size;
    offset = (offset + size) % unit.length;
  }
}

/**
 * This process's peak RSS: VmHWM from /proc (per address space). Not `resourceUsage().maxRSS`:
 * Linux carries that over from the parent across fork and exec, so it would report the test
 * runner's memory.
 */
function peakRssMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    if (match) return Math.round(Number(match[1]) / 1024);
  } catch {
    // Not Linux: fall back below.
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

const blocks = Math.floor(args.targetOctets / largeMessageBlock.length / 64) * 64;
const baseline = process.memoryUsage().rss;
const client = new SmtpClient({
  host: args.host,
  port: args.port,
  secure: 'None',
  chunking: args.chunking,
  timeouts: { command: 60_000, dataTermination: 120_000 },
});
await client.connect();
const result = await client.send({ from: 'alice@rig.test', to: [args.recipient] },
  () => Readable.from(message(blocks)));
await client.quit();
process.stdout.write(`${JSON.stringify({
  baselineRssMb: Math.round(baseline / 1048576),
  peakRssMb: peakRssMb(),
  size: result.size,
  method: result.method,
  accepted: result.accepted,
  blocks,
})}\n`);
