/**
 * Send Mail tasks bound to one connection manager, as the tests against in-process servers
 * build them: the task's defaults once, each test's properties on top.
 */
import type { SmtpConnectionManager } from '../../src/connection/connection-manager.js';
import { SendMailTask, type SendMailTaskProperties } from '../../src/tasks/send-mail-task.js';

/** A factory of tasks that find `connection` by its name and read files under `baseDir`. */
export function tasksThrough(
  connection: SmtpConnectionManager,
  baseDir: string,
  defaults: Omit<SendMailTaskProperties, 'smtpConnection'>,
): (props: Partial<SendMailTaskProperties>) => SendMailTask {
  const connections = {
    get: (name: string) => (name === connection.name ? connection : undefined),
  };
  return (props) => new SendMailTask(
    { smtpConnection: connection.name, ...defaults, ...props },
    { connections, baseDir },
  );
}
