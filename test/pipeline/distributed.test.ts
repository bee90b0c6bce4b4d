// A whole pipeline on a real broker (runDistributed, enqueueSource, `spate worker` with a pipeline
// module, `spate pipeline run --broker`): every stage on its own queue, outputs keyed from the
// source to the end. Redis (BullMQ) and RabbitMQ as in bullmq.test.ts and amqp.test.ts: skipped
// when a service is down, except under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { connectBroker, type SinkContext } from '../../src/pipeline/broker.ts';
import { type DistributedWorkers, type PipelineLike, type TransportOptions, enqueueSource, pipelineQueues, runDistributed } from '../../src/pipeline/distributed.ts';
import { pipeline } from '../../src/pipeline/pipeline.ts';
import { needService, readSink, spawnWorker, tempDir, uniqueQueue, until } from './broker-shared.ts';
import three, { expectedOutputs, lastStageKeys } from './fixtures/three-stage-pipeline.ts';

const exec = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const fixture = `${root}test/pipeline/fixtures/three-stage-pipeline.ts`;
const n = 200;
// Both probes before any test is registered: a test starts as soon as it is, and would race a later probe.
const services = [['Redis', 6379, 'redis://127.0.0.1:6379'], ['RabbitMQ', 5672, 'amqp://guest:guest@127.0.0.1:5672']] as const;
const skips = await Promise.all(services.map(([name, port]) => needService(name, port)));

/** A keyed sink in memory: the last output per key, every call per key, and a wait for a condition. */
class KeyedSink {
  readonly byKey = new Map<string, unknown>();
  readonly calls = new Map<string, number>();
  #waiters: { check: () => boolean; resolve: () => void }[] = [];
  readonly sink = (outputs: unknown[], { key }: SinkContext): void => {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    if (outputs.length > 0) this.byKey.set(key, outputs[0]);
    this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  };
  /** Resolves once `check()` holds (looked at after each sink call). */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ check, resolve }));
  }
  get total(): number {
    let t = 0;
    for (const c of this.calls.values()) t += c;
    return t;
  }
}

async function destroyQueues(url: string, p: PipelineLike, prefix: string): Promise<void> {
  for (const { queue } of pipelineQueues(p, { prefix })) {
    const b = await connectBroker(url, { queue });
    await b.destroy().catch(() => {});
    await b.close();
  }
}

async function depths(url: string, p: PipelineLike, prefix: string): Promise<number[]> {
  const out: number[] = [];
  for (const { queue } of pipelineQueues(p, { prefix })) {
    const b = await connectBroker(url, { queue });
    out.push(await b.depth());
    await b.close();
  }
  return out;
}

/** Each stage's done count, summed over worker sets (after they closed). */
function doneByStage(sets: DistributedWorkers[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const set of sets) for (const s of set.stats()) out[s.stage] = (out[s.stage] ?? 0) + s.done;
  return out;
}

test('distributed - queue names, and what is refused before any connection', async () => {
  const unnamed = pipeline([1, 2]).map((x: number) => x + 1).filter((x: number) => x > 2, { name: 'big ones' });
  assert.deepEqual(pipelineQueues(unnamed, { prefix: 'p' }), [{ stage: 'map#0', queue: 'p.map_0' }, { stage: 'big ones', queue: 'p.big_ones' }]);
  assert.deepEqual(pipelineQueues(three).map((q) => q.queue), ['three.triple', 'three.split', 'three.no-fives']);
  const nowhere = 'redis://127.0.0.1:1';
  await assert.rejects(runDistributed(unnamed, nowhere), (e: unknown) => e instanceof InvalidArgumentError && /has no name.*`prefix`/.test(e.message));
  await assert.rejects(enqueueSource(unnamed, nowhere, { prefix: 'a:b' }), (e: unknown) => e instanceof InvalidArgumentError && /prefix/.test(e.message));
  const batched = pipeline([1, 2, 3], { name: 'b' }).map((x: number) => x).batch({ size: 2, name: 'group' }).map((xs: number[]) => xs.length);
  const refusal = (e: unknown) => e instanceof InvalidArgumentError && e.message === "Stage 'group': batch stages run in process; on a broker, use the transport's `batch` option instead";
  await assert.rejects(runDistributed(batched, nowhere), refusal);
  await assert.rejects(enqueueSource(batched, nowhere), refusal);
  const twins = pipeline([1], { name: 't' }).map((x: number) => x, { name: 'a#1' }).map((x: number) => x, { name: 'a$1' });
  await assert.rejects(runDistributed(twins, nowhere), /would share the queue t\.a_1/);
});

