import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResizableLimit } from '../../src/download/limit.ts';

const settled = () => new Promise((r) => setImmediate(r));

test('ResizableLimit - acquire() waits at the limit; waiters are served FIFO', async () => {
  const limit = new ResizableLimit(1);
  await limit.acquire();
  const order: number[] = [];
  const a = limit.acquire().then(() => order.push(1));
  const b = limit.acquire().then(() => order.push(2));
  await settled();
  assert.deepEqual(order, []);
  assert.equal(limit.waiting, 2);
  limit.release();
  await a;
  limit.release();
  await b;
  assert.deepEqual(order, [1, 2]);
  assert.equal(limit.inFlight, 1);
});

test('ResizableLimit - resize() up wakes waiters at once; down lets holders finish', async () => {
  const limit = new ResizableLimit(2);
  await limit.acquire();
  await limit.acquire();
  let woken = 0;
  const waiters = [limit.acquire(), limit.acquire()].map((p) => p.then(() => woken++));
  limit.resize(4);
  await Promise.all(waiters);
  assert.equal(woken, 2);
  assert.equal(limit.inFlight, 4);
  limit.resize(1);
  assert.equal(limit.inFlight, 4);
  let late = false;
  const next = limit.acquire().then(() => (late = true));
  for (let i = 0; i < 3; i++) limit.release();
  await settled();
  assert.equal(late, false, 'still 1 in flight at limit 1');
  limit.release();
  await next;
  assert.equal(limit.inFlight, 1);
});

test('ResizableLimit - an aborted waiter rejects with the reason and leaves no listener', async () => {
  const limit = new ResizableLimit(1);
  await limit.acquire();
  const controller = new AbortController();
  let listeners = 0;
  const add = controller.signal.addEventListener.bind(controller.signal);
  controller.signal.addEventListener = ((...args: Parameters<typeof add>) => { listeners++; return add(...args); }) as typeof add;
  const p = limit.acquire({ signal: controller.signal });
  assert.equal(listeners, 1);
  const reason = new Error('stop');
  controller.abort(reason);
  await assert.rejects(p, reason);
  assert.equal(limit.waiting, 0);
  limit.release();
  assert.equal(limit.inFlight, 0, 'the unit is not given to the dead waiter');
});

test('ResizableLimit - rejects a limit below 1', () => {
  assert.throws(() => new ResizableLimit(0), /limit/);
  assert.throws(() => new ResizableLimit(2).resize(1.5), /limit/);
});
