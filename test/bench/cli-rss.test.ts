import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  cliArguments,
  cmdlineEndsWith,
  parseStatCpuTicks,
  parseVmHwm,
  runWithPeakRss,
} from '../../bench/cli-rss.js';

const MIB = 1024 * 1024;

test('parseVmHwm reads the kB figure of the VmHWM line (proc(5)) as octets', () => {
  const status = [
    'Name:\tnode',
    'State:\tS (sleeping)',
    'VmPeak:\t 1234560 kB',
    'VmSize:\t 1200000 kB',
    'VmHWM:\t   81920 kB',
    'VmRSS:\t   40960 kB',
    '',
  ].join('\n');
  assert.equal(parseVmHwm(status), 81920 * 1024);
});

test('parseVmHwm: a zombie\'s status has no Vm lines', () => {
  assert.equal(parseVmHwm('Name:\tnode\nState:\tZ (zombie)\nTgid:\t42\n'), undefined);
});

test('parseVmHwm on this process: the high-water mark is at least the RSS read with it', () => {
  const status = readFileSync('/proc/self/status', 'latin1');
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  const hwm = parseVmHwm(status);
  assert.ok(rss !== null && hwm !== undefined);
  assert.ok(hwm >= Number(rss[1]) * 1024);
});

test('parseStatCpuTicks takes fields 14 and 15, after a command name with ") " in it', () => {
  // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
  // stime cutime ...
  const stat = '4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 900 0 3 0 257 31 0 0 20 0 11 0';
  assert.deepEqual(parseStatCpuTicks(stat), { user: 257, system: 31 });
  assert.equal(parseStatCpuTicks('no command name here'), undefined);
});

test('cmdlineEndsWith tells the exec\'d command from the parent\'s copy before exec', () => {
  const args = ['bin/smtpcm.js', '--version'];
  assert.equal(cmdlineEndsWith('/usr/bin/node\0bin/smtpcm.js\0--version\0', args), true);
  assert.equal(cmdlineEndsWith('node\0--import\0tsx\0bench/run.ts\0', args), false);
  assert.equal(cmdlineEndsWith('--version\0', args), false);
});

test('cliArguments: the send command names the connection string, addresses and the file', () => {
  const args = cliArguments({
    mode: 'send',
    smtpcmRoot: '/r',
    host: '127.0.0.1',
    port: 2525,
    from: 'a@example.com',
    to: 'b@example.com',
    attachmentPath: '/tmp/f.bin',
    attachmentBytes: 1,
    timeoutMs: 1,
  });
  assert.equal(args[0], '/r/bin/smtpcm.js');
  assert.equal(args[1], 'send');
  assert.equal(args[args.indexOf('--connection') + 1], 'SmtpServer=127.0.0.1;Port=2525;');
  assert.equal(args[args.indexOf('--attach') + 1], '/tmp/f.bin');
});

test('runWithPeakRss sees a child that touches 96 MiB, and its exit code', async () => {
  const code =
    'const b = Buffer.alloc(96 * 1024 * 1024, 1);' +
    'setTimeout(() => { console.log(b[7]); process.exit(3); }, 300);';
  const run = await runWithPeakRss(process.execPath, ['-e', code], {
    cwd: process.cwd(),
    timeoutMs: 30_000,
  });
  assert.equal(run.exitCode, 3);
  assert.equal(run.stdout, '1\n');
  assert.ok(run.samples > 0);
  assert.ok(run.peakRssBytes >= 96 * MIB, `peak ${run.peakRssBytes}`);
});
