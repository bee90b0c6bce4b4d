// Background tasks that live as long as a server (the seeds' `app.on_startup` task, done so that
// shutdown can drain it). All tasks share one AbortSignal: `stop()` aborts it, then waits for
// every task to return, up to a grace period. A task that fails is logged and, with
// `restart: 'on-failure'`, run again after a backoff; a failure never reaches the caller, so a
// broken task cannot crash the server. A rejection after the signal aborted is the normal way
// for a task to stop and is not counted as a failure.
import { type Backoff, exponentialBackoff } from '../core/backoff.ts';
import { type Clock, getClock } from '../core/clock.ts';
import { ClosedError, InvalidArgumentError } from '../core/errors.ts';
import { sleep } from '../core/sleep.ts';
import { checkFunction, checkNonNegative } from '../core/validate.ts';

/** What a background task is given. */
export interface BackgroundContext {
  /** Aborts when the tasks are stopped; a task should return (or reject) soon after. */
  readonly signal: AbortSignal;
}

/** A background task's body. */
export type BackgroundFn = (context: BackgroundContext) => unknown;

/** Options of {@link BackgroundTasks.add}. */
export interface BackgroundTaskOptions {
  /** Whether a task that failed runs again. A task that returns is done either way. @default 'never' */
  restart?: 'never' | 'on-failure' | undefined;
  /** The wait before restart `n` (0-based), in ms. @default exponentialBackoff({ base: 1000, max: 30_000 }) */
  backoff?: Backoff | undefined;
}

/** A task to register, as `startApiServer({ background: [...] })` takes them. */
export interface BackgroundTask extends BackgroundTaskOptions {
  readonly name: string;
  readonly fn: BackgroundFn;
}

/** Where a task is in its life. */
export type BackgroundTaskState = 'pending' | 'running' | 'backoff' | 'done' | 'failed' | 'stopped';

/** A snapshot of one task. */
export interface BackgroundTaskStats {
  readonly name: string;
  readonly state: BackgroundTaskState;
  /** Times the task was started (1 + restarts). */
  readonly runs: number;
  readonly failures: number;
  readonly lastError: unknown;
}

/** The subset of a pino logger the registry uses. */
export interface BackgroundLogger {
  /** Logs at debug level. */
  debug(obj: object, msg: string): void;
  /** Logs at warn level. */
  warn(obj: object, msg: string): void;
  /** Logs at error level. */
  error(obj: object, msg: string): void;
}

/** Options of {@link BackgroundTasks}. */
export interface BackgroundTasksOptions {
  /** Where starts, failures and stops are logged. @default no logging */
  logger?: BackgroundLogger | undefined;
  /** Clock for the restart backoff and the grace period. @default getClock() */
  clock?: Clock | undefined;
}

/** Options of {@link BackgroundTasks.stop}. */
export interface StopOptions {
  /** How long tasks get to return after their signal aborts; the stragglers are then left behind (and logged). @default 10_000 */
  graceMs?: number | undefined;
}

interface Entry {
  readonly name: string;
  readonly fn: BackgroundFn;
  readonly restart: 'never' | 'on-failure';
  readonly backoff: Backoff;
  state: BackgroundTaskState;
  runs: number;
  failures: number;
  lastError: unknown;
  done: Promise<void> | undefined;
}

const silent: BackgroundLogger = { debug: noop, warn: noop, error: noop };

/**
 * A registry of background tasks started with a server and drained when it stops.
 *
 * @example
 * const tasks = new BackgroundTasks({ logger: app.log });
 * tasks.add('heartbeat', async ({ signal }) => {
 *   for (;;) {
 *     await sleep(10_000, { signal });
 *     app.log.info('background task running');
 *   }
 * });
 * tasks.start();
 * // …
 * await tasks.stop({ graceMs: 5000 });
 */
export class BackgroundTasks implements AsyncDisposable {
  readonly #entries: Entry[] = [];
  readonly #controller = new AbortController();
  readonly #logger: BackgroundLogger;
  readonly #clock: Clock;
  #state: 'idle' | 'started' | 'stopped' = 'idle';
  #stopping: Promise<void> | undefined;

