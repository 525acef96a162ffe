import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { CrlfNormalizer } from '../../src/connection/pickup-directory.js';
import { findConnection, loadProjectFile } from '../../src/connection/project-file.js';
import { ConfigurationError } from '../../src/errors.js';

describe('pickup-directory delivery', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smtpcm-pickup-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const manager = () => new SmtpConnectionManager({
    connectionString: `DeliveryMethod=PickupDirectory;PickupDirectoryLocation=${dir}`,
  });

  test('writes one .eml with X-Sender and X-Receiver headers, as System.Net.Mail', async () => {
    const result = await manager().send(
      { from: 'a@example.com', to: ['b@example.com', 'c@example.com', 'b@example.com'] },
      'From: a@example.com\nTo: b@example.com\nSubject: Hello\n\nLine one\nLine two\n');
    assert.deepEqual(result.accepted, ['b@example.com', 'c@example.com']);
    assert.equal(result.reply.code, 250);
    const written = /^Written to (.+\.eml)$/.exec(result.reply.lines[0]!)![1]!;
    const bytes = await readFile(written);
    assert.equal(result.size, bytes.length);
    assert.equal(bytes.toString(), 'X-Sender: a@example.com\r\nX-Receiver: b@example.com\r\n' +
      'X-Receiver: c@example.com\r\nFrom: a@example.com\r\nTo: b@example.com\r\n' +
      'Subject: Hello\r\n\r\nLine one\r\nLine two\r\n');
    const parsed = await simpleParser(bytes);
    assert.equal(parsed.subject, 'Hello');
    assert.equal(parsed.text?.trim(), 'Line one\nLine two');
  });

  test('no partial .eml is ever visible while a message is being written', async () => {
    const emlBefore = (await readdir(dir)).filter((n) => n.endsWith('.eml')).sort();
    const slow = new PassThrough();
    const sending = manager().send({ from: 'a@example.com', to: ['b@example.com'] }, slow);
    slow.write('Subject: slow\r\n\r\n');
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const names = await readdir(dir);
      assert.deepEqual(names.filter((n) => n.endsWith('.eml')).sort(), emlBefore,
        'no new .eml while the message is being written');
      assert.ok(names.some((n) => n.endsWith('.tmp')), 'the message is under a .tmp name');
      slow.write(`line ${i}\r\n`);
    }
    slow.end('end\r\n');
    await sending;
    const names = await readdir(dir);
    assert.equal(names.filter((n) => n.endsWith('.tmp')).length, 0);
    for (const name of names.filter((n) => n.endsWith('.eml'))) {
      const parsed = await simpleParser(await readFile(join(dir, name)));
      assert.ok(parsed.subject === 'Hello' || parsed.subject === 'slow');
    }
  });

  test('a failing message source leaves no file behind', async () => {
    const before = await readdir(dir);
    const broken = new Readable({ read() { this.destroy(new Error('source broke')); } });
    await assert.rejects(manager().send({ from: 'a@example.com', to: ['b@example.com'] },
      broken), /source broke/);
    assert.deepEqual((await readdir(dir)).sort(), before.sort());
  });

  test('many concurrent writes give that many complete files', async () => {
    const sub = await mkdtemp(join(dir, 'many-'));
    const pickup = new SmtpConnectionManager({
      connectionString: `DeliveryMethod=PickupDirectory;PickupDirectoryLocation=${sub}`,
    });
    await Promise.all(Array.from({ length: 50 }, (_, i) => pickup.send(
      { from: 'a@example.com', to: ['b@example.com'] }, `Subject: n${i}\r\n\r\nx\r\n`)));
    const names = await readdir(sub);
    assert.equal(names.length, 50);
    const subjects = await Promise.all(names.map(async (n) =>
      (await simpleParser(await readFile(join(sub, n)))).subject));
    assert.equal(new Set(subjects).size, 50);
  });

  test('testConnection checks the folder', async () => {
    const report = await manager().testConnection();
    assert.equal(report.success, true);
    assert.deepEqual(report.steps.map((s) => s.name), ['configuration', 'folder']);
    const missing = await new SmtpConnectionManager({ connectionString:
      `DeliveryMethod=PickupDirectory;PickupDirectoryLocation=${dir}/missing` }).testConnection();
    assert.equal(missing.success, false);
    assert.equal(missing.error?.code, 'ECONFIG');
  });

  test('CRLF normalisation holds for any split of the input', async () => {
    const input = Buffer.from('a\rb\nc\r\nd\r\r\n\n\re');
    const expected = 'a\r\nb\r\nc\r\nd\r\n\r\n\r\n\r\ne';
    for (let cut = 0; cut <= input.length; cut++) {
      const normalizer = new CrlfNormalizer();
      const out: Buffer[] = [];
      normalizer.on('data', (chunk: Buffer) => out.push(chunk));
      normalizer.write(input.subarray(0, cut));
      normalizer.end(input.subarray(cut));
      await new Promise((resolve) => normalizer.on('end', resolve));
      assert.equal(Buffer.concat(out).toString(), expected, `cut at ${cut}`);
    }
  });
});

