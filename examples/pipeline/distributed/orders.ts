// The pipeline of examples/pipeline/distributed/pipeline-run.ts: an ordinary in-process pipeline
// module (`spate pipeline run orders.ts` runs it here), which `spate worker orders.ts --broker URL`
// runs on a broker instead, every stage on its own queue, with no change to its code.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../../src/core/index.ts';
import { pipeline } from '../../../src/pipeline/index.ts';

interface Order { id: number; items: string[] }
interface Line { order: number; item: string; price: number }

const orders: Order[] = Array.from({ length: 100 }, (_, id) => ({ id, items: id % 3 === 0 ? ['book', 'pen'] : ['lamp'] }));

export default pipeline(orders, { name: 'orders' })
  // Some I/O per order (a price lookup), retried in the broker when it fails.
  .map(async (order: Order, { signal }) => {
    await sleep(10, { signal });
    return { ...order, prices: order.items.map((item) => item.length * 100 + order.id) };
  }, { name: 'price', concurrency: 4, retry: 3 })
  // One line per item: keys `<order>/0`, `<order>/1` on the next queue.
  .flatMap((o: Order & { prices: number[] }): Line[] => o.items.map((item, i) => ({ order: o.id, item, price: o.prices[i]! })), { name: 'lines' })
  .filter((line: Line) => line.price % 7 !== 0, { name: 'not-sevens' });

/** The last stage's outputs, keyed: one JSON line per output per process; readers keep one line per key. */
export function sink(outputs: unknown[], { key }: { key: string }): void {
  if (outputs.length > 0) appendFileSync(join(process.env.SPATE_EXAMPLE_OUT ?? '.', `orders-${process.pid}.jsonl`), `${JSON.stringify({ key, line: outputs[0] })}\n`);
}
