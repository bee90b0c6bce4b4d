import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shield } from '../../src/core/shield.ts';
import { createTask } from '../../src/core/task.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { countListeners } from '../helpers/listeners.ts';

test('shield() - the caller\'s abort rejects the wait but the inner task runs on to completion', async () => {
  const clock = new VirtualClock();
  const inner = createTask(async ({ signal }) => {
    await sleep(100, { signal, clock });
    return 'written';
  });
  const caller = new AbortController();
  const waiting = shield(inner, { signal: caller.signal });
  await clock.advance(10);
  caller.abort('caller gave up');
  await assert.rejects(waiting, (e) => e === 'caller gave up');
  assert.equal(inner.state, 'pending');
  assert.equal(inner.signal.aborted, false);
  await clock.advance(90);
  assert.equal(await inner, 'written');
});

test('shield() - resolves with the inner value and removes its listener', async () => {
  const clock = new VirtualClock();
  const caller = new AbortController();
  const counts = countListeners(caller.signal);
  const waiting = shield(sleep(5, { clock }).then(() => 7), { signal: caller.signal });
  await clock.advance(5);
  assert.equal(await waiting, 7);
  assert.equal(counts.added, 1);
  assert.equal(counts.removed, 1);
});

test('shield() - passes the inner rejection through', async () => {
  const boom = new Error('boom');
  await assert.rejects(shield(Promise.reject(boom), { signal: new AbortController().signal }), (e) => e === boom);
});

test('shield() - an already-aborted signal rejects at once and the work is untouched', async () => {
  let resolveWork!: (value: string) => void;
  const work = new Promise<string>((resolve) => (resolveWork = resolve));
  await assert.rejects(shield(work, { signal: AbortSignal.abort('no') }), (e) => e === 'no');
  resolveWork('still done');
  assert.equal(await work, 'still done');
});

test('shield() - the inner work failing after the caller left is not an unhandled rejection', async () => {
  const clock = new VirtualClock();
  const caller = new AbortController();
  const inner = createTask(async ({ signal }) => {
    await sleep(10, { signal, clock });
    throw new Error('late failure');
  });
  const waiting = shield(inner, { signal: caller.signal });
  caller.abort('gone');
  await assert.rejects(waiting);
  await clock.advance(10);
  assert.equal(inner.state, 'rejected');
});
