// The work queue in one SQLite file: the embedded backend (one machine; several processes may
// share the file, serialised by SQLite's write lock).
//
// Every operation is also offered synchronously (`…Sync`): the embedded crawler commits on its
// hot path without an await, and node:sqlite is synchronous anyway. The async methods are the
// `WorkQueue` contract the conformance suite checks.
import type { StatementSync } from 'node:sqlite';
import { InvalidArgumentError } from '../core/errors.ts';
import { checkInteger } from '../core/validate.ts';
import { SqliteDb } from './sqlite.ts';
import { checkCap, type ClaimOptions, type CommitInput, type CommitResult, type DeadLetter, type QueueCounts, type WorkInput, type WorkItem, type WorkOutput, type WorkQueue, type WorkQueueOptions } from './work-queue.ts';

/** The queue's own schema; a job's migrations come after it. */
export const SQLITE_QUEUE_SCHEMA = `
  create table work (
    id integer primary key,
    key text not null unique,
    grp text not null default '',
    priority integer not null default 0,
    payload text,
    state text not null default 'queued',
    outcome text,
    attempts integer not null default 0,
    owner text,
    lease integer not null default 0,
    lease_until real,
    seq integer unique,
    owner_seq integer,
    output text,
    error text
  );
  create index work_ready on work (priority, id) where state = 'queued';
  create index work_claimed on work (lease_until) where state = 'claimed';
  create index work_owner_out on work (owner, owner_seq) where owner_seq is not null;
  create table checkpoints (name text primary key, value text not null);
  create table schedule (grp text primary key, next_at real not null);
  create table slots (grp text not null, slot integer not null, owner text not null, until real not null, primary key (grp, slot));`;

export interface SqliteQueueOptions extends WorkQueueOptions {
  /** The job's own tables, applied after the queue's schema (migration i + 1). */
  migrations?: readonly string[] | undefined;
}

interface Row {
  id: number;
  key: string;
  grp: string;
  priority: number;
  payload: string | null;
  attempts: number;
  lease: number;
}

/**
 * The embedded work queue.
 *
 * @example
 * const q = SqliteWorkQueue.open('job.sqlite', { owner: 'w1' });
 * q.addSync([{ key: 'a' }]);
 * const [item] = q.claimSync(1);
 * q.commitSync({ settle: [{ id: item.id, lease: item.lease, kind: 'complete', outcome: 'done', output: '{}' }] });
 */
export class SqliteWorkQueue implements WorkQueue {
  readonly owner: string;
  readonly db: SqliteDb;
  readonly #leaseMs: number;
  readonly #maxAttempts: number;
  readonly #insert: StatementSync;
  readonly #lower: StatementSync;
  readonly #ready: StatementSync;
  readonly #mark: StatementSync;
  readonly #complete: StatementSync;
  readonly #release: StatementSync;
  readonly #fail: StatementSync;
  readonly #checkpoint: StatementSync;
  readonly #requeue: StatementSync;
  readonly #used: StatementSync;

  private constructor(db: SqliteDb, options: SqliteQueueOptions) {
    this.db = db;
    this.owner = options.owner ?? 'main';
    if (typeof this.owner !== 'string' || this.owner === '') throw new InvalidArgumentError('Expected `owner` to be a non-empty string');
    this.#leaseMs = checkInteger('leaseMs', options.leaseMs ?? 30_000, 1);
    this.#maxAttempts = checkInteger('maxAttempts', options.maxAttempts ?? 3, 1);
    const d = db.db;
    this.#insert = d.prepare('insert or ignore into work (key, grp, priority, payload) values (?, ?, ?, ?)');
    this.#lower = d.prepare("update work set priority = ?, payload = ? where key = ? and state = 'queued' and priority > ?");
    this.#used = d.prepare("select count(*) as n from work where state = 'claimed' or (state in ('done', 'dead') and coalesce(outcome, '') not in (select value from json_each(?)))");
    this.#ready = d.prepare("select id, key, grp, priority, payload, attempts, lease from work where state = 'queued' order by priority, id limit ?");
    this.#mark = d.prepare("update work set state = 'claimed', owner = ?, attempts = attempts + 1, lease = lease + 1, lease_until = ? where id = ?");
    this.#complete = d.prepare("update work set state = 'done', outcome = ?, output = ?, seq = ?, owner_seq = ?, lease_until = null, error = null where id = ? and state = 'claimed' and lease = ?");
    this.#release = d.prepare("update work set state = 'queued', lease_until = null where id = ? and state = 'claimed' and lease = ?");
    this.#fail = d.prepare("update work set state = case when attempts >= ? then 'dead' else 'queued' end, error = ?, lease_until = null where id = ? and state = 'claimed' and lease = ? returning state");
    this.#checkpoint = d.prepare('insert into checkpoints (name, value) values (?, ?) on conflict (name) do update set value = excluded.value');
    this.#requeue = d.prepare("update work set state = 'queued', lease_until = null where state = 'claimed' and lease_until < ?");
  }

