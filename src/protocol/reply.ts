/** Shared reply types. The parser that produces them lives in reply-parser.ts. */

/** An RFC 3463 enhanced status code such as 5.1.1, split into its parts. */
export interface EnhancedStatusCode {
  /** 2 success, 4 persistent transient failure, 5 permanent failure. */
  class: 2 | 4 | 5;
  subject: number;
  detail: number;
}

/** One complete SMTP reply (RFC 5321 §4.2), possibly multi-line. */
export interface SmtpReply {
  /** The three-digit reply code, the same on every line. */
  code: number;
  /** The enhanced status code of the first line, when the server sent one (RFC 2034). */
  enhancedCode?: EnhancedStatusCode;
  /** The text of each line, without the code, separator, enhanced code and CRLF. */
  lines: string[];
}

export function formatEnhancedCode(code: EnhancedStatusCode | undefined): string | undefined {
  return code ? `${code.class}.${code.subject}.${code.detail}` : undefined;
}

/** The reply as one line for messages: `550 5.1.1 User unknown`. */
export function formatReply(reply: SmtpReply): string {
  const enhanced = formatEnhancedCode(reply.enhancedCode);
  const text = reply.lines.join(' ').trim();
  return [String(reply.code), enhanced, text].filter((part) => part).join(' ');
}

export function isPositiveCompletion(reply: SmtpReply): boolean {
  return reply.code >= 200 && reply.code < 300;
}

export function isTransientFailure(reply: SmtpReply): boolean {
  return reply.code >= 400 && reply.code < 500;
}
