import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { isListError, parseLine, parseList, type ListEntry } from '../../src/download/list.ts';

const hex = 'ab'.repeat(32);

test('parseLine() - URL, URL<TAB>name, URL<TAB>name<TAB>sha256', () => {
  assert.deepEqual(parseLine('http://h/a', 1), { url: 'http://h/a', line: 1 });
  assert.deepEqual(parseLine('http://h/a\tb.bin', 2), { url: 'http://h/a', name: 'b.bin', line: 2 });
  assert.deepEqual(parseLine(`http://h/a\t\tsha256:${hex.toUpperCase()}\r`, 3), { url: 'http://h/a', sha256: hex, line: 3 });
  assert.equal(parseLine('   ', 4), undefined);
  assert.equal(parseLine('# comment', 5), undefined);
});

test('parseLine() - a bad line is an error record with its line number and reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['not a url', /not a URL/],
    ['ftp://h/a', /not an http/],
    ['http://h/a\tn\tmd5:abc', /sha256/],
    [`http://h/a\tn\tsha256:${hex}\textra`, /at most 3/],
  ];
  for (const [text, reason] of cases) {
    const entry = parseLine(text, 9)!;
    assert.ok(isListError(entry), text);
    assert.equal(entry.line, 9);
    assert.match(entry.error, reason);
  }
});

test('parseList() - streams a list; bad lines are reported and the rest still come', async () => {
  const text = ['# urls', 'http://h/1', 'garbage', '', 'http://h/2\ttwo', 'mailto:x@y', 'http://h/3'].join('\n');
  const entries: ListEntry[] = [];
  for await (const e of parseList(Readable.from([text]))) entries.push(e);
  assert.deepEqual(entries.filter((e) => !isListError(e)).map((e) => (e as { url: string }).url), ['http://h/1', 'http://h/2', 'http://h/3']);
  assert.deepEqual(entries.filter(isListError).map((e) => e.line), [3, 6]);
});

test('parseList() - reads lazily: the input is pulled only as entries are consumed', async () => {
  const n = 1_000_000;
  let served = 0;
  const source = new Readable({
    highWaterMark: 16 * 1024,
    read() {
      if (served >= n) return void this.push(null);
      let chunk = '';
      for (let k = 0; k < 1000 && served < n; k++, served++) chunk += `http://h/f${served}\n`;
      this.push(chunk);
    },
  });
  let count = 0;
  for await (const _ of parseList(source)) {
    if (++count === 10) break;
  }
  // A list of a million lines is not read ahead: only a few buffers' worth were produced.
  assert.ok(served < 100_000, `served ${served} lines for 10 entries`);
  source.destroy();
});
