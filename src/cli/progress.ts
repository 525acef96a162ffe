/**
 * A progress line on stderr for long sends, only when stderr is a terminal: the line is
 * rewritten in place at most four times a second and cleared when the send ends.
 */

export interface Progress {
  /** Shows a fixed note until the first byte count (a long recipient list, say). */
  note(text: string): void;
  /** Octets of the message produced so far. */
  update(bytes: number): void;
  /** Clears the line. Safe to call twice. */
  done(): void;
}

const INTERVAL_MS = 250;
// Small messages finish before anyone could read a progress line.
const THRESHOLD_BYTES = 1024 * 1024;

/** A progress line writer, or undefined when stderr is not a terminal. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY) {
    return undefined;
  }
  let last = 0;
  let shown = false;
  return {
    note(text) {
      shown = true;
      stream.write(`\r\x1b[K${text}`);
    },
    update(bytes) {
      const now = Date.now();
      if (bytes < THRESHOLD_BYTES || now - last < INTERVAL_MS) {
        return;
      }
      last = now;
      shown = true;
      stream.write(`\r\x1b[Ksending: ${(bytes / (1024 * 1024)).toFixed(1)} MiB of message data`);
    },
    done() {
      if (shown) {
        stream.write('\r\x1b[K');
        shown = false;
      }
    },
  };
}