  /** Opens (or creates) the queue in `path` (`':memory:'` for none). */
  static open(path: string, options: SqliteQueueOptions = {}): SqliteWorkQueue {
    const db = SqliteDb.open(path, { migrations: [SQLITE_QUEUE_SCHEMA, ...(options.migrations ?? [])] });
    try {
      return new SqliteWorkQueue(db, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** The database file (`':memory:'` for none). */
  get path(): string {
    return this.db.path;
  }

  /** `add`, synchronously: adds items in one transaction; returns whether each key was new. */
  addSync(items: readonly WorkInput[]): boolean[] {
    return this.db.transaction(() => this.#add(items));
  }

  /** `claim`, synchronously: puts expired leases back, then leases up to `limit` queued items, smallest priority first, to this owner. */
  claimSync(limit: number, options: ClaimOptions = {}): WorkItem[] {
    if (limit <= 0) return [];
    const until = Date.now() + (options.leaseMs ?? this.#leaseMs);
    const cap = options.cap;
    if (cap !== undefined) checkCap(cap);
    return this.db.transaction(() => {
      this.#requeue.run(Date.now());
      // The transaction is IMMEDIATE: the count and the claim are one step for every process.
      if (cap !== undefined) limit = Math.min(limit, cap.max - Number((this.#used.get(JSON.stringify(cap.except ?? [])) as { n: number }).n));
      if (limit <= 0) return [];
      const rows = this.#ready.all(limit) as unknown as Row[];
      const out: WorkItem[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        this.#mark.run(this.owner, until, r.id);
        out[i] = { id: Number(r.id), key: r.key, group: r.grp, priority: Number(r.priority), payload: r.payload, attempts: Number(r.attempts) + 1, lease: Number(r.lease) + 1 };
      }
      return out;
    });
  }

  /** `renew`, synchronously: extends this owner's leases on `ids`; returns how many it still held. */
  renewSync(ids: readonly number[], leaseMs?: number): number {
    const until = Date.now() + (leaseMs ?? this.#leaseMs);
    let n = 0;
    this.db.transaction(() => {
      for (const id of ids) n += Number(this.db.run("update work set lease_until = ? where id = ? and owner = ? and state = 'claimed'", until, id, this.owner).changes);
    });
    return n;
  }

  /** `commit`, synchronously: settles, adds and checkpoints in one transaction. */
  commitSync(input: CommitInput): CommitResult {
    const add = input.add ?? [];
    const settle = input.settle ?? [];
    const checkpoints = input.checkpoints;
    if (add.length === 0 && settle.length === 0 && checkpoints === undefined) return { inserted: [], outputs: [], refused: [], dead: [] };
    return this.db.transaction((): CommitResult => {
      const inserted = this.#add(add);
      const outputs: WorkOutput[] = [];
      const refused: number[] = [];
      const dead: number[] = [];
      let seq = -1;
      let ownerSeq = -1;
      for (const s of settle) {
        let changed: number;
        if (s.kind === 'complete') {
          if (seq < 0) {
            seq = Number(this.db.get<{ s: number | null }>('select max(seq) as s from work')?.s ?? 0);
            ownerSeq = Number(this.db.get<{ s: number | null }>('select max(owner_seq) as s from work where owner = ? and owner_seq is not null', this.owner)?.s ?? 0);
          }
          const output = s.output ?? null;
          const hasOutput = output !== null;
          changed = Number(this.#complete.run(s.outcome, output, hasOutput ? seq + 1 : null, hasOutput ? ownerSeq + 1 : null, s.id, s.lease).changes);
          if (changed === 1 && hasOutput) {
            seq++;
            ownerSeq++;
            outputs.push({ id: s.id, key: '', seq, ownerSeq, output });
          }
        } else if (s.kind === 'release') {
          changed = Number(this.#release.run(s.id, s.lease).changes);
        } else {
          const row = this.#fail.get(this.#maxAttempts, s.error, s.id, s.lease) as { state: string } | undefined;
          changed = row === undefined ? 0 : 1;
          if (row?.state === 'dead') dead.push(s.id);
        }
        if (changed === 0) refused.push(s.id);
      }
      if (outputs.length > 0) {
        const keyOf = this.db.db.prepare('select key from work where id = ?');
        for (const o of outputs) o.key = (keyOf.get(o.id) as { key: string }).key;
      }
      if (checkpoints !== undefined) for (const [k, v] of Object.entries(checkpoints)) this.#checkpoint.run(k, v);
      return { inserted, outputs, refused, dead };
    });
  }

  /** `requeueExpired`, synchronously: puts items whose lease ran out back in the queue; returns how many. */
  requeueExpiredSync(): number {
    return Number(this.#requeue.run(Date.now()).changes);
  }

  /** `releaseOwned`, synchronously: puts this owner's claimed items (all owners' with `all`) back; returns how many. */
  releaseOwnedSync(options: { all?: boolean } = {}): number {
    if (options.all) return Number(this.db.run("update work set state = 'queued', lease_until = null where state = 'claimed'").changes);
    return Number(this.db.run("update work set state = 'queued', lease_until = null where state = 'claimed' and owner = ?", this.owner).changes);
  }

  /** `counts`, synchronously: how many items are in each state. */
  countsSync(): QueueCounts {
    const out: QueueCounts = { queued: 0, claimed: 0, done: 0, dead: 0, outcomes: {} };
    for (const r of this.db.all<{ state: string; outcome: string | null; n: number }>('select state, outcome, count(*) as n from work group by state, outcome')) {
      const n = Number(r.n);
      if (r.state === 'queued') out.queued += n;
      else if (r.state === 'claimed') out.claimed += n;
      else if (r.state === 'dead') out.dead += n;
      else {
        out.done += n;
        const o = r.outcome ?? '';
        out.outcomes[o] = (out.outcomes[o] ?? 0) + n;
      }
    }
    return out;
  }

  /** `groupCounts`, synchronously: items per group (every state). */
  groupCountsSync(): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.db.all<{ grp: string; n: number }>('select grp, count(*) as n from work group by grp')) out.set(r.grp, Number(r.n));
    return out;
  }

  /** `outputs`, synchronously: outputs after `after` (by `seq`, or by `ownerSeq` when `owner` is given), in order. */
  outputsSync(after: number, limit: number, options: { owner?: string | undefined } = {}): WorkOutput[] {
    const rows = options.owner === undefined
      ? this.db.all<{ id: number; key: string; seq: number; owner_seq: number; output: string }>('select id, key, seq, owner_seq, output from work where seq > ? order by seq limit ?', after, limit)
      : this.db.all<{ id: number; key: string; seq: number; owner_seq: number; output: string }>('select id, key, seq, owner_seq, output from work where owner = ? and owner_seq > ? order by owner_seq limit ?', options.owner, after, limit);
    return rows.map((r) => ({ id: Number(r.id), key: r.key, seq: Number(r.seq), ownerSeq: Number(r.owner_seq), output: r.output }));
  }

  /** `deadLetters`, synchronously: up to `limit` dead letters, oldest (by id) first. */
  deadLettersSync(limit: number): DeadLetter[] {
    return this.db.all<{ id: number; key: string; attempts: number; error: string }>("select id, key, attempts, error from work where state = 'dead' order by id limit ?", limit)
      .map((r) => ({ id: Number(r.id), key: r.key, attempts: Number(r.attempts), error: r.error }));
  }

  /** `getCheckpoint`, synchronously: the checkpoint's value, or undefined when it was never set. */
  getCheckpointSync(name: string): string | undefined {
    return this.db.get<{ value: string }>('select value from checkpoints where name = ?', name)?.value;
  }

  /** `setCheckpoints`, synchronously: sets checkpoints in one transaction. */
  setCheckpointsSync(entries: Readonly<Record<string, string>>): void {
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(entries)) this.#checkpoint.run(k, v);
    });
  }

  /** `reserve`, synchronously: takes the next slot of `group`'s schedule; returns the ms to wait for it. */
  reserveSync(group: string, spacingMs: number): number {
    const now = Date.now();
    const row = this.db.get<{ slot: number }>(
      'insert into schedule (grp, next_at) values (?1, ?2 + ?3) on conflict (grp) do update set next_at = max(next_at, ?2) + ?3 returning next_at - ?3 as slot',
      group, now, spacingMs,
    )!;
    return Math.max(0, Number(row.slot) - now);
  }

  /** `acquireSlot`, synchronously: takes a free slot of `group` (below `limit`) for this owner; returns its number, or undefined when all are taken. */
  acquireSlotSync(group: string, limit: number, leaseMs?: number): number | undefined {
    const now = Date.now();
    return this.db.transaction(() => {
      const taken = new Set(this.db.all<{ slot: number }>('select slot from slots where grp = ? and until > ?', group, now).map((r) => Number(r.slot)));
      for (let slot = 0; slot < limit; slot++) {
        if (taken.has(slot)) continue;
        this.db.run(
          'insert into slots (grp, slot, owner, until) values (?, ?, ?, ?) on conflict (grp, slot) do update set owner = excluded.owner, until = excluded.until',
          group, slot, this.owner, now + (leaseMs ?? this.#leaseMs),
        );
        return slot;
      }
      return undefined;
    });
  }

  /** `releaseSlot`, synchronously: gives back a slot this owner holds. */
  releaseSlotSync(group: string, slot: number): void {
    this.db.run('delete from slots where grp = ? and slot = ? and owner = ?', group, slot, this.owner);
  }

  acquireSlot(group: string, limit: number, leaseMs?: number): Promise<number | undefined> {
    return attempt(() => this.acquireSlotSync(group, limit, leaseMs));
  }

  releaseSlot(group: string, slot: number): Promise<void> {
    return attempt(() => this.releaseSlotSync(group, slot));
  }

  add(items: readonly WorkInput[]): Promise<boolean[]> {
    return attempt(() => this.addSync(items));
  }

  claim(limit: number, options?: ClaimOptions): Promise<WorkItem[]> {
    return attempt(() => this.claimSync(limit, options));
  }

  renew(ids: readonly number[], leaseMs?: number): Promise<number> {
    return attempt(() => this.renewSync(ids, leaseMs));
  }

  commit(input: CommitInput): Promise<CommitResult> {
    return attempt(() => this.commitSync(input));
  }

  requeueExpired(): Promise<number> {
    return attempt(() => this.requeueExpiredSync());
  }

  releaseOwned(options?: { all?: boolean }): Promise<number> {
    return attempt(() => this.releaseOwnedSync(options));
  }

  counts(): Promise<QueueCounts> {
    return attempt(() => this.countsSync());
  }

  groupCounts(): Promise<Map<string, number>> {
    return attempt(() => this.groupCountsSync());
  }

  outputs(after: number, limit: number, options?: { owner?: string | undefined }): Promise<WorkOutput[]> {
    return attempt(() => this.outputsSync(after, limit, options));
  }

  deadLetters(limit: number): Promise<DeadLetter[]> {
    return attempt(() => this.deadLettersSync(limit));
  }

  getCheckpoint(name: string): Promise<string | undefined> {
    return attempt(() => this.getCheckpointSync(name));
  }

  setCheckpoints(entries: Readonly<Record<string, string>>): Promise<void> {
    return attempt(() => this.setCheckpointsSync(entries));
  }

  reserve(group: string, spacingMs: number): Promise<number> {
    return attempt(() => this.reserveSync(group, spacingMs));
  }

  /** Closes the database file (a second call does nothing). */
  closeSync(): void {
    this.db.close();
  }

  close(): Promise<void> {
    return attempt(() => this.closeSync());
  }

  #add(items: readonly WorkInput[]): boolean[] {
    const inserted: boolean[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      // node:sqlite would take an object as named parameters: refuse anything but a string.
      if (typeof it.key !== 'string') throw new InvalidArgumentError(`Expected a work item's \`key\` to be a string, got ${typeof it.key}`);
      const priority = it.priority ?? 0;
      const payload = it.payload ?? null;
      const isNew = Number(this.#insert.run(it.key, it.group ?? '', priority, payload).changes) === 1;
      if (!isNew) this.#lower.run(priority, payload, it.key, priority);
      inserted[i] = isNew;
    }
    return inserted;
  }
}

function attempt<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}
