import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { constantBackoff, Event, sleep } from '../../src/core/index.ts';
import { MetricsRegistry } from '../../src/observe/index.ts';
import { VirtualClock } from '../../src/testing/index.ts';
import { MemoryPipelineStore, duplex, pipeline, toWritable } from '../../src/pipeline/index.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('pipeline - map, filter, flatMap, batch, tap and sink compose', async () => {
  const seen: number[] = [];
  const sunk: number[][] = [];
  const result = await pipeline(range(10))
    .map((x) => x * 2)
    .filter((x) => x % 3 !== 0)
    .flatMap((x) => [x, x + 1])
    .tap((x) => { seen.push(x); })
    .batch({ size: 4 })
    .sink((b) => { sunk.push(b); })
    .run();
  const expected = range(10).map((x) => x * 2).filter((x) => x % 3 !== 0).flatMap((x) => [x, x + 1]);
  assert.deepEqual(seen.sort((a, b) => a - b), [...expected].sort((a, b) => a - b));
  assert.deepEqual(sunk.flat().sort((a, b) => a - b), [...expected].sort((a, b) => a - b));
  assert.ok(sunk.every((b) => b.length <= 4));
  assert.equal(result.status, 'done');
  assert.equal(result.read, 10);
  assert.deepEqual(result.stages.map((s) => [s.name, s.in]), [['map#0', 10], ['filter#1', 10], ['flatMap#2', 6], ['tap#3', 12], ['batch#4', 12], ['sink#5', 3]]);
});

test('pipeline - ordered output keeps input order whatever the finishing order', async () => {
  const out: number[] = [];
  for await (const x of pipeline(range(50)).map(async (x) => { await sleep((50 - x) % 7); return x; }, { concurrency: 8, ordered: true })) out.push(x);
  assert.deepEqual(out, range(50));
});

test('pipeline - unordered output lets a fast item pass a slow one', async () => {
  const slow = new Event();
  const out: number[] = [];
  const done = (async () => {
    for await (const x of pipeline([0, 1, 2]).map(async (x) => { if (x === 0) await slow.wait(); return x; }, { concurrency: 3 })) {
      out.push(x);
      if (out.length === 2) slow.set();
    }
  })();
  await done;
  assert.deepEqual(out, [1, 2, 0]);
});

test('pipeline - backpressure: a fast source never runs ahead of a slow stage by more than the buffers', async () => {
  let read = 0;
  const gate = new Event();
  function* source() {
    for (let i = 0; i < 10_000; i++) { read++; yield i; }
  }
  const run = pipeline(source()).map(async (x) => { await gate.wait(); return x; }, { concurrency: 2, buffer: 5 }).run();
  for (let i = 0; i < 20; i++) await tick();
  // 5 in the buffer, 2 in flight, one waiting in the source's hand
  assert.ok(read <= 8, `read ${read}`);
  gate.set();
  const result = await run;
  assert.equal(result.stages[0]!.in, 10_000);
});

test('pipeline - a failing item becomes a dead letter with stage, error, attempts and time; the rest go on', async () => {
  const store = new MemoryPipelineStore();
  let calls = 0;
  const error = Object.assign(new Error('bad item'), { code: 'EBAD' });
  const result = await pipeline(range(5), { name: 'dl', store, durable: false })
    .map((x) => { if (x === 3) { calls++; throw error; } return x; }, { name: 'parse', retry: { retries: 2, backoff: constantBackoff(0) } })
    .run();
  assert.equal(result.status, 'done');
  assert.equal(result.deadLetters, 1);
  assert.equal(calls, 3);
  const [letter] = await store.listDeadLetters('dl');
  assert.equal(letter!.item, 3);
  assert.equal(letter!.stage, 'parse');
  assert.deepEqual(letter!.error, { name: 'Error', message: 'bad item', code: 'EBAD' });
  assert.equal(letter!.attempts, 3);
  assert.equal(typeof letter!.at, 'number');
  assert.equal(result.stages[0]!.retries, 2);
});


