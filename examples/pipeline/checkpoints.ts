// Seed 002: "checkpoints: record progress periodically, to resume after a failure". The checkpoint
// is a low-water mark (every item below it is completely done), kept in SQLite with the dead
// letters; the output is keyed, so items done again after a resume replace themselves.
// Here the first run is stopped half-way (drain), the second resumes; every item is there once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRows, keyedSink, pipeline, SqlitePipelineStore } from '../../src/pipeline/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'spate-checkpoints-'));
const items = Array.from({ length: 1000 }, (_, i) => i);
const build = (store: SqlitePipelineStore, onItem: (x: number) => void) =>
  pipeline(items, { name: 'orders', store, checkpointItems: 100 })
    .map(async (x) => { onItem(x); await new Promise((r) => setImmediate(r)); return { id: x, total: x * 3 }; }, { concurrency: 8 });

try {
  const path = join(dir, 'state.sqlite');
  let store = SqlitePipelineStore.open(path);
  const stop = new AbortController();
  const first = await build(store, (x) => { if (x === 500) stop.abort(); }).into(keyedSink(store, 'orders'), { drain: stop.signal });
  console.log(`first run: ${first.status} at checkpoint ${first.checkpoint}`);
  await store.close();

  store = SqlitePipelineStore.open(path); // a new process would do the same
  const resumedFrom = await store.getCheckpoint('orders');
  const second = await build(store, () => {}).into(keyedSink(store, 'orders'));
  console.log(`second run: resumed from ${resumedFrom}, ${second.status}, checkpoint ${second.checkpoint}`);
  const file = join(dir, 'orders.jsonl');
  const rows = await exportRows(store, 'orders', file);
  const ids = new Set(readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { id: number }).id));
  console.log(`${rows} rows, ${ids.size} distinct ids: every order exactly once`);
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
