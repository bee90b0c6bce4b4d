// pipeline/local-1e6: N items through three stages — parse (JSON text → object), an async transform
// at concurrency 16, a sink taking batches of 1000 — in one process.
// Usage: node local.ts <spate|node-streams|readable-map|p-map|loop> --n=1000000
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { args, report } from '../lib.ts';

const impl = process.argv[2];
const { n } = args({ n: 1_000_000 }) as { n: number };
const CONCURRENCY = 16;
const BATCH = 1000;
interface Row { id: number; v: number }
function* source() {
  for (let i = 0; i < n; i++) yield `{"id":${i},"v":${i % 97}}`;
}
const parse = (text: string): Row => JSON.parse(text) as Row;
const transform = async (row: Row): Promise<Row> => ({ id: row.id, v: row.v * 2 });
let count = 0;
let sum = 0;
const sink = (batch: Row[]) => {
  count += batch.length;
  for (const r of batch) sum += r.v;
};

// Modules load before the clock starts: the rate is of the items, not of loading (for spate, from
// src/, that is Node stripping the types of ~50 files: ~0.4 s of CPU the compiled dist/ does not pay).
const spate = impl === 'spate' ? await import('../../src/pipeline/index.ts') : undefined;
const pMap = impl === 'p-map' ? await import('p-map') : undefined;

async function run(): Promise<void> {
  switch (impl) {
    case 'spate': {
      const { pipeline } = spate!;
      await pipeline(source())
        .map(parse)
        .map(transform, { concurrency: CONCURRENCY })
        .batch({ size: BATCH })
        .sink(sink)
        .run();
      break;
    }
    case 'node-streams': {
      // stream.pipeline with object-mode Transforms; a Transform takes one item at a time, so the
      // async step keeps up to CONCURRENCY calls running itself and keeps output unordered.
      let batch: Row[] = [];
      let running = 0;
      let waiting: (() => void) | undefined;
      await streamPipeline(
        Readable.from(source()),
        new Transform({ objectMode: true, transform(text: string, _e, cb) { cb(null, parse(text)); } }),
        new Transform({
          objectMode: true,
          highWaterMark: CONCURRENCY,
          transform(row: Row, _e, cb) {
            running++;
            transform(row).then((r) => {
              this.push(r);
              running--;
              waiting?.();
            });
            if (running < CONCURRENCY) cb();
            else waiting = () => { waiting = undefined; cb(); };
          },
          flush(cb) {
            if (running === 0) return cb();
            waiting = () => { if (running === 0) cb(); };
          },
        }),
        new Writable({
          objectMode: true,
          write(row: Row, _e, cb) {
            batch.push(row);
            if (batch.length >= BATCH) { sink(batch); batch = []; }
            cb();
          },
          final(cb) { sink(batch); cb(); },
        }),
      );
      break;
    }
    case 'readable-map': {
      let batch: Row[] = [];
      for await (const row of Readable.from(source()).map(parse).map(transform, { concurrency: CONCURRENCY })) {
        batch.push(row as Row);
        if (batch.length >= BATCH) { sink(batch); batch = []; }
      }
      sink(batch);
      break;
    }
    case 'p-map': {
      const { pMapIterable } = pMap!;
      let batch: Row[] = [];
      const parsed = (function* () { for (const t of source()) yield parse(t); })();
      for await (const row of pMapIterable(parsed, transform, { concurrency: CONCURRENCY })) {
        batch.push(row);
        if (batch.length >= BATCH) { sink(batch); batch = []; }
      }
      sink(batch);
      break;
    }
    case 'loop': {
      // the floor: the same work by hand in one loop (16 transforms in flight, no stages, no
      // channels) — what any pipeline of this workload can at best approach
      await new Promise<void>((resolve) => {
        const it = source();
        let batch: Row[] = [];
        let running = 0;
        let ended = false;
        const fill = () => {
          while (running < CONCURRENCY && !ended) {
            const next = it.next();
            if (next.done) ended = true;
            else {
              running++;
              void transform(parse(next.value)).then(done);
            }
          }
          if (ended && running === 0) {
            sink(batch);
            resolve();
          }
        };
        const done = (row: Row) => {
          batch.push(row);
          if (batch.length >= BATCH) { sink(batch); batch = []; }
          running--;
          fill();
        };
        fill();
      });
      break;
    }
    default:
      throw new Error(`unknown impl ${impl}`);
  }
}

const start = performance.now();
const cpu0 = process.cpuUsage();
await run();
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpu0);
if (count !== n) throw new Error(`${impl}: ${count} of ${n} items arrived`);
const expected = Array.from({ length: 97 }, (_, k) => k).reduce((a, k) => a + 2 * k * Math.floor((n - k + 96) / 97), 0);
if (sum !== expected) throw new Error(`${impl}: wrong sum ${sum} (expected ${expected})`);
// items per CPU-second beside items per second: on a shared machine the CPU time is the steadier figure
report(n / seconds, { items_per_cpu_s: Math.round(n / ((cpu.user + cpu.system) / 1e6)) });
