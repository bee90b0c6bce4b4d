import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifoQueue } from '../../src/core/lifo-queue.ts';
import { Queue } from '../../src/core/queue.ts';
import { queueConformance } from './queue-conformance.ts';

queueConformance('LifoQueue', (options) => new LifoQueue<number>(options));

test('LifoQueue - the item put last comes out first', async () => {
  const q = new LifoQueue<number>();
  for (let i = 0; i < 5; i++) await q.put(i);
  const out: number[] = [];
  while (!q.empty()) out.push(await q.get());
  assert.deepEqual(out, [4, 3, 2, 1, 0]);
});

test('LifoQueue - a blocked putter admitted when a slot frees goes on top', async () => {
  const q = new LifoQueue<string>({ maxsize: 2 });
  q.putNowait('a');
  q.putNowait('b');
  const blocked = q.put('c');
  assert.equal(q.getNowait(), 'b');
  await blocked;
  assert.deepEqual([q.getNowait(), q.getNowait()], ['c', 'a']);
});

test('LifoQueue - shutdown({ immediate }) drops the whole stack', () => {
  const q = new LifoQueue<number>();
  q.putNowait(1);
  q.putNowait(2);
  q.shutdown({ immediate: true });
  assert.equal(q.size, 0);
  assert.equal(q.stats().unfinished, 0);
});

test('LifoQueue - is a Queue', () => {
  assert.ok(new LifoQueue() instanceof Queue);
});
