// The seeds' AsyncAPIService (aiohttp) with its background task, on spate's Fastify service:
// /health, /slow, POST /echo, /data/{id}, plus /metrics. The seeds' simulated I/O (100 ms in
// /echo, 500 ms in /data) is turned on here, so five /data calls made together take about as
// long as one. The client is spate's Session. Run: npx node examples/serve/api-service.ts
import { sleep } from '../../src/core/sleep.ts';
import { Session } from '../../src/http/index.ts';
import { SEED_DELAYS, startApiServer } from '../../src/serve/index.ts';

// The seeds' `background_task`: a periodic job started with the app. Here it stops when the
// server does (its signal aborts), instead of being left running.
let ticks = 0;
const heartbeat = async ({ signal }: { signal: AbortSignal }) => {
  for (;;) {
    await sleep(50, { signal });
    ticks++;
  }
};

// Port 0 picks a free port; `spate serve api --seed-delays` runs the same service from the CLI.
const server = await startApiServer({ delays: SEED_DELAYS, background: [{ name: 'heartbeat', fn: heartbeat }] });
console.log('server: listening');

{
  await using client = new Session({ baseUrl: server.url, retry: false });

  const health = await client.getJson<{ status: string }>('/health');
  console.log(`GET /health -> ${health.status}`);

  const echo = await (await client.post('/echo', { json: { message: 'hello', n: 1 } })).json<{ received: unknown; processed: boolean }>();
  console.log(`POST /echo -> received ${JSON.stringify(echo.received)}, processed: ${echo.processed}`);

  const row = await client.getJson<{ user_id: number; name: string; email: string }>('/data/42');
  console.log(`GET /data/42 -> ${row.name} <${row.email}>`);

  const rows = await Promise.all([1, 2, 3, 4, 5].map((id) => client.getJson<{ name: string }>(`/data/${id}`)));
  console.log(`5 concurrent /data calls -> ${rows.map((r) => r.name).join(', ')}`);

  const slow = await client.getJson<{ message: string; delay: number }>('/slow', { query: { delay: 0.2 } });
  console.log(`GET /slow?delay=0.2 -> ${slow.message} (${slow.delay} s)`);

  for (const path of ['/data/abc', '/nothing-here']) {
    const res = await client.get(path, { throwOnStatus: false });
    const error = await res.json<{ code: string }>();
    console.log(`GET ${path} -> ${res.status} ${error.code}`);
  }

  const metrics = await (await client.get('/metrics')).text();
  const count = /^http_requests_total\{method="GET",route="\/data\/:id",status="200"\} (\d+)$/m.exec(metrics)?.[1];
  console.log(`/metrics: ${count} successful GET /data/:id requests`);
}

await server.close();
const [lag, beat] = server.background.stats();
console.log(`server: closed (background tasks: ${lag!.name} ${lag!.state}, ${beat!.name} ${beat!.state}, ticked: ${ticks > 0})`);
