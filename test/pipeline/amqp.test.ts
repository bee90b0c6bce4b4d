import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineStage } from '../../src/pipeline/stage.ts';
import { AmqpBroker, type AmqpOptions } from '../../src/pipeline/amqp.ts';
import { connectBroker } from '../../src/pipeline/broker.ts';
import { killMidRun, needService, sigtermTests, uniqueQueue, until } from './broker-shared.ts';

const url = 'amqp://guest:guest@127.0.0.1:5672';
const skip = await needService('RabbitMQ', 5672);
if (skip) console.log(`# skipped: ${skip}`);

async function withBroker(options: Partial<AmqpOptions>, fn: (b: AmqpBroker) => Promise<void>): Promise<void> {
  const b = await AmqpBroker.connect(url, { queue: uniqueQueue('aq'), ...options });
  try {
    await fn(b);
  } finally {
    await b.destroy();
    await b.close();
  }
}

test('amqp - items run once each with confirms; outputs reach the sink keyed', { skip }, async () => {
  await withBroker({}, async (b) => {
    const stage = defineStage<number, number>('map', async (n: number) => n * n, { name: 'sq', concurrency: 4 });
    const sunk = new Map<string, unknown>();
    const w = await b.worker(stage, { sink: (out, { key }) => void sunk.set(key, out[0]) });
    await b.producer<number>().enqueueAll([1, 2, 3, 4, 5], { key: (n) => `n${n}` });
    await until(() => sunk.size === 5, '5 done');
    assert.deepEqual([...sunk.entries()].sort(), [['n1', 1], ['n2', 4], ['n3', 9], ['n4', 16], ['n5', 25]]);
    await w.close();
    assert.equal(w.stats().done, 5);
    assert.equal(w.stats().inFlight, 0);
  });
});

test('amqp - retries through the retry queues, then the dead-letter queue: list, replay, purge', { skip }, async () => {
  await withBroker({}, async (b) => {
    let healthy = false;
    const stage = defineStage<number, number>('map', async (n: number, { attempt }) => {
      if (!healthy) throw Object.assign(new Error(`bad ${n} (attempt ${attempt})`), { code: 'E_BAD' });
      return n;
    }, { name: 'flaky', retry: { retries: 2, backoff: () => 10 } });
    const events: string[] = [];
    const w = await b.worker(stage, { onEvent: (e) => events.push(`${e.type}:${'key' in e ? e.key : ''}`) });
    await b.producer<number>().enqueue(7, { key: 'seven' });
    await until(() => events.includes('dead:seven'), 'a dead letter');
    assert.deepEqual(events, ['retry:seven', 'retry:seven', 'dead:seven']);
    const letters = await b.deadLetters().list();
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.item, 7);
    assert.equal(letters[0]!.attempts, 3);
    assert.deepEqual(letters[0]!.error, { name: 'Error', message: 'bad 7 (attempt 3)', code: 'E_BAD' });
    assert.equal((await b.deadLetters().list()).length, 1, 'listing does not consume');
    healthy = true;
    assert.equal(await b.deadLetters().replay(), 1);
    await until(() => events.includes('done:seven'), 'the replayed item done');
    healthy = false;
    await b.producer<number>().enqueue(8, { key: 'eight' });
    await until(() => events.includes('dead:eight'), 'a second dead letter');
    assert.equal(await b.deadLetters().purge(), 1);
    assert.deepEqual(await b.deadLetters().list(), []);
    await w.close();
  });
});

test('amqp - batches: many items per message, a failing item retried alone', { skip }, async () => {
  await withBroker({ batch: 10 }, async (b) => {
    const stage = defineStage<number, number>('map', async (n: number, { attempt }) => {
      if (n === 7 && attempt === 1) throw new Error('seven once');
      return n * 2;
    }, { name: 'double', retry: { retries: 1, backoff: () => 10 } });
    const sunk = new Map<string, unknown>();
    const w = await b.worker(stage, { sink: (out, { key }) => void sunk.set(key, out[0]) });
    await b.producer<number>().enqueueAll(Array.from({ length: 25 }, (_, i) => i), { key: (n) => `b${n}` });
    await until(() => sunk.size === 25, '25 done');
    assert.equal(sunk.get('b7'), 14);
    assert.equal(w.stats().retried, 1);
    await w.close();
  });
});

test('amqp - after a lost connection: topology, prefetch and consumer come back; old deliveries are never acked on the new channel', { skip }, async () => {
  await withBroker({}, async (b) => {
    const gates: (() => void)[] = [];
    const stage = defineStage<number, number>('map', async (n: number) => {
      await new Promise<void>((r) => gates.push(r));
      return n;
    }, { name: 'gated', concurrency: 2 });
    const done = new Set<string>();
    const errors: unknown[] = [];
    const w = await b.worker(stage, { onEvent: (e) => (e.type === 'done' ? done.add(e.key) : e.type === 'error' && errors.push(e.error)) });
    await b.producer<number>().enqueueAll([1, 2, 3, 4, 5, 6], { key: (n) => `r${n}` });
    await until(() => gates.length === 2, 'two in flight');
    const stale = gates.splice(0);
    await b.reconnect();
    // The two in flight were requeued by the broker; finishing them now must not ack on the new channel.
    stale.forEach((g) => g());
    await until(() => {
      gates.splice(0).forEach((g) => g());
      return done.size === 6;
    }, 'all six done after the reconnect');
    assert.ok(w.stats().fenced >= 2, 'the stale deliveries were dropped, not acked');
    assert.deepEqual(errors, []);
    assert.equal(await b.depth(), 0);
    await w.close();
  });
});

test('amqp - the producer waits while the queue is past maxQueued', { skip }, async () => {
  await withBroker({ maxQueued: 10 }, async (b) => {
    let settled = false;
    const all = b.producer<number>().enqueueAll(Array.from({ length: 60 }, (_, i) => i)).then((n) => ((settled = true), n));
    await until(async () => (await b.depth()) >= 10, 'the queue filling');
    assert.ok((await b.depth()) <= 12);
    assert.equal(settled, false);
    const stage = defineStage<number, number>('map', async (n: number) => n, { name: 'id', concurrency: 4 });
    const w = await b.worker(stage);
    assert.equal(await all, 60);
    await until(() => w.stats().done === 60, '60 done');
    await w.close();
  });
});

sigtermTests('amqp', url, skip, { emptyAfterFinish: true });

test('amqp - SIGKILL mid-run: unacked deliveries come back and the keyed sink has every item exactly once', { skip }, async () => {
  const { raw } = await killMidRun(url, (queue) => connectBroker(url, { queue }));
  assert.ok(raw >= 80);
});
