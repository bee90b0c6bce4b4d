import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { LinkedController, onAbort, throwIfAborted } from '../../src/core/signals.ts';

test('onAbort() - many waits on one signal hold one listener, gone when the last wait leaves', () => {
  const ac = new AbortController();
  const unlinks = Array.from({ length: 1000 }, () => onAbort(ac.signal, () => {}));
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  for (const unlink of unlinks) unlink();
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  // A later wait starts a listener again.
  const unlink = onAbort(ac.signal, () => {});
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  unlink();
  unlink();
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('onAbort() - an abort calls every waiting callback once, in the order they started waiting', () => {
  const ac = new AbortController();
  const calls: string[] = [];
  const fn = (reason: unknown) => calls.push(`a:${String(reason)}`);
  onAbort(ac.signal, fn);
  onAbort(ac.signal, fn);
  const unlink = onAbort(ac.signal, () => calls.push('removed'));
  onAbort(ac.signal, (reason) => calls.push(`b:${String(reason)}`));
  unlink();
  ac.abort('why');
  ac.abort('again');
  assert.deepEqual(calls, ['a:why', 'a:why', 'b:why']);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('onAbort() - an aborted signal calls at once; no signal never calls', () => {
  let seen: unknown;
  onAbort(AbortSignal.abort('early'), (reason) => (seen = reason));
  assert.equal(seen, 'early');
  const unlink = onAbort(undefined, () => assert.fail('called'));
  unlink();
});

test('LinkedController - follows its parent until unlinked', () => {
  const parent = new AbortController();
  const linked = new LinkedController(parent.signal);
  const unlinked = new LinkedController(parent.signal);
  unlinked.unlink();
  parent.abort('stop');
  assert.equal(linked.signal.reason, 'stop');
  assert.equal(unlinked.signal.aborted, false);
  assert.throws(() => throwIfAborted(linked.signal), (e) => e === 'stop');
});
