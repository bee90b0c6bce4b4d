import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constantBackoff, InvalidArgumentError, RateLimiter } from '../../src/core/index.ts';
import { VirtualClock } from '../../src/testing/index.ts';
import { deadLetter, defineStage, describeError, invoke, outputsOf } from '../../src/pipeline/index.ts';

const ctx = { signal: new AbortController().signal, attempt: 1, stage: 's' };

test('defineStage - fills in defaults and names by kind and position', () => {
  const s = defineStage('map', (x: number) => x, {}, 3);
  assert.equal(s.name, 'map#3');
  assert.equal(s.options.max, 1);
  assert.equal(s.options.buffer, 16);
  assert.equal(s.options.onError, 'dead-letter');
  assert.equal(s.options.ordered, false);
  assert.equal(s.options.retries, 0);
  const a = defineStage('map', (x: number) => x, { concurrency: { min: 2, max: 40 } });
  assert.deepEqual([a.options.autoscale, a.options.min, a.options.initial, a.options.max, a.options.buffer], [true, 2, 2, 40, 80]);
});

test('defineStage - says what was wrong', () => {
  assert.throws(() => defineStage('map', undefined), InvalidArgumentError);
  assert.throws(() => defineStage('nope' as never, () => 1), /stage kind/);
  assert.throws(() => defineStage('map', () => 1, { timeout: 0 }), /timeout/);
  assert.throws(() => defineStage('map', () => 1, { retry: -1 }), /retry.retries/);
  assert.throws(() => defineStage('map', () => 1, { rateLimit: { limit: 0, interval: 1 } }), /rateLimit.limit/);
  assert.throws(() => defineStage('map', () => 1, { concurrency: { max: 4, initial: 9 } }), /initial/);
  assert.throws(() => defineStage('batch', undefined, { size: 2, maxWait: -1 }), /maxWait/);
});

test('outputsOf - what each kind makes of the function value', async () => {
  assert.deepEqual(await outputsOf(defineStage('map', (x: number) => x + 1), 1, ctx), [2]);
  assert.deepEqual(await outputsOf(defineStage('filter', (x: number) => x > 1), 1, ctx), []);
  assert.deepEqual(await outputsOf(defineStage('flatMap', async function* (x: number) { yield x; yield x; }), 1, ctx), [1, 1]);
  assert.deepEqual(await outputsOf(defineStage('tap', () => 'ignored'), 1, ctx), [1]);
  assert.deepEqual(await outputsOf(defineStage('sink', () => 'ignored'), 1, ctx), []);
  assert.deepEqual(await outputsOf(defineStage('batch', undefined, { size: 2 }), [1, 2], ctx), [[1, 2]]);
  assert.deepEqual(await outputsOf(defineStage('batch', (xs: number[]) => xs.length, { size: 2 }), [1, 2], ctx), [2]);
  await assert.rejects(outputsOf(defineStage('flatMap', () => 5), 1, ctx), /iterable/);
});

test('invoke - retries with backoff, counts attempts, returns the failure as an outcome', async () => {
  let calls = 0;
  const stage = defineStage('map', (_x: number, { attempt }: { attempt: number }) => { calls++; if (attempt < 3) throw new Error(`try ${attempt}`); return 'ok'; }, { retry: { retries: 5, backoff: constantBackoff(0) } });
  assert.deepEqual(await invoke(stage, 1, { signal: ctx.signal }), { ok: true, outputs: ['ok'], attempts: 3 });
  const never = defineStage('map', () => { throw new Error('always'); }, { retry: { retries: 2, backoff: constantBackoff(0), retryOn: (e) => (e as Error).message === 'always' } });
  const outcome = await invoke(never, 1, { signal: ctx.signal });
  assert.equal(outcome.ok, false);
  assert.equal(outcome.attempts, 3);
  assert.equal(calls, 3);
});

test('invoke - an abort rejects with the reason instead of an outcome; the rate limiter is shared', async () => {
  const clock = new VirtualClock();
  const controller = new AbortController();
  const stage = defineStage('map', (_x: number, { signal }: { signal: AbortSignal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
  const pending = invoke(stage, 1, { signal: controller.signal, clock });
  controller.abort(new Error('gone'));
  await assert.rejects(pending, /gone/);
  const limiter = new RateLimiter({ limit: 1, interval: 100, clock });
  const fast = defineStage('map', () => clock.now());
  const a = invoke(fast, 1, { signal: ctx.signal, clock, limiter });
  const b = invoke(fast, 2, { signal: ctx.signal, clock, limiter });
  await clock.advance(100);
  assert.deepEqual([(await a).ok && (await a as { outputs: unknown[] }).outputs, (await b as { outputs: unknown[] }).outputs], [[0], [100]]);
});

test('describeError / deadLetter - plain JSON records, never throwing', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.equal(describeError(circular).name, 'NonError');
  assert.deepEqual(describeError(Object.assign(new RangeError('r'), { code: 42 })), { name: 'RangeError', message: 'r', code: '42' });
  const d = deadLetter({ id: 1 }, 'parse', new Error('m'), 2, 1234, '7');
  assert.deepEqual(JSON.parse(JSON.stringify(d)), { item: { id: 1 }, stage: 'parse', error: { name: 'Error', message: 'm' }, attempts: 2, at: 1234, key: '7' });
});
