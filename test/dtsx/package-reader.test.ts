import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { ExecutableDefinition, PackageDefinition } from '../../src/dtsx/model.js';
import { readPackageFile, readPackageXml } from '../../src/dtsx/package-reader.js';
import {
  readConnectionManagerXml,
  readDtsConfigXml,
  readProjectParamsXml,
} from '../../src/dtsx/project-reader.js';
import { decodeXmlBytes } from '../../src/dtsx/xml.js';
import { corpus, corpusFiles, corpusSkipReason } from '../support/corpus.js';

function allExecutables(container: { executables: ExecutableDefinition[];
  eventHandlers?: Array<{ executables: ExecutableDefinition[] }> }): ExecutableDefinition[] {
  const out: ExecutableDefinition[] = [];
  for (const e of container.executables) {
    out.push(e, ...allExecutables(e));
  }
  for (const h of container.eventHandlers ?? []) out.push(...allExecutables(h));
  return out;
}

function sendMailTasks(pkg: PackageDefinition): ExecutableDefinition[] {
  return allExecutables(pkg).filter((e) => e.kind === 'send-mail');
}

// Send Mail task counts and format versions from the corpus INDEX.md.
const EXPECTED: Record<string, { format: number; tasks: number }> = {
  'advgrower/Package.dtsx': { format: 6, tasks: 2 },
  'alimakri/Package1.dtsx': { format: 8, tasks: 1 },
  'americanag/Send Email.dtsx': { format: 8, tasks: 0 },
  'bridewaltccc/Package.dtsx': { format: 8, tasks: 0 },
  'dataalias/AzureFunction_pg_CallDataFactory.dtsx': { format: 8, tasks: 2 },
  'epzingg/FileE1_2SF.dtsx': { format: 8, tasks: 2 },
  'lucmilot/SendMailTask.dtsx': { format: 6, tasks: 1 },
  'mchelle706/DAILY_AR_SNAPSHOT.dtsx': { format: 8, tasks: 2 },
  'ranarauf/pkg_FDD_ETL_Traffic_Updates.dtsx': { format: 6, tasks: 2 },
  'rhumphrys/CaseBuilder.dtsx': { format: 8, tasks: 1 },
  'ricardobarrero/IQUOTE - 100 - LoadFiles.dtsx': { format: 8, tasks: 3 },
  'roanoke/PopulateSemester.dtsx': { format: 6, tasks: 2 },
  'santhoshballa/HAP_H376_RE_CareRadius.dtsx': { format: 8, tasks: 0 },
  'sreeman2/PES_WEEKLY_REJECTS.dtsx': { format: 2, tasks: 2 },
  'vglukhov/Package1.dtsx': { format: 3, tasks: 1 },
  'vglukhov/Valio_Reports.dtsx': { format: 3, tasks: 1 },
  'yatamcharishma/MasterLoad_Template.dtsx': { format: 8, tasks: 2 },
};

