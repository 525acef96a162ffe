import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspectPackage } from '../../src/package/inspect.js';
import { loadPackage } from '../../src/package/load.js';
import { corpus, corpusFiles, corpusSkipReason } from '../support/corpus.js';
import { inspect, sources, task, values } from './helpers.js';

describe('inspect on the corpus (INDEX.md)', { skip: corpusSkipReason }, () => {
  it('loads every package of the corpus and reports what it has', async () => {
    for (const [folder, file] of corpusFiles('.dtsx')) {
      const report = await inspect(folder, file);
      assert.equal(report.package.file.endsWith(file), true);
      for (const t of report.tasks) assert.ok(t.path.startsWith('Package'), t.path);
    }
  });

  it('vglukhov Valio: Cyrillic subject and body through the conditional expression', async () => {
    const week = task(await inspect('vglukhov', 'Valio_Reports.dtsx'),
      'Package\\Отправка архива с отчетом на Email');
    assert.equal(week.enabled, false);
    // User::Period holds "week": the expression gives what the designer saved.
    assert.equal(values(week).Subject, 'Отчет VALIO ( Продажи, Возвраты, Неделя )');
    assert.equal(week.properties.find((p) => p.name === 'Subject')!.literal, values(week).Subject);
    assert.equal(values(week).MessageSource,
      week.properties.find((p) => p.name === 'MessageSource')!.literal);

    const month = task(await inspect('vglukhov', 'Valio_Reports.dtsx', {
      set: [['User::Period', 'month'], ['User::Path', '/srv/reports/']] }),
    'Package\\Отправка архива с отчетом на Email');
    assert.equal(values(month).Subject, 'Отчет VALIO ( Продажи, Возвраты, Месяц )');
    const body = values(month).MessageSource!;
    assert.ok(body.startsWith('Вложенный файл содержит отчеты по продажам и возвратам ' +
      'продуктов VALIO за прошедший месяц.\n--\n\nПеред отправкой'), body.slice(0, 120));
    assert.ok(body.endsWith('С уважением,\nОтдел автоматизации (ServSQL2)'));
    // FileAttachments = @[User::FNameArh], itself TRIM(@[User::Path]) + "ValioReports" + ".rar".
    assert.equal(values(month).FileAttachments, '/srv/reports/ValioReports.rar');
    assert.equal(sources(month).FileAttachments, 'expression');
  });

  it('vglukhov Package1: FileConnection body names a FLATFILE connection, Cyrillic subject',
    async () => {
      const report = await inspect('vglukhov', 'Package1.dtsx');
      const [t] = report.tasks;
      assert.equal(t!.name, 'Отправка сообщения о дубликатах');
      assert.equal(values(t!).Subject, 'Дубликаты ключей в таблицах');
      assert.deepEqual(t!.body, { from: 'file', value: 'C:\\Projects\\ReportsFiles\\dupkey.txt' });
      assert.deepEqual(report.otherConnections.map((c) => [c.name, c.type]).slice(0, 1),
        [['dupkeys', 'FLATFILE']]);
    });

  it('roanoke: CC, High priority and a multi-line body on disabled tasks', async () => {
    const report = await inspect('roanoke', 'PopulateSemester.dtsx');
    assert.deepEqual(report.connections.map((c) => c.name), ['MAIL CONNECTION']);
    for (const t of report.tasks) {
      assert.equal(t.enabled, false);
      assert.equal(t.disabledBy, 'Disabled is set in the package');
      assert.equal(values(t).CCLine, 'user23@example.com');
      assert.equal(values(t).Priority, 'High');
      assert.equal(values(t).MessageSource!.split('\n').length, 4);
    }
  });

  it('dataalias: OnError tasks built from $Project and $Package parameters', async () => {
    const report = await inspect('dataalias', 'AzureFunction_pg_CallDataFactory.dtsx');
    const [cm] = report.connections;
    assert.equal(cm!.connectionString.source, 'parameter');
    assert.equal(cm!.connectionString.value,
      'SmtpServer=smtp1.example.com;UseWindowsAuthentication=False;EnableSsl=False;');
    assert.equal(report.tasks.length, 2);
    for (const t of report.tasks) {
      assert.equal(t.eventName, 'OnError');
      assert.deepEqual([values(t).FromLine, sources(t).FromLine],
        ['user1@example.com', 'parameter']);
      assert.deepEqual([values(t).ToLine, sources(t).ToLine], ['user2@example.com', 'parameter']);
      // Evaluated on DEVPC01, the expressions give exactly what the designer saved there.
      for (const name of ['Subject', 'MessageSource']) {
        const property = t.properties.find((p) => p.name === name)!;
        assert.equal(property.source, 'expression');
        assert.equal(property.value, property.literal, name);
      }
      assert.equal(values(t).Subject,
        'Staging package: AzureFunction_CallDataFactory Failed on DEVPC01');
    }
    assert.deepEqual(report.tasks.map((t) => t.eventOwner),
      ['Package\\SEQ SignalZDatafactory Trigger', 'Package']);
  });

  it('ranarauf: a dangling connection reference, Variable body, Disable expressions', async () => {
    const report = await inspect('ranarauf', 'pkg_FDD_ETL_Traffic_Updates.dtsx');
    const dangling = report.problems.filter((p) => p.code === 'dangling-connection');
    assert.equal(dangling.length, 1);
    assert.equal(dangling[0]!.where, 'task "Package\\Send Completion Mail"');
    assert.match(dangling[0]!.message, /\{956BC99C-5D61-4FC6-BFF1-50F94BAFB9C3\}/);
    assert.match(dangling[0]!.fix, /--connection "\{956BC99C-5D61-4FC6-BFF1-50F94BAFB9C3\}=/);
    const error = task(report, 'Package.EventHandlers[OnError]\\Send Error Mail');
    assert.equal(error.connection, 'SMTP');
    assert.deepEqual(error.body, { from: 'variable', value: '' });
    assert.deepEqual([values(error).ToLine, sources(error).ToLine], ['user3@example.com',
      'expression']);

    const disabled = await inspect('ranarauf', 'pkg_FDD_ETL_Traffic_Updates.dtsx', {
      set: [['User::blnDisableSendToAdmin', 'True'], ['User::strErrorDesc', 'Disk full']] });
    const admin = task(disabled, 'Package.EventHandlers[OnError]\\Send Error Mail');
    assert.equal(admin.enabled, false);
    assert.equal(admin.disabledBy, 'Disable expression @[User::blnDisableSendToAdmin] is true');
    assert.deepEqual(admin.body, { from: 'variable', value: 'Disk full' });
  });

  it('alimakri and epzingg: a Send Mail task that was never configured', async () => {
    // alimakri's task is enabled: an error. epzingg's is Disabled="True": run skips it, so its
    // problem is a warning.
    for (const [folder, file, enabled, severity] of [
      ['alimakri', 'Package1.dtsx', true, 'error'],
      ['epzingg', 'FileE1_2SF.dtsx', false, 'warning'],
    ] as const) {
      const report = await inspect(folder, file);
      const unconfigured = report.tasks.filter((t) => !t.configured);
      assert.equal(unconfigured.length, 1, folder);
      assert.equal(unconfigured[0]!.enabled, enabled, folder);
      const problem = report.problems.find((p) => p.code === 'unconfigured-task')!;
      assert.equal(problem.severity, severity, folder);
      assert.equal(problem.where, `task "${unconfigured[0]!.path}"`);
      assert.equal(report.problems.some((p) => p.severity === 'error'), enabled, folder);
    }
  });

  it('ricardobarrero: two SMTP connection managers and a SQL Server configuration', async () => {
    const report = await inspect('ricardobarrero', 'IQUOTE - 100 - LoadFiles.dtsx');
    assert.deepEqual(report.connections.map((c) => c.name), ['SMTP 1', 'SMTP Connection Manager']);
    assert.deepEqual([...new Set(report.tasks.map((t) => t.connection))],
      ['SMTP Connection Manager']);
    const sql = report.problems.find((p) => p.where === 'configuration "SMTP Connection Manager"')!;
    assert.equal(sql.code, 'configuration-not-applied');
    assert.match(sql.message, /^SQL Server configuration/);
    assert.equal(sql.fix, 'Use --connection "SMTP Connection Manager=...".');
    const alert = task(report, 'Package\\Data Alerts (Prices & Counts)\\SendMail Alert');
    assert.equal(values(alert).FileAttachments,
      '\\\\exampleorg\\shares\\SQLPack\\Files_Out\\IQuote\\InconsistenciaFinal.xls');
    assert.equal(values(alert).ToLine, 'user31@example.com;user32@example.com');
  });

  it('sreeman2: 2005 format, attachment children overridden by expressions', async () => {
    const report = await inspect('sreeman2', 'PES_WEEKLY_REJECTS.dtsx', {
      set: [['User::V_Database', 'PESDW'], ['User::VarFilePath', '/data/rejects.txt']] });
    const [first] = report.tasks;
    assert.equal(first!.connection, 'Email Connection');
    assert.equal(values(first!).Subject, 'Rejected records during Staging to DW load in  PESDW');
    assert.equal(values(first!).FileAttachments, '/data/rejects.txt');
    assert.equal(first!.properties.find((p) => p.name === 'FileAttachments')!.literal,
      'E:\\Example Enterprise Solution\\Output\\stg_dwhload_Weekly_rejects.txt');
    // The MessageSource expression, with its \n escapes, gives the saved multi-line body.
    const body = first!.properties.find((p) => p.name === 'MessageSource')!;
    assert.equal(body.value, body.literal);
    assert.ok(body.value!.startsWith('Hi Support Team,\n\n Please find attached'));
    assert.equal(report.problems.filter((p) => p.code === 'configuration-file-missing').length, 2);
  });

  it('yatamcharishma: a project-parameter connection string in a .conmgr', async () => {
    const report = await inspect('yatamcharishma', 'MasterLoad_Template.dtsx', {
      params: [['$Project::SMTP_ConnectionString', 'SmtpServer=mail.test;EnableSsl=True;']] });
    const [cm] = report.connections;
    assert.deepEqual([cm!.name, cm!.origin, cm!.connectionString.source],
      ['SMTP', 'project', 'parameter']);
    assert.equal(cm!.connectionString.value, 'SmtpServer=mail.test;EnableSsl=True;');
    const failure = task(report, 'Package.EventHandlers[OnError]\\SDMT - Audit Send Mail on ' +
      'Failure (AUDIT)');
    assert.equal(values(failure).Priority, 'High');
    assert.equal(values(failure).MessageSource, 'MasterLoad_Template load failed. \n\n');
    const withError = await inspect('yatamcharishma', 'MasterLoad_Template.dtsx', {
      set: [['System::ErrorDescription', 'Login failed for user.']] });
    assert.equal(values(task(withError, failure.path)).MessageSource,
      'MasterLoad_Template load failed. \n\nLogin failed for user.');
  });

  it('americanag: SmtpServer expression, parent-variable configurations, an empty server',
    async () => {
      const report = await inspect('americanag', 'Send Email.dtsx', {
        set: [['User::_strSMTPServer', 'relay.test']] });
      assert.equal(report.connections[0]!.connectionString.value,
        'SmtpServer=relay.test;UseWindowsAuthentication=False;EnableSsl=False;');
      const parents = report.problems.filter((p) => p.code === 'configuration-not-applied');
      assert.equal(parents.length, 4);
      assert.ok(parents.some((p) => p.fix === 'Use --set User::_strSendEmailToLine=VALUE.'));

      const empty = await inspect('americanag', 'Send Email.dtsx', {
        set: [['User::_strSMTPServer', '']] });
      const problem = empty.problems.find((p) => p.code === 'empty-server')!;
      assert.equal(problem.where, 'connection manager "SMTP Connection Manager"');
    });

  it('masks parameter and variable values: sensitive ones whole, connection strings by key',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'smtpcm-inspect-'));
      try {
        await cp(corpus('yatamcharishma', '.'), dir, { recursive: true });
        const params = join(dir, 'Project.params');
        let text = await readFile(params, 'utf8');
        text = text.replace('SmtpServer=smtp3.example.com;UseWindowsAuthentication=False;' +
          'EnableSsl=False;', 'SmtpServer=h;UserName=u;Password=CANARY-PW-123;');
        // The second parameter, OperationalDataStore_ConnectionString, made sensitive.
        const at = text.indexOf('"Sensitive">0', text.indexOf('"Sensitive">0') + 1);
        text = `${text.slice(0, at)}"Sensitive">1${text.slice(at + '"Sensitive">0'.length)}`;
        await writeFile(params, text);
        const file = join(dir, 'MasterLoad_Template.dtsx');
        await writeFile(file, (await readFile(file, 'utf8')).replace('<DTS:Variables>',
          '<DTS:Variables><DTS:Variable DTS:CreationName="" DTS:Namespace="User" ' +
          'DTS:DTSID="{00000000-0000-0000-0000-000000000001}" DTS:ObjectName="Ods" ' +
          'DTS:EvaluateAsExpression="True" ' +
          'DTS:Expression="@[$Project::OperationalDataStore_ConnectionString]">' +
          '<DTS:VariableValue DTS:DataType="8">saved</DTS:VariableValue></DTS:Variable>' +
          // Chained: a variable that reads Ods without its namespace, and one reading that.
          '<DTS:Variable DTS:CreationName="" DTS:Namespace="User" ' +
          'DTS:DTSID="{00000000-0000-0000-0000-000000000002}" DTS:ObjectName="OdsCopy" ' +
          'DTS:EvaluateAsExpression="True" DTS:Expression="&quot;x&quot; + @Ods">' +
          '<DTS:VariableValue DTS:DataType="8">saved</DTS:VariableValue></DTS:Variable>' +
          '<DTS:Variable DTS:CreationName="" DTS:Namespace="User" ' +
          'DTS:DTSID="{00000000-0000-0000-0000-000000000003}" DTS:ObjectName="OdsCopy2" ' +
          'DTS:EvaluateAsExpression="True" DTS:Expression="@[User::OdsCopy]">' +
          '<DTS:VariableValue DTS:DataType="8">saved</DTS:VariableValue></DTS:Variable>')
          .replace('<DTS:Variables />', '<DTS:Variables>' + ['Inner1', 'Inner2'].map((name, i) =>
            '<DTS:Variable DTS:CreationName="" DTS:Namespace="User" ' +
            `DTS:DTSID="{00000000-0000-0000-0000-00000000001${i}}" DTS:ObjectName="${name}" ` +
            'DTS:EvaluateAsExpression="True" DTS:Expression="' + (i === 0
              ? '@[$Project::OperationalDataStore_ConnectionString]' : '@[User::Inner1]') +
            '"><DTS:VariableValue DTS:DataType="8">saved</DTS:VariableValue></DTS:Variable>')
            .join('') + '</DTS:Variables>'));
        const report = inspectPackage(await loadPackage(file, { overrides: {
          set: [['User::PackageStatus', 'Server=db;User ID=sa;Password=CANARY-PW-123']] } }));
        const parameter = (name: string) => report.parameters.find((p) => p.name === name);
        const variable = (name: string) => report.variables.find((v) => v.name === name);
        assert.equal(parameter('$Project::SMTP_ConnectionString')!.value,
          'SmtpServer=h;UserName=u;Password=********;');
        assert.equal(parameter('$Project::OperationalDataStore_ConnectionString')!.value,
          '********');
        assert.deepEqual(variable('User::PackageStatus'), { name: 'User::PackageStatus',
          container: 'Package', type: 'DT_WSTR', value: 'Server=********;User ID=********;' +
          'Password=********', source: 'override' });
        assert.deepEqual(variable('User::Ods'), { name: 'User::Ods', container: 'Package',
          type: 'DT_WSTR', value: '********', source: 'expression',
          expression: '@[$Project::OperationalDataStore_ConnectionString]' });
        assert.equal(variable('User::OdsCopy')!.value, '********');
        // In a container: one reading the parameter, and one reading that one.
        const inner = report.variables.filter((v) => v.name.startsWith('User::Inner'));
        assert.deepEqual(inner.map((v) => [v.name, v.value]),
          [['User::Inner1', '********'], ['User::Inner2', '********']]);
        assert.equal(variable('User::OdsCopy2')!.value, '********');
        assert.deepEqual(variable('User::ErrorCount'), { name: 'User::ErrorCount',
          container: 'Package', type: 'DT_I4', value: '0', source: 'literal' });
        const json = JSON.stringify(report);
        assert.equal(json.includes('CANARY'), false);
        assert.equal(json.includes('wcssrv0270'), false);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

  it('masks passwords in connection strings given on the command line', async () => {
    const report = await inspect('lucmilot', 'SendMailTask.dtsx', { connections: [[
      'SMTP Connection Manager', 'SmtpServer=127.0.0.1;UserName=a;Password=Sw0rdfish;']] });
    const text = JSON.stringify(report);
    assert.equal(text.includes('Sw0rdfish'), false);
    assert.equal(report.connections[0]!.connectionString.value,
      'SmtpServer=127.0.0.1;UserName=a;Password=********;');
  });
});
