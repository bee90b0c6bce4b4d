// The serve group: spate's servers against the seeds' Python servers (and bare Fastify, the floor
// of the API). Every variant is a driver process that starts its own server in another process,
// loads it over loopback, stops it, and reports; `rss_mb` is the server's peak RSS and
// `server_cpu_us` its CPU time per request / delivery / round trip (steadier than a rate on a
// busy machine). Drivers: wrk for HTTP, `ws` clients for WebSocket, node:net for TCP.
import { existsSync } from 'node:fs';
import type { Case, Variant } from '../run.ts';
import { python } from './child.ts';

const noWrk = () => (existsSync('/usr/bin/wrk') ? undefined : 'wrk not installed (apt-get install wrk)');

function needsPython(module: string, apt: string): () => string | undefined {
  let reason: string | undefined | null = null;
  return () => {
    if (reason === null) reason = python([module]) ? undefined : `${module} not installed (apt-get install ${apt})`;
    return reason;
  };
}

export function cases(quick: boolean): Case[] {
  const timing = [`--seconds=${quick ? 2 : 5}`, '--warmup=1'];
  const aiohttp = needsPython('aiohttp', 'python3-aiohttp');
  const websockets = needsPython('websockets', 'python3-websockets');
  const python3 = needsPython('asyncio', 'python3');
  const api = (route: 'health' | 'echo'): Case => ({
    bench: `serve/api-${route}`,
    unit: 'req/s',
    higherIsBetter: true,
    variants: [
      { impl: 'spate', command: ['node', 'serve/api.ts', 'spate', route, ...timing, '--connections=100'], skip: noWrk },
      { impl: 'fastify', command: ['node', 'serve/api.ts', 'fastify', route, ...timing, '--connections=100'], skip: noWrk },
      { impl: 'aiohttp', command: ['node', 'serve/api.ts', 'aiohttp', route, ...timing, '--connections=100'], skip: () => noWrk() ?? aiohttp() },
    ],
  });
  return [
    api('health'),
    api('echo'),
    {
      bench: 'serve/ws-broadcast',
      unit: 'msgs/s',
      higherIsBetter: true,
      variants: [
        { impl: 'spate', command: ['node', 'serve/ws-broadcast.ts', 'spate', ...timing, '--clients=1000'] },
        { impl: 'websockets', command: ['node', 'serve/ws-broadcast.ts', 'websockets', ...timing, '--clients=1000'], skip: websockets },
      ] satisfies Variant[],
    },
    {
      // A check more than a race: value = connections held (of 10,000), with rss_per_conn_kb.
      bench: 'serve/ws-idle-10k',
      unit: 'conns',
      higherIsBetter: true,
      variants: [{ impl: 'spate', command: ['node', 'serve/ws-idle.ts', 'spate', '--clients=10000', '--processes=2', '--hold=2'] }],
    },
    {
      bench: 'serve/tcp-echo',
      unit: 'round-trips/s',
      higherIsBetter: true,
      variants: [
        { impl: 'spate', command: ['node', 'serve/tcp-echo.ts', 'spate', ...timing, '--connections=100'] },
        { impl: 'asyncio', command: ['node', 'serve/tcp-echo.ts', 'asyncio', ...timing, '--connections=100'], skip: python3 },
      ],
    },
  ];
}
