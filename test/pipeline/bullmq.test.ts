import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { defineStage } from '../../src/pipeline/stage.ts';
import { BullmqBroker, type BullmqOptions } from '../../src/pipeline/bullmq.ts';
import { connectBroker } from '../../src/pipeline/broker.ts';
import { killMidRun, needService, sigtermTests, uniqueQueue, until } from './broker-shared.ts';

const url = 'redis://127.0.0.1:6379';
const skip = await needService('Redis', 6379);
if (skip) console.log(`# skipped: ${skip}`);

async function withBroker(options: Partial<BullmqOptions>, fn: (b: BullmqBroker) => Promise<void>): Promise<void> {
  const b = await BullmqBroker.connect(url, { queue: uniqueQueue('bq'), ...options });
  try {
    await fn(b);
  } finally {
    await b.destroy();
    await b.close();
  }
}

const square = defineStage<number, number>('map', async (n: number) => n * n, { name: 'square', concurrency: 4 });

test('bullmq - items run once each; a key enqueued twice runs once', { skip }, async () => {
  await withBroker({ results: true }, async (b) => {
    let calls = 0;
    const stage = defineStage<number, number>('map', async (n: number) => (calls++, n * n), { name: 'sq', concurrency: 4 });
    const done = new Set<string>();
    const w = await b.worker(stage, { onEvent: (e) => e.type === 'done' && done.add(e.key) });
    const p = b.producer<number>();
    await p.enqueueAll([1, 2, 3, 4, 5], { key: (n) => `n${n}` });
    await p.enqueue(3, { key: 'n3' });
    await until(() => done.size === 5, '5 done');
    const results = await b.results();
    assert.deepEqual([...results.entries()].sort(), [['n1', [1]], ['n2', [4]], ['n3', [9]], ['n4', [16]], ['n5', [25]]]);
    await w.close();
    assert.equal(calls, 5);
    assert.equal(w.stats().inFlight, 0);
  });
});

test('bullmq - retries with backoff in the broker, then a dead letter readable, replayable and purgeable', { skip }, async () => {
  await withBroker({}, async (b) => {
    let healthy = false;
    const stage = defineStage<number, number>('map', async (n: number, { attempt }) => {
      if (!healthy) throw Object.assign(new Error(`bad ${n} (attempt ${attempt})`), { code: 'E_BAD' });
      return n;
    }, { name: 'flaky', retry: { retries: 2, backoff: () => 10 } });
    const events: string[] = [];
    const w = await b.worker(stage, { onEvent: (e) => events.push(`${e.type}:${'key' in e ? e.key : ''}`) });
    await b.producer<number>().enqueueAll([7], { key: () => 'seven' });
    await until(() => events.includes('dead:seven'), 'a dead letter');
    assert.deepEqual(events, ['retry:seven', 'retry:seven', 'dead:seven']);
    const [letter, ...rest] = await b.deadLetters().list();
    assert.equal(rest.length, 0);
    assert.equal(letter!.item, 7);
    assert.equal(letter!.stage, 'flaky');
    assert.equal(letter!.attempts, 3);
    assert.equal(letter!.key, 'seven');
    assert.deepEqual(letter!.error, { name: 'Error', message: 'bad 7 (attempt 3)', code: 'E_BAD' });
    healthy = true;
    assert.equal(await b.deadLetters().replay(), 1);
    await until(() => events.includes('done:seven'), 'the replayed item done');
    assert.deepEqual(await b.deadLetters().list(), []);
    healthy = false;
    await b.producer<number>().enqueue(8, { key: 'eight' });
    await until(() => events.includes('dead:eight'), 'a second dead letter');
    assert.equal(await b.deadLetters().purge(), 1);
    assert.deepEqual(await b.deadLetters().list(), []);
    await w.close();
  });
});

test('bullmq - batches: many items per job, a failing item goes on alone with its retries', { skip }, async () => {
  await withBroker({ batch: 10, results: true }, async (b) => {
    const stage = defineStage<number, number>('map', async (n: number, { attempt }) => {
      if (n === 7 && attempt === 1) throw new Error('seven once');
      return n * 2;
    }, { name: 'double', retry: { retries: 1, backoff: () => 10 } });
    const done = new Set<string>();
    const w = await b.worker(stage, { onEvent: (e) => e.type === 'done' && done.add(e.key) });
    const p = b.producer<number>();
    await p.enqueueAll(Array.from({ length: 25 }, (_, i) => i), { key: (n) => `b${n}` });
    await until(() => done.size === 25, '25 done');
    const results = await b.results();
    assert.equal(results.size, 25);
    assert.deepEqual(results.get('b7'), [14]);
    const counts = await b.queue.getJobCounts('completed');
    assert.equal(counts.completed, 4, '3 batch jobs and the split-out item');
    await w.close();
  });
});