  constructor(options: BackgroundTasksOptions = {}) {
    this.#logger = options.logger ?? silent;
    this.#clock = options.clock ?? getClock();
  }

  /** The signal every task gets; it aborts on `stop()`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** `'idle'` until `start()`, `'started'`, then `'stopped'` once `stop()` is called. */
  get state(): 'idle' | 'started' | 'stopped' {
    return this.#state;
  }

  /** Registers a task; after `start()` it starts at once. Throws ClosedError once stopped. */
  add(name: string, fn: BackgroundFn, options: BackgroundTaskOptions = {}): this {
    if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`Expected \`name\` to be a non-empty string, got ${String(name)}`);
    checkFunction('fn', fn);
    const restart = options.restart ?? 'never';
    if (restart !== 'never' && restart !== 'on-failure') throw new InvalidArgumentError(`Expected \`restart\` to be 'never' or 'on-failure', got ${String(restart)}`);
    if (options.backoff !== undefined) checkFunction('backoff', options.backoff);
    if (this.#state === 'stopped') throw new ClosedError('Background tasks are stopped');
    const entry: Entry = {
      name,
      fn,
      restart,
      backoff: options.backoff ?? exponentialBackoff({ base: 1000, max: 30_000 }),
      state: 'pending',
      runs: 0,
      failures: 0,
      lastError: undefined,
      done: undefined,
    };
    this.#entries.push(entry);
    if (this.#state === 'started') entry.done = this.#run(entry);
    return this;
  }

  /** Starts every registered task. Idempotent; does nothing once stopped. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'started';
    for (const entry of this.#entries) entry.done = this.#run(entry);
  }

  /**
   * Aborts the tasks' signal and waits for them to return, at most `graceMs`. Never rejects.
   * Idempotent: a second call returns the first call's promise.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    const graceMs = checkNonNegative('graceMs', options.graceMs ?? 10_000);
    this.#state = 'stopped';
    for (const entry of this.#entries) if (entry.state === 'pending') entry.state = 'stopped';
    this.#controller.abort(new ClosedError('Background tasks are stopping'));
    this.#stopping = this.#drain(graceMs);
    return this.#stopping;
  }

  /** A snapshot of every task, in registration order. */
  stats(): BackgroundTaskStats[] {
    return this.#entries.map(({ name, state, runs, failures, lastError }) => ({ name, state, runs, failures, lastError }));
  }

  /** Same as `stop()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #drain(graceMs: number): Promise<void> {
    const running = this.#entries.flatMap((e) => (e.done === undefined ? [] : [e.done]));
    if (running.length === 0) return;
    let timer: { clear(): void } | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = this.#clock.setTimer(graceMs, resolve);
    });
    await Promise.race([Promise.all(running), expired]);
    timer?.clear();
    for (const entry of this.#entries) {
      if (entry.state === 'running' || entry.state === 'backoff') {
        this.#logger.warn({ task: entry.name, graceMs }, 'background task did not stop within the grace period');
      }
    }
  }

  // Never rejects: every outcome is recorded on the entry.
  async #run(entry: Entry): Promise<void> {
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      entry.state = 'running';
      entry.runs++;
      this.#logger.debug({ task: entry.name, run: entry.runs }, 'background task started');
      try {
        await entry.fn({ signal });
        entry.state = signal.aborted ? 'stopped' : 'done';
        this.#logger.debug({ task: entry.name }, 'background task returned');
        return;
      } catch (error) {
        if (signal.aborted) break;
        entry.failures++;
        entry.lastError = error;
        const restart = entry.restart === 'on-failure';
        this.#logger.error({ task: entry.name, err: error, restart }, 'background task failed');
        if (!restart) {
          entry.state = 'failed';
          return;
        }
      }
      entry.state = 'backoff';
      try {
        await sleep(entry.backoff(entry.failures - 1), { signal, clock: this.#clock });
      } catch {
        break;
      }
    }
    entry.state = 'stopped';
  }
}

function noop(): void {}
