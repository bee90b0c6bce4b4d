// A pool of reusable resources (connections, browser pages, workers): at most `max` exist, the
// rest of the callers wait in line.
//
// Accounting — the invariant every path keeps:
//   size = idle + leased + validating        (resources the pool owns)
//   size + pending ≤ max                      (pending = creates in flight)
// A create is started for a waiter and bound to it: if it fails while that waiter still waits,
// that waiter (and only it) is rejected with the error, and the capacity is free again for the
// next. A resource — created or returned — always goes to the head of the line, so a waiter
// may be served by another's create; the create it triggered then serves whoever is next.
// Creates are started only while live waiters outnumber creates in flight.
//
// Waiters are a FIFO with lazy deletion. Idle resources are a stack at the back (the most
// recently returned is lent first, so a surplus stays idle and ages out) and age from the
// front, where one eviction timer watches the oldest. `validate` runs on every checkout of an
// idle resource (not on fresh ones); a resource that fails it is destroyed and its waiter goes
// back to the front of the line.
import { type Clock, type Timer, getClock } from './clock.ts';
import { Deque } from './deque.ts';
import { channels } from './diagnostics.ts';
import { ClosedError, InvalidArgumentError, ReleaseError, TimeoutError } from './errors.ts';
import { callSignal } from './policy.ts';
import { onAbort } from './signals.ts';
import { checkFunction, checkInteger, checkNonNegative, checkSignal } from './validate.ts';

/** Options of `ResourcePool`: how resources are created, checked and disposed of, and how many. */
export interface ResourcePoolOptions<T> {
  /** Makes a resource. The signal aborts when the pool is destroyed. */
  create: (ctx: { signal: AbortSignal }) => T | PromiseLike<T>;
  /** Disposes of a resource; its errors are published on `channels.pool`, not thrown. */
  destroy?: ((resource: T) => void | PromiseLike<void>) | undefined;
  /** Checks an idle resource before it is lent again; a false (or throw) destroys it. */
  validate?: ((resource: T) => boolean | PromiseLike<boolean>) | undefined;
  /** Resources kept even when idle (created at construction). @default 0 */
  min?: number | undefined;
  /** Resources at most, leased or idle. @default 10 */
  max?: number | undefined;
  /** The default `timeout` of `acquire`, in ms. @default Infinity */
  acquireTimeout?: number | undefined;
  /**
   * An idle resource beyond `min` is destroyed after this many ms. Off by default because the
   * eviction timer would keep the process alive. @default Infinity
   */
  idleTimeout?: number | undefined;
  /** @default the default clock, read at construction */
  clock?: Clock | undefined;
}

/** Options of `ResourcePool.acquire`. */
export interface PoolAcquireOptions {
  /** Gives up waiting, rejecting with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Gives up after this many ms with a `TimeoutError`. @default the pool's `acquireTimeout` */
  timeout?: number | undefined;
}

/** What `ResourcePool.stats()` returns. */
export interface ResourcePoolStats {
  /** Resources the pool owns: idle + leased + being validated. */
  readonly size: number;
  readonly idle: number;
  readonly leased: number;
  /** Acquires waiting in line. */
  readonly waiting: number;
  /** Creates in flight. */
  readonly pending: number;
  readonly min: number;
  readonly max: number;
}

type WaiterState = 'waiting' | 'checkout' | 'done';

interface Waiter<T> {
  state: WaiterState;
  bound: boolean;
  resolve: (lease: Lease<T>) => void;
  reject: (reason: unknown) => void;
  unlink: () => void;
  timer: Timer | undefined;
}

interface IdleEntry<T> {
  readonly resource: T;
  readonly since: number;
}

type PoolState = 'open' | 'closing' | 'closed';

let giveBack: <T>(pool: ResourcePool<T>, lease: Lease<T>, broken: boolean) => Promise<void>;

/**
 * One resource lent by a pool. Give it back with `release()` (or `using`), or `destroy()` it if
 * it broke. Both are idempotent, and only the first of them counts.
 */
export class Lease<T> implements Disposable {
  /** The resource lent. */
  readonly resource: T;
  #pool: ResourcePool<T> | undefined;

  /** @internal Leases come from `ResourcePool.acquire`. */
  constructor(pool: ResourcePool<T>, resource: T) {
    this.#pool = pool;
    this.resource = resource;
  }

