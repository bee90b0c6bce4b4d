import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Executor } from '../../src/exec/index.ts';
import { ClosedError, InvalidArgumentError, QueueFull } from '../../src/core/errors.ts';

const filename = new URL('./fixtures/work.ts', import.meta.url);

/** Resolves once a worker has set slot 0 of `shared` to a non-zero value. */
async function started(shared: SharedArrayBuffer): Promise<void> {
  const cells = new Int32Array(shared);
  const { async, value } = Atomics.waitAsync(cells, 0, 0);
  if (async) await value;
}

/** The abort listeners `signal` holds right now. */
function listenerCount(signal: AbortSignal): { count: () => number } {
  return { count: () => getEventListeners(signal, 'abort').length };
}

test('run() - calls the named export in a worker and resolves with its result', async () => {
  await using pool = new Executor({ filename, maxThreads: 2 });
  assert.equal(await pool.run<number>('fib', 20), 6765);
  assert.deepEqual(await Promise.all([10, 15, 20].map((n) => pool.run<number>('fib', n))), [55, 610, 6765]);
  assert.equal(pool.stats().completed, 4);
});

test('run() - accepts a filename given as a path string or a file: URL string', async () => {
  await using a = new Executor({ filename: filename.pathname, maxThreads: 1 });
  await using b = new Executor({ filename: filename.href, maxThreads: 1 });
  assert.equal(await a.run('fib', 10), 55);
  assert.equal(await b.run('fib', 10), 55);
});

test('run() - calls run in parallel on separate threads', async () => {
  await using pool = new Executor({ filename, minThreads: 3, maxThreads: 3 });
  const shared = new SharedArrayBuffer(4);
  // Each call waits (Atomics.wait, up to 5 s) until all three are running: only true in parallel.
  const met = await Promise.all([1, 2, 3].map(() => pool.run<boolean>('meet', { shared, parties: 3 })));
  assert.deepEqual(met, [true, true, true]);
});

test('run() - rejects with what the worker function threw', async () => {
  await using pool = new Executor({ filename, maxThreads: 1 });
  await assert.rejects(pool.run('fail', 'boom'), (e: Error) => e.message === 'boom');
  await assert.rejects(pool.run('missing', 1), /No handler function/);
  assert.equal(await pool.run('fib', 5), 5, 'still usable after failures');
});

test('run() - moves a transferList buffer to the worker', async () => {
  await using pool = new Executor({ filename, maxThreads: 1 });
  const buffer = new ArrayBuffer(64);
  assert.equal(await pool.run('size', buffer, { transferList: [buffer] }), 64);
  assert.equal(buffer.byteLength, 0, 'the buffer was detached, not copied');
});

test('run() - abort of a running call rejects with signal.reason; the pool stays usable', async () => {
  await using pool = new Executor({ filename, maxThreads: 1 });
  const shared = new SharedArrayBuffer(4);
  const ac = new AbortController();
  const listeners = listenerCount(ac.signal);
  const running = pool.run('spin', shared, { signal: ac.signal });
  await started(shared);
  const reason = new Error('stop spinning');
  ac.abort(reason);
  await assert.rejects(running, (e) => e === reason);
  assert.equal(listeners.count(), 0, 'no abort listener left behind');
  assert.equal(await pool.run('fib', 15), 610);
  assert.equal(pool.stats().running, 0);
});

test('run() - abort of a queued call rejects with signal.reason and drops it from the queue', async () => {
  await using pool = new Executor({ filename, maxThreads: 1 });
  const shared = new SharedArrayBuffer(4);
  const blocker = new AbortController();
  const spinning = pool.run('spin', shared, { signal: blocker.signal });
  await started(shared);
  try {
    const ac = new AbortController();
    const listeners = listenerCount(ac.signal);
    const queued = pool.run('fib', 10, { signal: ac.signal });
    assert.equal(pool.stats().queueSize, 1);
    assert.equal(listeners.count(), 1);
    ac.abort('not needed');
    await assert.rejects(queued, (e) => e === 'not needed');
    assert.equal(pool.stats().queueSize, 0);
    assert.equal(listeners.count(), 0);
  } finally {
    // Stop the spinning worker even when an assertion failed, or disposing the pool waits forever.
    blocker.abort('done');
  }
  await assert.rejects(spinning, (e) => e === 'done');
});

