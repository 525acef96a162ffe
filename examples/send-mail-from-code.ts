/**
 * A Send Mail task from code: a connection manager, a task with SSIS properties, a result for
 * every recipient. It sends to the embedded capture server, so it runs anywhere:
 *
 *   node --import tsx examples/send-mail-from-code.ts
 *
 * In an application, import the same names from 'smtpcm' and point the connection string at
 * a real server, e.g. `SmtpServer=smtp.example.com;Port=587;EnableSsl=True;UserName=robot;
 * Password=env:SMTP_PASSWORD;`.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCaptureServer } from '../src/capture/capture-server.js';
import { SmtpConnectionManager } from '../src/connection/connection-manager.js';
import { SendMailTask, type SendMailResult } from '../src/tasks/send-mail-task.js';

/** Sends one message and returns the result and the captured file. */
export async function main(): Promise<{ result: SendMailResult; captured: string }> {
  const server = await startCaptureServer({ dir: await mkdtemp(join(tmpdir(), 'smtpcm-ex-')) });
  const connection = new SmtpConnectionManager({
    name: 'Local relay',
    connectionString: `SmtpServer=127.0.0.1;Port=${server.port};EnableSsl=False;`,
  });
  try {
    const task = new SendMailTask(
      {
        smtpConnection: 'Local relay',
        fromLine: 'ETL <etl@example.com>',
        toLine: 'Data Team <data@example.com>; ops@example.com',
        bccLine: 'archive@example.com',
        subject: 'Load finished: 1 204 rows',
        messageSourceType: 'Variable',
        messageSource: 'User::Summary',
        priority: 'Low',
        htmlBody: '<p>Load finished: <b>1 204</b> rows.</p>',
      },
      {
        connections: { get: (name) => (name === connection.name ? connection : undefined) },
        variables: new Map([['User::Summary', 'Load finished: 1 204 rows.']]),
      },
    );
    const result = await task.execute();
    return { result, captured: server.messages[0]!.path };
  } finally {
    await connection.close();
    await server.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { result, captured } = await main();
  for (const r of result.recipients) {
    console.log(`${r.status.padEnd(8)} ${r.recipient}`);
  }
  console.log(`Message ${result.messageId} captured in ${captured}`);
}
