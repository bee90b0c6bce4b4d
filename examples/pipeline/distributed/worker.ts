// The worker half of examples/pipeline/distributed/run.ts: the stage a `spate worker` process runs,
// and its keyed sink. The stage is the same definition an in-process pipeline would use.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../../src/core/index.ts';
import { defineStage } from '../../../src/pipeline/stage.ts';

/** Seed 002's process_item: some I/O-bound work on one record. */
export const stage = defineStage<{ id: number }, { id: number; square: number }>('map', async (item: { id: number }, { signal }) => {
  await sleep(20, { signal });
  return { id: item.id, square: item.id * item.id };
}, { name: 'process-item', concurrency: 4, retry: { retries: 3 } });

/** One JSON line per item per process; readers keep one line per key, so a redelivered item counts once. */
export function sink(outputs: unknown[], { key }: { key: string }): void {
  appendFileSync(join(process.env.SPATE_EXAMPLE_OUT ?? '.', `worker-${process.pid}.jsonl`), `${JSON.stringify({ key, ...(outputs[0] as object) })}\n`);
}
