/**
 * Every enabled Send Mail task of the corpus, run against an in-process smtp-server with
 * every connection overridden (`--connection`), so no test ever reaches a host a package
 * names. The received messages must carry the evaluated values.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import type { PackageOverrides } from '../../src/package/load.js';
import {
  runPackage,
  type PackageRunReport,
  type RunPackageOptions,
} from '../../src/package/run.js';
import { corpusSkipReason } from '../support/corpus.js';
import { load } from './helpers.js';
import { startSink, type ReceivedMessage, type SmtpSink } from './smtp-sink.js';

let sink: SmtpSink;
let dir: string;

before(async () => {
  sink = await startSink();
  dir = await mkdtemp(join(tmpdir(), 'smtpcm-dtsx-run-'));
  await writeFile(join(dir, 'dupkey.txt'), 'Таблица\tКлюч\nclients\t42\n');
  await writeFile(join(dir, 'rejects.txt'), 'BOL_ID;ERROR\n1;missing\n');
  await writeFile(join(dir, 'rejects_dwh.txt'), 'BOL_ID;ERROR\n2;late\n');
  await writeFile(join(dir, 'ValioReports.rar'), Buffer.from('Rar!\x1a\x07\x00', 'latin1'));
  await writeFile(join(dir, 'InconsistenciaFinal.xls'), 'precio;diferencia\n');
});

after(async () => {
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(folder: string, file: string, overrides: PackageOverrides,
  options: RunPackageOptions = {}, allowed = sink.connectionString): Promise<{
    report: PackageRunReport; messages: ReceivedMessage[] }> {
  const before = sink.received.length;
  const loaded = await load(folder, file, overrides);
  const report = await runPackage(loaded, {
    ...options,
    // A safety net under the overrides: refuse any connection that is not the local sink.
    createConnection: (init) => {
      assert.equal(init.connectionString, allowed, `${init.name} not overridden`);
      return new SmtpConnectionManager(init);
    },
  });
  // SAFETY: every task that sent went through the override, to the local sink only.
  for (const step of report.steps.filter((s) => s.status === 'sent' || s.status === 'partial')) {
    assert.equal(step.connection?.source, 'override', step.path);
    assert.equal(step.connection?.connectionString, sink.connectionString, step.path);
  }
  return { report, messages: sink.received.slice(before) };
}

/** The X-Priority header as sent (System.Net.Mail writes 1 for MailPriority.High). */
const xPriority = (message: ReceivedMessage): string | undefined =>
  /^X-Priority: (\S+)\r?$/im.exec(message.raw.toString('latin1'))?.[1];

const statuses = (report: PackageRunReport): string[][] =>
  report.steps.filter((s) => s.type === 'send-mail').map((s) => [s.path, s.status]);

