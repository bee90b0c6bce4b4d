// serve/ws-broadcast: fan-out deliveries/s with `clients` WebSocket clients in one room, one of
// which sends; each message is relayed by the server to every client (the sender included, as the
// seeds' notify_all does), and a delivery is one message arriving at one client. The sender keeps
// at most `window` messages not yet delivered to everyone, so no server is asked to buffer without
// bound. Clients are `ws` in this process, the same for every server; the server runs in a process
// of its own, and its memory per connection is its RSS growth over the connects / `clients`.
// Usage: node serve/ws-broadcast.ts <spate|websockets> --seconds=5 --warmup=1 --clients=1000 --window=32
import WebSocket from 'ws';
import { args } from '../lib.ts';
import { deadline, python, reportServer, round, skip, startServer } from './child.ts';

const impl = process.argv[2];
const { seconds, warmup, clients, window } = args({ seconds: 5, warmup: 1, clients: 1000, window: 32 }) as { seconds: number; warmup: number; clients: number; window: number };
const MARK = Buffer.from('bench-');
const CONNECT_CONCURRENCY = 100;

deadline((seconds + warmup) * 1000 + 50_000);

function serverCommand(): string[] {
  if (impl === 'spate') return ['node', 'serve/server.ts', 'ws-spate'];
  if (impl === 'websockets') {
    const py = python(['websockets']);
    if (!py) skip('websockets not installed (apt-get install python3-websockets)');
    return [py, 'python/serve_servers.py', 'ws'];
  }
  throw new Error(`unknown impl ${impl}`);
}

// received[c]: marked messages client c has had; reached[k]: clients that have had at least k.
// Each server relays in order, so message k is delivered to everyone once reached[k] === clients.
const received = new Uint32Array(clients);
const reached = new Uint32Array(1 << 22);
let deliveries = 0;
/** Unmarked messages: the join announcements. */
let announcements = 0;
let deliveredToAll = 0;
let sent = 0;
let sender: WebSocket | undefined;
let sending = false;
let stopping = false;

function pump(): void {
  if (!sending || sender === undefined) return;
  while (sent - deliveredToAll < window && sent < reached.length - 1) {
    // The same bytes for every server: spate's envelope; the seeds' server relays any text.
    sender.send(`{"type":"message","payload":"bench-${sent}","timestamp":${Date.now()}}`);
    sent++;
  }
}

function onMessage(index: number, data: WebSocket.RawData): void {
  if (!(data as Buffer).includes(MARK)) {
    announcements++;
    return;
  }
  deliveries++;
  const k = ++received[index]!;
  if (++reached[k]! === clients) {
    deliveredToAll = k;
    pump();
  }
}

function connectOne(url: string, index: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?room=bench&nick=c${index}`, { perMessageDeflate: false });
    ws.on('message', (data) => onMessage(index, data));
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', (error) => {
        if (!stopping) throw error;
      });
      ws.on('close', () => {
        if (!stopping) throw new Error(`${impl}: client ${index} was closed by the server`);
      });
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

async function connectAll(url: string): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, async () => {
    while (next < clients) {
      const index = next++;
      sockets[index] = await connectOne(url, index);
    }
  }));
  return sockets;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the last join announcement. Both servers announce each join to everyone in the room,
 * the newcomer included, so n clients get n(n+1)/2 of them. (Waiting for a quiet spell instead
 * is fooled by a pause of the server's, such as Python's garbage collector.)
 */
async function settle(): Promise<void> {
  const expected = (clients * (clients + 1)) / 2;
  while (announcements < expected) await sleep(50);
}


const server = await startServer(serverCommand());
try {
  await sleep(200);
  const rssBefore = server.rssKb();
  const t0 = performance.now();
  const sockets = await connectAll(server.url);
  const t1 = performance.now();
  await settle();
  console.error(`${impl}: ${clients} connected in ${Math.round(t1 - t0)} ms, announcements done after ${Math.round(performance.now() - t1)} ms more`);
  const rssAfter = server.rssKb();
  sender = sockets[0]!;
  sending = true;
  pump();
  await sleep(warmup * 1000);
  const before = deliveries;
  const cpuBefore = server.cpuSeconds();
  const driverBefore = process.cpuUsage();
  const start = performance.now();
  await sleep(seconds * 1000);
  const done = deliveries - before;
  const cpu = server.cpuSeconds() - cpuBefore;
  const elapsed = (performance.now() - start) / 1000;
  const driver = process.cpuUsage(driverBefore);
  // Near 100 means the clients, not the server, set the pace (the ratio is then understated).
  const driverCpuPct = round(((driver.user + driver.system) / 1e6 / elapsed) * 100, 0);
  sending = false;
  stopping = true;
  if (done === 0) throw new Error(`${impl}: no message was delivered`);
  const perConn = rssBefore === undefined || rssAfter === undefined ? {} : { rss_per_conn_kb: round((rssAfter - rssBefore) / clients, 2) };
  reportServer(server, done / elapsed, { ...perConn, clients, driver_cpu_pct: driverCpuPct }, { seconds: cpu, ops: done });
  for (const ws of sockets) ws.terminate();
} finally {
  stopping = true;
  await server.stop();
}
process.exit(0);