describe('readPackageFile on the corpus', () => {
  it('finds the corpus packages', { skip: corpusSkipReason }, () => {
    assert.deepEqual(corpusFiles('.dtsx').map(([f, n]) => `${f}/${n}`), Object.keys(EXPECTED));
  });
  for (const [folder, file] of corpusFiles('.dtsx')) {
    it(`reads ${folder}/${file} with its format and Send Mail tasks`, async () => {
      const pkg = await readPackageFile(corpus(folder, file));
      const expected = EXPECTED[`${folder}/${file}`];
      assert.ok(expected, 'every corpus package is listed in this test');
      assert.equal(pkg.formatVersion, expected.format);
      assert.equal(sendMailTasks(pkg).length, expected.tasks);
    });
  }

  it('reads every .conmgr and Project.params of the corpus',
    { skip: corpusSkipReason }, async () => {
    for (const [folder, file] of corpusFiles('.conmgr')) {
      const text = decodeXmlBytes(await readFile(corpus(folder, file)));
      const cm = readConnectionManagerXml(text, file);
      assert.equal(cm.creationName, 'SMTP');
      assert.match(cm.id, /^\{[0-9A-F-]{36}\}$/i);
      assert.match(cm.connectionString ?? '', /^SmtpServer=/);
    }
    for (const [folder, file] of corpusFiles('.params')) {
      const text = decodeXmlBytes(await readFile(corpus(folder, file)));
      assert.ok(readProjectParamsXml(text, file).length > 0, `${folder}/${file}`);
    }
  });

  it('reads the 2005 format: property children, attachments, IDREF constraints',
    { skip: corpusSkipReason }, async () => {
    const pkg = await readPackageFile(corpus('sreeman2', 'PES_WEEKLY_REJECTS.dtsx'));
    assert.equal(pkg.name, 'PES_WEEKLY_REJECTS');
    assert.deepEqual(pkg.connectionManagers.filter((c) => c.creationName === 'SMTP')
      .map((c) => [c.name, c.connectionString]), [['Email Connection',
      'SmtpServer=192.0.2.6;UseWindowsAuthentication=False;EnableSsl=False;']]);
    const tasks = sendMailTasks(pkg);
    // Two tasks with the same name in different containers get different paths.
    assert.equal(tasks[0]!.name, tasks[1]!.name);
    assert.notEqual(tasks[0]!.path, tasks[1]!.path);
    assert.equal(tasks[0]!.sendMail!.fileAttachments,
      'E:\\Example Enterprise Solution\\Output\\stg_dwhload_Weekly_rejects.txt');
    assert.equal(tasks[0]!.sendMail!.messageSource.split('\n')[0], 'Hi Support Team,');
    assert.deepEqual(tasks[0]!.propertyExpressions.map((p) => p.property).sort(),
      ['FileAttachments', 'FromLine', 'MessageSource', 'Subject', 'ToLine']);
    assert.deepEqual(pkg.configurations.map((c) => [c.type, c.typeName]),
      [[1, 'XML configuration file'], [1, 'XML configuration file']]);
    // IDREF ends resolve to executable paths.
    const ends = pkg.precedenceConstraints.flatMap((c) => [c.from, c.to]);
    assert.ok(ends.every((end) => end.startsWith('Package\\')), ends.join(', '));
    const variable = pkg.variables.find((v) => v.name === 'V_FromAdd')!;
    assert.deepEqual([variable.namespace, variable.dataType, variable.value],
      ['User', 'DT_WSTR', 'user41@example.com']);
  });

  it('reads 2012+ packages: event handlers, Disabled, CRLF, BOM, multi-line text',
    { skip: corpusSkipReason }, async () => {
    const roanoke = await readPackageFile(corpus('roanoke', 'PopulateSemester.dtsx'));
    const [first] = sendMailTasks(roanoke);
    assert.equal(first!.disabled, true);
    assert.equal(first!.sendMail!.cc, 'user23@example.com');
    assert.equal(first!.sendMail!.priority, 'High');
    assert.equal(first!.sendMail!.messageSource, 'ODS Task: Clear Staging table DM_Semester in ' +
      'package PopulateSemester of project PopulateDatamartStaging_V2  has failed.  \n\n SQL Job ' +
      'PopulateDataMart on ODS needs to be rexecuted beginning at step PopulateSemester.  \n' +
      'Datamart population from staging on Hermes also needs to be re-executed.');
    const data = await readPackageFile(corpus('dataalias',
      'AzureFunction_pg_CallDataFactory.dtsx'));
    assert.deepEqual(sendMailTasks(data).map((t) => t.path), [
      'Package\\SEQ SignalZDatafactory Trigger.EventHandlers[OnError]\\Send Mail Task',
      'Package.EventHandlers[OnError]\\Send Mail Task',
    ]);
    assert.deepEqual(data.parameters.find((p) => p.name === 'pkg_IssueId'),
      { scope: 'Package', name: 'pkg_IssueId', id: '{570A6434-0470-4124-B293-BB1CFB1D5901}',
        dataType: 'DT_I4', value: '500258', sensitive: false, required: false });
    assert.equal(data.connectionManagers[0]!.propertyExpressions[0]!.expression,
      '@[$Project::prj_conn_SMTP]');
  });

  it('reads configuration types as numbered by DTSConfigurationType (absent = 0)',
    { skip: corpusSkipReason }, async () => {
    const americanag = await readPackageFile(corpus('americanag', 'Send Email.dtsx'));
    assert.deepEqual(americanag.configurations.map((c) => c.type), [0, 0, 0, 0]);
    assert.equal(americanag.configurations[0]!.configurationVariable,
      '\\Package.Variables[User::_strSendEmailSubject].Properties[Value]');
    const ricardo = await readPackageFile(corpus('ricardobarrero',
      'IQUOTE - 100 - LoadFiles.dtsx'));
    assert.deepEqual(ricardo.configurations.map((c) => [c.type, c.typeName]).slice(0, 1),
      [[7, 'SQL Server']]);
  });

  it('lists third-party SMTP look-alikes without taking them for SMTP', () => {
    const pkg = readPackageXml(`<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts" DTS:refId="Package"
  DTS:ObjectName="P" DTS:DTSID="{00000000-0000-0000-0000-000000000001}"
  DTS:ExecutableType="Microsoft.Package">
  <DTS:Property DTS:Name="PackageFormatVersion">8</DTS:Property>
  <DTS:ConnectionManagers>
    <DTS:ConnectionManager DTS:ObjectName="KWS" DTS:CreationName="SMTP (KingswaySoft)"
      DTS:DTSID="{00000000-0000-0000-0000-000000000002}"><DTS:ObjectData>
      <SmtpConnectionManager ConnectionString="Server=x"/></DTS:ObjectData>
    </DTS:ConnectionManager>
  </DTS:ConnectionManagers>
  <DTS:Executables>
    <DTS:Executable DTS:refId="Package\\Mail" DTS:ObjectName="Mail"
      DTS:ExecutableType="Microsoft.SendMailTask"
      DTS:DTSID="{00000000-0000-0000-0000-000000000003}">
      <DTS:ObjectData>
        <SendMailTask:SendMailTaskData SendMailTask:SMTPServer="KWS"
          xmlns:SendMailTask="www.microsoft.com/sqlserver/dts/tasks/sendmailtask">
          <SendMailTask:To>a@example.com</SendMailTask:To>
          <SendMailTask:Attachments SendMailTask:FileName="a.txt"/>
          <SendMailTask:Attachments SendMailTask:FileName="b.txt"/>
        </SendMailTask:SendMailTaskData>
      </DTS:ObjectData>
    </DTS:Executable>
  </DTS:Executables>
</DTS:Executable>`, 'inline.dtsx');
    assert.equal(pkg.connectionManagers[0]!.creationName, 'SMTP (KingswaySoft)');
    const [task] = sendMailTasks(pkg);
    assert.equal(task!.sendMail!.to, 'a@example.com', 'a property written as an element');
    assert.equal(task!.sendMail!.fileAttachments, 'a.txt|b.txt');
  });

  it('reads .dtsConfig entries', () => {
    const entries = readDtsConfigXml(`<?xml version="1.0"?><DTSConfiguration>
  <DTSConfigurationHeading><DTSConfigurationFileInfo GeneratedBy="x"/></DTSConfigurationHeading>
  <Configuration ConfiguredType="Property"
    Path="\\Package.Connections[SMTP Connection Manager].Properties[ConnectionString]"
    ValueType="String"><ConfiguredValue>SmtpServer=a;</ConfiguredValue></Configuration>
</DTSConfiguration>`, 'c.dtsConfig');
    assert.deepEqual(entries, [{
      path: '\\Package.Connections[SMTP Connection Manager].Properties[ConnectionString]',
      valueType: 'String', value: 'SmtpServer=a;' }]);
  });

  it('reads Project.params data types as TypeCode numbers (3 Boolean, 18 String)',
    { skip: corpusSkipReason }, async () => {
    const text = decodeXmlBytes(await readFile(corpus('yatamcharishma', 'Project.params')));
    const params = readProjectParamsXml(text, 'Project.params');
    const byName = new Map(params.map((p) => [p.name, p]));
    const enable = byName.get('EnableErrorEmail')!;
    assert.deepEqual([enable.dataType, enable.value], ['DT_BOOL', 'true']);
    assert.deepEqual([byName.get('SMTP_ConnectionString')!.dataType,
      byName.get('SMTP_ConnectionString')!.value], ['DT_WSTR',
      'SmtpServer=smtp3.example.com;UseWindowsAuthentication=False;EnableSsl=False;']);
  });
});
