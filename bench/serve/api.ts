// serve/api-health and serve/api-echo: req/s and p99 under wrk (100 connections, one wrk thread)
// against one implementation's server, started here in a process of its own and stopped after.
// Usage: node serve/api.ts <spate|fastify|aiohttp> <health|echo> --seconds=5 --warmup=1 --connections=100
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { args } from '../lib.ts';
import { deadline, python, reportServer, round, skip, startServer } from './child.ts';

const impl = process.argv[2];
const route = process.argv[3];
const { seconds, warmup, connections } = args({ seconds: 5, warmup: 1, connections: 100 }) as { seconds: number; warmup: number; connections: number };
const WRK = '/usr/bin/wrk';
/** The body of every POST /echo: a small JSON object, as an API client would send. */
const ECHO_BODY = JSON.stringify({ message: 'hello, spate', count: 42, tags: ['bench', 'echo'], nested: { ok: true } });

deadline((seconds + warmup) * 1000 + 30_000);
if (route !== 'health' && route !== 'echo') throw new Error(`unknown route ${route}`);
if (!existsSync(WRK)) skip('wrk not installed (apt-get install wrk)');

function serverCommand(): string[] {
  switch (impl) {
    case 'spate':
      return ['node', 'serve/server.ts', 'api-spate'];
    case 'fastify':
      return ['node', 'serve/server.ts', 'api-fastify'];
    case 'aiohttp': {
      const py = python(['aiohttp']);
      if (!py) skip('aiohttp not installed (apt-get install python3-aiohttp)');
      return [py, 'python/serve_servers.py', 'api'];
    }
    default:
      throw new Error(`unknown impl ${impl}`);
  }
}

interface WrkResult {
  requests: number;
  duration_us: number;
  p99_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

function wrk(url: string, durationS: number): Promise<WrkResult> {
  const script = fileURLToPath(new URL('wrk.lua', import.meta.url));
  const argv = ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '5s', '-s', script, url];
  return new Promise((resolve, reject) => {
    const child = spawn(WRK, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WRK_BODY: route === 'echo' ? ECHO_BODY : '' } });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk));
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
      if (code !== 0 || line === undefined) reject(new Error(`wrk exited ${code}: ${out.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve(JSON.parse(line) as WrkResult);
    });
  });
}

const server = await startServer(serverCommand());
try {
  const url = `${server.url}/${route}`;
  // One request first: a benchmark of error responses would measure nothing.
  const probe = await fetch(url, route === 'echo' ? { method: 'POST', body: ECHO_BODY, headers: { 'content-type': 'application/json' } } : {});
  const text = await probe.text();
  if (probe.status !== 200) throw new Error(`${impl} ${route}: status ${probe.status}: ${text.slice(0, 200)}`);
  await wrk(url, warmup);
  const cpuBefore = server.cpuSeconds();
  const r = await wrk(url, seconds);
  const cpu = server.cpuSeconds() - cpuBefore;
  const failed = r.connect + r.read + r.write + r.status + r.timeout;
  if (failed > r.requests / 1000) throw new Error(`${impl} ${route}: ${failed} errors in ${r.requests} requests (${JSON.stringify(r)})`);
  reportServer(server, r.requests / (r.duration_us / 1e6), { p99_ms: round(r.p99_us / 1000, 2) }, { seconds: cpu, ops: r.requests });
} finally {
  await server.stop();
}
process.exit(0);
