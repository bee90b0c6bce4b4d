// The shared deadline list under a pool's commandTimeout: entries expire in order after the delay,
// a removed entry never expires, and an empty list holds no timer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DeadlineEntry, DeadlineList } from '../../src/pg/deadlines.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

interface Entry extends DeadlineEntry {
  readonly name: string;
}

const entry = (name: string): Entry => ({ name, due: 0, prev: undefined, next: undefined, listed: false });

test('deadlines - entries expire delay ms after they were added, in order; removed ones never', async () => {
  const clock = new VirtualClock();
  const expired: string[] = [];
  const list = new DeadlineList<Entry>(clock, 100, (e) => expired.push(`${e.name}@${clock.now()}`));
  const [a, b, c] = [entry('a'), entry('b'), entry('c')];
  list.add(a);
  await clock.advance(30);
  list.add(b);
  await clock.advance(30);
  list.add(c);
  list.remove(a); // the head leaves early: the timer fires once for nothing, then waits for b
  await clock.advance(90);
  assert.deepEqual(expired, ['b@130']);
  await clock.advance(10);
  assert.deepEqual(expired, ['b@130', 'c@160']);
  assert.equal(c.listed, false);
  assert.equal(clock.pendingTimers, 0);
});

test('deadlines - the timer is cleared when the list empties, and an entry can be added again', async () => {
  const clock = new VirtualClock();
  const expired: string[] = [];
  const list = new DeadlineList<Entry>(clock, 50, (e) => expired.push(e.name));
  const a = entry('a');
  list.add(a);
  assert.equal(clock.pendingTimers, 1);
  list.remove(a);
  list.remove(a);
  assert.equal(clock.pendingTimers, 0);
  list.add(a);
  await clock.advance(50);
  assert.deepEqual(expired, ['a']);
  assert.equal(clock.pendingTimers, 0);
});