for (const [index, [name, , url]] of services.entries()) {
  const skip = skips[index];
  if (skip) console.log(`# skipped: ${skip}`);

  /** Two worker sets over one keyed sink; enqueues the source `times` times; returns when `done()` holds and both sets closed. */
  async function runTwoSets(times: number, done: (s: KeyedSink) => boolean, brokerOptions: TransportOptions = {}, items = n) {
    const prefix = uniqueQueue('dist');
    const p = { ...three, source: Array.from({ length: items }, (_, i) => i) } satisfies PipelineLike;
    const s = new KeyedSink();
    const firstKeys: string[] = [];
    const sets: DistributedWorkers[] = [];
    try {
      for (let k = 0; k < 2; k++) {
        sets.push(await runDistributed(p, url, {
          prefix, brokerOptions, sink: s.sink, grace: 5000,
          onEvent: (e) => void (e.type === 'done' && e.stage === 'triple' && firstKeys.push(e.key)),
        }));
      }
      for (let t = 0; t < times; t++) assert.equal(await enqueueSource(p, url, { prefix, brokerOptions }), items);
      await s.until(() => done(s));
      for (const set of sets) await set.close();
      return { s, done: doneByStage(sets), firstKeys, depths: await depths(url, p, prefix), inFlight: sets.flatMap((x) => x.stats().map((st) => st.inFlight)) };
    } finally {
      await Promise.all(sets.map((set) => set.close()));
      await destroyQueues(url, p, prefix);
    }
  }

  test(`distributed on ${name} - map, flatMap, filter over ${n} items, two worker sets: every output exactly once, keyed`, { skip }, async () => {
    const last = lastStageKeys(n);
    const r = await runTwoSets(1, (s) => s.calls.size === last.length);
    assert.deepEqual(new Map([...r.s.byKey].sort()), new Map([...expectedOutputs(n)].sort()));
    assert.deepEqual([...r.s.calls.keys()].sort(), [...last].sort(), 'the last stage saw each key');
    assert.ok([...r.s.calls.values()].every((c) => c === 1), 'no key reached the sink twice');
    assert.deepEqual(r.done, { triple: n, split: n, 'no-fives': last.length }, 'each stage ran each of its items once');
    assert.deepEqual(r.firstKeys.sort(), Array.from({ length: n }, (_, i) => String(i)).sort(), 'source keys are the positions');
    assert.deepEqual(r.depths, [0, 0, 0]);
    assert.ok(r.inFlight.every((x) => x === 0));
  });

  test(`distributed on ${name} - keys are stable: the same source enqueued twice ${name === 'Redis' ? 'runs once (BullMQ drops known job ids)' : 'runs twice, and the keyed sink collapses it'}`, { skip }, async () => {
    const items = 60;
    const last = lastStageKeys(items);
    const runs = name === 'Redis' ? 1 : 2;
    const r = await runTwoSets(2, (s) => s.total === runs * last.length, {}, items);
    assert.deepEqual(new Map([...r.s.byKey].sort()), new Map([...expectedOutputs(items)].sort()));
    assert.ok([...r.s.calls.values()].every((c) => c === runs), `each key reached the sink ${runs} time(s)`);
    assert.deepEqual(r.done, { triple: runs * items, split: runs * items, 'no-fives': runs * last.length });
    assert.deepEqual(r.depths, [0, 0, 0]);
  });

  test(`distributed on ${name} - with the transport's batch option: many items per job between stages too`, { skip }, async () => {
    const items = 50;
    const last = lastStageKeys(items);
    const r = await runTwoSets(1, (s) => s.calls.size === last.length, { batch: 8 }, items);
    assert.deepEqual(new Map([...r.s.byKey].sort()), new Map([...expectedOutputs(items)].sort()));
    assert.deepEqual(r.done, { triple: items, split: items, 'no-fives': last.length });
  });

  test(`distributed on ${name} - spate pipeline run --broker waits while the first queue is full, and Ctrl-C ends it with 130`, { skip }, async () => {
    const prefix = uniqueQueue('distc');
    const child = spawn(process.execPath, [`${root}src/cli/main.ts`, 'pipeline', 'run', fixture, '--broker', url, '--prefix', prefix, '--progress-interval', '20ms'], {
      env: { ...process.env, SPATE_TEST_ITEMS: '3000', SPATE_TEST_MAX_QUEUED: '50' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
      // Connected, and 1000 items in hand (the producer's window): with no worker running it
      // holds at maxQueued, so the run is still going when this shows.
      if (!sent && /: read \d{4,}/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    try {
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 130, stderr);
      assert.match(stderr, /interrupted: .*items enqueued into distc-.*\.triple/);
      assert.doesNotMatch(stderr, /^\s+at /m);
      const [first] = await depths(url, three, prefix);
      assert.ok(first! > 0 && first! <= 100, `the first queue holds about maxQueued of the source: ${first}`);
    } finally {
      child.kill('SIGKILL');
      await destroyQueues(url, three, prefix);
    }
  });

  test(`distributed on ${name} - spate pipeline run --broker, two spate worker processes, one SIGKILLed mid-run: the keyed sink has every output once`, { skip }, async () => {
    const prefix = uniqueQueue('distp');
    const out = tempDir();
    const env = { SPATE_TEST_MS: '5' };
    const extra = ['--prefix', prefix, '--lease', '1s', '--grace', '5s'];
    const a = spawnWorker(url, '', out, extra, env, fixture);
    const b = spawnWorker(url, '', out, extra, env, fixture);
    try {
      await Promise.all([a.waitFor((l) => l.type === 'ready'), b.waitFor((l) => l.type === 'ready')]);
      const { stdout } = await exec(process.execPath, [`${root}src/cli/main.ts`, 'pipeline', 'run', fixture, '--broker', url, '--prefix', prefix, '--json'], { env: { ...process.env, ...env } });
      const enqueued = JSON.parse(stdout) as Record<string, unknown>;
      assert.deepEqual(enqueued, { ...enqueued, queue: `${prefix}.triple`, broker: name === 'Redis' ? 'bullmq' : 'amqp', enqueued: n, interrupted: false });
      let lastDone = 0;
      await a.waitFor((l) => l.type === 'done' && l.stage === 'no-fives' && ++lastDone >= 10);
      a.child.kill('SIGKILL');
      await a.exit;
      const expected = expectedOutputs(n);
      await until(() => readSink(out).byKey.size >= expected.size, 'every output in the sink', 60_000);
      b.child.kill('SIGTERM');
      const { code } = await b.exit;
      assert.equal(code, 0, b.stderr.join('\n'));
      const summary = b.lines.find((l) => l.type === 'summary');
      assert.ok(summary && Array.isArray(summary.stages) && summary.stages.length === 3, 'a summary with each stage');
      const { raw, byKey } = readSink(out);
      assert.deepEqual(new Map([...byKey].sort()), new Map([...expected].sort()));
      assert.ok(raw >= expected.size);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await Promise.all([a.exit, b.exit]);
      await destroyQueues(url, three, prefix);
      rmSync(out, { recursive: true, force: true });
    }
  });
}
