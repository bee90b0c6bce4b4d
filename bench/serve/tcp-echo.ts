// serve/tcp-echo: round-trips/s over `connections` sockets, each sending one line and waiting for
// its `Echo: …` reply before the next (ping-pong), against one implementation's echo server in a
// process of its own. The driver is plain node:net, the same for every server.
// Usage: node serve/tcp-echo.ts <spate|asyncio> --seconds=5 --warmup=1 --connections=100
import { connect, type Socket } from 'node:net';
import { args } from '../lib.ts';
import { deadline, python, reportServer, round, skip, startServer } from './child.ts';

const impl = process.argv[2];
const { seconds, warmup, connections } = args({ seconds: 5, warmup: 1, connections: 100 }) as { seconds: number; warmup: number; connections: number };
const LINE = Buffer.from('ping from the spate benchmark\n');
const NL = 0x0a;

deadline((seconds + warmup) * 1000 + 30_000);

function serverCommand(): string[] {
  if (impl === 'spate') return ['node', 'serve/server.ts', 'tcp-spate'];
  if (impl === 'asyncio') {
    const py = python(['asyncio']);
    if (!py) skip('python3 not installed');
    return [py, 'python/serve_servers.py', 'tcp'];
  }
  throw new Error(`unknown impl ${impl}`);
}

let roundTrips = 0;
let stopping = false;

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function pingPong(socket: Socket): void {
  socket.on('error', (error) => {
    if (!stopping) throw error;
  });
  socket.on('data', (chunk: Buffer) => {
    // One line is in flight, so each reply ends with its own newline (however it is chunked).
    if (chunk[chunk.length - 1] !== NL) return;
    roundTrips++;
    if (!stopping) socket.write(LINE);
  });
  socket.write(LINE);
}

const server = await startServer(serverCommand());
try {
  const { hostname, port } = new URL(server.url);
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(hostname, Number(port))));
  const probe = sockets[0]!;
  const reply = await new Promise<string>((resolve) => {
    probe.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    probe.write(LINE);
  });
  if (reply !== `Echo: ${LINE}`) throw new Error(`${impl}: unexpected reply ${JSON.stringify(reply)}`);
  for (const socket of sockets) pingPong(socket);
  await new Promise((resolve) => setTimeout(resolve, warmup * 1000));
  const before = roundTrips;
  const cpuBefore = server.cpuSeconds();
  const driverBefore = process.cpuUsage();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const done = roundTrips - before;
  const cpu = server.cpuSeconds() - cpuBefore;
  const elapsed = (performance.now() - start) / 1000;
  const driver = process.cpuUsage(driverBefore);
  // Near 100 means the clients, not the server, set the pace (the ratio is then understated).
  const driverCpuPct = round(((driver.user + driver.system) / 1e6 / elapsed) * 100, 0);
  stopping = true;
  if (done === 0) throw new Error(`${impl}: no round trip completed`);
  reportServer(server, done / elapsed, { driver_cpu_pct: driverCpuPct }, { seconds: cpu, ops: done });
  for (const socket of sockets) socket.destroy();
} finally {
  stopping = true;
  await server.stop();
}
process.exit(0);
