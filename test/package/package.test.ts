import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Connections } from '../../src/package/connections.js';
import { inspectPackage } from '../../src/package/inspect.js';
import { loadPackage } from '../../src/package/load.js';
import { controlFlowOrder } from '../../src/package/tasks.js';
import { repoRoot } from '../support/corpus.js';
import { ENVIRONMENT } from './helpers.js';

const fixture = join(repoRoot, 'test', 'fixtures', 'dtsx', 'order-and-errors.dtsx');

describe('Package model', () => {
  after(() => { delete process.env.SMTPCM_FIXTURE_TO; });

  it('orders the control flow by precedence constraints, not document order', async () => {
    const { package: pkg } = await loadPackage(fixture, { environment: ENVIRONMENT });
    const steps = controlFlowOrder(pkg, pkg.node('Package')!);
    assert.deepEqual(steps.map((s) => s.node.name), ['Third party', 'First', 'Last']);
    assert.deepEqual(steps.map((s) => s.after), [[], ['if fails: "Third party"'],
      ['after "First"']]);
  });

  it('reports an expression type error quoting the construct and its position', async () => {
    const report = inspectPackage(await loadPackage(fixture, { environment: ENVIRONMENT }));
    const last = report.tasks.find((t) => t.name === 'Last')!;
    const subject = last.properties.find((p) => p.name === 'Subject')!;
    assert.equal(subject.value, undefined);
    const problem = report.problems.find((p) => p.code === 'expression-error')!;
    assert.equal(problem.where, 'task "Package\\Last"');
    // SSIS: "+" does not mix DT_WSTR and DT_I4 without a cast.
    assert.match(problem.message, /^The Subject expression cannot be evaluated: .*position \d+/);
    assert.match(problem.message, /DT_WSTR|DT_I4/);
  });

  it('finds connection managers by DTSID in any case and by name; never takes a look-alike',
    async () => {
      const report = inspectPackage(await loadPackage(fixture, { environment: ENVIRONMENT }));
      const byName = Object.fromEntries(report.tasks.map((t) => [t.name, t.connection]));
      assert.deepEqual(byName, { 'Last': 'Mail', 'First': 'Mail', 'Third party': undefined });
      assert.deepEqual(report.connections.map((c) => c.name), ['Mail']);
      const lookAlike = report.problems.find((p) => p.code === 'not-smtp-connection')!;
      assert.match(lookAlike.message, /"Look-alike", a SMTP \(KingswaySoft\) connection manager/);
    });

  it('applies an environment-variable configuration (type 2); System variables', async () => {
    process.env.SMTPCM_FIXTURE_TO = 'night-shift@example.com';
    const loaded = await loadPackage(fixture, { environment: ENVIRONMENT });
    assert.deepEqual(loaded.configurations.map((c) => [c.typeName, c.status]),
      [['Environment variable', 'applied']]);
    const first = inspectPackage(loaded).tasks.find((t) => t.name === 'First')!;
    const values = Object.fromEntries(first.properties.map((p) => [p.name, p.value]));
    assert.equal(values.ToLine, 'night-shift@example.com');
    assert.equal(values.Subject, 'Version 2.17');
    // A bare @UserName is looked up in User, then System.
    const value = loaded.package.evaluate('@[System::MachineName] + "|" + @UserName');
    assert.deepEqual([value.type, value.value], ['DT_WSTR', 'DEVPC01|EXAMPLE\\developer1']);
  });

  it('a container with DisableEventHandlers runs none of its handlers\' tasks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtpcm-dtsx-handlers-'));
    try {
      const file = join(dir, 'handlers.dtsx');
      await writeFile(file, `<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts" DTS:refId="Package"
  DTS:ObjectName="Handlers" DTS:DTSID="{22222222-0000-0000-0000-000000000001}"
  DTS:ExecutableType="Microsoft.Package">
  <DTS:Property DTS:Name="PackageFormatVersion">8</DTS:Property>
  <DTS:Executables>
    <DTS:Executable DTS:refId="Package\\Load" DTS:ObjectName="Load" DTS:DisableEventHandlers="True"
      DTS:DTSID="{22222222-0000-0000-0000-000000000002}" DTS:ExecutableType="STOCK:SEQUENCE">
      <DTS:EventHandlers>
        <DTS:EventHandler DTS:refId="Package\\Load.EventHandlers[OnError]" DTS:EventName="OnError"
          DTS:DTSID="{22222222-0000-0000-0000-000000000003}">
          <DTS:Executables>
            <DTS:Executable DTS:refId="Package\\Load.EventHandlers[OnError]\\Alert"
              DTS:ObjectName="Alert" DTS:ExecutableType="Microsoft.SendMailTask"
              DTS:DTSID="{22222222-0000-0000-0000-000000000004}" />
          </DTS:Executables>
        </DTS:EventHandler>
      </DTS:EventHandlers>
    </DTS:Executable>
  </DTS:Executables>
</DTS:Executable>`);
      const [alert] = inspectPackage(await loadPackage(file, { environment: ENVIRONMENT })).tasks;
      assert.deepEqual([alert!.path, alert!.enabled, alert!.disabledBy], [
        'Package\\Load.EventHandlers[OnError]\\Alert', false,
        'DisableEventHandlers is set on "Package\\Load"']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Connections.add("SMTP") names and identifies a new manager as SSIS does', () => {
    const connections = new Connections();
    const first = connections.add('SMTP');
    const second = connections.add('SMTP');
    assert.deepEqual([first.name, second.name],
      ['SMTP Connection Manager', 'SMTP Connection Manager 1']);
    assert.match(first.id, /^\{[0-9A-F-]{36}\}$/);
    first.connectionString = 'SmtpServer=smtp.example.com;';
    assert.equal(connections.get(first.id.toLowerCase()), first);
    assert.equal(connections.get('smtp connection manager 1'), second);
    assert.equal(first.isSmtp, true);
    assert.deepEqual([...connections].length, 2);
  });
});
