// Client CPU per request: 50 concurrent GET /json against a lab in another process, short batches
// of each client interleaved in this one process (process.cpuUsage() around each batch, the order
// reversed every round). Machine load inflates every batch of a round alike, so the ratios within
// a round are steadier than req/s from separate processes; the median of those ratios is printed.
// Usage: node http/cpu.ts [--n=2000] [--rounds=20] [--concurrency=50] [--fetch=1]
//   SPATE_BASE=/path/to/other/src/http/index.ts adds a second Session (e.g. a previous commit's).
import { spawnLab } from '../../src/cli/lab-process.ts';
import { args } from '../lib.ts';

const { n, rounds, concurrency, fetch: withFetch } = args({ n: 2000, rounds: 20, concurrency: 50, fetch: 0 }) as { n: number; rounds: number; concurrency: number; fetch: number };

await using lab = await spawnLab();
const url = `${lab.url}/json`;
type Get = () => Promise<number>;
const clients: [string, Get, () => Promise<void>][] = [];

const { Session } = await import('../../src/http/index.ts');
const spate = new Session({ connections: concurrency });
clients.push(['spate', async () => (await (await spate.get(url)).bytes()).length, () => spate.close()]);
if (process.env.SPATE_BASE) {
  const base = new ((await import(process.env.SPATE_BASE)) as { Session: typeof Session }).Session({ connections: concurrency });
  clients.push(['base', async () => (await (await base.get(url)).bytes()).length, () => base.close()]);
}
const { Pool, request } = await import('undici');
const pool = new Pool(new URL(url).origin, { connections: concurrency });
clients.push(['undici', async () => (await (await request(url, { dispatcher: pool })).body.arrayBuffer()).byteLength, () => pool.close()]);
if (withFetch) clients.push(['fetch', async () => (await (await fetch(url)).arrayBuffer()).byteLength, async () => {}]);

async function batch(get: Get, count: number): Promise<void> {
  let left = count;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) await get();
  }));
}

// Warm up: connections, JIT.
for (const [, get] of clients) await batch(get, 5000);
const us = new Map<string, number[]>(clients.map(([name]) => [name, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, get] of r % 2 === 0 ? clients : [...clients].reverse()) {
    const cpu0 = process.cpuUsage();
    await batch(get, n);
    const cpu = process.cpuUsage(cpu0);
    us.get(name)!.push((cpu.user + cpu.system) / n);
  }
}
for (const [, , close] of clients) await close();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const undici = us.get('undici')!;
console.log(`${rounds} rounds × ${n} requests, ${concurrency} concurrent; client CPU µs per request (median, range) and the median of undici/impl per round`);
for (const [name, values] of us) {
  const ratio = median(values.map((v, i) => undici[i]! / v));
  console.log(`  ${name.padEnd(7)} ${median(values).toFixed(1).padStart(6)} µs  (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})   undici/${name} ${ratio.toFixed(2)}`);
}