describe('run: every enabled Send Mail task of the corpus against a local server',
  { skip: corpusSkipReason }, () => {
  it('lucmilot: the smallest package, literal values', async () => {
    const { report, messages } = await run('lucmilot', 'SendMailTask.dtsx', {
      connections: [['SMTP Connection Manager', sink.connectionString]] });
    assert.equal(report.exitCode, 0);
    assert.equal(messages.length, 1);
    assert.deepEqual([messages[0]!.from, messages[0]!.to], ['user10@example.com',
      ['user11@example.com']]);
    assert.equal(messages[0]!.parsed.subject, 'Test');
    assert.equal(messages[0]!.parsed.text?.trim(), 'Test Message');
  });

  it('dataalias: both OnError tasks, with parameters and System variables', async () => {
    const { report, messages } = await run('dataalias', 'AzureFunction_pg_CallDataFactory.dtsx',
      { connections: [['SMTP Connection Manager', sink.connectionString]],
        params: [['$Package::pkg_IssueId', '777']] }, { event: 'OnError' });
    assert.equal(report.exitCode, 0);
    assert.equal(messages.length, 2);
    for (const message of messages) {
      assert.deepEqual([message.from, message.to], ['user1@example.com', ['user2@example.com']]);
      assert.equal(message.parsed.subject,
        'Staging package: AzureFunction_CallDataFactory Failed on DEVPC01');
      assert.equal(message.parsed.text?.trim(), 'Additional information on this error can be ' +
        'found  in the project catalog report for IssueId: 777 for  package: ' +
        'AzureFunction_CallDataFactory on DEVPC01');
    }
  });

  it('dataalias: the main flow runs no event-handler task and lists the others', async () => {
    const { report, messages } = await run('dataalias', 'AzureFunction_pg_CallDataFactory.dtsx',
      { connections: [['SMTP Connection Manager', sink.connectionString]] });
    assert.equal(messages.length, 0);
    assert.equal(report.steps.filter((s) => s.type === 'send-mail').length, 0);
    assert.ok(report.steps.every((s) => s.status === 'not-run'));
    assert.ok(report.steps.some((s) => s.type === 'Microsoft.ScriptTask'));
  });

  it('ranarauf: the dangling reference supplied by its DTSID, and the Variable body', async () => {
    const { report, messages } = await run('ranarauf', 'pkg_FDD_ETL_Traffic_Updates.dtsx', {
      connections: [['{956BC99C-5D61-4FC6-BFF1-50F94BAFB9C3}', sink.connectionString],
        ['SMTP', sink.connectionString]],
      set: [['User::strSendTo', 'ops@example.com'], ['User::strErrorDesc', 'Disk full']] });
    assert.deepEqual(statuses(report), [['Package\\Send Completion Mail', 'sent']]);
    assert.deepEqual(messages.map((m) => [m.to, m.parsed.subject, m.parsed.text?.trim()]),
      [[['ops@example.com'], 'FDD Completion', 'Traffic Updates completed.']]);

    const onError = await run('ranarauf', 'pkg_FDD_ETL_Traffic_Updates.dtsx', {
      connections: [['SMTP', sink.connectionString]],
      set: [['User::strErrorDesc', 'Disk full']] }, { event: 'OnError' });
    assert.equal(onError.report.exitCode, 0);
    assert.deepEqual(onError.messages.map((m) => [m.parsed.subject, m.parsed.text?.trim()]),
      [['FDD Error Message', 'Disk full']]);
  });

  it('ranarauf: without the connection the task fails clearly, nothing is sent', async () => {
    const { report, messages } = await run('ranarauf', 'pkg_FDD_ETL_Traffic_Updates.dtsx', {});
    assert.equal(report.exitCode, 1);
    assert.equal(messages.length, 0);
    assert.match(report.steps.find((s) => s.status === 'failed')!.reason!,
      /\{956BC99C-5D61-4FC6-BFF1-50F94BAFB9C3\}, which is neither in the package nor/);
  });

  it('mchelle706 and yatamcharishma: project connection managers (.conmgr)', async () => {
    const mchelle = await run('mchelle706', 'DAILY_AR_SNAPSHOT.dtsx', {
      connections: [['{8286A45B-77FC-4756-BE60-BE129B14C134}', sink.connectionString]] },
    { event: 'OnError' });
    assert.deepEqual(mchelle.messages.map((m) => [m.parsed.subject, xPriority(m)]),
      [['AR Daily Raw - Snapshots FAILURE', '1'], ['Daily AR Snapshot job failure', '1']]);

    const yatam = await run('yatamcharishma', 'MasterLoad_Template.dtsx', {
      connections: [['SMTP', sink.connectionString]],
      params: [['EmailToLine', 'etl-team@example.com']] });
    assert.deepEqual(yatam.messages.map((m) => [m.to, m.parsed.subject, m.parsed.text?.trim()]), [[
      ['etl-team@example.com'], 'ETL Package MasterLoad_Template Completed Successfully.',
      'MasterLoad_Template has completed successfully.']]);
    const failed = await run('yatamcharishma', 'MasterLoad_Template.dtsx', {
      connections: [['SMTP', sink.connectionString]],
      set: [['System::ErrorDescription', 'Login failed.']] }, { event: 'OnError' });
    assert.equal(failed.messages[0]!.parsed.text,
      'MasterLoad_Template load failed. \n\nLogin failed.\n');
  });

  it('advgrower: a task inside a Foreach loop runs once; the disabled one is skipped',
    async () => {
      const adv = await run('advgrower', 'Package.dtsx', {
        connections: [['SMTP Connection Manager', sink.connectionString]] });
      assert.deepEqual(statuses(adv.report), [
        ['Package\\Foreach Loop Container\\Send Mail - DL Excel  file error', 'sent'],
        ['Package\\Send Mail - DL Excel Wrksheet to temp tbl error', 'skipped']]);
      assert.deepEqual(adv.messages.map((m) => m.parsed.subject), ['Error - DL Excel file error']);
    });

  it('rhumphrys: a task without any MessageSource sends an empty body', async () => {
    const rh = await run('rhumphrys', 'CaseBuilder.dtsx', {
      connections: [['SMTP Connection Manager', sink.connectionString]] });
    assert.deepEqual(rh.messages.map((m) => m.parsed.subject),
      ['Connection to Database Failed: Um Hospital Load']);
  });

  it('ricardobarrero: attachment path and variables set on the command line', async () => {
    const alert = 'Package\\Data Alerts (Prices & Counts)\\SendMail Alert';
    const { report, messages } = await run('ricardobarrero', 'IQUOTE - 100 - LoadFiles.dtsx', {
      connections: [['SMTP Connection Manager', sink.connectionString]],
      set: [[`\\${alert}.Properties[FileAttachments]`, join(dir, 'InconsistenciaFinal.xls')],
        ['User::VStr_Mensaje', 'Carga completa'], ['User::VStr_Subject', 'OK: ']] });
    assert.equal(report.exitCode, 0);
    assert.deepEqual(messages.map((m) => [m.to, m.parsed.subject]), [
      [['user31@example.com', 'user32@example.com'], 'IQuote - Difrencias en Precios'],
      [['user26@example.com'], 'OK: IQUOTE - 100 - LoadFiles']]);
    assert.deepEqual(messages[0]!.parsed.attachments.map((a) => a.filename),
      ['InconsistenciaFinal.xls']);
    assert.equal(messages[1]!.parsed.text?.trim(), 'Carga completa');
  });

  it('sreeman2: the 2005 package, attachments from variables', async () => {
    const { report, messages } = await run('sreeman2', 'PES_WEEKLY_REJECTS.dtsx', {
      connections: [['Email Connection', sink.connectionString]],
      set: [['User::VarFilePath', join(dir, 'rejects.txt')],
        ['User::VarFilePath_dwh', join(dir, 'rejects_dwh.txt')], ['User::V_Database', 'PESDW']] });
    assert.equal(report.exitCode, 0);
    assert.equal(messages.length, 2);
    assert.deepEqual(messages.map((m) => m.parsed.attachments[0]!.filename).sort(),
      ['rejects.txt', 'rejects_dwh.txt']);
    assert.ok(messages.some((m) => m.parsed.subject ===
      'Rejected records during Staging to DW load in  PESDW'));
    assert.match(messages[0]!.parsed.text!, /^Hi Support Team,\n\n Please find attached/);
  });

  it('vglukhov: the FileConnection body read from the overridden File connection', async () => {
    const { report, messages } = await run('vglukhov', 'Package1.dtsx', {
      connections: [['SMTP Connection Manager', sink.connectionString],
        ['dupkeys', join(dir, 'dupkey.txt')]] });
    assert.equal(report.exitCode, 0);
    assert.equal(messages[0]!.parsed.subject, 'Дубликаты ключей в таблицах');
    assert.equal(messages[0]!.parsed.text, 'Таблица\tКлюч\nclients\t42\n');
  });

  it('disabled tasks run only when --task names them (roanoke, Valio, epzingg)', async () => {
    const roanoke = await run('roanoke', 'PopulateSemester.dtsx', {
      connections: [['MAIL CONNECTION', sink.connectionString]] });
    assert.deepEqual(roanoke.messages, []);
    assert.ok(statuses(roanoke.report).every(([, s]) => s === 'skipped'));
    const named = await run('roanoke', 'PopulateSemester.dtsx', {
      connections: [['MAIL CONNECTION', sink.connectionString]] },
    { tasks: ['Clear Staging Table DM_SEMESTER Failed'] });
    const [message] = named.messages;
    assert.deepEqual(message!.to, ['user22@example.com', 'user23@example.com']);
    assert.equal(xPriority(message!), '1');
    assert.equal(message!.parsed.text?.split('\n')[2], ' SQL Job PopulateDataMart on ODS needs ' +
      'to be rexecuted beginning at step PopulateSemester.  ');

    const valio = await run('vglukhov', 'Valio_Reports.dtsx', {
      connections: [['SMTP_Соединение', sink.connectionString]],
      set: [['User::Period', 'month'], ['User::Path', `${dir}/`]] },
    { tasks: ['Package\\Отправка архива с отчетом на Email'] });
    assert.equal(valio.report.exitCode, 0);
    assert.equal(valio.messages[0]!.parsed.subject, 'Отчет VALIO ( Продажи, Возвраты, Месяц )');
    assert.match(valio.messages[0]!.parsed.text!, /за прошедший месяц\.\n--\n/);
    assert.deepEqual(valio.messages[0]!.parsed.attachments.map((a) => a.filename),
      ['ValioReports.rar']);

    const epzingg = await run('epzingg', 'FileE1_2SF.dtsx', {
      connections: [['SMTP Connection Manager', sink.connectionString]] },
    { tasks: ['Send Import Success Email'] });
    assert.equal(epzingg.messages[0]!.parsed.subject, 'E1 Records Report');
  });

  it('refuses an --event or --task that matches nothing, listing what there is', async () => {
    const loaded = await load('lucmilot', 'SendMailTask.dtsx');
    await assert.rejects(runPackage(loaded, { event: 'OnError' }),
      /--event OnError: matches no event handler of the package\. Its handlers are for: none\./);
    const dataalias = await load('dataalias', 'AzureFunction_pg_CallDataFactory.dtsx');
    await assert.rejects(runPackage(dataalias, { tasks: ['Send Mail Task'] }),
      /--task Send Mail Task: names 2 Send Mail tasks\. Give one of these paths: /);
  });

  it('alimakri: the unconfigured task fails before any connection', async () => {
    const { report, messages } = await run('alimakri', 'Package1.dtsx', {});
    assert.equal(report.exitCode, 1);
    assert.equal(messages.length, 0);
    assert.match(report.steps.find((s) => s.type === 'send-mail')!.reason!, /never configured/);
  });

  it('exit 3 when some recipients are rejected', async () => {
    const { report, messages } = await run('lucmilot', 'SendMailTask.dtsx', {
      connections: [['SMTP Connection Manager', sink.connectionString]],
      set: [['\\Package\\Send Mail Task.Properties[ToLine]',
        'bob@example.com;reject@example.com']] });
    assert.equal(report.exitCode, 3);
    assert.deepEqual(messages[0]!.to, ['bob@example.com']);
    assert.deepEqual(report.steps[0]!.result!.rejected.map((r) => [r.recipient, r.reply?.code]),
      [['reject@example.com', 550]]);
  });

  it('--dry-run composes every message and connects to nothing', async () => {
    // 192.0.2.250 (TEST-NET-1) answers nobody: a connection attempt would fail the run.
    const unreachable = 'SmtpServer=192.0.2.250;';
    const { report, messages } = await run('roanoke', 'PopulateSemester.dtsx', {
      connections: [['MAIL CONNECTION', unreachable]] },
    { dryRun: true, tasks: ['Move Semester Data to DM_Semester Failed'] }, unreachable);
    assert.equal(messages.length, 0);
    const [step] = report.steps;
    assert.equal(step!.status, 'composed');
    assert.deepEqual(step!.envelope!.to, ['user22@example.com', 'user23@example.com']);
    assert.match(step!.message!,
      /^Subject: ODS Datamart Task: Move Data To DM_Semester FAILED\r$/m);
    assert.match(step!.message!, /^Cc: user23@example.com\r$/m);
  });
});
