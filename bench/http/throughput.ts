// http/throughput: `concurrency` workers loop GET on one lab endpoint for `seconds`; req/s and p99.
// Usage: node throughput.ts <impl> --seconds=5 --concurrency=50 (LAB_URL from the environment)
import { args, percentile, report } from '../lib.ts';

const impl = process.argv[2];
const { seconds, concurrency } = args({ seconds: 5, concurrency: 50 }) as { seconds: number; concurrency: number };
const url = `${process.env.LAB_URL}/json`;

async function client(): Promise<{ get: () => Promise<number>; close: () => Promise<void> }> {
  switch (impl) {
    case 'spate': {
      const { Session } = await import('../../src/http/index.ts');
      const http = new Session({ connections: concurrency });
      return { get: async () => (await (await http.get(url)).bytes()).length, close: () => http.close() };
    }
    case 'undici': {
      const { Pool, request } = await import('undici');
      const pool = new Pool(new URL(url).origin, { connections: concurrency });
      return { get: async () => (await (await request(url, { dispatcher: pool })).body.arrayBuffer()).byteLength, close: () => pool.close() };
    }
    case 'fetch':
      return { get: async () => (await (await fetch(url)).arrayBuffer()).byteLength, close: async () => {} };
    case 'got': {
      const { default: got } = await import('got');
      return { get: async () => (await got(url).buffer()).length, close: async () => {} };
    }
    case 'axios': {
      const { default: axios } = await import('axios');
      const { Agent } = await import('node:http');
      const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
      return { get: async () => (await axios.get(url, { responseType: 'arraybuffer', httpAgent: agent })).data.byteLength, close: async () => agent.destroy() };
    }
    default:
      throw new Error(`unknown impl ${impl}`);
  }
}

const c = await client();
// Warm up: connections, JIT.
await Promise.all(Array.from({ length: concurrency }, async () => {
  for (let i = 0; i < 20; i++) await c.get();
}));
const latencies: number[] = [];
let done = 0;
const start = performance.now();
const end = start + seconds * 1000;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (performance.now() < end) {
    const t = performance.now();
    await c.get();
    latencies.push(performance.now() - t);
    done++;
  }
}));
const elapsed = (performance.now() - start) / 1000;
await c.close();
report(done / elapsed, { p99_ms: Math.round(percentile(latencies, 99) * 100) / 100 });