test('pipeline - a concurrent stage mixing values, promises, thenables and rejections keeps every item with its own result', async () => {
  // slot mode reuses its per-call handlers: each item must still settle as itself
  const store = new MemoryPipelineStore();
  const fn = (x: number): number | Promise<number> | PromiseLike<number> => {
    if (x % 5 === 0) return x * 10; // a plain value
    if (x % 5 === 1) { // a thenable that is not a native promise
      const thenable = { then: (ok: (v: number) => void) => { setImmediate(() => ok(x * 10)); } };
      return thenable as unknown as PromiseLike<number>;
    }
    if (x % 5 === 2) return Promise.reject(new Error(`bad ${x}`));
    return new Promise((resolve) => setImmediate(() => resolve(x * 10)));
  };
  const out: number[] = [];
  for await (const v of pipeline(range(200), { name: 'mixed', store, durable: false }).map(fn, { concurrency: 4 })) out.push(v);
  const expected = range(200).filter((x) => x % 5 !== 2).map((x) => x * 10);
  assert.deepEqual(out.sort((a, b) => a - b), expected);
  const letters = await store.listDeadLetters('mixed');
  assert.deepEqual(letters.map((l) => l.item).sort((a, b) => (a as number) - (b as number)), range(200).filter((x) => x % 5 === 2));
  assert.ok(letters.every((l) => (l.error as { message: string }).message === `bad ${l.item as number}`));
});
test('pipeline - fail-fast stops everything and surfaces the original error, not an AbortError', async () => {
  const error = new TypeError('the original');
  let aborted = 0;
  const run = pipeline(range(100))
    .map(async (x, { signal }) => {
      if (x === 5) throw error;
      await new Promise((_, reject) => signal.addEventListener('abort', () => { aborted++; reject(signal.reason); }, { once: true }));
    }, { concurrency: 8, onError: 'fail-fast' })
    .run();
  await assert.rejects(run, (e) => e === error);
  assert.ok(aborted >= 1, 'siblings in flight were cancelled');
});

test('pipeline - stop now rejects with the reason; drain finishes what is in flight and reads no more', async () => {
  const controller = new AbortController();
  const started = new Event();
  const stopped = pipeline(range(100)).map(async (x, { signal }) => {
    started.set();
    await sleep(60_000, { signal });
    return x;
  }).run({ signal: controller.signal });
  await started.wait();
  controller.abort(new Error('stop'));
  await assert.rejects(stopped, /stop/);

  const drain = new AbortController();
  const finished: number[] = [];
  const gate = new Event();
  const run = pipeline(range(1000)).map(async (x) => { if (x === 0) await gate.wait(); finished.push(x); return x; }, { concurrency: 1, buffer: 4 }).run({ drain: drain.signal });
  await tick();
  drain.abort();
  gate.set();
  const result = await run;
  assert.equal(result.status, 'drained');
  assert.ok(finished.length < 20 && finished.length >= 1, `finished ${finished.length}`);
  assert.deepEqual(finished, range(finished.length));
});

test('pipeline - per-item timeout fails the attempt with a TimeoutError', async () => {
  const clock = new VirtualClock();
  const store = new MemoryPipelineStore();
  const run = pipeline([1], { store, durable: false, clock })
    .map((x, { signal }) => sleep(10_000, { signal, clock }).then(() => x), { timeout: 100 })
    .run();
  await clock.advance(100);
  const result = await run;
  assert.equal(result.deadLetters, 1);
  const [letter] = await store.listDeadLetters('pipeline');
  assert.equal(letter!.error.name, 'TimeoutError');
});

test('pipeline - rate limit: at most limit calls per interval', async () => {
  const clock = new VirtualClock();
  const times: number[] = [];
  const run = pipeline(range(6), { clock }).map((x) => { times.push(clock.now()); return x; }, { rateLimit: { limit: 2, interval: 1000 }, concurrency: 6 }).run();
  await clock.run(run);
  assert.deepEqual(times, [0, 0, 1000, 1000, 2000, 2000]);
});

test('pipeline - batch maxWait sends a partial batch after the wait', async () => {
  const clock = new VirtualClock();
  const batches: number[][] = [];
  const gate = new Event();
  async function* source() {
    yield 1; yield 2;
    await gate.wait();
    yield 3;
  }
  const run = pipeline(source(), { clock }).batch({ size: 10, maxWait: 500 }).sink((b) => { batches.push(b); }).run();
  await clock.advance(499);
  assert.deepEqual(batches, []);
  await clock.advance(1);
  assert.deepEqual(batches, [[1, 2]]);
  gate.set();
  await run;
  assert.deepEqual(batches, [[1, 2], [3]]);
});

