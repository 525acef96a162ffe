import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspectPackage } from '../../src/package/inspect.js';
import { loadPackage } from '../../src/package/load.js';
import { toPropertyString } from '../../src/package/expressions/index.js';
import { corpus, corpusSkipReason, repoRoot } from '../support/corpus.js';
import { ENVIRONMENT } from './helpers.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'dtsx');

describe('package configurations', { skip: corpusSkipReason }, () => {
  it('applies the XML configuration a package names, found in the project folder', async () => {
    // The package names C:\NHEligJobs\HAP_SSIS\HAP_H376_RE_CareRadius.dtsConfig; the file
    // of that name in the project folder is used.
    const loaded = await loadPackage(corpus('santhoshballa', 'HAP_H376_RE_CareRadius.dtsx'), {
      projectDir: join(fixtures, 'santhoshballa'), environment: ENVIRONMENT });
    assert.deepEqual(loaded.configurations.map((c) => [c.name, c.status, c.settings]),
      [['HAP_H376_RE_CareRadius', 'applied', 2]]);
    const report = inspectPackage(loaded);
    assert.deepEqual(report.connections.map((c) => [c.name, c.connectionString.value,
      c.connectionString.source]), [['SMTP Connection Manager',
      'SmtpServer=relay.internal.test;UseWindowsAuthentication=False;EnableSsl=True;Timeout=60;',
      'configuration']]);
    const variable = loaded.package.findVariable('User', 'EmailTo')!;
    assert.equal(toPropertyString(variable.value), 'alerts@example.com');
    assert.equal(variable.valueSource, 'configuration');
    const unknown = loaded.problems.find((p) => p.code === 'configuration-not-applied')!;
    assert.match(unknown.message, /User::NoSuchVariable/);
  });

  it('without the file, reports it missing and keeps the package values', async () => {
    const loaded = await loadPackage(corpus('santhoshballa', 'HAP_H376_RE_CareRadius.dtsx'), {
      environment: ENVIRONMENT });
    assert.equal(loaded.configurations[0]!.status, 'missing');
    const problem = loaded.problems.find((p) => p.code === 'configuration-file-missing')!;
    assert.match(problem.fix, /^Copy HAP_H376_RE_CareRadius\.dtsConfig into /);
    assert.equal(inspectPackage(loaded).connections[0]!.connectionString.value,
      'SmtpServer=smtp.office365.com;UseWindowsAuthentication=True;EnableSsl=False;Timeout=30;');
  });

  it('applies an extra .dtsConfig (dtexec /ConfigFile): a connection key and a task property',
    async () => {
      const loaded = await loadPackage(corpus('lucmilot', 'SendMailTask.dtsx'), {
        configFiles: [join(fixtures, 'smtp-override.dtsConfig')], environment: ENVIRONMENT });
      const report = inspectPackage(loaded);
      assert.equal(report.connections[0]!.connectionString.value,
        'SmtpServer=smtp.internal.test;UseWindowsAuthentication=True;EnableSsl=False;');
      const subject = report.tasks[0]!.properties.find((p) => p.name === 'Subject')!;
      assert.deepEqual([subject.value, subject.source, subject.literal],
        ['Configured subject', 'configuration', 'Test']);
    });

  it('--connection wins over the configuration and over expressions', async () => {
    const loaded = await loadPackage(corpus('dataalias', 'AzureFunction_pg_CallDataFactory.dtsx'), {
      overrides: { connections: [['smtp connection manager', 'SmtpServer=127.0.0.1;Port=2525;']] },
      environment: ENVIRONMENT });
    const [cm] = inspectPackage(loaded).connections;
    assert.deepEqual([cm!.connectionString.value, cm!.connectionString.source],
      ['SmtpServer=127.0.0.1;Port=2525;', 'override']);
  });

  it('refuses overrides that name nothing, listing what there is', async () => {
    await assert.rejects(loadPackage(corpus('lucmilot', 'SendMailTask.dtsx'), {
      overrides: { connections: [['Mail', 'SmtpServer=x;']] } }),
    /--connection Mail: names no connection manager\. The connection managers are: SMTP Conn/);
    await assert.rejects(loadPackage(corpus('dataalias', 'AzureFunction_pg_CallDataFactory.dtsx'), {
      overrides: { params: [['$Project::nope', '1']] } }), /--param \$Project::nope/);
    await assert.rejects(loadPackage(corpus('ranarauf', 'pkg_FDD_ETL_Traffic_Updates.dtsx'), {
      overrides: { set: [['User::blnDisableSendTo', 'maybe']] } }),
    /User::blnDisableSendTo: "maybe" is not a Boolean/);
  });
});
