import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLab } from '../../src/lab/index.ts';
import { fanout, formatFanout } from '../../src/http/index.ts';

test('fanout() - runs each size both ways, then the large ones concurrently only, with no failures', async () => {
  await using lab = await startLab();
  const rows = await fanout({ url: lab.url, delay: 0.05, sizes: [2, 4], concurrentOnly: [50] });
  assert.deepEqual(rows.map((r) => [r.urls, r.sequential === undefined, r.failed]), [[2, false, 0], [4, false, 0], [50, true, 0]]);
});

test('formatFanout() - the speed-up column, and "not run" for concurrent-only rows', () => {
  const text = formatFanout([{ urls: 5, sequential: 5, concurrent: 1, failed: 0 }, { urls: 1000, sequential: undefined, concurrent: 1.25, failed: 2 }], 1);
  assert.match(text, /^\s+5\s+5\.00 s\s+1\.00 s\s+5\.0×\s+0$/m);
  assert.match(text, /^\s+1000\s+not run\s+1\.25 s\s+-\s+2$/m);
});
