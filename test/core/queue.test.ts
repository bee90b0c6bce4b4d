import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deque } from '../../src/core/deque.ts';
import { Queue, type QueueStorage } from '../../src/core/queue.ts';
import { queueConformance, turn } from './queue-conformance.ts';

queueConformance('Queue', (options) => new Queue<number>(options));

test('Queue - items come out in the order they were put', async () => {
  const q = new Queue<number>();
  for (let i = 0; i < 100; i++) await q.put(i);
  const out: number[] = [];
  while (!q.empty()) out.push(await q.get());
  assert.deepEqual(out, Array.from({ length: 100 }, (_, i) => i));
});

test('Queue - items of blocked putters keep their order behind the queued ones', async () => {
  const q = new Queue<string>({ maxsize: 2 });
  await q.put('a');
  await q.put('b');
  const puts = [q.put('c'), q.put('d')];
  const out: string[] = [];
  for (let i = 0; i < 4; i++) out.push(await q.get());
  await Promise.all(puts);
  assert.deepEqual(out, ['a', 'b', 'c', 'd']);
});

test('Queue - defaults: unbounded, empty, nothing waiting', () => {
  const q = new Queue<number>();
  assert.equal(q.maxsize, Infinity);
  assert.equal(q.full(), false);
  assert.equal(q.empty(), true);
  assert.deepEqual(q.stats(), { size: 0, maxsize: Infinity, getters: 0, putters: 0, joiners: 0, unfinished: 0, shutDown: false });
});

test('Queue - a storage passed to the constructor decides the order', async () => {
  // Newest first, via the Deque's pop.
  class Newest<T> implements QueueStorage<T> {
    readonly #d = new Deque<T>();
    get length() { return this.#d.length; }
    push(item: T) { this.#d.push(item); }
    shift() { return this.#d.pop(); }
    clear() { this.#d.clear(); }
  }
  const q = new Queue<number>({}, new Newest<number>());
  q.putNowait(1);
  q.putNowait(2);
  assert.equal(await q.get(), 2);
});

test('Queue - a storage that throws on push rejects the put and counts nothing', async () => {
  const q = new Queue<number>({}, {
    length: 0,
    push() { throw new Error('disk full'); },
    shift() { return undefined; },
    clear() {},
  });
  await assert.rejects(q.put(1), /disk full/);
  assert.equal(q.stats().unfinished, 0);
});

test('Queue - one producer, many consumers: every item delivered once, in put order per getter turn', async () => {
  const q = new Queue<number>({ maxsize: 10 });
  const n = 20_000;
  const seen = new Uint8Array(n);
  let last = -1;
  let ordered = true;
  const consumers = Array.from({ length: 10 }, async () => {
    for await (const item of q) {
      if (item < last) ordered = false;
      last = item;
      seen[item]!++;
      q.taskDone();
    }
  });
  for (let i = 0; i < n; i++) await q.put(i);
  await q.join();
  q.shutdown();
  await Promise.all(consumers);
  assert.ok(seen.every((c) => c === 1));
  assert.ok(ordered, 'consumers take items in FIFO order');
  await turn();
});
