// The Session's own CPU per request, without I/O: a dispatcher that answers every request from
// memory, under spate's Session (its defaults) and under bare undici.request, 50 concurrent,
// batches interleaved in one process. What is left between the two is the Session's own work
// (retries, breaker, budget, metrics, redirects, the response), free of the network's noise.
// Usage: node http/overhead.ts [--n=20000] [--rounds=15]
//   SPATE_BASE=/path/to/other/src/http/index.ts adds a second Session (e.g. a previous commit's).
import { Dispatcher, request } from 'undici';
import { args } from '../lib.ts';

const { n, rounds } = args({ n: 20_000, rounds: 15 }) as { n: number; rounds: number };
const body = Buffer.alloc(429, 'x');
const headers = { 'content-type': 'application/json', 'content-length': String(body.length), date: 'Wed, 02 Dec 2026 08:00:00 GMT', connection: 'keep-alive' };

class MemoryDispatcher extends Dispatcher {
  override dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const controller = { aborted: false, paused: false, reason: null, rawHeaders: null, abort() { this.aborted = true; }, pause() {}, resume() {} };
    setImmediate(() => {
      handler.onRequestStart?.(controller as never, {});
      if (controller.aborted) return;
      handler.onResponseStart?.(controller as never, 200, headers, 'OK');
      handler.onResponseData?.(controller as never, Buffer.from(body));
      handler.onResponseEnd?.(controller as never, {});
    });
    return true;
  }

  override async close(): Promise<void> {}
  override async destroy(): Promise<void> {}
}

const dispatcher = new MemoryDispatcher();
const url = 'http://lab.test/json';
const impls: [string, () => Promise<unknown>][] = [];
const { Session } = await import('../../src/http/index.ts');
const spate = new Session({ dispatcher });
impls.push(['spate', async () => (await spate.get(url)).bytes()]);
if (process.env.SPATE_BASE) {
  const base = new ((await import(process.env.SPATE_BASE)) as { Session: typeof Session }).Session({ dispatcher });
  impls.push(['base', async () => (await base.get(url)).bytes()]);
}
impls.push(['undici', async () => (await request(url, { dispatcher })).body.arrayBuffer()]);

async function batch(get: () => Promise<unknown>, count: number): Promise<void> {
  let left = count;
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (left-- > 0) await get();
  }));
}

for (const [, get] of impls) await batch(get, n);
const us = new Map(impls.map(([name]) => [name, [] as number[]]));
for (let r = 0; r < rounds; r++) {
  for (const [name, get] of r % 2 === 0 ? impls : [...impls].reverse()) {
    const cpu0 = process.cpuUsage();
    await batch(get, n);
    const cpu = process.cpuUsage(cpu0);
    us.get(name)!.push((cpu.user + cpu.system) / n);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const undici = median(us.get('undici')!);
console.log(`${rounds} rounds × ${n} requests from memory, 50 concurrent; client CPU µs per request (median)`);
for (const [name, values] of us) console.log(`  ${name.padEnd(7)} ${median(values).toFixed(2).padStart(6)} µs   above undici ${(median(values) - undici).toFixed(2)} µs`);
