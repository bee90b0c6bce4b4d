// The work queue in PostgreSQL: one schema per job, shared by every worker on every machine.
//
// Claims take queued rows with `FOR UPDATE SKIP LOCKED`, so N workers claiming at once never get
// the same row and never wait on each other. A claim is a lease (`lease_until`, the database's
// clock): this queue renews the leases of the items it holds on a timer while the process lives;
// when a worker dies its leases run out and the next `claim` of any worker puts those rows back.
// Settles quote the row's `lease` number (the fencing token) and are checked under a row lock.
// Keys added in one commit are inserted in key order, so two workers adding overlapping batches
// lock in the same order (no deadlock); the client retries the rare one that remains.
import { InvalidArgumentError } from '../core/errors.ts';
import { checkInteger } from '../core/validate.ts';
import type { SqlClient, SqlQueryable } from './sql-client.ts';
import { checkCap, type ClaimOptions, type CommitInput, type CommitResult, type DeadLetter, type QueueCounts, type WorkInput, type WorkItem, type WorkOutput, type WorkQueue, type WorkQueueOptions } from './work-queue.ts';

export interface PostgresQueueOptions extends WorkQueueOptions {
  /** The job's schema (created when missing): letters, digits and `_`, at most 63. */
  schema: string;
  /** The job's own tables, created in the schema after the queue's (`{schema}` is replaced). */
  tables?: readonly string[] | undefined;
  /** How often held leases are renewed, in ms. @default leaseMs / 3 */
  renewMs?: number | undefined;
}

/** unique_violation, duplicate_schema, duplicate_table, duplicate_object. */
const DUPLICATE = new Set(['23505', '42P06', '42P07', '42710']);

const NOW_MS = 'extract(epoch from clock_timestamp()) * 1000';

/** A schema name from any text: lower case, `[a-z0-9_]`, at most 63 characters. */
export function schemaName(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return (/^[a-z_]/.test(s) ? s : `j_${s}`).slice(0, 63);
}

/**
 * The shared work queue.
 *
 * @example
 * const q = await PostgresWorkQueue.open(new PgSqlClient('postgres://127.0.0.1/test'), { schema: 'crawl_a', owner: 'w1' });
 * const items = await q.claim(16);
 */
