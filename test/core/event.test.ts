import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Event } from '../../src/core/event.ts';
import { TimeoutError } from '../../src/core/errors.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

const turn = () => new Promise((r) => setImmediate(r));

/** An AbortController whose signal counts listeners added; `listening()` counts those still attached. */
function countedController() {
  const ac = new AbortController();
  const counts = { added: 0 };
  const add = ac.signal.addEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...args: Parameters<typeof add>) => (counts.added++, add(...args))) as typeof add;
  return { ac, signal: ac.signal, counts, listening: () => getEventListeners(ac.signal, 'abort').length };
}

test('Event.wait() - resolves every waiter when set(), not before', async () => {
  const clock = new VirtualClock();
  const event = new Event({ clock });
  const woken: string[] = [];
  const waits = [
    event.wait().then(() => woken.push('plain 1')),
    event.wait({ timeout: 1000 }).then(() => woken.push('timeout')),
    event.wait({ signal: new AbortController().signal }).then(() => woken.push('signal')),
    event.wait().then(() => woken.push('plain 2')),
  ];
  await turn();
  assert.deepEqual(woken, []);
  assert.deepEqual(event.stats(), { set: false, waiting: 4 });
  event.set();
  await Promise.all(waits);
  assert.deepEqual(new Set(woken), new Set(['plain 1', 'plain 2', 'timeout', 'signal']));
  assert.deepEqual(event.stats(), { set: true, waiting: 0 });
  assert.equal(clock.pendingTimers, 0);
});

test('Event.wait() - resolves at once while set, and waits again after clear()', async () => {
  const event = new Event();
  event.set();
  event.set();
  assert.equal(event.isSet(), true);
  await event.wait();
  await event.wait({ timeout: 0 });
  event.clear();
  assert.equal(event.isSet(), false);
  let woken = false;
  const p = event.wait().then(() => (woken = true));
  await turn();
  assert.equal(woken, false);
  event.set();
  await p;
  assert.equal(woken, true);
});

test('Event.wait() - timeout rejects with TimeoutError and leaves no timer', async () => {
  const clock = new VirtualClock();
  const event = new Event({ clock });
  const late = assert.rejects(event.wait({ timeout: 100 }), (e) => e instanceof TimeoutError && /Event\.wait\(\) timed out after 100 ms/.test(e.message));
  await clock.advance(100);
  await late;
  assert.equal(clock.pendingTimers, 0);
  assert.equal(event.stats().waiting, 0);
});

test('Event.wait() - abort rejects with signal.reason; other waiters still woken by set()', async () => {
  const event = new Event();
  const { ac, signal, counts, listening } = countedController();
  const aborted = event.wait({ signal });
  const other = event.wait();
  ac.abort('bye');
  await assert.rejects(aborted, (e) => e === 'bye');
  assert.equal(counts.added, 1);
  assert.equal(listening(), 0);
  event.set();
  await other;
});

test('Event.wait() - an already-aborted signal rejects even when set', async () => {
  const event = new Event();
  event.set();
  await assert.rejects(event.wait({ signal: AbortSignal.abort('no') }), (e) => e === 'no');
});

test('Event.set() - removes the abort listeners of the waiters it wakes', async () => {
  const clock = new VirtualClock();
  const event = new Event({ clock });
  const { signal, counts, listening } = countedController();
  const p = event.wait({ signal, timeout: 50 });
  event.set();
  await p;
  assert.equal(counts.added, 1);
  assert.equal(listening(), 0);
  assert.equal(clock.pendingTimers, 0);
});

test('Event.wait() - rejects bad options with a clear error', () => {
  const event = new Event();
  assert.throws(() => event.wait({ timeout: -5 }), /Expected `timeout` to be a number ≥ 0, got -5/);
});
