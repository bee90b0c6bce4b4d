import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ClosedError, InvalidArgumentError } from '../../src/core/errors.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { WsPool, type WsPoolOptions } from '../../src/ws/pool.ts';
import { AckServer, until } from './ack-server.ts';

const servers: AckServer[] = [];
const pools: WsPool[] = [];

afterEach(async () => {
  for (const p of pools.splice(0)) p.destroy();
  for (const s of servers.splice(0)) await s.kill();
});

async function server(): Promise<AckServer> {
  const s = await AckServer.start();
  servers.push(s);
  return s;
}

function pool(url: string, clock: VirtualClock, options: WsPoolOptions = {}): WsPool {
  const p = new WsPool(url, { clock, heartbeatMs: 0, connectTimeoutMs: Infinity, reconnect: { base: 100, jitter: 'none' }, ...options });
  pools.push(p);
  return p;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function byClient(s: AckServer): Map<string, unknown[]> {
  const map = new Map<string, unknown[]>();
  for (const r of s.received) map.set(r.client, [...(map.get(r.client) ?? []), r.payload]);
  return map;
}

describe('WsPool', { timeout: 20_000 }, () => {
  test('send() - round-robin over the clients, each in order', async () => {
    const s = await server();
    const p = pool(s.url, new VirtualClock(), { size: 3, reliable: true });
    await p.open();
    assert.equal(s.sockets.size, 3);
    for (const i of range(0, 29)) p.send('n', i);
    await p.flush();
    const groups = [...byClient(s).values()];
    assert.equal(groups.length, 3);
    for (const group of groups) {
      assert.equal(group.length, 10);
      const first = group[0] as number;
      assert.deepEqual(group, range(0, 9).map((k) => first + 3 * k));
    }
    assert.equal(p.stats().sent, 30);
    assert.equal(p.stats().open, 3);
    await p.close();
  });

  test('send() - skips clients that are not open', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const p = pool(s.url, clock, { size: 2, reliable: true });
    await p.open();
    const [a, b] = p.clients;
    const reconnecting = new Promise((resolve) => b!.once('reconnecting', resolve));
    s.socketOf(b!.clientId)!.terminate();
    await reconnecting;
    assert.equal(b!.state, 'reconnecting');
    for (const i of range(1, 6)) p.send('n', i);
    await a!.flush();
    assert.deepEqual(byClient(s).get(a!.clientId), range(1, 6));
    assert.equal(b!.stats().buffered, 0);
    await p.close();
  });

  test('kill and restart - every message arrives exactly once, in order per client', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const p = pool(s.url, clock, { size: 3, reliable: true });
    await p.open();
    for (const i of range(0, 29)) p.send('n', i);
    await p.flush();
    let reconnecting = 0;
    for (const c of p.clients) c.on('reconnecting', () => reconnecting++);
    await s.kill();
    await until(() => reconnecting === 3);
    for (const i of range(30, 59)) p.send('n', i);
    await s.restart();
    await clock.advance(100);
    await p.flush();
    const all = s.payloads() as number[];
    assert.deepEqual([...all].sort((x, y) => x - y), range(0, 59));
    for (const group of byClient(s).values()) assert.deepEqual(group, [...(group as number[])].sort((x, y) => x - y));
    assert.equal(p.stats().reconnects, 3);
    await p.close();
  });

  test('iteration - merges the incoming messages of every client; a later loop loses nothing', async () => {
    const s = await server();
    const p = pool(s.url, new VirtualClock(), { size: 3 });
    await p.open();
    s.broadcast(JSON.stringify({ type: 'n', payload: 1 }));
    s.broadcast(JSON.stringify({ type: 'n', payload: 2 }));
    const got: unknown[] = [];
    for await (const msg of p) {
      got.push(msg.payload);
      if (got.length === 2) break;
    }
    for await (const msg of p.messages()) {
      got.push(msg.payload);
      if (got.length === 6) break;
    }
    assert.deepEqual(got.sort(), [1, 1, 1, 2, 2, 2]);
    await p.close();
  });

  test('iteration - ends when the pool closes; an abort rejects with the reason', async () => {
    const s = await server();
    const p = pool(s.url, new VirtualClock(), { size: 2 });
    await p.open();
    const controller = new AbortController();
    const reading = p.messages({ signal: controller.signal }).next();
    controller.abort(new Error('enough'));
    await assert.rejects(reading, /enough/);
    const ending = p.messages().next();
    await p.close();
    assert.deepEqual(await ending, { done: true, value: undefined });
  });

  test('close() and destroy() - every client closes; sends afterwards throw ClosedError', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const p = pool(s.url, clock, { size: 2, reliable: true });
    await p.open();
    p.send('n', 1);
    p.send('n', 2);
    await p.close();
    assert.deepEqual((s.payloads() as number[]).sort(), [1, 2]);
    assert.ok(p.clients.every((c) => c.state === 'closed'));
    assert.throws(() => p.send('n', 3), ClosedError);
    assert.equal(clock.pendingTimers, 0);
    await until(() => s.sockets.size === 0);
    const q = pool(s.url, clock, { size: 2 });
    q.destroy();
    assert.ok(q.clients.every((c) => c.state === 'closed'));
    assert.throws(() => new WsPool(s.url, { size: 0 }), InvalidArgumentError);
  });
});
