import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { LoopLagMonitor } from '../../src/observe/loop-lag.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Busy-waits `ms` of real time, so the loop's sampling timer has something to measure. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // blocking on purpose
  }
}

test('stats() - zeros before any sample', () => {
  const lag = new LoopLagMonitor();
  assert.deepEqual(lag.stats(), { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
});

test('start() - samples the loop; stop() keeps the stats; reset() clears them', async () => {
  const lag = new LoopLagMonitor({ resolution: 1 });
  assert.equal(lag.start(), lag);
  assert.equal(lag.running, true);
  // Real time must pass for a sample; turn the loop until one arrives (no duration is asserted).
  for (let i = 0; i < 1000 && lag.stats().count === 0; i++) {
    block(2);
    await turn();
  }
  lag.stop();
  assert.equal(lag.running, false);
  const stats = lag.stats();
  assert.ok(stats.count > 0, 'sampled');
  for (const key of ['min', 'mean', 'p50', 'p90', 'p99', 'max'] as const) {
    assert.ok(Number.isFinite(stats[key]) && stats[key] >= 0, `${key} is a finite number ≥ 0`);
  }
  assert.ok(stats.min <= stats.p50 && stats.p50 <= stats.p99 && stats.p99 <= stats.max);
  lag.reset();
  assert.equal(lag.stats().count, 0);
});

test('start()/stop() - idempotent, and leave no active handle behind', () => {
  const before = process.getActiveResourcesInfo().length;
  const lag = new LoopLagMonitor();
  lag.start();
  lag.start();
  assert.equal(process.getActiveResourcesInfo().length, before, 'sampling holds no ref\'d handle');
  lag.stop();
  lag.stop();
  {
    using scoped = new LoopLagMonitor().start();
    assert.equal(scoped.running, true);
  }
  assert.equal(process.getActiveResourcesInfo().length, before);
});

test('a running monitor does not keep the process alive', () => {
  const url = new URL('../../src/observe/loop-lag.ts', import.meta.url).href;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { LoopLagMonitor } = await import(${JSON.stringify(url)});
    new LoopLagMonitor().start();
  `], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(child.error, undefined, 'the child exited on its own');
  assert.equal(child.status, 0, child.stderr);
});

test('new LoopLagMonitor() - checks resolution', () => {
  assert.throws(() => new LoopLagMonitor({ resolution: 0 }), InvalidArgumentError);
  assert.throws(() => new LoopLagMonitor({ resolution: 1.5 }), InvalidArgumentError);
});
