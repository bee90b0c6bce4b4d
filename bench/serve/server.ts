// The Node servers of the serve group, each in a process of its own (see child.ts for the protocol).
// Usage: node serve/server.ts api-spate | api-fastify | ws-spate | tcp-spate
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { fastify } from 'fastify';
// The same schemas as spate's API, so the floor serialises exactly as spate does.
import { echoSchema, healthSchema } from '../../src/serve/api.ts';

const kind = process.argv[2];

interface Running {
  url: string;
  connections(): number;
}

async function start(): Promise<Running> {
  switch (kind) {
    case 'api-spate': {
      const { startApiServer } = await import('../../src/serve/api.ts');
      const api = await startApiServer({ port: 0, host: '127.0.0.1', logger: false });
      return { url: api.url, connections: () => -1 };
    }
    case 'api-fastify': {
      // The floor: the Fastify that spate itself runs on (resolved from the project root, not
      // bench/, so the two differ only by what spate adds: metrics, error handling, shutdown),
      // with the same two routes, handlers and JSON schemas (request and response) as
      // src/serve/api.ts.
      const root = createRequire(new URL('../../package.json', import.meta.url));
      const { default: Fastify } = (await import(pathToFileURL(root.resolve('fastify')).href)) as { default: typeof fastify };
      const app = Fastify({ logger: false });
      const started = performance.now();
      const pid = process.pid;
      app.get('/health', { schema: healthSchema }, (_request, reply) => {
        reply.send({ status: 'ok', uptime: (performance.now() - started) / 1000, timestamp: Date.now() / 1000, pid });
      });
      app.post('/echo', { schema: echoSchema }, async (request) => ({ received: request.body, processed: true, timestamp: Date.now() / 1000 }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const info = app.server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${info.port}`, connections: () => -1 };
    }
    case 'ws-spate': {
      const { startWsChatServer } = await import('../../src/ws/chat-server.ts');
      // The seeds' server has no rate limit, and one sender must outrun spate's default quota
      // (20/s). Not a huge quota instead: the sliding-window limiter keeps `limit` timestamps
      // per connection. Everything else (heartbeat, buffer bound, envelopes) stays at its default.
      const chat = await startWsChatServer({ port: 0, rateLimit: false });
      return { url: chat.url, connections: () => chat.connections };
    }
    case 'tcp-spate': {
      const { startEchoServer } = await import('../../src/tcp/echo-server.ts');
      const echo = await startEchoServer({ port: 0 });
      return { url: `tcp://${echo.address}`, connections: () => echo.connections };
    }
    default:
      throw new Error(`unknown server ${kind}`);
  }
}

const running = await start();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
process.on('SIGUSR2', () => console.log(JSON.stringify({ connections: running.connections() })));
console.log(JSON.stringify({ url: running.url, pid: process.pid }));
