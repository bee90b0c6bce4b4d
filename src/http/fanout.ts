// The seeds' benchmark table: N URLs that each take `delay` seconds, fetched one after another
// and all at once with the same client. Concurrently, the physical limit is the delay itself.
import { Session } from './session.ts';

/** One row of the fan-out table: sequential against concurrent for `urls` requests. */
export interface FanoutRow {
  urls: number;
  /** Seconds, or undefined when not run (too slow to be worth it). */
  sequential: number | undefined;
  concurrent: number;
  failed: number;
}

/** Options of `fanout`. */
export interface FanoutOptions {
  /** The server's base URL; requests go to `${url}/delay/${delay}`. */
  url: string;
  /** Seconds each request takes on the server. @default 1 */
  delay?: number | undefined;
  /** Sizes run both ways. @default [5, 10, 20, 50, 100] */
  sizes?: readonly number[] | undefined;
  /** Sizes run concurrently only. @default [1000, 10000] */
  concurrentOnly?: readonly number[] | undefined;
  signal?: AbortSignal | undefined;
  /** Called after each row, for progress. */
  onRow?: ((row: FanoutRow) => void) | undefined;
}

/** Runs the table and returns its rows. */
export async function fanout(options: FanoutOptions): Promise<FanoutRow[]> {
  const delay = options.delay ?? 1;
  const sizes = options.sizes ?? [5, 10, 20, 50, 100];
  const large = options.concurrentOnly ?? [1000, 10_000];
  const most = Math.max(...sizes, ...large);
  // One connection per request in flight: the point is to have them all waiting at once.
  await using http = new Session({ connections: most, retry: false, breaker: false, timeouts: { headers: delay * 1000 + 30_000 } });
  const target = `${options.url.replace(/\/$/, '')}/delay/${delay}`;
  const signal = options.signal;
  const rows: FanoutRow[] = [];
  // Warm up: the first requests pay for connecting and JIT, which is not what the table measures.
  await Promise.all(Array.from({ length: Math.min(most, 200) }, () => http.get(`${options.url.replace(/\/$/, '')}/health`, { signal })));
  for (const n of [...sizes, ...large]) {
    let sequential: number | undefined;
    if (sizes.includes(n)) {
      const start = performance.now();
      for (let i = 0; i < n; i++) await http.get(target, { signal });
      sequential = (performance.now() - start) / 1000;
    }
    const start = performance.now();
    const results = await Promise.allSettled(Array.from({ length: n }, () => http.get(target, { signal })));
    const concurrent = (performance.now() - start) / 1000;
    if (signal?.aborted) throw signal.reason;
    const row = { urls: n, sequential, concurrent, failed: results.filter((r) => r.status === 'rejected').length };
    rows.push(row);
    options.onRow?.(row);
  }
  return rows;
}

/** The rows as the seeds print them, with the speed-up column. */
export function formatFanout(rows: readonly FanoutRow[], delay: number): string {
  const lines = [
    `Each URL takes ${delay} s on the server (lab /delay/${delay}); same client both ways.`,
    '',
    '   URLs   sequential   concurrent   speed-up   failed',
    '  -----   ----------   ----------   --------   ------',
  ];
  for (const r of rows) {
    const seq = r.sequential === undefined ? 'not run' : `${r.sequential.toFixed(2)} s`;
    const speedUp = r.sequential === undefined ? '-' : `${(r.sequential / r.concurrent).toFixed(1)}×`;
    lines.push(`  ${String(r.urls).padStart(5)}   ${seq.padStart(10)}   ${`${r.concurrent.toFixed(2)} s`.padStart(10)}   ${speedUp.padStart(8)}   ${String(r.failed).padStart(6)}`);
  }
  return lines.join('\n');
}