  /** Whether the resource was given back (released or destroyed). */
  get released(): boolean {
    return this.#pool === undefined;
  }

  /** Gives the resource back to the pool for the next caller. */
  release(): void {
    const pool = this.#pool;
    if (pool === undefined) return;
    this.#pool = undefined;
    void giveBack(pool, this, false);
  }

  /** Destroys the resource instead of returning it (it is broken); resolves once destroyed. */
  destroy(): Promise<void> {
    const pool = this.#pool;
    if (pool === undefined) return Promise.resolve();
    this.#pool = undefined;
    return giveBack(pool, this, true);
  }

  /** Same as `release()`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * A pool of at most `max` resources, lent FIFO to waiting callers.
 *
 * @example
 * await using pool = new ResourcePool({
 *   create: ({ signal }) => connect(dsn, { signal }),
 *   destroy: (db) => db.end(),
 *   validate: (db) => db.alive,
 *   max: 5,
 *   idleTimeout: 30_000,
 * });
 * const rows = await pool.use((db, { signal }) => db.query(sql, { signal }), { timeout: 2000 });
 */
export class ResourcePool<T> implements AsyncDisposable {
  static {
    giveBack = (pool, lease, broken) => pool.#giveBack(lease, broken);
  }

  #create: ResourcePoolOptions<T>['create'];
  #destroyHook: ResourcePoolOptions<T>['destroy'];
  #validate: ResourcePoolOptions<T>['validate'];
  #min: number;
  #max: number;
  #acquireTimeout: number;
  #idleTimeout: number;
  #clock: Clock;

  #state: PoolState = 'open';
  #controller = new AbortController();
  #idle = new Deque<IdleEntry<T>>();
  #leases = new Map<T, Lease<T>>();
  #waiters = new Deque<Waiter<T>>();
  #unbound = new Deque<Waiter<T>>();
  #waiting = 0;
  #size = 0;
  #pending = 0;
  #validating = 0;
  #evictTimer: Timer | undefined = undefined;
  #evictDue = 0;
  #closed: Promise<void> | undefined = undefined;
  #resolveClosed: () => void = noop;
  #destroyed: Promise<void> | undefined = undefined;
  #onEvict = () => {
    this.#evictTimer = undefined;
    this.#evict();
  };

  constructor(options: ResourcePoolOptions<T>) {
    const { create, destroy, validate, min = 0, max = 10, acquireTimeout = Infinity, idleTimeout = Infinity, clock = getClock() } = options ?? ({} as ResourcePoolOptions<T>);
    checkFunction('create', create);
    if (destroy !== undefined) checkFunction('destroy', destroy);
    if (validate !== undefined) checkFunction('validate', validate);
    checkInteger('max', max, 1);
    checkInteger('min', min, 0);
    if (min > max) throw new InvalidArgumentError(`Expected \`min\` to be ≤ max (${max}), got ${min}`);
    checkNonNegative('acquireTimeout', acquireTimeout, true);
    checkNonNegative('idleTimeout', idleTimeout, true);
    this.#create = create;
    this.#destroyHook = destroy;
    this.#validate = validate;
    this.#min = min;
    this.#max = max;
    this.#acquireTimeout = acquireTimeout;
    this.#idleTimeout = idleTimeout;
    this.#clock = clock;
    this.#ensureMin();
  }

