import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDownloadStore } from '../../src/download/store.ts';

const item = (url: string, name: string, line: number) => ({ url, line, name, expectedSha256: null, named: false });

test('SqliteDownloadStore - collisions get a stable suffix in input order, case-insensitively', () => {
  using store = SqliteDownloadStore.open(':memory:');
  store.startRun();
  const names = ['a.bin', 'A.bin', 'a.bin', 'b.bin'].map((n, i) => store.add(item(`http://h/${i}`, n, i + 1)).record.name);
  assert.deepEqual(names, ['a.bin', 'A (2).bin', 'a (3).bin', 'b.bin']);
  assert.equal(store.rename(4, 'a.bin'), 'a (4).bin');
  assert.equal(store.rename(1, 'a.bin'), 'a.bin', 'a record may take back its own name');
});

test('SqliteDownloadStore - a reopened job keeps names and states; done rows are skipped in the next run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-store-'));
  try {
    const path = join(dir, 'state.sqlite');
    {
      using store = SqliteDownloadStore.open(path);
      store.startRun();
      store.add(item('http://h/1', 'x.bin', 1));
      const second = store.add(item('http://h/2', 'x.bin', 2)).record;
      store.begin(second.id, { total: 10, etag: '"e"', lastModified: null });
      store.finish(1, { state: 'done', bytes: 5, sha256: 'ab', attempts: 1, error: null, ms: 3 });
      assert.equal(store.add(item('http://h/1', 'x.bin', 3)).duplicate, true, 'the same URL twice in one run');
      assert.deepEqual(store.totals(), { total: 2, done: 1, failed: 0, skipped: 0, pending: 1, bytes: 5 });
    }
    using store = SqliteDownloadStore.open(path);
    store.startRun();
    const first = store.add(item('http://h/1', 'other.bin', 1));
    const second = store.add(item('http://h/2', 'other.bin', 2));
    assert.equal(first.duplicate, false);
    assert.equal(first.record.name, 'x.bin');
    assert.equal(first.record.skipped, true);
    assert.equal(second.record.name, 'x (2).bin');
    assert.equal(second.record.state, 'active');
    assert.equal(second.record.etag, '"e"');
    assert.equal(store.totals().skipped, 1);
    assert.deepEqual([...store.records()].map((r) => r.url), ['http://h/1', 'http://h/2']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SqliteDownloadStore - list errors belong to their run', () => {
  using store = SqliteDownloadStore.open(':memory:');
  store.startRun();
  store.addListError({ line: 3, text: 'junk', error: 'not a URL' });
  assert.deepEqual([...store.listErrors()], [{ line: 3, text: 'junk', error: 'not a URL' }]);
  store.startRun();
  assert.deepEqual([...store.listErrors()], []);
});
