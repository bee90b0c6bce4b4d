// Seeds: AsyncAPIClient — a base URL, a timeout, retries with exponential backoff on 5xx, a circuit
// breaker, and batch_get(endpoints, max_concurrent). spate's Session has all of it built in.
import { startLab } from '../../src/lab/index.ts';
import { Session, batch } from '../../src/http/index.ts';
import { exponentialBackoff } from '../../src/core/index.ts';

await using lab = await startLab();
await using api = new Session({
  baseUrl: lab.url,
  timeouts: { total: 10_000 },
  retry: { retries: 3, backoff: exponentialBackoff({ base: 10, max: 200 }) },
  breaker: { minimumRequests: 5, failureRateThreshold: 0.5, cooldownMs: 1000 },
});

// /users/3 fails twice with a 503 before it answers: the client retries it.
const endpoints = ['/users/1', '/users/2', `/users/3?fail_first=2&fail_status=503&key=example-${process.pid}`, '/users/999'];
const results = await batch(api, endpoints, { concurrency: 2 });
for (const r of results) {
  const path = new URL(r.url, lab.url).pathname;
  if (r.ok) {
    const user = await r.response!.json<{ id: number; name: string }>();
    console.log(`${path}: ${user.name} (attempts: ${r.attempts})`);
  } else {
    console.log(`${path}: failed with ${r.status} (attempts: ${r.attempts})`);
  }
}
const [host] = api.metrics();
console.log(`requests sent: ${host!.requests}, retries: ${host!.retries}`);
