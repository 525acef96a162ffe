/** Human-readable rendering of the connection manager's test-connection report. */
import type { TestConnectionReport } from '../connection/connection-manager.js';
import { formatEndpoint } from '../errors.js';
import { tidy } from './output.js';

/** The report as lines for a terminal: steps with timings, TLS, extensions, the outcome. */
export function formatTestReport(report: TestConnectionReport): string {
  const lines: string[] = [];
  lines.push(`Connection "${report.connection.name}": ${report.connection.connectionString}`);
  if (report.server) {
    const address = report.resolvedAddress ? ` (${report.resolvedAddress})` : '';
    const { host, port, secure } = report.server;
    lines.push(`Server: ${tidy(formatEndpoint(host, port))}${address}, ${secure}`);
  }
  for (const step of report.steps) {
    const detail = step.detail ? `  ${step.detail}` : '';
    const mark = step.ok ? 'ok  ' : 'FAIL';
    lines.push(`  ${mark} ${step.name.padEnd(14)} ${step.durationMs} ms${detail}`);
  }
  if (report.greeting) {
    lines.push(`Greeting: ${report.greeting}`);
  }
  if (report.tls) {
    const cert = report.tls.certificate;
    lines.push(
      `TLS: ${report.tls.protocol} ${report.tls.cipher}, certificate ` +
        `${report.tls.verified ? 'verified' : 'NOT verified'}` +
        (cert ? ` (subject ${cert.subject}, issuer ${cert.issuer}, until ${cert.validTo})` : ''),
    );
  }
  if (report.extensions.length > 0) {
    lines.push(`Extensions: ${report.extensions.join(', ')}`);
  }
  // No mechanism: the session had no login (anonymous), or failed at, before (configuration,
  // resolve, connect...) or after it (quit).
  const afterLogin = ['quit'];
  const login = report.mechanism ?? (report.failedStep === 'auth' ? 'none (the login failed)'
    : !report.success && !afterLogin.includes(report.failedStep ?? '') ? 'none (not reached)'
      : 'no authentication');
  lines.push(`Logged in with: ${login}`);
  if (report.success) {
    lines.push(`Success in ${report.totalMs} ms.`);
  } else {
    const message = report.error?.message ?? '';
    // A ConfigurationError's message already ends with its fix.
    const fix = report.error?.fix && !message.trimEnd().endsWith(report.error.fix.trimEnd())
      ? ` ${tidy(report.error.fix)}` : '';
    const step = report.failedStep ?? 'an unknown step';
    lines.push(`Failed at ${step}: ${tidy(message)}${fix}`);
  }
  return `${lines.join('\n')}\n`;
}
