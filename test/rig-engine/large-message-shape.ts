/** The shape of the 50 MB test message, shared by the test and its client process. */

/** Lines starting with dots, a lone dot, bare LF, bare CR and CRLF; ends with a LF. */
export const largeMessageBlock =
  '.starts with one dot\n' +
  '..starts with two dots\r\n' +
  '.\n' +
  'bare CR ends this line\r' +
  '.dot after a bare CR\r' +
  'CRLF line\r\n' +
  `${'0123456789abcdef'.repeat(8)}\n`;

export function largeMessageHeader(token: string): string {
  return `From: <alice@rig.test>\r\nTo: <bob@rig.test>\r\nSubject: large ${token}\r\n\r\n`;
}
