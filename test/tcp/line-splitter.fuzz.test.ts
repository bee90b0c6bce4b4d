// Fuzz: the line splitter against any bytes cut into any chunks — the lines are those of the
// whole stream, however it arrives, and nothing is lost at the end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LineSplitter } from '../../src/tcp/line-splitter.ts';
import { fuzz } from '../helpers/fuzz.ts';

const byte = fc.oneof(fc.constantFrom(10, 13, 0, 0xe2, 0x82, 0xac), fc.integer({ min: 0, max: 255 }));
const stream = fc.array(byte, { maxLength: 300 }).map((a) => Buffer.from(a));

/** The reference: split the whole stream on \n, drop one \r before each \n; the rest is the tail. */
function reference(bytes: Buffer): { lines: string[]; tail: string | undefined } {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, start)) {
    let line = bytes.subarray(start, i);
    if (line.at(-1) === 13) line = line.subarray(0, -1);
    parts.push(line);
    start = i + 1;
  }
  let tail: Buffer | undefined = start < bytes.length ? bytes.subarray(start) : undefined;
  if (tail?.at(-1) === 13) tail = tail.subarray(0, -1);
  return { lines: parts.map((p) => p.toString('hex')), tail: tail?.toString('hex') };
}

test('LineSplitter (fuzz) - any bytes in any chunks: the lines of the whole stream, then the unterminated tail', () => {
  fc.assert(
    fc.property(stream, fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 8 }), (bytes, cuts) => {
      const lines: string[] = [];
      const splitter = new LineSplitter(1024, (line) => lines.push(Buffer.from(line).toString('hex')));
      const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
      let prev = 0;
      for (const p of [...points, bytes.length]) {
        assert.equal(splitter.push(bytes.subarray(prev, p)), 'ok');
        prev = p;
      }
      const expected = reference(bytes);
      assert.deepEqual(lines, expected.lines);
      assert.equal(splitter.end()?.toString('hex'), expected.tail);
    }),
    fuzz(2),
  );
});

test('LineSplitter (fuzz) - a line over the limit is reported, never handed out', () => {
  fc.assert(
    fc.property(stream, fc.integer({ min: 1, max: 40 }), (bytes, max) => {
      const lines: Buffer[] = [];
      const splitter = new LineSplitter(max, (line) => lines.push(line));
      const result = splitter.push(bytes);
      assert.ok(['ok', 'too-long'].includes(result));
      for (const line of lines) assert.ok(line.length <= max);
      assert.ok(splitter.pending <= max + 1);
    }),
    fuzz(2),
  );
});
