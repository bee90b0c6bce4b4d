import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { ShardedAgent } from '../../src/http/sharded-agent.ts';

/** A server that counts connections and the most requests it held at once; answers on `release()`. */
async function server(t: { after(fn: () => Promise<void>): void }) {
  let connections = 0;
  let active = 0;
  let peak = 0;
  const held: (() => void)[] = [];
  const srv: Server = createServer((_req, res) => {
    active++;
    peak = Math.max(peak, active);
    held.push(() => {
      active--;
      res.end('ok');
    });
  });
  srv.on('connection', () => connections++);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const waitHeld = async (n: number) => {
    while (held.length < n) await new Promise((r) => setImmediate(r));
  };
  return { url, waitHeld, release: () => held.splice(0).forEach((f) => f()), stats: () => ({ connections, peak }) };
}

test('ShardedAgent - sequential requests stay on one shard and reuse its connections', async (t) => {
  const s = await server(t);
  const agent = new ShardedAgent({ connections: 100, shardSize: 8 });
  t.after(() => agent.destroy());
  for (let i = 0; i < 20; i++) {
    const p = request(s.url, { dispatcher: agent });
    await s.waitHeld(1);
    s.release();
    await (await p).body.text();
  }
  // undici's Pool itself may open a second connection when a request starts in the tick a response
  // ends; spreading over shards would open up to 20.
  assert.ok(s.stats().connections <= 2, `${s.stats().connections} connections`);
});

test('ShardedAgent - a burst spreads over shards up to the connection cap, never past it', async (t) => {
  const s = await server(t);
  const agent = new ShardedAgent({ connections: 10, shardSize: 4 });
  t.after(() => agent.destroy());
  const all = Array.from({ length: 25 }, () => request(s.url, { dispatcher: agent }).then((r) => r.body.text()));
  await s.waitHeld(10);
  // Every connection is busy: the other 15 wait in the shards' queues.
  assert.equal(s.stats().peak, 10);
  let finished = false;
  const done = Promise.all(all).finally(() => (finished = true));
  while (!finished) {
    s.release();
    await new Promise((r) => setImmediate(r));
  }
  const bodies = await done;
  assert.equal(bodies.length, 25);
  assert.ok(bodies.every((b) => b === 'ok'));
  assert.equal(s.stats().connections, 10);
  assert.equal(s.stats().peak, 10);
});

test('ShardedAgent - close() drains, then refuses new requests', async (t) => {
  const s = await server(t);
  const agent = new ShardedAgent({ connections: 4 });
  const p = request(s.url, { dispatcher: agent });
  await s.waitHeld(1);
  const closing = agent.close();
  s.release();
  assert.equal(await (await p).body.text(), 'ok');
  await closing;
  assert.throws(() => agent.dispatch({ origin: s.url, path: '/', method: 'GET' }, {}), /closed/);
});
