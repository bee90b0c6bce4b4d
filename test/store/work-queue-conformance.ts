// One suite every WorkQueue backend runs (test/store/*-queue.test.ts call it with their factory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import type { WorkItem, WorkQueue } from '../../src/store/work-queue.ts';

export interface QueueFactory {
  /** Another handle on the same job's queue (same file or schema), as the worker `owner`. */
  open(options: { owner: string; leaseMs?: number; maxAttempts?: number }): Promise<WorkQueue>;
  /** A fresh, empty job for the next test. */
  reset(): Promise<void>;
}

/** Claims until `pred` holds or `ms` pass (leases expire on the database's clock). */
async function claimUntil(q: WorkQueue, limit: number, pred: (items: WorkItem[]) => boolean, ms = 5000): Promise<WorkItem[]> {
  const end = Date.now() + ms;
  for (;;) {
    const items = await q.claim(limit);
    if (pred(items) || Date.now() > end) return items;
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function workQueueConformance(name: string, factory: QueueFactory): void {
  const fresh = async (owner = 'w1', extra: { leaseMs?: number; maxAttempts?: number } = {}): Promise<WorkQueue> => {
    await factory.reset();
    return factory.open({ owner, ...extra });
  };

  test(`${name} - unique keys: adding a key twice is a no-op, in one call or across calls`, async () => {
    const q = await fresh();
    assert.deepEqual(await q.add([{ key: 'a', group: 'h1' }, { key: 'b', group: 'h2' }, { key: 'a', group: 'h1' }]), [true, true, false]);
    assert.deepEqual(await q.add([{ key: 'b' }, { key: 'c', group: 'h1' }]), [false, true]);
    assert.deepEqual(await q.groupCounts(), new Map([['h1', 2], ['h2', 1]]));
    assert.deepEqual(await q.counts(), { queued: 3, claimed: 0, done: 0, dead: 0, outcomes: {} });
    await q.close();
  });

  test(`${name} - claims go smallest priority first; re-adding a queued key with a smaller one lowers it`, async () => {
    const q = await fresh();
    await q.add([{ key: 'x', priority: 3, payload: 'from-3' }, { key: 'y', priority: 1 }, { key: 'z', priority: 2 }]);
    assert.deepEqual(await q.add([{ key: 'x', priority: 0, payload: 'from-0' }, { key: 'z', priority: 5 }]), [false, false]);
    const items = await q.claim(10);
    assert.deepEqual(items.map((i) => [i.key, i.priority, i.attempts]), [['x', 0, 1], ['y', 1, 1], ['z', 2, 1]]);
    assert.equal(items[0]!.payload, 'from-0');
    assert.deepEqual(await q.claim(10), []);
    await q.close();
  });

  test(`${name} - N claimers at once never get the same item, and together get all`, async () => {
    await factory.reset();
    const queues = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => factory.open({ owner })));
    await queues[0]!.add(Array.from({ length: 300 }, (_, i) => ({ key: `k${i}` })));
    const got: number[] = [];
    await Promise.all(queues.map(async (q) => {
      for (;;) {
        const items = await q.claim(7);
        if (items.length === 0) return;
        for (const it of items) got.push(it.id);
      }
    }));
    assert.equal(got.length, 300);
    assert.equal(new Set(got).size, 300);
    for (const q of queues) await q.close();
  });

  test(`${name} - a cap bounds the job's claimed and finished items, whoever claims; excepted outcomes and releases give room back`, async () => {
    await factory.reset();
    const w1 = await factory.open({ owner: 'w1' });
    const w2 = await factory.open({ owner: 'w2' });
    await w1.add(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}` })));
    const cap = { max: 6, except: ['blocked'] };
    const a = await w1.claim(4, { cap });
    assert.equal(a.length, 4);
    assert.equal((await w2.claim(4, { cap })).length, 2, 'only the rest of the budget');
    assert.deepEqual(await w2.claim(4, { cap }), []);
    assert.equal((await w2.claim(1)).length, 1, 'an uncapped claim is not bound');
    // Done counts, blocked does not, a release puts the item back in the queue.
    await w1.commit({ settle: [
      { id: a[0]!.id, lease: a[0]!.lease, kind: 'complete', outcome: 'done', output: 'x' },
      { id: a[1]!.id, lease: a[1]!.lease, kind: 'complete', outcome: 'blocked' },
      { id: a[2]!.id, lease: a[2]!.lease, kind: 'release' },
    ] });
    // Counted now: 4 claimed (the uncapped one too) and 1 done, against 6: room for one.
    assert.equal((await w2.claim(4, { cap })).length, 1);
    assert.deepEqual(await w2.claim(4, { cap }), []);
    assert.deepEqual(await w2.claim(4, { cap: { max: 7 } }), [], 'blocked counts when not excepted');
    assert.equal((await w2.claim(4, { cap: { max: 7, except: ['blocked'] } })).length, 1);
    await assert.rejects(w1.claim(1, { cap: { max: -1 } }), InvalidArgumentError);
    await assert.rejects(w1.claim(1, { cap: { max: 1, except: 'blocked' as unknown as string[] } }), InvalidArgumentError);
    await w1.close();
    await w2.close();
  });

  test(`${name} - N capped claimers at once take exactly the budget`, async () => {
    await factory.reset();
    const queues = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => factory.open({ owner })));
    await queues[0]!.add(Array.from({ length: 200 }, (_, i) => ({ key: `k${i}` })));
    const got: number[] = [];
    await Promise.all(queues.map(async (q) => {
      for (;;) {
        const items = await q.claim(7, { cap: { max: 50 } });
        if (items.length === 0) return;
        for (const it of items) got.push(it.id);
      }
    }));
    assert.equal(got.length, 50);
    assert.equal(new Set(got).size, 50);
    for (const q of queues) await q.close();
  });

  test(`${name} - a lease that runs out returns the item; the late holder's completion is refused (fencing)`, async () => {
    await factory.reset();
    const w1 = await factory.open({ owner: 'w1', leaseMs: 1 });
    const w2 = await factory.open({ owner: 'w2', leaseMs: 60_000 });
    await w1.add([{ key: 'p' }]);
    const [mine] = await w1.claim(1);
    assert.ok(mine);
    const [theirs] = await claimUntil(w2, 1, (items) => items.length === 1);
    assert.ok(theirs, 'the expired item is claimed again');
    assert.equal(theirs.id, mine.id);
    assert.equal(theirs.attempts, 2);
    assert.ok(theirs.lease > mine.lease);
    const late = await w1.commit({ settle: [{ id: mine.id, lease: mine.lease, kind: 'complete', outcome: 'done', output: 'late' }] });
    assert.deepEqual(late.refused, [mine.id]);
    assert.deepEqual(late.outputs, []);
    const ok = await w2.commit({ settle: [{ id: theirs.id, lease: theirs.lease, kind: 'complete', outcome: 'done', output: 'w2' }] });
    assert.deepEqual(ok.refused, []);
    assert.deepEqual(ok.outputs.map((o) => [o.key, o.output, o.ownerSeq]), [['p', 'w2', 1]]);
    assert.deepEqual((await w2.outputs(0, 10)).map((o) => o.output), ['w2']);
    assert.deepEqual(await w2.counts(), { queued: 0, claimed: 0, done: 1, dead: 0, outcomes: { done: 1 } });
    // A settle of an item already done is refused too.
    assert.deepEqual((await w2.commit({ settle: [{ id: theirs.id, lease: theirs.lease, kind: 'release' }] })).refused, [theirs.id]);
    await w1.close();
    await w2.close();
  });

  test(`${name} - a live lease is not taken; renew keeps it; releaseOwned and requeueExpired put items back`, async () => {
    await factory.reset();
    const w1 = await factory.open({ owner: 'w1', leaseMs: 60_000 });
    const w2 = await factory.open({ owner: 'w2' });
    await w1.add([{ key: 'a' }, { key: 'b' }]);
    const held = await w1.claim(2);
    assert.equal(held.length, 2);
    assert.deepEqual(await w2.claim(5), []);
    assert.equal(await w1.renew(held.map((i) => i.id)), 2);
    assert.equal(await w2.renew(held.map((i) => i.id)), 0, 'not the holder');
    assert.equal(await w2.requeueExpired(), 0);
    assert.equal(await w2.releaseOwned(), 0);
    assert.equal(await w1.releaseOwned(), 2);
    const again = await w2.claim(5);
    assert.deepEqual(again.map((i) => i.key), ['a', 'b']);
    assert.equal(await w1.releaseOwned({ all: true }), 2);
    assert.equal((await w1.counts()).queued, 2);
    await w1.close();
    await w2.close();
  });

  test(`${name} - a completion, its output, new items and checkpoints commit together or not at all`, async () => {
    const q = await fresh();
    await q.add([{ key: 'root' }]);
    const [it] = await q.claim(1);
    await assert.rejects(q.commit({
      settle: [{ id: it!.id, lease: it!.lease, kind: 'complete', outcome: 'done', output: 'page' }],
      add: [{ key: 'child' }],
      checkpoints: { mark: null as unknown as string },
    }));
    assert.deepEqual(await q.counts(), { queued: 0, claimed: 1, done: 0, dead: 0, outcomes: {} });
    assert.deepEqual(await q.outputs(0, 10), []);
    const r = await q.commit({
      settle: [{ id: it!.id, lease: it!.lease, kind: 'complete', outcome: 'done', output: 'page' }],
      add: [{ key: 'child' }],
      checkpoints: { mark: '7' },
    });
    assert.deepEqual(r.inserted, [true]);
    assert.deepEqual(r.outputs.map((o) => [o.key, o.output]), [['root', 'page']]);
    assert.equal(await q.getCheckpoint('mark'), '7');
    assert.deepEqual(await q.counts(), { queued: 1, claimed: 0, done: 1, dead: 0, outcomes: { done: 1 } });
    await q.close();
  });

  test(`${name} - outputs are numbered for the job (seq) and for each owner (ownerSeq); no-output outcomes get none`, async () => {
    await factory.reset();
    const a = await factory.open({ owner: 'a' });
    const b = await factory.open({ owner: 'b' });
    await a.add([{ key: '1' }, { key: '2' }, { key: '3' }, { key: '4' }]);
    const [i1, i2] = await a.claim(2);
    const [i3, i4] = await b.claim(2);
    await a.commit({ settle: [{ id: i1!.id, lease: i1!.lease, kind: 'complete', outcome: 'done', output: 'one' }] });
    await b.commit({ settle: [{ id: i3!.id, lease: i3!.lease, kind: 'complete', outcome: 'failed', output: 'three' }, { id: i4!.id, lease: i4!.lease, kind: 'complete', outcome: 'blocked' }] });
    await a.commit({ settle: [{ id: i2!.id, lease: i2!.lease, kind: 'complete', outcome: 'done', output: 'two' }] });
    const all = await a.outputs(0, 10);
    assert.deepEqual(all.map((o) => o.output), ['one', 'three', 'two']);
    assert.ok(all[0]!.seq < all[1]!.seq && all[1]!.seq < all[2]!.seq);
    assert.deepEqual((await b.outputs(0, 10, { owner: 'a' })).map((o) => [o.ownerSeq, o.output]), [[1, 'one'], [2, 'two']]);
    assert.deepEqual((await b.outputs(1, 10, { owner: 'a' })).map((o) => o.output), ['two']);
    assert.deepEqual((await a.outputs(0, 10, { owner: 'b' })).map((o) => [o.ownerSeq, o.output]), [[1, 'three']]);
    assert.deepEqual((await a.counts()).outcomes, { done: 2, failed: 1, blocked: 1 });
    await a.close();
    await b.close();
  });

  test(`${name} - release puts an item back; fail retries it until maxAttempts, then it is a dead letter`, async () => {
    const q = await fresh('w1', { maxAttempts: 2 });
    await q.add([{ key: 'flaky' }]);
    let [it] = await q.claim(1);
    assert.deepEqual((await q.commit({ settle: [{ id: it!.id, lease: it!.lease, kind: 'release' }] })).refused, []);
    [it] = await q.claim(1);
    assert.equal(it!.attempts, 2);
    // Released, it counted as an attempt already: one failure now reaches maxAttempts = 2.
    const r = await q.commit({ settle: [{ id: it!.id, lease: it!.lease, kind: 'fail', error: 'boom' }] });
    assert.deepEqual(r.dead, [it!.id]);
    assert.deepEqual(await q.claim(1), []);
    assert.deepEqual(await q.deadLetters(10), [{ id: it!.id, key: 'flaky', attempts: 2, error: 'boom' }]);
    await q.add([{ key: 'once' }]);
    const [o] = await q.claim(1);
    assert.deepEqual((await q.commit({ settle: [{ id: o!.id, lease: o!.lease, kind: 'fail', error: 'first' }] })).dead, []);
    assert.equal((await q.claim(1))[0]?.key, 'once', 'a failure under maxAttempts is queued again');
    assert.equal((await q.counts()).dead, 1);
    await q.close();
  });

  test(`${name} - checkpoints: set, overwrite, read from another worker`, async () => {
    await factory.reset();
    const a = await factory.open({ owner: 'a' });
    const b = await factory.open({ owner: 'b' });
    assert.equal(await a.getCheckpoint('offset'), undefined);
    await a.setCheckpoints({ offset: '10', file: 'x' });
    await a.setCheckpoints({ offset: '20' });
    assert.equal(await b.getCheckpoint('offset'), '20');
    assert.equal(await b.getCheckpoint('file'), 'x');
    await a.close();
    await b.close();
  });

  test(`${name} - reserve hands out one group's slots spacingMs apart, to every worker`, async () => {
    await factory.reset();
    const a = await factory.open({ owner: 'a' });
    const b = await factory.open({ owner: 'b' });
    const spacing = 60_000;
    const w1 = await a.reserve('host', spacing);
    const w2 = await b.reserve('host', spacing);
    const w3 = await a.reserve('host', spacing);
    const other = await b.reserve('other', spacing);
    assert.equal(w1, 0);
    assert.ok(w2 > spacing - 5000 && w2 <= spacing, String(w2));
    assert.ok(w3 > 2 * spacing - 5000 && w3 <= 2 * spacing, String(w3));
    assert.equal(other, 0);
    await a.close();
    await b.close();
  });

  test(`${name} - concurrency slots: at most limit held across workers; released or expired, they come back`, async () => {
    await factory.reset();
    const a = await factory.open({ owner: 'a' });
    const b = await factory.open({ owner: 'b' });
    const got = await Promise.all([a, b, a, b, a].map((q) => q.acquireSlot('host', 3, 60_000)));
    const held = got.filter((s) => s !== undefined);
    assert.equal(held.length, 3);
    assert.equal(new Set(held).size, 3);
    assert.equal(await b.acquireSlot('host', 3), undefined);
    assert.notEqual(await b.acquireSlot('other', 1), undefined, 'groups are separate');
    // a's slots: release one of them.
    const aSlot = got.find((s, i) => s !== undefined && i % 2 === 0)!;
    await b.releaseSlot('host', aSlot); // not b's: nothing happens
    assert.equal(await b.acquireSlot('host', 3), undefined);
    await a.releaseSlot('host', aSlot);
    assert.equal(await b.acquireSlot('host', 3), aSlot);
    // A slot taken for 1 ms frees itself.
    assert.notEqual(await a.acquireSlot('short', 1, 1), undefined);
    let again: number | undefined;
    for (let i = 0; i < 200 && again === undefined; i++) {
      again = await b.acquireSlot('short', 1);
      if (again === undefined) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(again, 0);
    await a.close();
    await b.close();
  });
}
