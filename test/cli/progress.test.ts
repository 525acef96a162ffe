import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgress } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { written: string[] } {
  const written: string[] = [];
  return {
    isTTY,
    written,
    write(text: string) {
      written.push(text);
      return true;
    },
  } as unknown as NodeJS.WriteStream & { written: string[] };
}

describe('progress line', () => {
  it('is off when stderr is not a terminal', () => {
    assert.equal(createProgress(fakeStream(false)), undefined);
  });

  it('stays silent for small messages, then rewrites one line and clears it', () => {
    const stream = fakeStream(true);
    const progress = createProgress(stream)!;
    progress.update(1000);
    assert.deepEqual(stream.written, []);
    progress.update(5 * 1024 * 1024);
    assert.equal(stream.written.length, 1);
    const line = String(stream.written[0]);
    assert.match(line, /^\r\x1b\[Ksending: 5\.0 MiB/);
    assert.ok(!line.includes('\n'), 'rewritten in place, never scrolls');
    progress.done();
    assert.equal(stream.written.at(-1), '\r\x1b[K');
    progress.done();
    assert.equal(stream.written.length, 2, 'done twice clears once');
  });
});
