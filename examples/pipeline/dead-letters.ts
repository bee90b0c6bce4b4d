// Seed 002's dead-letter queue (`except Exception as e: await dead_letter_queue.put((item, str(e)))`)
// with what it leaves out: retries with backoff first, and a record of the stage, the error's
// name/message/code, the attempts and the time. The pipeline goes on; a replay runs them again.
import { constantBackoff } from '../../src/core/index.ts';
import { MemoryPipelineStore, pipeline } from '../../src/pipeline/index.ts';

const store = new MemoryPipelineStore();
let serviceUp = false;
const p = pipeline(['1', '2', 'x', '4', '5'], { name: 'dlq-demo', store, durable: false })
  .map((s) => { const n = Number(s); if (Number.isNaN(n)) throw Object.assign(new Error(`not a number: ${s}`), { code: 'EPARSE' }); return n; }, { name: 'parse' })
  .map((n) => { if (n === 4 && !serviceUp) throw Object.assign(new Error('service unavailable'), { code: 'E503' }); return n * 10; }, { name: 'enrich', retry: { retries: 2, backoff: constantBackoff(1) } })
  .sink(() => {}, { name: 'save' });

const result = await p.run();
console.log(`done: ${result.stages[2]!.in} saved, ${result.deadLetters} dead letters`);
for (const l of await store.listDeadLetters('dlq-demo')) console.log(`  ${l.stage}: ${JSON.stringify(l.item)} ${l.error.code} "${l.error.message}" after ${l.attempts} attempt(s)`);
serviceUp = true;
const replay = await p.replay(await store.listDeadLetters('dlq-demo', { stage: 'enrich' }));
console.log(`replayed ${replay.replayed} once the service was back; ${(await store.listDeadLetters('dlq-demo')).length} left (the unparseable one)`);