describe('smtpcm.json project file', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smtpcm-project-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('loads named connections and finds them by name or takes a connection string', async () => {
    const path = join(dir, 'smtpcm.json');
    await writeFile(path, JSON.stringify({ connections: {
      Relay: { connectionString: 'SmtpServer=relay.example.com;EnableSsl=True;',
        description: 'Office relay', id: '{0783B55E-B232-4FA3-B6C0-E31A01A732BE}' },
      Capture: { connectionString: 'SmtpServer=localhost;Port=2525;' },
    } }));
    const project = await loadProjectFile(path);
    assert.equal(project.path, path);
    assert.deepEqual([...project.connections.keys()], ['Relay', 'Capture']);
    const relay = findConnection(project, 'relay');
    assert.equal(relay.name, 'Relay');
    assert.equal(relay.description, 'Office relay');
    assert.equal(relay.id, '{0783B55E-B232-4FA3-B6C0-E31A01A732BE}');
    assert.equal(relay.properties.enableSsl, true);
    const inline = findConnection(project, 'SmtpServer=other.example.com;Port=587');
    assert.equal(inline.properties.port, 587);
    assert.throws(() => findConnection(project, 'Nope'), (error: ConfigurationError) =>
      error.message.includes('"Nope"') && error.fix.includes('Relay, Capture'));
  });

  test('the default location and SMTPCM_PROJECT', async () => {
    const saved = process.env.SMTPCM_PROJECT;
    const cwd = process.cwd();
    try {
      delete process.env.SMTPCM_PROJECT;
      process.chdir(dir);
      await rm(join(dir, 'smtpcm.json'), { force: true });
      assert.equal((await loadProjectFile()).connections.size, 0, 'absent default: empty');
      await writeFile(join(dir, 'other.json'), '{"connections":{"X":{"connectionString":"x"}}}');
      process.env.SMTPCM_PROJECT = join(dir, 'other.json');
      assert.deepEqual([...(await loadProjectFile()).connections.keys()], ['X']);
      process.env.SMTPCM_PROJECT = join(dir, 'absent.json');
      await assert.rejects(loadProjectFile(), ConfigurationError);
    } finally {
      process.chdir(cwd);
      if (saved === undefined) delete process.env.SMTPCM_PROJECT;
      else process.env.SMTPCM_PROJECT = saved;
    }
  });

  test('bad files are reported with the file, the connection and the fix', async () => {
    const write = async (content: string) => {
      const path = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
      await writeFile(path, content);
      return path;
    };
    await assert.rejects(loadProjectFile(await write('{ nope')), /not valid JSON/);
    await assert.rejects(loadProjectFile(await write('{"connections": []}')),
      /no "connections" object/);
    const noString = await write('{"connections":{"A":{}}}');
    const noStringProject = await loadProjectFile(noString);
    assert.throws(() => findConnection(noStringProject, 'A'),
      (error: ConfigurationError) => error.field === noString &&
        /connection "A" has no "connectionString"/.test(error.message));
    const badKey = await write(
      '{"connections":{"A":{"connectionString":"SmtpServer=h;EnableTls=True"}}}');
    const badKeyProject = await loadProjectFile(badKey);
    assert.throws(() => findConnection(badKeyProject, 'A'),
      (error: ConfigurationError) => error.field === badKey &&
        error.message.includes('connection "A"') && error.message.includes('EnableSsl'));
  });

  test('a file that is not JSON is reported by line and column, never quoted', async () => {
    const fix = 'Fix the JSON; the format is ' +
      '{ "connections": { "<name>": { "connectionString": "..." } } }.';
    const cases: Array<[string, string]> = [
      ['{ "connections": { "A": {\n  "connectionString": SmtpServer=h;UserName=u;' +
        'Password=CANARY-PW-123; } } }', 'line 2, column 23'],
      ['Password=CANARY-PW-123', 'line 1, column 1'],
      ['\uFEFF{"connections": {"A": {"connectionString": "Password=CANARY-PW-123;"}}',
        'line 1, column 71'],
    ];
    for (const [content, where] of cases) {
      const path = join(dir, `not-json-${Math.random().toString(36).slice(2)}.json`);
      await writeFile(path, content);
      await assert.rejects(loadProjectFile(path), (error: ConfigurationError) => {
        assert.equal(error.field, path);
        assert.equal(error.message, `${path}: is not valid JSON (${where}). ${fix}`);
        return true;
      });
    }
  });

  test('a bad entry fails alone: the other connections stay usable', async () => {
    const path = join(dir, 'one-bad.json');
    await writeFile(path, JSON.stringify({ connections: {
      Bad: { connectionString: 'SmtpServer=relay.example.com;Pasword=hunter2;' },
      Relay: { connectionString: 'SmtpServer=relay.example.com;Port=587;' },
      Shapeless: 42,
    } }));
    const project = await loadProjectFile(path);
    assert.equal(findConnection(project, 'Relay').properties.port, 587);
    assert.throws(() => findConnection(project, 'Bad'), (error: ConfigurationError) =>
      error.message.startsWith(`${path}: connection "Bad": `) &&
      error.message.includes('Pasword') && !error.message.includes('hunter2'));
    assert.throws(() => findConnection(project, 'shapeless'), (error: ConfigurationError) =>
      error.message.startsWith(`${path}: connection "Shapeless" has no "connectionString"`));
  });
});