test('bullmq - a worker whose lease was taken over cannot complete: its result is fenced off', { skip }, async () => {
  await withBroker({ results: true, lease: 500 }, async (b) => {
    const redis = new Redis(url);
    let release!: () => void;
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    let runs = 0;
    const stage = defineStage<number, string>('map', async (_n: number, { attempt }) => {
      runs++;
      if (attempt === 1) {
        started();
        await new Promise<void>((r) => (release = r));
        return 'stale';
      }
      return 'live';
    }, { name: 'lease' });
    const events: string[] = [];
    const sunk: unknown[] = [];
    const w = await b.worker(stage, { sink: (out) => void sunk.push(out[0]), onEvent: (e) => events.push(e.type) });
    await b.producer<number>().enqueue(1, { key: 'one' });
    await startedP;
    // Another worker took the job over: its lock now holds another token.
    await redis.set(`${b.queue.toKey('k.one')}:lock`, 'another-worker', 'PX', 300);
    release();
    await until(() => events.includes('done'), 'the live run');
    assert.ok(events.includes('fenced'));
    assert.deepEqual(sunk, ['live']);
    assert.deepEqual(await b.results(), new Map([['one', ['live']]]));
    assert.equal(runs, 2);
    await w.close();
    redis.disconnect();
  });
});

test('bullmq - the producer waits while the queue is past maxQueued', { skip }, async () => {
  await withBroker({ maxQueued: 10 }, async (b) => {
    let settled = false;
    const all = b.producer<number>().enqueueAll(Array.from({ length: 60 }, (_, i) => i)).then((n) => ((settled = true), n));
    await until(async () => (await b.depth()) >= 10, 'the queue filling');
    const seen = await b.depth();
    assert.ok(seen <= 12, `depth ${seen} past the bound`);
    assert.equal(settled, false);
    const done = new Set<string>();
    const w = await b.worker(square, { onEvent: (e) => e.type === 'done' && done.add(e.key) });
    assert.equal(await all, 60);
    await until(() => done.size === 60, '60 done');
    await w.close();
  });
});

test('bullmq - concurrency changes at run time', { skip }, async () => {
  await withBroker({}, async (b) => {
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const stage = defineStage<number, number>('map', async (n: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((r) => gates.push(r));
      running--;
      return n;
    }, { name: 'gated', concurrency: 1 });
    const w = await b.worker(stage);
    await b.producer<number>().enqueueAll([1, 2, 3, 4, 5, 6]);
    await until(() => gates.length === 1, 'one running');
    w.setConcurrency(3);
    gates.shift()!();
    await until(() => running === 3, 'three running (from the next free slot on)');
    assert.equal(w.stats().concurrency, 3);
    await until(() => {
      gates.splice(0).forEach((g) => g());
      return w.stats().done === 6;
    }, 'all done');
    assert.equal(peak, 3);
    await w.close();
  });
});

test('bullmq - per-key rate limit: a key past its limit waits, other keys go on', { skip }, async () => {
  await withBroker({ rateKey: (item) => (item as { host: string }).host }, async (b) => {
    const stage = defineStage<{ host: string; n: number }, number>('map', async (item: { host: string; n: number }) => item.n, { name: 'per-host', rateLimit: { limit: 2, interval: 60_000 } });
    const done: string[] = [];
    const w = await b.worker(stage, { concurrency: 1, onEvent: (e) => e.type === 'done' && done.push(e.key) });
    await b.producer<{ host: string; n: number }>().enqueueAll([
      { host: 'a', n: 1 }, { host: 'a', n: 2 }, { host: 'a', n: 3 }, { host: 'b', n: 4 },
    ], { key: (item) => `${item.host}${item.n}` });
    await until(() => done.length === 3, 'three done');
    await until(async () => (await b.queue.getJobCounts('delayed')).delayed === 1, 'the third a delayed');
    assert.deepEqual(done.sort(), ['a1', 'a2', 'b4']);
    const [delayed] = await b.queue.getDelayed();
    assert.equal(delayed!.id, 'k.a3');
    await w.close();
  });
});

sigtermTests('bullmq', url, skip);

test('bullmq - SIGKILL mid-run: the jobs come back (stalled check) and the keyed sink has every item exactly once', { skip }, async () => {
  const { raw, redelivered } = await killMidRun(url, (queue) => connectBroker(url, { queue, lease: 1000 }), ['--lease', '1s']);
  assert.ok(raw >= 80);
  assert.ok(redelivered >= 1, 'the killed worker\'s jobs ran again');
});
