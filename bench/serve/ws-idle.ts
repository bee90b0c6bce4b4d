// serve/ws-idle-10k: how many of `clients` idle WebSocket connections the server holds, with the
// clients split over `processes` processes (each process may open ~20,000 files here). Rooms of
// 100 (the join announcements of one room of 10,000 would be 50 million messages). Value: the
// connections still open on both ends after `hold` seconds; also the server's memory per
// connection (RSS growth / connections).
// Usage: node serve/ws-idle.ts spate --clients=10000 --processes=2 --hold=2
import { args } from '../lib.ts';
import { type ServerChild, deadline, reportServer, round, startServer } from './child.ts';

const impl = process.argv[2];
const { clients, processes, hold } = args({ clients: 10_000, processes: 2, hold: 2 }) as { clients: number; processes: number; hold: number };

deadline(55_000);
if (impl !== 'spate') throw new Error(`unknown impl ${impl}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const server = await startServer(['node', 'serve/server.ts', 'ws-spate']);
const groups: ServerChild[] = [];
try {
  await sleep(200);
  const rssBefore = server.rssKb();
  const per = Math.ceil(clients / processes);
  const started = performance.now();
  groups.push(...(await Promise.all(Array.from({ length: processes }, (_, i) => {
    const count = Math.min(per, clients - i * per);
    return startServer(['node', 'serve/ws-clients.ts', server.url, `--count=${count}`, `--offset=${i * per}`], 45_000, 'open');
  }))));
  const failed = groups.reduce((sum, g) => sum + Number(g.ready.failed), 0);
  console.error(`${impl}: ${clients - failed} of ${clients} connected in ${Math.round(performance.now() - started)} ms`);
  await sleep(hold * 1000);
  const rssAfter = server.rssKb();
  const onServer = await server.connections();
  const onClients = (await Promise.all(groups.map((g) => g.connections()))).reduce((a, b) => a + b, 0);
  const held = Math.min(onServer, onClients);
  const perConn = rssBefore === undefined || rssAfter === undefined || held === 0 ? {} : { rss_per_conn_kb: round((rssAfter - rssBefore) / held, 2) };
  reportServer(server, held, { ...perConn, failed });
} finally {
  await Promise.all(groups.map((g) => g.stop()));
  await server.stop();
}
process.exit(0);
