// The shape crawl, download and pipeline state share: one durable work table.
//
// Model: every item has a unique `key` (adding it twice is a no-op: the table is the visited set),
// a `group` (a host, for politeness), a `priority` (smaller first; FIFO by id within one) and an
// opaque `payload` — the job's own columns. An item moves queued → claimed → done | dead:
//   - `claim` hands out queued items under a lease (`leaseMs`) and bumps the item's `lease`
//     number, which is the fencing token: a settle must quote it, and one from a worker whose
//     lease ran out and whose item was claimed again is refused (reported, never applied).
//   - An expired lease puts the item back (`requeueExpired`, also run by every `claim`): a worker
//     that dies loses nothing.
//   - `commit` applies settles (complete with an output, release, fail), new items and checkpoints
//     in ONE transaction: an output exists exactly when its item is done. Outputs get `seq` (the
//     order of the whole job) and `ownerSeq` (the order of the owner's own outputs, so a worker
//     can write its own file exactly once).
//   - `fail` counts an attempt; past `maxAttempts` the item is dead (a dead letter) with its error.
//   - Checkpoints: named values (offsets, marks) committed with the rest.
//   - A claim may carry a `cap`, a budget for the whole job (a crawl's `maxPages` across workers):
//     capped claims are serialised per job, so the budget holds whoever claims.
//   - `reserve(group, spacingMs)`: a per-group schedule shared by every worker of the job (one row
//     per group holding the next free time), and `acquireSlot(group, limit)`: leased concurrency
//     slots per group — how politeness (rate, Crawl-delay, per-host concurrency) holds across
//     processes.
//
// Backends: `SqliteWorkQueue` (sqlite.ts, embedded, one machine) and `PostgresWorkQueue`
// (postgres.ts, shared by many). test/store/work-queue-conformance.ts runs both through one suite.

import { InvalidArgumentError } from '../core/errors.ts';
import { checkInteger } from '../core/validate.ts';

/** An item to add. */
export interface WorkInput {
  /** Unique in the queue: adding a key that exists is a no-op (but see `priority`). */
  key: string;
  /** What politeness and per-group counts key on (a host). @default '' */
  group?: string | undefined;
  /** Smaller is claimed first. Re-adding a still-queued key with a smaller priority lowers it (and takes the new payload). @default 0 */
  priority?: number | undefined;
  /** The job's own data, opaque here. */
  payload?: string | null | undefined;
}

/** A claimed item. */
export interface WorkItem {
  id: number;
  key: string;
  group: string;
  priority: number;
  payload: string | null;
  /** Claims so far, this one included. */
  attempts: number;
  /** The fencing token: quote it when settling. */
  lease: number;
}

/** How a claimed item ends (or goes back). */
export type Settle =
  | { id: number; lease: number; kind: 'complete'; outcome: string; output?: string | null | undefined }
  | { id: number; lease: number; kind: 'release' }
  | { id: number; lease: number; kind: 'fail'; error: string };

/** What one `commit` applies, all or nothing: new items, settles and checkpoints. */
export interface CommitInput {
  add?: readonly WorkInput[] | undefined;
  settle?: readonly Settle[] | undefined;
  checkpoints?: Readonly<Record<string, string>> | undefined;
}

/** An output given its place by a commit. */
export interface WorkOutput {
  id: number;
  key: string;
  seq: number;
  ownerSeq: number;
  output: string;
}

/** What a commit did. */
export interface CommitResult {
  /** For each added item, in order: whether its key was new. */
  inserted: boolean[];
  /** Outputs of the completions that were applied, in order. */
  outputs: WorkOutput[];
  /** Ids of settles refused because the caller no longer held the lease. */
  refused: number[];
  /** Ids that became dead letters in this commit. */
  dead: number[];
}

/** Items per state, and done items per outcome. */
export interface QueueCounts {
  queued: number;
  claimed: number;
  done: number;
  dead: number;
  /** Done items by outcome. */
  outcomes: Record<string, number>;
}

/** An item that failed `maxAttempts` times, with its last error. */
export interface DeadLetter {
  id: number;
  key: string;
  attempts: number;
  error: string;
}

