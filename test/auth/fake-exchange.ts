/**
 * A scripted `SaslExchange` for the AUTH loop tests: it plays one reply per line the
 * client sends and records every line with its `secret` flag.
 */
import type { SaslExchange } from '../../src/auth/mechanism.js';
import type { EnhancedStatusCode, SmtpReply } from '../../src/protocol/reply.js';

/** `reply('535 5.7.8 Authentication failed')` as the reply parser would give it. */
export function reply(text: string): SmtpReply {
  const match = /^(\d{3})(?: (.*))?$/.exec(text);
  if (!match) throw new Error(`not a reply: ${text}`);
  const code = Number(match[1]);
  let rest = match[2] ?? '';
  let enhancedCode: EnhancedStatusCode | undefined;
  const enhanced = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)(.*)$/.exec(rest);
  if (enhanced && code !== 334) {
    enhancedCode = {
      class: Number(enhanced[1]) as 2 | 4 | 5,
      subject: Number(enhanced[2]),
      detail: Number(enhanced[3]),
    };
    rest = enhanced[4]!;
  }
  return enhancedCode ? { code, enhancedCode, lines: [rest] } : { code, lines: [rest] };
}

/** A 334 challenge carrying `data` (base64-encoded here). */
export function challenge(data: string | Buffer): SmtpReply {
  return { code: 334, lines: [Buffer.from(data).toString('base64')] };
}

export type ScriptStep = SmtpReply | ((line: string) => SmtpReply);

export class ScriptedExchange implements SaslExchange {
  readonly sent: Array<{ line: string; secret: boolean }> = [];
  readonly #script: ScriptStep[];

  constructor(script: ScriptStep[]) {
    this.#script = [...script];
  }

  /** The lines sent, as text. */
  get lines(): string[] {
    return this.sent.map((entry) => entry.line);
  }

  get remaining(): number {
    return this.#script.length;
  }

  async command(line: string, options: { secret: boolean }): Promise<SmtpReply> {
    this.sent.push({ line, secret: options.secret });
    const step = this.#script.shift();
    if (step === undefined) throw new Error(`the script has no reply for "${line}"`);
    return typeof step === 'function' ? step(line) : step;
  }
}

/** The base64 argument of an AUTH line or a response line, decoded as UTF-8. */
export function decodeLine(line: string): string {
  const parts = line.split(' ');
  return Buffer.from(parts[parts.length - 1]!, 'base64').toString('utf8');
}
