import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSequentialConcurrent, formatTable } from '../../src/cli/demo.ts';
import { VirtualClock } from '../../src/testing/index.ts';

test('demo - sequential waits add up, concurrent ones overlap (virtual time)', async () => {
  const clock = new VirtualClock();
  using _ = clock.install();
  const row = await clock.run(compareSequentialConcurrent(5, 1000, true));
  assert.equal(row.tasks, 5);
  assert.notEqual(row.sequentialMs, undefined);
  assert.equal(clock.now(), 5000 + 1000, 'five waits one after another, then five at once');
});

test('demo - the table marks sequential rows that did not run and computes the speed-up', () => {
  const table = formatTable([
    { tasks: 3, sequentialMs: 300, concurrentMs: 100 },
    { tasks: 1000, sequentialMs: undefined, concurrentMs: 120 },
  ], 100);
  assert.match(table, /^\s+3\s+0\.30 s\s+0\.10 s\s+3\.0×$/m);
  assert.match(table, /^\s+1000\s+not run\s+0\.12 s\s*$/m);
});
