import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitor } from '../../src/observe/monitor.ts';
import { MetricsRegistry, defaultRegistry } from '../../src/observe/registry.ts';
import { HISTOGRAM_RELATIVE_ERROR } from '../../src/observe/histogram.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

test('monitor() - records latency, count and in-flight calls of an async function', async () => {
  const clock = new VirtualClock();
  const registry = new MetricsRegistry();
  const work = monitor(async (ms: number) => {
    await sleep(ms, { clock });
    return ms * 2;
  }, { name: 'work', registry, clock });
  const calls = [work(10), work(20), work(30)];
  assert.equal(work.stats().inFlight, 3);
  assert.equal(registry.gauge('work_in_flight').value, 3);
  await clock.advance(10);
  assert.equal(work.stats().inFlight, 2);
  assert.equal(work.stats().count, 1);
  await clock.advance(20);
  assert.deepEqual(await Promise.all(calls), [20, 40, 60]);
  const stats = work.stats();
  assert.equal(stats.count, 3);
  assert.equal(stats.errors, 0);
  assert.equal(stats.inFlight, 0);
  assert.equal(stats.max, 30);
  assert.equal(stats.mean, 20);
  assert.ok(Math.abs(stats.p50 - 20) / 20 <= HISTOGRAM_RELATIVE_ERROR);
  assert.equal(registry.histogram('work_duration_seconds').count, 3);
});

test('monitor() - counts rejections and synchronous throws as errors and rethrows them', async () => {
  const clock = new VirtualClock();
  const registry = new MetricsRegistry();
  const boom = new Error('boom');
  const rejects = monitor(async () => {
    throw boom;
  }, { name: 'rejects', registry, clock });
  const throws = monitor((): number => {
    throw boom;
  }, { name: 'throws', registry, clock });
  await assert.rejects(rejects(), (e) => e === boom);
  assert.throws(() => throws(), (e) => e === boom);
  assert.deepEqual([rejects.stats().errors, rejects.stats().count, rejects.stats().inFlight], [1, 1, 0]);
  assert.deepEqual([throws.stats().errors, throws.stats().count, throws.stats().inFlight], [1, 1, 0]);
  assert.equal(registry.counter('rejects_errors_total').value, 1);
});

test('monitor() - passes this, arguments and the return value through unchanged', async () => {
  const registry = new MetricsRegistry();
  class Greeter {
    prefix = 'hello';
    greet(name: string, punctuation = '!'): string {
      return `${this.prefix} ${name}${punctuation}`;
    }
  }
  Greeter.prototype.greet = monitor(Greeter.prototype.greet, { name: 'greet', registry });
  const g = new Greeter();
  assert.equal(g.greet('ada'), 'hello ada!');
  assert.equal(g.greet('bob', '?'), 'hello bob?');
  assert.equal(Greeter.prototype.greet.name, 'greet');
  assert.equal(Greeter.prototype.greet.length, 1);

  const promise = Promise.resolve(7);
  const same = monitor(() => promise, { name: 'same', registry });
  assert.equal(same(), promise, 'the very promise fn returned, not a new one');
  assert.equal(await same(), 7);
  assert.equal(registry.histogram('greet_duration_seconds').count, 2);
});

test('monitor() - a sync function is measured synchronously', () => {
  const clock = new VirtualClock();
  const registry = new MetricsRegistry();
  const add = monitor((a: number, b: number) => a + b, { name: 'add', registry, clock });
  assert.equal(add(2, 3), 5);
  assert.deepEqual(add.stats(), { count: 1, errors: 0, inFlight: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
});

test('monitor() - labels separate series of the same name', async () => {
  const registry = new MetricsRegistry();
  const a = monitor(async () => 1, { name: 'op', registry, labels: { kind: 'a' } });
  const b = monitor(async () => 2, { name: 'op', registry, labels: { kind: 'b' } });
  await a();
  await a();
  await b();
  assert.equal(a.stats().count, 2);
  assert.equal(b.stats().count, 1);
  assert.equal(registry.histogram('op_duration_seconds', { kind: 'a' }).count, 2);
});

test('monitor() - defaults to defaultRegistry and checks its options', async () => {
  const f = monitor(async () => 1, { name: 'monitor_test_default' });
  await f();
  assert.equal(defaultRegistry.histogram('monitor_test_default_duration_seconds').count, 1);
  defaultRegistry.clear('monitor_test_default_duration_seconds');
  defaultRegistry.clear('monitor_test_default_errors_total');
  defaultRegistry.clear('monitor_test_default_in_flight');
  assert.throws(() => monitor(async () => 1, { name: '' }), InvalidArgumentError);
  assert.throws(() => monitor(async () => 1, { name: 'has space' }), InvalidArgumentError);
  assert.throws(() => monitor(42 as unknown as () => void, { name: 'x' }), InvalidArgumentError);
});