test('pipeline - reads a Node Readable and a web stream; writes a Writable; fits in stream.pipeline', async () => {
  const got: number[] = [];
  await pipeline(Readable.from([1, 2, 3])).map((x) => x * 10).sink((x) => { got.push(x); }).run();
  await pipeline(ReadableStream.from([4, 5])).map((x) => x * 10).sink((x) => { got.push(x); }).run();
  assert.deepEqual(got.sort((a, b) => a - b), [10, 20, 30, 40, 50]);

  const chunks: string[] = [];
  const writable = new Writable({ objectMode: true, highWaterMark: 1, write(chunk, _e, cb) { chunks.push(chunk as string); setImmediate(cb); } });
  await pipeline(range(20)).map((x) => `${x}`, { ordered: true }).into(toWritable(writable));
  assert.equal(chunks.length, 20);

  const out: number[] = [];
  await streamPipeline(
    Readable.from(range(10)),
    duplex((src: AsyncIterable<number>) => pipeline(src).map((x) => x + 1, { ordered: true })),
    new Writable({ objectMode: true, write(chunk, _e, cb) { out.push(chunk as number); cb(); } }),
  );
  assert.deepEqual(out, range(10).map((x) => x + 1));

  const web: number[] = [];
  for await (const x of pipeline([1, 2, 3]).map((x) => x * 2, { ordered: true }).toWeb()) web.push(x);
  assert.deepEqual(web, [2, 4, 6]);
  const node: number[] = [];
  for await (const x of pipeline([1, 2]).map((x) => x + 1, { ordered: true }).toReadable()) node.push(x as number);
  assert.deepEqual(node, [2, 3]);
});

test('pipeline - leaving a for-await early stops the pipeline', async () => {
  let calls = 0;
  for await (const x of pipeline(range(100_000)).map((x) => { calls++; return x; }, { buffer: 4 })) {
    if (x === 2) break;
  }
  assert.ok(calls < 50, `calls ${calls}`);
});

test('pipeline - metrics per stage land in the registry; stats() snapshots', async () => {
  const metrics = new MetricsRegistry();
  const p = pipeline(range(10), { name: 'm', metrics }).map(async (x) => x, { name: 'work' });
  await p.run();
  const json = metrics.toJSON();
  const find = (name: string) => json.find((m) => m.name === name);
  assert.ok(find('spate_pipeline_items_in_total'));
  assert.ok(find('spate_pipeline_latency_ms'));
  assert.ok(find('spate_pipeline_workers'));
  const stats = p.stats();
  assert.equal(stats.status, 'done');
  assert.equal(stats.stages[0]!.in, 10);
  assert.equal(stats.stages[0]!.out, 10);
});

test('pipeline - replay runs dead letters again from their stage', async () => {
  const store = new MemoryPipelineStore();
  let broken = true;
  const out: number[] = [];
  const p = pipeline(range(3), { name: 'r', store, durable: false })
    .map((x) => x + 1, { name: 'inc' })
    .map((x) => { if (broken && x === 2) throw new Error('down'); return x * 10; }, { name: 'call' })
    .sink((x) => { out.push(x); });
  await p.run();
  assert.deepEqual(out.sort((a, b) => a - b), [10, 30]);
  broken = false;
  const letters = await store.listDeadLetters('r');
  assert.deepEqual(await p.replay(letters), { replayed: 1, failed: 0 });
  assert.deepEqual(out.sort((a, b) => a - b), [10, 20, 30]);
  assert.deepEqual(await store.listDeadLetters('r'), []);
});

test('pipeline - options are checked at construction', () => {
  assert.throws(() => pipeline([1]).map((x) => x, { concurrency: 0 }), /concurrency/);
  assert.throws(() => pipeline([1]).map((x) => x, { concurrency: { min: 5, max: 2 } }), /min/);
  assert.throws(() => pipeline([1]).map((x) => x, { onError: 'ignore' as never }), /onError/);
  assert.throws(() => pipeline([1]).batch({ size: 0 }), /size/);
  assert.throws(() => pipeline([1]).sink(() => {}).map((x) => x), /nothing can follow/);
});
