import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCrawlStore, type Discovery } from '../../src/crawl/store.ts';

const d = (url: string, depth: number, parent?: string): Discovery => ({ url, host: new URL(url).host, depth, parent, hops: 0 });

test('SqliteCrawlStore - claim() hands out queued rows shallowest first, then in insertion order', () => {
  using store = SqliteCrawlStore.open(':memory:');
  store.commit([], [d('http://a/2', 2), d('http://a/1', 1), d('http://a/0', 0), d('http://a/1b', 1)]);
  assert.deepEqual(store.claim(3).map((r) => r.url), ['http://a/0', 'http://a/1', 'http://a/1b']);
  assert.deepEqual(store.claim(10).map((r) => r.url), ['http://a/2']);
  assert.deepEqual(store.claim(10), []);
  assert.deepEqual(store.counts(), { queued: 0, inFlight: 4, done: 0, failed: 0, blocked: 0 });
});

test('SqliteCrawlStore - the visited set: a URL is admitted once; a queued one takes a smaller depth', () => {
  using store = SqliteCrawlStore.open(':memory:');
  assert.deepEqual(store.commit([], [d('http://a/x', 3), d('http://a/x', 4)]).inserted, [true, false]);
  assert.deepEqual(store.commit([], [d('http://a/x', 1, 'http://a/')]).inserted, [false]);
  const [row] = store.claim(1);
  assert.equal(row?.depth, 1);
  assert.equal(row?.parent, 'http://a/');
  // Once claimed, a row keeps its depth.
  store.commit([], [d('http://a/x', 0)]);
  assert.deepEqual(store.hostCounts(), new Map([['a', 1]]));
});

test('SqliteCrawlStore - commit() numbers records in order, and states move as asked', () => {
  using store = SqliteCrawlStore.open(':memory:');
  store.commit([], ['0', '1', '2', '3'].map((p) => d(`http://a/${p}`, 0)));
  const rows = store.claim(4);
  const result = store.commit(
    [
      { id: rows[0]!.id, state: 'done', record: '{"n":0}' },
      { id: rows[1]!.id, state: 'failed', record: '{"n":1}' },
      { id: rows[2]!.id, state: 'blocked' },
      { id: rows[3]!.id, state: 'queued' },
    ],
    [d('http://a/new', 1)],
  );
  assert.deepEqual(result.records, [{ seq: 1, record: '{"n":0}' }, { seq: 2, record: '{"n":1}' }]);
  assert.deepEqual(store.counts(), { queued: 2, inFlight: 0, done: 1, failed: 1, blocked: 1 });
  assert.deepEqual(store.records(1, 10), [{ seq: 2, record: '{"n":1}' }]);
  assert.equal(store.claim(5).find((r) => r.url === 'http://a/3')?.attempts, 2);
});

test('SqliteCrawlStore - a failing commit changes nothing', () => {
  using store = SqliteCrawlStore.open(':memory:');
  store.commit([], [d('http://a/0', 0)]);
  const [row] = store.claim(1);
  const bad = { url: {} as unknown as string, host: 'a', depth: 1, parent: undefined, hops: 0 };
  assert.throws(() => store.commit([{ id: row!.id, state: 'done', record: '{}' }], [d('http://a/1', 1), bad]));
  assert.deepEqual(store.counts(), { queued: 0, inFlight: 1, done: 0, failed: 0, blocked: 0 });
  assert.deepEqual(store.records(0, 10), []);
  // The sequence is not burnt by the failed commit.
  assert.deepEqual(store.commit([{ id: row!.id, state: 'done', record: '{}' }], []).records, [{ seq: 1, record: '{}' }]);
});

test('SqliteCrawlStore - reopened, in-flight rows go back to the queue and the sequence continues', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-store-'));
  try {
    const path = join(dir, 'crawl.sqlite');
    const a = SqliteCrawlStore.open(path);
    a.commit([], [d('http://a/0', 0), d('http://a/1', 0)]);
    const rows = a.claim(2);
    a.commit([{ id: rows[0]!.id, state: 'done', record: '{}' }], []);
    a.setMeta({ k: 'v' });
    a.close();
    const b = SqliteCrawlStore.open(path);
    assert.equal(b.recover(), 1);
    assert.equal(b.getMeta('k'), 'v');
    const again = b.claim(5);
    assert.deepEqual(again.map((r) => r.url), ['http://a/1']);
    assert.deepEqual(b.commit([{ id: again[0]!.id, state: 'done', record: '{}' }], []).records.map((r) => r.seq), [2]);
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