  /**
   * Waits for a resource, in line behind earlier callers, and lends it as a `Lease`.
   * Rejects with `ClosedError` once the pool is closing or destroyed.
   *
   * @example
   * using lease = await pool.acquire({ timeout: 1000 });
   * await lease.resource.query('select 1');
   */
  acquire(options: PoolAcquireOptions = {}): Promise<Lease<T>> {
    const { signal, timeout = this.#acquireTimeout } = options;
    checkSignal(signal);
    checkNonNegative('timeout', timeout, true);
    if (this.#state !== 'open') return Promise.reject(new ClosedError('Resource pool is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#waiting === 0 && this.#validate === undefined && this.#idle.length > 0) {
      const lease = this.#lease(this.#idle.pop()!.resource);
      this.#armEviction();
      return Promise.resolve(lease);
    }
    return new Promise<Lease<T>>((resolve, reject) => {
      const waiter: Waiter<T> = { state: 'waiting', bound: false, resolve, reject, unlink: noop, timer: undefined };
      this.#waiters.push(waiter);
      this.#unbound.push(waiter);
      this.#waiting++;
      if (channels.waitStart.hasSubscribers) channels.waitStart.publish({ primitive: this, kind: 'resource-pool' });
      if (timeout !== Infinity) {
        waiter.timer = this.#clock.setTimer(timeout, () => this.#cancel(waiter, new TimeoutError('Resource pool acquire timed out')));
      }
      waiter.unlink = onAbort(signal, (reason) => this.#cancel(waiter, reason));
      this.#ensureMin();
      this.#dispatch();
    });
  }

  /** Gives back a resource lent by `acquire` (same as `lease.release()`). */
  release(resource: T): void {
    const lease = this.#leases.get(resource);
    if (lease === undefined) throw new ReleaseError('Resource is not leased from this pool');
    lease.release();
  }

  /**
   * Runs `fn` with a resource and gives it back when `fn` settles — also when it throws or the
   * signal aborts. It is released, not destroyed, on a throw: an error from `fn` is usually the
   * work's, not the resource's; a broken resource is caught by `validate` on its next checkout
   * (or call `acquire` and `lease.destroy()` yourself). An abort during `fn` is `fn`'s to
   * honour; the resource comes back only once `fn` has stopped using it.
   *
   * @example
   * const n = await pool.use((db, { signal }) => db.count({ signal }), { signal });
   */
  async use<R>(fn: (resource: T, ctx: { signal: AbortSignal }) => R | PromiseLike<R>, options: PoolAcquireOptions = {}): Promise<R> {
    checkFunction('fn', fn);
    const lease = await this.acquire(options);
    try {
      return await fn(lease.resource, { signal: callSignal(options.signal) });
    } finally {
      lease.release();
    }
  }

  /**
   * Stops lending to new callers (they get `ClosedError`), serves the ones already waiting,
   * waits for every lease to come back, then destroys every resource. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
    if (this.#state === 'open') {
      this.#state = 'closing';
      this.#disarmEviction();
      this.#finishClose();
    } else {
      void this.#destroyed!.then(this.#resolveClosed);
    }
    return this.#closed;
  }

  /**
   * Stops now: rejects every waiter (with `reason`, or `ClosedError`), aborts creates in flight,
   * destroys idle resources, and destroys leased ones as they come back. Resolves once the idle
   * ones are destroyed. Idempotent.
   */
  destroy(reason?: unknown): Promise<void> {
    if (this.#destroyed !== undefined) return this.#destroyed;
    const error = reason ?? new ClosedError('Resource pool was destroyed');
    this.#state = 'closed';
    this.#disarmEviction();
    this.#controller.abort(error);
    for (const waiter of this.#waiters) this.#cancel(waiter, error);
    this.#waiters.clear();
    this.#unbound.clear();
    const destroys: Promise<void>[] = [];
    for (const { resource } of this.#idle) {
      this.#size--;
      destroys.push(this.#dispose(resource));
    }
    this.#idle.clear();
    this.#destroyed = Promise.all(destroys).then(noop);
    void this.#destroyed.then(this.#resolveClosed);
    return this.#destroyed;
  }

  /** A snapshot of the pool. */
  stats(): ResourcePoolStats {
    return {
      size: this.#size,
      idle: this.#idle.length,
      leased: this.#leases.size,
      waiting: this.#waiting,
      pending: this.#pending,
      min: this.#min,
      max: this.#max,
    };
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #lease(resource: T): Lease<T> {
    const lease = new Lease(this, resource);
    this.#leases.set(resource, lease);
    return lease;
  }

  #lend(waiter: Waiter<T>, resource: T): void {
    this.#settle(waiter);
    waiter.resolve(this.#lease(resource));
  }

  #settle(waiter: Waiter<T>): void {
    waiter.state = 'done';
    waiter.unlink();
    waiter.timer?.clear();
  }

  #cancel(waiter: Waiter<T>, reason: unknown): void {
    if (waiter.state === 'done') return;
    if (waiter.state === 'waiting') this.#waiting--;
    this.#settle(waiter);
    waiter.reject(reason);
    this.#finishClose();
  }

  /** The first live waiter, dropping dead ones from the front. */
  #head(): Waiter<T> | undefined {
    for (;;) {
      const waiter = this.#waiters.peekFirst();
      if (waiter === undefined || waiter.state === 'waiting') return waiter;
      this.#waiters.shift();
    }
  }

  #dispatch(): void {
    let destroyed = false;
    while (this.#waiting > 0 && this.#idle.length > 0) {
      const waiter = this.#head()!;
      this.#waiters.shift();
      this.#waiting--;
      const { resource } = this.#idle.pop()!;
      if (this.#validate === undefined) {
        this.#lend(waiter, resource);
        continue;
      }
      waiter.state = 'checkout';
      let verdict: boolean | PromiseLike<boolean>;
      try {
        verdict = this.#validate(resource);
      } catch {
        verdict = false;
      }
      if (typeof verdict === 'object' && verdict !== null && typeof verdict.then === 'function') {
        this.#validating++;
        Promise.resolve(verdict).then(
          (ok) => this.#checkedOut(waiter, resource, ok === true),
          () => this.#checkedOut(waiter, resource, false),
        );
      } else if (verdict) {
        this.#lend(waiter, resource);
      } else {
        this.#size--;
        void this.#dispose(resource);
        this.#requeue(waiter);
        destroyed = true;
      }
    }
    if (destroyed) this.#ensureMin();
    while (this.#waiting > this.#pending && this.#state !== 'closed' && this.#size + this.#pending < this.#max) {
      let waiter = this.#unbound.shift();
      while (waiter !== undefined && (waiter.state !== 'waiting' || waiter.bound)) waiter = this.#unbound.shift();
      if (waiter === undefined) break;
      this.#spawn(waiter);
    }
    // At capacity the loop above never runs, so waiters served by returned resources would pile
    // up here: drop the settled and bound ones from the front (the line is FIFO, so they are there).
    for (;;) {
      const first = this.#unbound.peekFirst();
      if (first === undefined || (first.state === 'waiting' && !first.bound)) break;
      this.#unbound.shift();
    }
    this.#armEviction();
    this.#finishClose();
  }

  #requeue(waiter: Waiter<T>): void {
    waiter.state = 'waiting';
    this.#waiters.unshift(waiter);
    this.#waiting++;
    if (!waiter.bound) this.#unbound.unshift(waiter);
  }

