// The seeds' own WebSocket clients as peers: seed 003's chat client sends plain text and prints
// what it receives; seed 002's client wraps messages as {"type":"chat","payload":{…}}. (Ports of
// their logic; python3 with `websockets` is not required.)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import WebSocket from 'ws';
import { startWsChatServer, type WsChatServer } from '../../src/ws/chat-server.ts';

const sockets: WebSocket[] = [];
after(() => {
  for (const ws of sockets) ws.terminate();
});

/** A client that keeps every frame it receives as text. */
async function peer(server: WsChatServer, query = '') {
  const ws = new WebSocket(`${server.url}${query}`);
  sockets.push(ws);
  const frames: string[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    frames.push(String(data));
    for (const w of waiters.splice(0)) w();
  });
  ws.on('error', () => {});
  const closed = once(ws, 'close').then(([code]) => code as number);
  await once(ws, 'open');
  const until = async (pred: (frames: string[]) => boolean) => {
    while (!pred(frames)) await new Promise<void>((r) => waiters.push(r));
  };
  return { ws, frames, until, closed };
}

test('ws-chat - a plain-text client (seed 003) is a chat peer: its text is relayed, answers come as text', async () => {
  await using server = await startWsChatServer({ rateLimit: false });
  const a = await peer(server, '?nick=alice');
  const b = await peer(server, '?nick=bob');
  await a.until((f) => f.some((x) => x.includes('"bob"')));
  // More plain messages than the violation limit (10): none of them is an error.
  for (let i = 0; i < 15; i++) a.ws.send(`hello ${i}, how are you?`);
  await b.until((f) => f.some((x) => x.includes('hello 14')));
  const relayed = b.frames.map((x) => JSON.parse(x) as { type: string; payload: unknown; from?: string }).filter((e) => e.type === 'message');
  assert.equal(relayed.length, 15);
  assert.deepEqual(relayed[0], { ...relayed[0], payload: 'hello 0, how are you?', from: 'alice' });
  // The plain-text peer is answered in kind: b's envelope reaches a as a line of text.
  b.ws.send(JSON.stringify({ type: 'message', payload: 'hi alice' }));
  await a.until((f) => f.includes('bob: hi alice'));
  assert.ok(!a.frames.some((x) => x.includes('bad-json')), a.frames.join('\n'));
  assert.equal(a.ws.readyState, WebSocket.OPEN);
});

test('ws-chat - ?format=text: a plain-text peer from the first frame (presence as lines)', async () => {
  await using server = await startWsChatServer({ rateLimit: false });
  const a = await peer(server, '?nick=ann&format=text');
  await a.until((f) => f.length > 0);
  assert.equal(a.frames[0], '* ann joined (1 user)');
});

test("ws-chat - seed 002's envelope {type:'chat', payload:{user,text}} is a message", async () => {
  await using server = await startWsChatServer({ rateLimit: false });
  const a = await peer(server, '?nick=alice');
  const b = await peer(server, '?nick=bob');
  await a.until((f) => f.some((x) => x.includes('"bob"')));
  a.ws.send(JSON.stringify({ type: 'chat', payload: { user: 'Alice', text: 'Hello' }, timestamp: 1620000000 }));
  await b.until((f) => f.some((x) => x.includes('Hello')));
  const got = JSON.parse(b.frames.find((x) => x.includes('Hello'))!) as { type: string; payload: unknown; from: string };
  assert.equal(got.type, 'message');
  assert.deepEqual(got.payload, { user: 'Alice', text: 'Hello' });
  assert.equal(got.from, 'alice');
  assert.ok(!a.frames.some((x) => x.includes('unknown-type')));
});