export class PostgresWorkQueue implements WorkQueue {
  readonly owner: string;
  readonly schema: string;
  readonly client: SqlClient;
  readonly #t: string;
  readonly #leaseMs: number;
  readonly #maxAttempts: number;
  /** Items this queue holds (claimed, not settled): id → lease. */
  readonly #held = new Map<number, number>();
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #lastRequeue = 0;
  /** Groups whose slot rows this queue made sure of. */
  readonly #slotGroups = new Set<string>();
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(client: SqlClient, options: PostgresQueueOptions) {
    this.client = client;
    this.schema = options.schema;
    this.#t = `"${options.schema}"`;
    this.owner = options.owner ?? 'main';
    this.#leaseMs = checkInteger('leaseMs', options.leaseMs ?? 30_000, 1);
    this.#maxAttempts = checkInteger('maxAttempts', options.maxAttempts ?? 3, 1);
    const renewMs = checkInteger('renewMs', options.renewMs ?? Math.max(1, Math.floor(this.#leaseMs / 3)), 1);
    this.#renewTimer = setInterval(() => {
      if (this.#held.size === 0) return;
      this.renew([...this.#held.keys()]).catch(() => {
        // A failed renewal is retried on the next tick; if the lease runs out first, the
        // fencing token refuses this worker's late settles.
      });
    }, renewMs);
    this.#renewTimer.unref();
  }

  /** Creates the schema and tables when missing (safe when many workers start at once). */
  static async open(client: SqlClient, options: PostgresQueueOptions): Promise<PostgresWorkQueue> {
    if (options === null || typeof options !== 'object' || typeof options.schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
      throw new InvalidArgumentError(`Expected \`schema\` to match [a-z_][a-z0-9_]{0,62}, got ${JSON.stringify(options?.schema)}`);
    }
    if (options.owner !== undefined && (typeof options.owner !== 'string' || options.owner === '')) throw new InvalidArgumentError('Expected `owner` to be a non-empty string');
    const q = new PostgresWorkQueue(client, options);
    const t = q.#t;
    try {
      // Joining a job that exists takes no DDL locks (they would queue behind running workers).
      const exists = await client.query('select to_regclass($1) as t', [`${t}.work`]);
      if (exists.rows[0]?.t == null || (options.tables?.length ?? 0) > 0) await q.#migrate(options);
    } catch (error) {
      q.#stopTimer();
      throw error;
    }
    return q;
  }

  async #migrate(options: PostgresQueueOptions): Promise<void> {
    const t = this.#t;
    // Workers starting at once: the advisory lock serialises them, and one that still trips over
    // another's fresh schema (the catalog was read before the lock was granted) runs again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#createTables(t, options);
        return;
      } catch (error) {
        if (attempt >= 3 || !DUPLICATE.has((error as { code?: string }).code ?? '')) throw error;
      }
    }
  }

  async #createTables(t: string, options: PostgresQueueOptions): Promise<void> {
    {
      await this.client.transaction(async (tx) => {
        await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`spate:${options.schema}`]);
        await tx.query(`create schema if not exists ${t}`);
        await tx.query(`create table if not exists ${t}.work (
          id bigint generated always as identity primary key,
          key text not null unique,
          grp text not null default '',
          priority integer not null default 0,
          payload text,
          state text not null default 'queued',
          outcome text,
          attempts integer not null default 0,
          owner text,
          lease bigint not null default 0,
          lease_until timestamptz,
          seq bigint unique,
          owner_seq bigint,
          output text,
          error text)`);
        await tx.query(`create index if not exists work_ready on ${t}.work (priority, id) where state = 'queued'`);
        await tx.query(`create index if not exists work_claimed on ${t}.work (lease_until) where state = 'claimed'`);
        await tx.query(`create index if not exists work_owner_out on ${t}.work (owner, owner_seq) where owner_seq is not null`);
        await tx.query(`create sequence if not exists ${t}.work_seq`);
        await tx.query(`create table if not exists ${t}.checkpoints (name text primary key, value text not null)`);
        await tx.query(`create table if not exists ${t}.schedule (grp text primary key, next_at double precision not null)`);
        await tx.query(`create table if not exists ${t}.slots (grp text not null, slot integer not null, owner text, until timestamptz not null, primary key (grp, slot))`);
        for (const sql of options.tables ?? []) await tx.query(sql.replaceAll('{schema}', t));
      });
    }
  }

  add(items: readonly WorkInput[]): Promise<boolean[]> {
    return this.commit({ add: items }).then((r) => r.inserted);
  }

  async claim(limit: number, options: ClaimOptions = {}): Promise<WorkItem[]> {
    if (limit <= 0) return [];
    const leaseMs = options.leaseMs ?? this.#leaseMs;
    if (Date.now() - this.#lastRequeue >= Math.min(1000, this.#leaseMs / 4)) {
      this.#lastRequeue = Date.now();
      await this.requeueExpired();
    }
    const cap = options.cap;
    if (cap !== undefined) checkCap(cap);
    const rows = cap === undefined
      ? await this.#claimRows(this.client, limit, leaseMs)
      : await this.client.transaction(async (tx) => {
        // Capped claims of the job run one at a time (a transaction-scoped advisory lock), and
        // the count is a statement after the lock: it sees every claim committed before ours.
        await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`spate:cap:${this.schema}`]);
        const used = await tx.query(
          `select count(*)::int as n from ${this.#t}.work
            where state = 'claimed' or (state in ('done', 'dead') and not (coalesce(outcome, '') = any($1::text[])))`,
          [cap.except ?? []],
        );
        const room = Math.min(limit, cap.max - Number(used.rows[0]!.n));
        return room > 0 ? this.#claimRows(tx, room, leaseMs) : [];
      });
    const items = rows.map((row): WorkItem => ({
      id: Number(row.id),
      key: row.key as string,
      group: row.grp as string,
      priority: Number(row.priority),
      payload: row.payload as string | null,
      attempts: Number(row.attempts),
      lease: Number(row.lease),
    }));
    items.sort((a, b) => a.priority - b.priority || a.id - b.id);
    for (const it of items) this.#held.set(it.id, it.lease);
    return items;
  }

  async #claimRows(db: SqlQueryable, limit: number, leaseMs: number): Promise<Record<string, unknown>[]> {
    const t = this.#t;
    const r = await db.query(
      `with c as (select id from ${t}.work where state = 'queued' order by priority, id limit $2 for update skip locked)
       update ${t}.work w set state = 'claimed', owner = $1, attempts = w.attempts + 1, lease = w.lease + 1,
              lease_until = clock_timestamp() + $3 * interval '1 millisecond'
         from c where w.id = c.id
       returning w.id, w.key, w.grp, w.priority, w.payload, w.attempts, w.lease`,
      [this.owner, limit, leaseMs],
    );
    return r.rows;
  }

  async renew(ids: readonly number[], leaseMs?: number): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.client.query(
      `update ${this.#t}.work set lease_until = clock_timestamp() + $3 * interval '1 millisecond'
        where id = any($1::bigint[]) and owner = $2 and state = 'claimed'`,
      [ids, this.owner, leaseMs ?? this.#leaseMs],
    );
    return r.rowCount ?? 0;
  }

  /** Commits run one at a time per queue (the owner's output order depends on it). */
  commit(input: CommitInput): Promise<CommitResult> {
    const run = this.#chain.then(() => this.#commit(input));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #commit(input: CommitInput): Promise<CommitResult> {
    const add = input.add ?? [];
    const settle = input.settle ?? [];
    const checkpoints = input.checkpoints;
    if (add.length === 0 && settle.length === 0 && checkpoints === undefined) return { inserted: [], outputs: [], refused: [], dead: [] };
    const t = this.#t;
    const result = await this.client.transaction(async (tx): Promise<CommitResult> => {
      const inserted = await this.#add(tx, add);
      const outputs: WorkOutput[] = [];
      const refused: number[] = [];
      const dead: number[] = [];
      if (settle.length > 0) {
        const ids = settle.map((s) => s.id);
        const leases = settle.map((s) => s.lease);
        const locked = await tx.query(
          `select w.id, w.key from ${t}.work w join unnest($1::bigint[], $2::bigint[]) as v(id, lease) on w.id = v.id and w.lease = v.lease
            where w.state = 'claimed' order by w.id for update of w`,
          [ids, leases],
        );
        const held = new Map<number, string>();
        for (const row of locked.rows) held.set(Number(row.id), row.key as string);
        const complete = { id: [] as number[], outcome: [] as string[], output: [] as (string | null)[], seq: [] as (number | null)[], oseq: [] as (number | null)[] };
        const release: number[] = [];
        const fail = { id: [] as number[], error: [] as string[] };
        let withOutput = 0;
        for (const s of settle) if (s.kind === 'complete' && held.has(s.id) && s.output != null) withOutput++;
        let seqs: number[] = [];
        let ownerSeq = 0;
        if (withOutput > 0) {
          const [sq, os] = await Promise.all([
            tx.query(`select nextval('${t}.work_seq') as s from generate_series(1, $1)`, [withOutput]),
            tx.query(`select coalesce(max(owner_seq), 0) as s from ${t}.work where owner = $1 and owner_seq is not null`, [this.owner]),
          ]);
          seqs = sq.rows.map((row) => Number(row.s)).sort((a, b) => a - b);
          ownerSeq = Number(os.rows[0]!.s);
        }
        let k = 0;
        for (const s of settle) {
          if (!held.has(s.id)) {
            refused.push(s.id);
            continue;
          }
          const key = held.get(s.id)!;
          held.delete(s.id);
          if (s.kind === 'complete') {
            const output = s.output ?? null;
            complete.id.push(s.id);
            complete.outcome.push(s.outcome);
            complete.output.push(output);
            if (output !== null) {
              const seq = seqs[k++]!;
              ownerSeq++;
              complete.seq.push(seq);
              complete.oseq.push(ownerSeq);
              outputs.push({ id: s.id, key, seq, ownerSeq, output });
            } else {
              complete.seq.push(null);
              complete.oseq.push(null);
            }
          } else if (s.kind === 'release') {
            release.push(s.id);
          } else {
            fail.id.push(s.id);
            fail.error.push(s.error);
          }
        }
        if (complete.id.length > 0) {
          await tx.query(
            `update ${t}.work w set state = 'done', outcome = v.outcome, output = v.output, seq = v.seq, owner_seq = v.oseq, lease_until = null, error = null
               from unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) as v(id, outcome, output, seq, oseq) where w.id = v.id`,
            [complete.id, complete.outcome, complete.output, complete.seq, complete.oseq],
          );
        }
        if (release.length > 0) {
          await tx.query(`update ${t}.work set state = 'queued', lease_until = null where id = any($1::bigint[])`, [release]);
        }
        if (fail.id.length > 0) {
          const r = await tx.query(
            `update ${t}.work w set state = case when w.attempts >= $3 then 'dead' else 'queued' end, error = v.error, lease_until = null
               from unnest($1::bigint[], $2::text[]) as v(id, error) where w.id = v.id returning w.id, w.state`,
            [fail.id, fail.error, this.#maxAttempts],
          );
          for (const row of r.rows) if (row.state === 'dead') dead.push(Number(row.id));
        }
      }
      if (checkpoints !== undefined && Object.keys(checkpoints).length > 0) {
        await tx.query(
          `insert into ${t}.checkpoints (name, value) select * from unnest($1::text[], $2::text[]) order by 1
           on conflict (name) do update set value = excluded.value`,
          [Object.keys(checkpoints), Object.values(checkpoints)],
        );
      }
      return { inserted, outputs, refused, dead };
    });
    for (const s of settle) if (!result.refused.includes(s.id)) this.#held.delete(s.id);
    for (const id of result.refused) this.#held.delete(id);
    return result;
  }

  async #add(tx: SqlQueryable, add: readonly WorkInput[]): Promise<boolean[]> {
    if (add.length === 0) return [];
    for (const it of add) if (typeof it.key !== 'string') throw new InvalidArgumentError(`Expected a work item's \`key\` to be a string, got ${typeof it.key}`);
    const t = this.#t;
    // Key order: concurrent workers take the unique index's locks in the same order.
    const order = add.map((_, i) => i).sort((a, b) => (add[a]!.key < add[b]!.key ? -1 : add[a]!.key > add[b]!.key ? 1 : a - b));
    const keys = order.map((i) => add[i]!.key);
    const groups = order.map((i) => add[i]!.group ?? '');
    const priorities = order.map((i) => add[i]!.priority ?? 0);
    const payloads = order.map((i) => add[i]!.payload ?? null);
    const r = await tx.query(
      `insert into ${t}.work (key, grp, priority, payload)
       select k, g, p, pl from unnest($1::text[], $2::text[], $3::int[], $4::text[]) with ordinality as v(k, g, p, pl, o) order by o
       on conflict (key) do nothing returning key`,
      [keys, groups, priorities, payloads],
    );
    const fresh = new Set(r.rows.map((row) => row.key as string));
    const inserted: boolean[] = new Array(add.length).fill(false);
    const lower: number[] = [];
    for (const i of order) {
      const key = add[i]!.key;
      if (fresh.delete(key)) inserted[i] = true;
      else lower.push(i);
    }
    if (lower.length > 0) {
      await tx.query(
        `update ${t}.work w set priority = v.p, payload = v.pl
           from (select distinct on (k) k, p, pl from unnest($1::text[], $2::int[], $3::text[]) as u(k, p, pl) order by k, p) as v
          where w.key = v.k and w.state = 'queued' and w.priority > v.p`,
        [lower.map((i) => add[i]!.key), lower.map((i) => add[i]!.priority ?? 0), lower.map((i) => add[i]!.payload ?? null)],
      );
    }
    return inserted;
  }

  async requeueExpired(): Promise<number> {
    const r = await this.client.query(`update ${this.#t}.work set state = 'queued', lease_until = null where state = 'claimed' and lease_until < clock_timestamp()`);
    return r.rowCount ?? 0;
  }

  async releaseOwned(options: { all?: boolean } = {}): Promise<number> {
    const r = options.all
      ? await this.client.query(`update ${this.#t}.work set state = 'queued', lease_until = null where state = 'claimed'`)
      : await this.client.query(`update ${this.#t}.work set state = 'queued', lease_until = null where state = 'claimed' and owner = $1`, [this.owner]);
    this.#held.clear();
    return r.rowCount ?? 0;
  }

  async counts(): Promise<QueueCounts> {
    const out: QueueCounts = { queued: 0, claimed: 0, done: 0, dead: 0, outcomes: {} };
    const r = await this.client.query(`select state, outcome, count(*)::int as n from ${this.#t}.work group by state, outcome`);
    for (const row of r.rows) {
      const n = Number(row.n);
      if (row.state === 'queued') out.queued += n;
      else if (row.state === 'claimed') out.claimed += n;
      else if (row.state === 'dead') out.dead += n;
      else {
        out.done += n;
        const o = (row.outcome as string | null) ?? '';
        out.outcomes[o] = (out.outcomes[o] ?? 0) + n;
      }
    }
    return out;
  }

  async groupCounts(): Promise<Map<string, number>> {
    const r = await this.client.query(`select grp, count(*)::int as n from ${this.#t}.work group by grp`);
    return new Map(r.rows.map((row) => [row.grp as string, Number(row.n)]));
  }

  async outputs(after: number, limit: number, options: { owner?: string | undefined } = {}): Promise<WorkOutput[]> {
    const t = this.#t;
    const r = options.owner === undefined
      ? await this.client.query(`select id, key, seq, owner_seq, output from ${t}.work where seq > $1 order by seq limit $2`, [after, limit])
      : await this.client.query(`select id, key, seq, owner_seq, output from ${t}.work where owner = $3 and owner_seq > $1 order by owner_seq limit $2`, [after, limit, options.owner]);
    return r.rows.map((row) => ({ id: Number(row.id), key: row.key as string, seq: Number(row.seq), ownerSeq: Number(row.owner_seq), output: row.output as string }));
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const r = await this.client.query(`select id, key, attempts, error from ${this.#t}.work where state = 'dead' order by id limit $1`, [limit]);
    return r.rows.map((row) => ({ id: Number(row.id), key: row.key as string, attempts: Number(row.attempts), error: row.error as string }));
  }

  async getCheckpoint(name: string): Promise<string | undefined> {
    const r = await this.client.query(`select value from ${this.#t}.checkpoints where name = $1`, [name]);
    return r.rows[0]?.value as string | undefined;
  }

  async setCheckpoints(entries: Readonly<Record<string, string>>): Promise<void> {
    await this.commit({ checkpoints: entries });
  }

  async reserve(group: string, spacingMs: number): Promise<number> {
    const t = this.#t;
    const r = await this.client.query(
      `insert into ${t}.schedule as s (grp, next_at) values ($1, ${NOW_MS} + $2)
       on conflict (grp) do update set next_at = greatest(s.next_at, ${NOW_MS}) + $2
       returning s.next_at - $2 as slot, ${NOW_MS} as now`,
      [group, spacingMs],
    );
    const row = r.rows[0]!;
    return Math.max(0, Number(row.slot) - Number(row.now));
  }

  async acquireSlot(group: string, limit: number, leaseMs?: number): Promise<number | undefined> {
    const t = this.#t;
    // A group's slots are rows 0…limit-1 (made on first use); a free one is taken under SKIP
    // LOCKED, so workers asking at once take different slots and nobody waits on a lock.
    const take = () => this.client.query(
      `update ${t}.slots s set owner = $2, until = clock_timestamp() + $3 * interval '1 millisecond'
        where (s.grp, s.slot) = (select grp, slot from ${t}.slots where grp = $1 and slot < $4 and until <= clock_timestamp()
                                  order by slot limit 1 for update skip locked)
        returning s.slot`,
      [group, this.owner, leaseMs ?? this.#leaseMs, limit],
    );
    const key = `${group}\u0000${limit}`;
    if (!this.#slotGroups.has(key)) {
      await this.client.query(
        `insert into ${t}.slots (grp, slot, owner, until) select $1, g, null, '-infinity' from generate_series(0, $2 - 1) as g on conflict do nothing`,
        [group, limit],
      );
      this.#slotGroups.add(key);
    }
    const r = await take();
    return r.rows.length === 0 ? undefined : Number(r.rows[0]!.slot);
  }

  async releaseSlot(group: string, slot: number): Promise<void> {
    await this.client.query(`update ${this.#t}.slots set owner = null, until = '-infinity' where grp = $1 and slot = $2 and owner = $3`, [group, slot, this.owner]);
  }

  /** Stops renewing leases (items still held return when their lease runs out). The client is not closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    await this.#chain;
  }

  #stopTimer(): void {
    if (this.#renewTimer !== undefined) clearInterval(this.#renewTimer);
    this.#renewTimer = undefined;
  }
}
