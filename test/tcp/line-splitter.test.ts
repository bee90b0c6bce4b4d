import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LineSplitter } from '../../src/tcp/line-splitter.ts';

function splitter(max: number) {
  const lines: string[] = [];
  const s = new LineSplitter(max, (line) => lines.push(line.toString()));
  return { s, lines };
}

describe('LineSplitter', () => {
  test('push() - hands out every complete line of a chunk in order and keeps the rest', () => {
    const { s, lines } = splitter(100);
    assert.equal(s.push(Buffer.from('a\nbb\ncc')), 'ok');
    assert.deepEqual(lines, ['a', 'bb']);
    assert.equal(s.pending, 2);
    assert.equal(s.push(Buffer.from('c\n')), 'ok');
    assert.deepEqual(lines, ['a', 'bb', 'ccc']);
    assert.equal(s.pending, 0);
  });

  test('push() - joins a line spread over many chunks, including a split multi-byte character', () => {
    const { s, lines } = splitter(100);
    const bytes = Buffer.from('héllo 世界\n');
    for (const byte of bytes) s.push(Buffer.from([byte]));
    assert.deepEqual(lines, ['héllo 世界']);
  });

  test('push() - drops one \\r before \\n, keeps other \\r, and hands out empty lines', () => {
    const { s, lines } = splitter(100);
    s.push(Buffer.from('a\r\n\r\n\nb\r\r\nc\r'));
    s.push(Buffer.from('\n'));
    assert.deepEqual(lines, ['a', '', '', 'b\r', 'c']);
  });

  test('push() - a line of exactly maxLineLength passes (a \\r not counted); one more byte is too long', () => {
    const { s, lines } = splitter(3);
    assert.equal(s.push(Buffer.from('abc\r\nab')), 'ok');
    assert.equal(s.push(Buffer.from('c\r\n')), 'ok');
    assert.deepEqual(lines, ['abc', 'abc']);
    assert.equal(s.push(Buffer.from('abcd\n')), 'too-long');
    assert.equal(s.push(Buffer.from('x\n')), 'stopped');
    assert.deepEqual(lines, ['abc', 'abc']);
  });

  test('push() - an unterminated line is refused as soon as it passes the limit, holding at most limit + 1 bytes', () => {
    const { s } = splitter(4);
    assert.equal(s.push(Buffer.from('abcd\r')), 'ok');
    assert.equal(s.pending, 5);
    assert.equal(s.push(Buffer.from('e')), 'too-long');
    assert.equal(s.pending, 0);
  });

  test('stop() - called from the line callback, stops the rest of the chunk', () => {
    const lines: string[] = [];
    const s: LineSplitter = new LineSplitter(10, (line) => {
      lines.push(line.toString());
      if (line.toString() === 'quit') s.stop();
    });
    assert.equal(s.push(Buffer.from('a\nquit\nb\n')), 'stopped');
    assert.deepEqual(lines, ['a', 'quit']);
  });
});