/** Options of `claim`. */
export interface ClaimOptions {
  /** How long the claim holds. @default the queue's `leaseMs` */
  leaseMs?: number | undefined;
  /**
   * A budget for the whole job, whichever worker claims: the claim takes no more items than
   * leave at most `max` of the job's items claimed or finished (done or dead), not counting
   * finished items whose outcome is in `except`. Checked atomically across workers (a crawl's
   * `maxPages` shared by every process).
   */
  cap?: ClaimCap | undefined;
}

/** See {@link ClaimOptions.cap}. */
export interface ClaimCap {
  max: number;
  /** Outcomes that do not count against the budget (e.g. a crawl's `blocked`). */
  except?: readonly string[] | undefined;
}

/** The durable work queue of one job, as seen by one owner (a worker). */
export interface WorkQueue {
  /** This worker's name: claims and outputs are recorded under it. */
  readonly owner: string;
  /** Adds items (see {@link WorkInput} for keys already present); resolves to whether each key was new. */
  add(items: readonly WorkInput[]): Promise<boolean[]>;
  /** Up to `limit` queued items, smallest priority first, leased to this owner. */
  claim(limit: number, options?: ClaimOptions): Promise<WorkItem[]>;
  /** Extends this owner's leases on `ids`; returns how many it still held. */
  renew(ids: readonly number[], leaseMs?: number): Promise<number>;
  /** Settles, adds and checkpoints, all or nothing. */
  commit(input: CommitInput): Promise<CommitResult>;
  /** Puts items whose lease ran out back in the queue; returns how many. */
  requeueExpired(): Promise<number>;
  /** Puts this owner's claimed items (all owners' with `all`) back; returns how many. */
  releaseOwned(options?: { all?: boolean }): Promise<number>;
  /** How many items are in each state. */
  counts(): Promise<QueueCounts>;
  /** Items per group (every state). */
  groupCounts(): Promise<Map<string, number>>;
  /** Outputs after `after` (by `seq`, or by `ownerSeq` when `owner` is given), in order. */
  outputs(after: number, limit: number, options?: { owner?: string | undefined }): Promise<WorkOutput[]>;
  /** Up to `limit` dead letters, oldest (by id) first. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /** The checkpoint's value, or undefined when it was never set. */
  getCheckpoint(name: string): Promise<string | undefined>;
  /** Sets checkpoints on their own (`commit` sets them with settles). */
  setCheckpoints(entries: Readonly<Record<string, string>>): Promise<void>;
  /** Takes the next slot of `group`'s schedule (slots `spacingMs` apart); resolves to the ms to wait for it. */
  reserve(group: string, spacingMs: number): Promise<number>;
  /**
   * Takes one of `limit` concurrency slots of `group`, shared by every worker, for at most
   * `leaseMs` (a dead worker's slot frees itself); resolves to the slot's number, or undefined
   * when all are taken.
   */
  acquireSlot(group: string, limit: number, leaseMs?: number): Promise<number | undefined>;
  /** Gives a slot back. */
  releaseSlot(group: string, slot: number): Promise<void>;
  /** Releases what the backend holds (SQLite: the database file; Postgres: the lease renewal timer). */
  close(): Promise<void>;
}

/** Options shared by the backends. */
export interface WorkQueueOptions {
  /** The worker's name (unique among live workers of a job). @default 'main' */
  owner?: string | undefined;
  /** Default lease of a claim, in ms. @default 30000 */
  leaseMs?: number | undefined;
  /** Failures before an item becomes a dead letter. @default 3 */
  maxAttempts?: number | undefined;
}

/** A claim's cap: a whole number of items, and outcome names. */
export function checkCap(cap: ClaimCap): void {
  if (cap === null || typeof cap !== 'object') throw new InvalidArgumentError('Expected `cap` to be { max, except? }');
  checkInteger('cap.max', cap.max, 0);
  if (cap.except !== undefined && (!Array.isArray(cap.except) || cap.except.some((o) => typeof o !== 'string'))) {
    throw new InvalidArgumentError('Expected `cap.except` to be an array of outcome names');
  }
}
