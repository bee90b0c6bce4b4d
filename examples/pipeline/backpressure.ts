// Seed 002: "when the queue is past 80, slow the producer" (`if qsize() > 80: await sleep(0.1)`).
// spate: the bound is the backpressure — the source is read only when the stage has room, so it
// never runs ahead by more than the buffer, and no producer polls the queue size.
import { sleep } from '../../src/core/index.ts';
import { pipeline } from '../../src/pipeline/index.ts';

let read = 0;
let maxAhead = 0;
let processed = 0;
function* source() {
  for (let i = 0; i < 1000; i++) {
    read++;
    maxAhead = Math.max(maxAhead, read - processed);
    yield i;
  }
}

const result = await pipeline(source())
  .map(async (x) => { await sleep(x % 50 === 0 ? 5 : 0); processed++; return x; }, { concurrency: 4, buffer: 100 })
  .run();
console.log(`read ${result.read} items, processed ${processed}`);
console.log(maxAhead <= 100 + 4 + 1 ? 'the source never ran more than buffer + workers ahead of the stage' : `ran ${maxAhead} ahead?`);
