import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { PriorityQueue, defaultCompare } from '../../src/core/priority-queue.ts';
import { Queue } from '../../src/core/queue.ts';
import { queueConformance } from './queue-conformance.ts';

queueConformance('PriorityQueue', (options) => new PriorityQueue<number>(options));

// A small deterministic PRNG (mulberry32), so a failure reproduces.
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function drain<T>(q: PriorityQueue<T>): T[] {
  const out: T[] = [];
  while (!q.empty()) out.push(q.getNowait());
  return out;
}

test('PriorityQueue - numbers come out smallest first', () => {
  const rand = random(1);
  const q = new PriorityQueue<number>();
  const values = Array.from({ length: 2000 }, () => Math.floor(rand() * 1e6) - 5e5);
  for (const v of values) q.putNowait(v);
  assert.deepEqual(drain(q), [...values].sort((a, b) => a - b));
});

test('PriorityQueue - equal priorities come out in insertion order, across interleaved puts and gets', () => {
  const rand = random(2);
  const q = new PriorityQueue<[number, { seq: number }]>();
  const out: [number, { seq: number }][] = [];
  let seq = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 40; i++) q.putNowait([Math.floor(rand() * 4), { seq: seq++ }]);
    for (let i = 0; i < 20; i++) out.push(q.getNowait());
  }
  const rest = drain(q);
  // Every batch taken is in (priority, insertion) order...
  const sorted = (xs: typeof out) => [...xs].sort((a, b) => a[0] - b[0] || a[1].seq - b[1].seq);
  assert.deepEqual(rest, sorted(rest));
  // ...and items of one priority leave in insertion order overall.
  for (let p = 0; p < 4; p++) {
    const seqs = [...out, ...rest].filter((e) => e[0] === p).map((e) => e[1].seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  }
});

test('PriorityQueue - [priority, payload] tuples order like Python tuples, payloads need not compare', async () => {
  const q = new PriorityQueue<[number, string, object?]>();
  const jobs: [number, string, object?][] = [[2, 'b'], [1, 'z'], [2, 'a'], [1, 'z', { x: 1 }], [0, 'm'], [1, 'z', { y: 2 }]];
  for (const job of jobs) await q.put(job);
  const out: [number, string, object?][] = [];
  for (let i = 0; i < jobs.length; i++) out.push(await q.get());
  assert.deepEqual(out, [[0, 'm'], [1, 'z'], [1, 'z', { x: 1 }], [1, 'z', { y: 2 }], [2, 'a'], [2, 'b']]);
});

test('PriorityQueue - strings order by code unit', () => {
  const q = new PriorityQueue<string>();
  for (const s of ['pear', 'apple', 'Zebra', 'apples', '']) q.putNowait(s);
  assert.deepEqual(drain(q), ['', 'Zebra', 'apple', 'apples', 'pear']);
});

test('PriorityQueue - a custom compare sets the order (largest first)', () => {
  const q = new PriorityQueue<{ score: number }>({ compare: (a, b) => b.score - a.score });
  for (const score of [3, 9, 1, 9, 5]) q.putNowait({ score });
  assert.deepEqual(drain(q).map((x) => x.score), [9, 9, 5, 3, 1]);
});

test('PriorityQueue - a compare that throws rejects the call and leaves the heap intact', async () => {
  let fail = false;
  const q = new PriorityQueue<number>({
    compare: (a, b) => {
      if (fail) throw new Error('bad compare');
      return a - b;
    },
  });
  for (const v of [5, 3, 8, 1, 9, 2, 7]) q.putNowait(v);
  fail = true;
  await assert.rejects(q.put(0), /bad compare/);
  await assert.rejects(q.get(), /bad compare/);
  assert.throws(() => q.putNowait(0), /bad compare/);
  assert.equal(q.size, 7);
  assert.equal(q.stats().unfinished, 7);
  fail = false;
  assert.deepEqual(drain(q), [1, 2, 3, 5, 7, 8, 9]);
});

test('PriorityQueue - rejects a compare that is not a function', () => {
  assert.throws(() => new PriorityQueue({ compare: 3 as unknown as () => number }), InvalidArgumentError);
});

test('PriorityQueue - a blocked putter is admitted into heap order', async () => {
  const q = new PriorityQueue<number>({ maxsize: 2 });
  q.putNowait(5);
  q.putNowait(3);
  const blocked = q.put(1);
  assert.equal(q.getNowait(), 3);
  await blocked;
  assert.deepEqual(drain(q), [1, 5]);
});

test('PriorityQueue - is a Queue', () => {
  assert.ok(new PriorityQueue() instanceof Queue);
});

test('defaultCompare() - a total order: numbers < strings < arrays < anything else', () => {
  const sign = (a: unknown, b: unknown) => Math.sign(defaultCompare(a, b));
  assert.equal(sign(1, 2), -1);
  assert.equal(sign(2n, 1), 1);
  assert.equal(sign(true, 0), 1);
  assert.equal(sign(-0, 0), 0);
  assert.equal(sign(Number.NaN, Infinity), 1, 'NaN after every number');
  assert.equal(sign(Number.NaN, Number.NaN), 0);
  assert.equal(sign(1e9, 'a'), -1);
  assert.equal(sign('b', 'ab'), 1);
  assert.equal(sign('z', [0]), -1);
  assert.equal(sign([1, 2], [1, 3]), -1);
  assert.equal(sign([1], [1, 0]), -1, 'a prefix comes first');
  assert.equal(sign([1, [2, 'a']], [1, [2, 'b']]), -1);
  assert.equal(sign([0], {}), -1);
  assert.equal(sign({ a: 1 }, { b: 2 }), 0);
  assert.equal(sign(null, undefined), 0);
});
