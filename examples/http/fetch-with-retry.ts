// Seeds: fetch_with_retry — retry with exponential backoff; a 404 is final, a timeout is retried.
import { startLab } from '../../src/lab/index.ts';
import { HttpStatusError, HttpTimeoutError, Session } from '../../src/http/index.ts';
import { exponentialBackoff } from '../../src/core/index.ts';

await using lab = await startLab();
await using http = new Session({
  baseUrl: lab.url,
  timeouts: { headers: 300 },
  retry: { retries: 3, backoff: exponentialBackoff({ base: 20, max: 500 }) },
});

async function fetchWithRetry(path: string): Promise<void> {
  try {
    const res = await http.get(path);
    console.log(`${path.split('?')[0]}: ${res.status} after ${res.attempts} attempt(s)`);
  } catch (error) {
    if (error instanceof HttpStatusError) console.log(`${path.split('?')[0]}: gave up, HTTP ${error.status} (not retried)`);
    else if (error instanceof HttpTimeoutError) console.log(`${path.split('?')[0]}: gave up, ${error.phase} timeout`);
    else throw error;
  }
}

const key = `retry-${process.pid}`;
await fetchWithRetry(`/json?fail_first=2&key=${key}-a`); // two 500s, then 200
await fetchWithRetry('/status/404'); // not retried
await fetchWithRetry(`/json?hang=1&fault_first=1&key=${key}-b`); // the first attempt hangs: timed out, retried
