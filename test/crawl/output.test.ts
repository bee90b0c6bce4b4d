import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlOutput } from '../../src/crawl/output.ts';
import { SqliteCrawlStore } from '../../src/crawl/store.ts';

function finish(store: SqliteCrawlStore, names: string[]) {
  store.commit([], names.map((n) => ({ url: `http://a/${n}`, host: 'a', depth: 0, parent: undefined, hops: 0 })));
  const rows = store.claim(names.length);
  return store.commit(rows.map((r) => ({ id: r.id, state: 'done' as const, record: JSON.stringify({ url: r.url }) })), []).records;
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { url: string }).url);
}

test('JsonlOutput - appends committed records, and a reopen catches up with what it missed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-out-'));
  try {
    using store = SqliteCrawlStore.open(':memory:');
    const path = join(dir, 'out.jsonl');
    const out = JsonlOutput.open(store, path);
    out.append(finish(store, ['a', 'b']));
    out.append(finish(store, ['c']));
    out.close();
    finish(store, ['d']);
    JsonlOutput.open(store, path).close();
    assert.deepEqual(lines(path), ['http://a/a', 'http://a/b', 'http://a/c', 'http://a/d']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JsonlOutput - lines written after the last mark (a crash before it was saved) are cut and written once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-out-'));
  try {
    using store = SqliteCrawlStore.open(':memory:');
    const path = join(dir, 'out.jsonl');
    const out = JsonlOutput.open(store, path);
    out.append(finish(store, ['a']));
    out.close();
    // As if the process died after writing these lines but before the mark moved.
    finish(store, ['b']);
    appendFileSync(path, '{"url":"http://a/b"}\n{"url":"http://a/partial');
    JsonlOutput.open(store, path).close();
    assert.deepEqual(lines(path), ['http://a/a', 'http://a/b']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JsonlOutput - another path, or a file shorter than the mark, is written from the start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-out-'));
  try {
    using store = SqliteCrawlStore.open(':memory:');
    const first = join(dir, 'one.jsonl');
    JsonlOutput.open(store, first).append(finish(store, ['a', 'b']));
    const second = join(dir, 'two.jsonl');
    JsonlOutput.open(store, second).close();
    assert.deepEqual(lines(second), ['http://a/a', 'http://a/b']);
    writeFileSync(second, '');
    JsonlOutput.open(store, second).close();
    assert.deepEqual(lines(second), ['http://a/a', 'http://a/b']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
