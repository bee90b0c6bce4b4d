// CPU work on worker threads (asyncio's `run_in_executor` with a ThreadPoolExecutor, but real
// parallelism): piscina runs the threads; this layer owns the queue and the contracts.
//
// Why a queue of our own: piscina strands its queued tasks when an abort terminates the last
// running worker and `minThreads` does not ask for a replacement (seen with piscina 5.3.2:
// maxThreads 1, abort the running task, the queued one never starts). So at most `maxThreads`
// calls are handed to piscina at a time, each to a free or new thread, and the rest wait here.
//
// - Cancellation: a call waiting here is dropped from the queue (lazily: marked, skipped when
//   shifted); a running call's signal is handed to piscina, which terminates its thread (the next
//   call gets a new one). Either way the call rejects with `signal.reason`.
// - Stopping: `close()` refuses new calls and waits for every accepted call (queued ones
//   included) to settle before stopping the threads; `destroy(reason)` rejects every accepted
//   call with `reason` at once and terminates the threads. Both are idempotent, and calls after
//   either reject with ClosedError.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Deque } from '../core/deque.ts';
import { ClosedError, InvalidArgumentError, QueueFull } from '../core/errors.ts';
import { onAbort } from '../core/signals.ts';
import { checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';

/** Options of {@link Executor}. */
export interface ExecutorOptions {
  /**
   * The worker module: a path or `file:` URL of a module whose named exports are the functions
   * `run()` calls (each takes one argument). A `.ts` module works on Node 24.
   */
  filename: string | URL;
  /** Threads kept alive when idle. @default 0 */
  minThreads?: number | undefined;
  /** @default os.availableParallelism() */
  maxThreads?: number | undefined;
  /** Milliseconds an idle thread above `minThreads` lives (`Infinity`: forever). @default 10_000 */
  idleTimeout?: number | undefined;
  /**
   * Calls that may wait for a thread (beyond the `maxThreads` running); one more rejects with
   * QueueFull.
   * @default Infinity
   */
  maxQueue?: number | undefined;
}

/** Options of {@link Executor.run}. */
export interface RunOptions {
  /** Aborting it drops the call (or terminates its thread) and rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Objects to move to the worker instead of copying (ArrayBuffers, MessagePorts). */
  transferList?: readonly Transferable[] | undefined;
}

/** A snapshot of an executor. */
export interface ExecutorStats {
  /** Worker threads alive. */
  readonly threads: number;
  /** Calls on a thread now. */
  readonly running: number;
  /** Calls waiting for a thread. */
  readonly queueSize: number;
  /** Calls that ran on a thread and finished, whichever way. */
  readonly completed: number;
  /** The share of the threads' capacity used since start, from 0 to 1. */
  readonly utilization: number;
  readonly state: ExecutorState;
}

/** Where an executor is in its life. */
export type ExecutorState = 'open' | 'closing' | 'closed';

interface Call {
  state: 'queued' | 'running' | 'settled';
  readonly name: string;
  readonly arg: unknown;
  readonly signal: AbortSignal | undefined;
  readonly transferList: readonly Transferable[] | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  unlink: () => void;
}

function noop(): void {}

/**
 * A pool of worker threads for CPU-bound work, so it runs in parallel and the event loop stays
 * responsive. `run(name, arg)` calls the worker module's export `name` with `arg` (copied with
 * the structured clone algorithm) and resolves with its return value. At most `maxThreads`
 * calls run at once; the others wait in FIFO order.
 *
 * @example
 * // work.ts: export function fib(n: number): number { … }
 * await using pool = new Executor({ filename: new URL('./work.ts', import.meta.url) });
 * const results = await Promise.all([30, 31, 32].map((n) => pool.run<number>('fib', n)));
 * await pool.run('render', page, { signal: AbortSignal.timeout(5000) });
 */
export class Executor {
  readonly #pool: Piscina;
  readonly #maxThreads: number;
  readonly #maxQueue: number;
  readonly #calls = new Set<Call>();
  readonly #queue = new Deque<Call>();
  #queued = 0;
  #running = 0;
  #completed = 0;
  #state: ExecutorState = 'open';
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  constructor(options: ExecutorOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('Expected an options object with `filename`');
    const { filename } = options;
    let path: string;
    if (filename instanceof URL) path = fileURLToPath(filename);
    else if (typeof filename === 'string' && filename !== '') path = filename.startsWith('file:') ? fileURLToPath(filename) : filename;
    else throw new InvalidArgumentError(`Expected \`filename\` to be a path or file URL, got ${String(filename)}`);
    const minThreads = checkInteger('minThreads', options.minThreads ?? 0, 0);
    const maxThreads = checkInteger('maxThreads', options.maxThreads ?? availableParallelism(), 1);
    if (minThreads > maxThreads) throw new InvalidArgumentError(`Expected \`minThreads\` (${minThreads}) ≤ \`maxThreads\` (${maxThreads})`);
    // Node timers cap at 2^31 − 1 ms (a longer one fires after 1 ms).
    const idleTimeout = Math.min(2 ** 31 - 1, checkNonNegative('idleTimeout', options.idleTimeout ?? 10_000, true));
    this.#maxQueue = checkInteger('maxQueue', options.maxQueue ?? Infinity, 0, true);
    this.#maxThreads = maxThreads;
    this.#pool = new Piscina({ filename: path, minThreads, maxThreads, idleTimeout });
  }

  /** 'open', 'closing' (after `close()`, draining) or 'closed'. */
  get state(): ExecutorState {
    return this.#state;
  }

  /**
   * Calls the worker module's export `name` with `arg` on a worker thread. Rejects with what the
   * function threw, with `signal.reason` on abort, with QueueFull when `maxQueue` calls already
   * wait, and with ClosedError after `close()` or `destroy()`.
   */
  run<R>(name: string, arg?: unknown, options: RunOptions = {}): Promise<R> {
    if (this.#state !== 'open') return Promise.reject(new ClosedError('Executor is closed'));
    if (typeof name !== 'string' || name === '') {
      return Promise.reject(new InvalidArgumentError(`Expected \`name\` to be a function name, got ${String(name)}`));
    }
    const { signal, transferList } = options;
    try {
      checkSignal(signal);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const running = this.#running < this.#maxThreads;
    if (!running && this.#queued >= this.#maxQueue) {
      return Promise.reject(new QueueFull(`Executor queue is full (maxQueue ${this.#maxQueue})`));
    }
    const { promise, resolve, reject } = Promise.withResolvers<R>();
    const call: Call = { state: 'queued', name, arg, signal, transferList, resolve: resolve as (value: unknown) => void, reject, unlink: noop };
    this.#calls.add(call);
    if (running) this.#start(call);
    else {
      this.#queue.push(call);
      this.#queued++;
      call.unlink = onAbort(signal, (reason) => {
        // Aborted calls stay in the deque until shifted; drop them all once none is live.
        if (--this.#queued === 0) this.#queue.clear();
        this.#settle(call);
        reject(reason);
      });
    }
    return promise;
  }

  #start(call: Call): void {
    call.unlink();
    call.unlink = noop;
    call.state = 'running';
    this.#running++;
    const options: { name: string; signal?: AbortSignal; transferList?: Transferable[] } = { name: call.name };
    if (call.signal !== undefined) options.signal = call.signal;
    if (call.transferList !== undefined) options.transferList = [...call.transferList];
    let result: Promise<unknown>;
    try {
      // piscina infers its TransferList type from MessagePort.postMessage's last overload, which
      // @types/node 24 made the options form; the runtime takes an array, as documented.
      result = this.#pool.run(call.arg, options as unknown as Parameters<Piscina['run']>[1]);
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value: unknown) => this.#finish(call, true, value),
      (error: unknown) => this.#finish(call, false, call.signal?.aborted ? call.signal.reason : error),
    );
  }

  #finish(call: Call, ok: boolean, outcome: unknown): void {
    this.#running--;
    this.#completed++;
    if (this.#settle(call)) {
      if (ok) call.resolve(outcome);
      else call.reject(outcome);
    }
    this.#pump();
  }

  #pump(): void {
    while (this.#running < this.#maxThreads && this.#queued > 0 && this.#state !== 'closed') {
      const call = this.#queue.shift();
      if (call === undefined) break;
      if (call.state !== 'queued') continue;
      this.#queued--;
      this.#start(call);
    }
  }

  /** Marks `call` settled; false if it already was (destroyed, or aborted while queued). */
  #settle(call: Call): boolean {
    if (call.state === 'settled') return false;
    call.state = 'settled';
    call.unlink();
    this.#calls.delete(call);
    if (this.#calls.size === 0) this.#drained?.();
    return true;
  }

  /** Refuses new calls, waits for the accepted ones to settle, then stops the threads. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'closing';
    this.#closing = (async () => {
      if (this.#calls.size > 0) {
        const { promise, resolve } = Promise.withResolvers<void>();
        this.#drained = resolve;
        await promise;
      }
      this.#state = 'closed';
      await this.#pool.destroy();
    })();
    return this.#closing;
  }

  /**
   * Rejects every accepted call with `reason` and terminates the threads now. Resolves when the
   * threads have exited.
   *
   * @param reason @default new ClosedError('Executor was destroyed')
   */
  destroy(reason: unknown = new ClosedError('Executor was destroyed')): Promise<void> {
    this.#state = 'closed';
    if (this.#queued > 0) {
      this.#queued = 0;
      this.#queue.clear();
    }
    for (const call of [...this.#calls]) {
      if (this.#settle(call)) call.reject(reason);
    }
    // A close() in progress has just seen its last call settle and stops the threads itself.
    this.#closing ??= this.#pool.destroy();
    return this.#closing;
  }

  /** Threads, running and queued calls, completions and utilization. */
  stats(): ExecutorStats {
    const pool = this.#pool;
    return {
      threads: pool.threads.length,
      running: this.#running,
      queueSize: this.#queued,
      completed: this.#completed,
      utilization: pool.utilization,
      state: this.#state,
    };
  }

  /** `close()`: `await using pool = new Executor(…)` drains at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
