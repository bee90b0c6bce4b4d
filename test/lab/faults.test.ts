import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startLab, type Lab } from '../../src/lab/index.ts';
import { FaultState } from '../../src/lab/faults.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { client, timersAt } from './helpers.ts';

const { get, agent } = client();
let lab: Lab;

before(async () => {
  lab = await startLab({ seed: 1 });
});
after(async () => {
  await agent.close();
  await lab.close();
});

type CodedError = Error & { code?: string };

async function statuses(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(url)).status);
  return out;
}

test('fail=1 - every request answers 500; fail_status and retry_after shape it', async () => {
  const a = await get(`${lab.url}/json?fail=1`);
  assert.equal(a.status, 500);
  assert.equal(a.headers['retry-after'], undefined);
  const b = await get(`${lab.url}/users/1?fail=1&fail_status=503&retry_after=2`);
  assert.equal(b.status, 503);
  assert.equal(b.headers['retry-after'], '2');
});

test('fail=0.3 - a seeded share fails; two servers with one seed give the same pattern', async () => {
  await using twin = await startLab({ seed: 1 });
  await using other = await startLab({ seed: 2 });
  const url = (base: string) => `${base}/json?fail=0.3&key=share`;
  const a = await statuses(url(lab.url), 100);
  assert.deepEqual(await statuses(url(twin.url), 100), a);
  assert.notDeepEqual(await statuses(url(other.url), 100), a);
  const failed = a.filter((s) => s === 500).length;
  assert.ok(failed > 15 && failed < 45, `failed ${failed} of 100`);
  assert.ok(a.every((s) => s === 200 || s === 500));
});

test('fail_first=N&key=… - exactly the first N requests with that key fail, then all succeed', async () => {
  const url = `${lab.url}/users/2?fail_first=3&fail_status=503&retry_after=1&key=abc`;
  assert.deepEqual(await statuses(url, 6), [503, 503, 503, 200, 200, 200]);
  // Another key has its own count; a plain request does not advance any count.
  await get(`${lab.url}/users/2`);
  assert.deepEqual(await statuses(`${lab.url}/json?fail_first=2&key=other`, 3), [500, 500, 200]);
});

test('fail_first without key - counts per path', async () => {
  assert.deepEqual(await statuses(`${lab.url}/get?fail_first=1`, 2), [500, 200]);
  assert.deepEqual(await statuses(`${lab.url}/headers?fail_first=1`, 2), [500, 200]);
});

test('status429 - answers 429 with Retry-After (1 unless retry_after says)', async () => {
  const a = await get(`${lab.url}/json?status429=1`);
  assert.equal(a.status, 429);
  assert.equal(a.headers['retry-after'], '1');
  const b = await get(`${lab.url}/json?status429=1&retry_after=5`);
  assert.equal(b.headers['retry-after'], '5');
  const mixed = await statuses(`${lab.url}/json?status429=0.5&key=half`, 40);
  assert.ok(mixed.includes(429) && mixed.includes(200));
});

test('fault_first=N - faults touch only the first N requests of the scope', async () => {
  assert.deepEqual(await statuses(`${lab.url}/json?status429=1&fault_first=2&key=ff`, 4), [429, 429, 200, 200]);
});

test('hang=1 - no answer; the client gives up (200 ms of real time: the client is real undici)', async () => {
  // The client's own timeout runs on real timers, so this one test waits for real; the margin
  // does not matter because the server never answers.
  await assert.rejects(
    request(`${lab.url}/json?hang=1`, { dispatcher: agent, signal: AbortSignal.timeout(200) }),
    (e: Error) => e.name === 'TimeoutError',
  );
  assert.equal((await get(`${lab.url}/json`)).status, 200);
});

test('reset=1 - the socket is reset; the client gets a socket error', async () => {
  await assert.rejects(get(`${lab.url}/json?reset=1`), (e: CodedError) => e.code === 'ECONNRESET' || e.code === 'UND_ERR_SOCKET');
  // The server keeps serving.
  assert.equal((await get(`${lab.url}/json`)).status, 200);
});

test('short=1 - fewer bytes than Content-Length, then the connection closes', async () => {
  const res = await request(`${lab.url}/bytes/1000?short=1`, { dispatcher: agent });
  assert.equal(res.headers['content-length'], '1000');
  let got = 0;
  await assert.rejects(
    (async () => {
      for await (const chunk of res.body) got += (chunk as Buffer).length;
    })(),
    (e: CodedError) => e.code === 'UND_ERR_SOCKET' && /closed/.test(e.message),
  );
  assert.equal(got, 500);
  await assert.rejects(fetch(`${lab.url}/json?short=1`).then((r) => r.arrayBuffer()), /terminated/);
});

test('fail_at=N - the connection dies after exactly N body bytes', async () => {
  const res = await request(`${lab.url}/bytes/100000?fail_at=1234`, { dispatcher: agent });
  const chunks: Buffer[] = [];
  await assert.rejects(
    (async () => {
      for await (const chunk of res.body) chunks.push(chunk as Buffer);
    })(),
    (e: CodedError) => e.code === 'UND_ERR_SOCKET',
  );
  const full = (await get(`${lab.url}/bytes/100000`)).body;
  assert.deepEqual(Buffer.concat(chunks), full.subarray(0, 1234));
});

test('stall=ms - half the body, a pause on the clock, then the rest', async () => {
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock });
  const res = await request(`${vlab.url}/bytes/1000?stall=5000`, { dispatcher: agent });
  assert.equal(res.statusCode, 200);
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
  })();
  await timersAt(clock, 1);
  assert.equal(clock.pendingTimers, 1);
  for (let i = 0; Buffer.concat(chunks).length < 500 && i < 10_000; i++) await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(chunks).length, 500);
  await clock.advance(4999);
  assert.equal(Buffer.concat(chunks).length, 500);
  await clock.advance(1);
  await reading;
  assert.deepEqual(Buffer.concat(chunks), (await get(`${vlab.url}/bytes/1000`)).body);
});

test('stall_at=N - the stall happens at that byte', async () => {
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock });
  const res = await request(`${vlab.url}/bytes/1000?stall=100&stall_at=10`, { dispatcher: agent });
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
  })();
  await timersAt(clock, 1);
  for (let i = 0; Buffer.concat(chunks).length < 10 && i < 10_000; i++) await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(chunks).length, 10);
  await clock.advance(100);
  await reading;
  assert.equal(Buffer.concat(chunks).length, 1000);
});

test('rate=B/s - the body is paced on the clock', async () => {
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock });
  const r = await clock.run(get(`${vlab.url}/bytes/2000?rate=1000`));
  assert.equal(r.body.length, 2000);
  // 100-byte blocks every 100 ms: the 20th block goes out at 1900 ms.
  assert.equal(clock.now(), 1900);
});

test('latency=ms - any endpoint answers after that time', async () => {
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock });
  const r = await clock.run(get(`${vlab.url}/users/1?latency=250`));
  assert.equal(r.status, 200);
  assert.equal(clock.now(), 250);
});

test('FaultState - decisions depend on (seed, fault, scope, n) only', () => {
  const q = new URLSearchParams('fail=0.5&key=k');
  const a = new FaultState(3);
  const b = new FaultState(3);
  const pa = Array.from({ length: 64 }, () => a.plan(q, '/x')?.action);
  const pb = Array.from({ length: 64 }, () => b.plan(q, '/y')?.action);
  assert.deepEqual(pa, pb);
  assert.equal(new FaultState(3).plan(new URLSearchParams('a=1'), '/x'), undefined);
});