  /**
   * The create bound to `waiter` settled without serving it (its resource went to the head of
   * the line, or it failed while the waiter was in checkout): it needs a create again. Bindings
   * go in line order, so it is older than every waiter still unbound and goes first.
   */
  #unbind(waiter: Waiter<T>): void {
    waiter.bound = false;
    if (waiter.state === 'waiting') this.#unbound.unshift(waiter);
  }

  #checkedOut(waiter: Waiter<T>, resource: T, ok: boolean): void {
    this.#validating--;
    if (ok && this.#state === 'closed') {
      this.#size--;
      void this.#dispose(resource);
      this.#cancel(waiter, new ClosedError('Resource pool was destroyed'));
      return;
    }
    if (!ok) {
      this.#size--;
      void this.#dispose(resource);
      if (waiter.state === 'checkout') {
        if (this.#state === 'closed') this.#cancel(waiter, new ClosedError('Resource pool was destroyed'));
        else this.#requeue(waiter);
      }
      this.#ensureMin();
    } else if (waiter.state === 'checkout') {
      this.#lend(waiter, resource);
    } else {
      this.#idle.push({ resource, since: this.#clock.now() });
    }
    this.#dispatch();
  }

  /** Starts a create, bound to `waiter` (or a warm-up create for `min`). */
  #spawn(waiter: Waiter<T> | undefined): void {
    this.#pending++;
    if (waiter !== undefined) waiter.bound = true;
    let result: PromiseLike<T> | T;
    try {
      result = this.#create({ signal: this.#controller.signal });
    } catch (error) {
      result = Promise.reject(error);
    }
    Promise.resolve(result).then(
      (resource) => this.#created(waiter, resource),
      (error: unknown) => this.#createFailed(waiter, error),
    );
  }

  #created(bound: Waiter<T> | undefined, resource: T): void {
    this.#pending--;
    if (bound !== undefined) this.#unbind(bound);
    if (channels.pool.hasSubscribers) channels.pool.publish({ pool: this, event: 'create' });
    if (this.#state === 'closed') {
      void this.#dispose(resource);
      return;
    }
    this.#size++;
    const waiter = this.#head();
    if (waiter !== undefined) {
      // A fresh resource needs no validation: it goes straight to the head of the line.
      this.#waiters.shift();
      this.#waiting--;
      this.#lend(waiter, resource);
    } else {
      this.#idle.push({ resource, since: this.#clock.now() });
    }
    this.#dispatch();
  }

  #createFailed(waiter: Waiter<T> | undefined, error: unknown): void {
    this.#pending--;
    if (waiter !== undefined && waiter.state !== 'waiting') this.#unbind(waiter);
    if (channels.pool.hasSubscribers) channels.pool.publish({ pool: this, event: 'create-error', error });
    if (waiter !== undefined && waiter.state === 'waiting') this.#cancel(waiter, error);
    // A failed warm-up create is not retried here (that could spin); the next acquire tries again.
    this.#dispatch();
  }

  #giveBack(lease: Lease<T>, broken: boolean): Promise<void> {
    const { resource } = lease;
    if (this.#leases.get(resource) === lease) this.#leases.delete(resource);
    if (broken || this.#state === 'closed') {
      this.#size--;
      const done = this.#dispose(resource);
      this.#ensureMin();
      this.#dispatch();
      return done;
    }
    if (this.#waiting > 0 && this.#idle.length === 0 && this.#validate === undefined) {
      // Someone waits: the resource goes straight to the head of the line, as #dispatch would
      // lend it after an idle push, without the idle entry and the clock read.
      const waiter = this.#head()!;
      this.#waiters.shift();
      this.#waiting--;
      this.#lend(waiter, resource);
    } else {
      this.#idle.push({ resource, since: this.#clock.now() });
    }
    this.#dispatch();
    return resolved;
  }

  #ensureMin(): void {
    if (this.#state !== 'open') return;
    while (this.#size + this.#pending < this.#min) this.#spawn(undefined);
  }

  #dispose(resource: T): Promise<void> {
    const hook = this.#destroyHook;
    const published = () => {
      if (channels.pool.hasSubscribers) channels.pool.publish({ pool: this, event: 'destroy' });
    };
    const failed = (error: unknown) => {
      if (channels.pool.hasSubscribers) channels.pool.publish({ pool: this, event: 'destroy-error', error });
    };
    if (hook === undefined) {
      published();
      return Promise.resolve();
    }
    try {
      return Promise.resolve(hook(resource)).then(published, failed);
    } catch (error) {
      failed(error);
      return Promise.resolve();
    }
  }

  #armEviction(): void {
    const oldest = this.#idle.peekFirst();
    if (this.#idleTimeout === Infinity || this.#state !== 'open' || oldest === undefined || this.#size <= this.#min) {
      this.#disarmEviction();
      return;
    }
    const due = oldest.since + this.#idleTimeout;
    if (this.#evictTimer !== undefined) {
      if (this.#evictDue === due) return;
      this.#evictTimer.clear();
    }
    this.#evictDue = due;
    this.#evictTimer = this.#clock.setTimer(Math.max(0, due - this.#clock.now()), this.#onEvict);
  }

  #disarmEviction(): void {
    this.#evictTimer?.clear();
    this.#evictTimer = undefined;
  }

  #evict(): void {
    const now = this.#clock.now();
    for (;;) {
      const oldest = this.#idle.peekFirst();
      if (oldest === undefined || this.#size <= this.#min || oldest.since + this.#idleTimeout > now) break;
      this.#idle.shift();
      this.#size--;
      void this.#dispose(oldest.resource);
    }
    this.#armEviction();
  }

  #finishClose(): void {
    if (this.#state !== 'closing' || this.#leases.size > 0 || this.#waiting > 0 || this.#pending > 0 || this.#validating > 0) return;
    this.#state = 'closed';
    const destroys: Promise<void>[] = [];
    for (const { resource } of this.#idle) {
      this.#size--;
      destroys.push(this.#dispose(resource));
    }
    this.#idle.clear();
    this.#destroyed = Promise.all(destroys).then(noop);
    void this.#destroyed.then(this.#resolveClosed);
  }
}

function noop(): void {}

const resolved = Promise.resolve();