test('run() - aborting the only running call lets the queued calls start on a new thread', async () => {
  await using pool = new Executor({ filename, maxThreads: 1 });
  const shared = new SharedArrayBuffer(4);
  const ac = new AbortController();
  const spinning = pool.run('spin', shared, { signal: ac.signal });
  await started(shared);
  const later = new AbortController();
  const listeners = listenerCount(later.signal);
  const queued = [pool.run('fib', 10, { signal: later.signal }), pool.run('fib', 11)];
  ac.abort('done');
  await assert.rejects(spinning, (e) => e === 'done');
  assert.deepEqual(await Promise.all(queued), [55, 89]);
  assert.equal(listeners.count(), 0, 'the queued call left no listener once it ran');
});

test('run() - an already-aborted signal rejects without running', async () => {
  await using pool = new Executor({ filename, maxThreads: 1 });
  await assert.rejects(pool.run('fib', 10, { signal: AbortSignal.abort('early') }), (e) => e === 'early');
  assert.equal(pool.stats().completed, 0);
});

test('run() - rejects with QueueFull past maxQueue', async () => {
  await using pool = new Executor({ filename, maxThreads: 1, maxQueue: 1 });
  const shared = new SharedArrayBuffer(4);
  const ac = new AbortController();
  const spinning = pool.run('spin', shared, { signal: ac.signal });
  await started(shared);
  const queued = pool.run('fib', 10);
  await assert.rejects(pool.run('fib', 10), QueueFull);
  ac.abort('done');
  await assert.rejects(spinning, (e) => e === 'done');
  assert.equal(await queued, 55);
});

test('close() - waits for running and queued calls, then later calls reject with ClosedError', async () => {
  const pool = new Executor({ filename, maxThreads: 1 });
  const calls = [pool.run('fib', 18), pool.run('fib', 19), pool.run('fib', 20)];
  const closed = pool.close();
  assert.equal(pool.state, 'closing');
  await assert.rejects(pool.run('fib', 1), ClosedError);
  assert.deepEqual(await Promise.all(calls), [2584, 4181, 6765]);
  await closed;
  assert.equal(pool.state, 'closed');
  assert.equal(pool.stats().threads, 0);
  assert.equal(pool.close(), closed, 'close() twice returns the same promise');
  await assert.rejects(pool.run('fib', 1), ClosedError);
});

test('destroy() - rejects running and queued calls at once and terminates the threads', async () => {
  const pool = new Executor({ filename, maxThreads: 1 });
  const shared = new SharedArrayBuffer(4);
  const spinning = pool.run('spin', shared);
  const queued = pool.run('fib', 10);
  await started(shared);
  const destroyed = pool.destroy();
  await assert.rejects(spinning, ClosedError);
  await assert.rejects(queued, ClosedError);
  await destroyed;
  assert.equal(pool.stats().threads, 0);
  await pool.destroy();
  await assert.rejects(pool.run('fib', 1), ClosedError);
});

test('destroy(reason) - during close() rejects the calls being drained with reason', async () => {
  const pool = new Executor({ filename, maxThreads: 1 });
  const shared = new SharedArrayBuffer(4);
  const spinning = pool.run('spin', shared);
  await started(shared);
  const closed = pool.close();
  const reason = new Error('shutdown now');
  const destroyed = pool.destroy(reason);
  await assert.rejects(spinning, (e) => e === reason);
  await Promise.all([closed, destroyed]);
  assert.equal(pool.state, 'closed');
  assert.equal(pool.stats().threads, 0);
});

test('new Executor() - checks its options', () => {
  assert.throws(() => new Executor({ filename: '' }), InvalidArgumentError);
  assert.throws(() => new Executor({ filename, maxThreads: 0 }), /maxThreads/);
  assert.throws(() => new Executor({ filename, minThreads: 3, maxThreads: 2 }), /minThreads/);
  assert.throws(() => new Executor({ filename, idleTimeout: -1 }), /idleTimeout/);
});
