// http/fanout-10000: N requests to /delay/1 all at once; seconds until the last one is done.
// Usage: node fanout.ts spate --n=10000 --delay=1 (LAB_URL from the environment)
import { args, report } from '../lib.ts';
import { Session } from '../../src/http/index.ts';

const { n, delay } = args({ n: 10_000, delay: 1 }) as { n: number; delay: number };
const http = new Session({ connections: n, retry: false, breaker: false, timeouts: { headers: 60_000 } });
const url = `${process.env.LAB_URL}/delay/${delay}`;
const start = performance.now();
const results = await Promise.allSettled(Array.from({ length: n }, () => http.get(url)));
const seconds = (performance.now() - start) / 1000;
const failed = results.filter((r) => r.status === 'rejected').length;
await http.close();
if (failed) throw new Error(`${failed} requests failed`);
report(seconds);
