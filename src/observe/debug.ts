// asyncio's debug mode for spate: report tasks left pending and callbacks that block the loop.
//
// Tasks are followed through core's diagnostics channels (`taskStart`/`taskEnd`/`taskGroupEnd`):
// the core publishes only while someone subscribes, so none of this costs anything until
// `enableDebug()`. Each started task is kept in a Map with its name, start time, creation stack
// (captured here, so only in debug mode) and the `debugScope()` it started in (found through
// AsyncLocalStorage). The Map holds live tasks strongly on purpose: a task that never settles
// and is otherwise unreachable is exactly the leak to report.
//
// A blocked loop is seen from outside: an unref'd interval timer of `interval` ms notes the gap
// between its ticks. A tick can only be late because something ran in between, so a gap of g
// means the loop was busy for more than g − interval; that lower bound is what is reported once
// it reaches `slowCallbackMs`. JavaScript cannot say which callback it was, so there is no stack.
import { AsyncLocalStorage } from 'node:async_hooks';
import { channels } from '../core/diagnostics.ts';
import { checkFunction, checkNonNegative } from '../core/validate.ts';

/** A task that was still pending when it should not have been. */
export interface PendingTaskInfo {
  readonly name: string;
  /** Where the task was created: the stack at its start, without spate's own frames. */
  readonly stack: string | undefined;
  /** How long it has been pending, in milliseconds. */
  readonly ageMs: number;
}

/** What debug mode reports. */
export type DebugReport =
  | {
      readonly kind: 'pending-tasks';
      /** When the tasks were found pending: at the end of a `debugScope`, of a task group, or at process exit. */
      readonly where: 'scope' | 'group' | 'exit';
      readonly tasks: readonly PendingTaskInfo[];
      readonly message: string;
    }
  | {
      readonly kind: 'slow-callback';
      /** A lower bound of how long the loop was blocked, in milliseconds. */
      readonly durationMs: number;
      readonly thresholdMs: number;
      readonly message: string;
    };

/** Options of {@link enableDebug} and {@link debugScope}. */
export interface DebugOptions {
  /** Report when the event loop is blocked at least this long (ms). `Infinity` turns it off. @default 100 */
  slowCallbackMs?: number | undefined;
  /**
   * Receives every report.
   * @default process.emitWarning(report.message, { type: 'SpateDebugWarning', code })
   */
  onReport?: ((report: DebugReport) => void) | undefined;
}

/** A debug mode that is on; dispose it (or call `disable()`) to turn it off. */
export interface DebugSession extends Disposable {
  /** Tasks started since debug mode was enabled and still pending. */
  pendingTasks(): PendingTaskInfo[];
  /** Turns this debug session off (idempotent). */
  disable(): void;
  readonly enabled: boolean;
}

interface Scope {
  readonly parent: Scope | undefined;
}

interface Entry {
  readonly name: string;
  readonly stack: string | undefined;
  readonly start: number;
  readonly scope: Scope | undefined;
}

const scopes = new AsyncLocalStorage<Scope>();
const CORE = new URL('../core/', import.meta.url).href;

const CODES = { 'pending-tasks': 'SPATE_DEBUG_PENDING_TASKS', 'slow-callback': 'SPATE_DEBUG_SLOW_CALLBACK' } as const;

function defaultReport(report: DebugReport): void {
  process.emitWarning(report.message, { type: 'SpateDebugWarning', code: CODES[report.kind] });
}

function nameOf(task: object): string {
  const name = (task as { name?: unknown }).name;
  return typeof name === 'string' ? name : '<unnamed task>';
}

function isPending(task: object): boolean {
  const state = (task as { state?: unknown }).state;
  return state === undefined || state === 'pending';
}

function creationStack(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const stack = new Error().stack;
  Error.stackTraceLimit = limit;
  if (stack === undefined) return undefined;
  return stack
    .split('\n')
    .slice(1)
    .filter((line) => !line.includes('node:diagnostics_channel') && !line.includes(import.meta.url) && !line.includes(CORE))
    .join('\n');
}

function describe(tasks: readonly PendingTaskInfo[], where: string): string {
  const lines = [`${tasks.length} task${tasks.length === 1 ? ' was' : 's were'} still pending ${where}:`];
  for (const task of tasks) {
    lines.push(`  ${task.name} (pending for ${task.ageMs.toFixed(0)} ms), created at:`);
    if (task.stack !== undefined && task.stack !== '') lines.push(task.stack.replace(/^\s*/gm, '      '));
  }
  return lines.join('\n');
}

function within(scope: Scope | undefined, target: Scope): boolean {
  for (let s = scope; s !== undefined; s = s.parent) if (s === target) return true;
  return false;
}

function payloadTask(message: unknown): object | undefined {
  const task = (message as { task?: unknown } | null)?.task;
  return typeof task === 'object' && task !== null ? task : undefined;
}

class Session implements DebugSession {
  readonly #tasks = new Map<object, Entry>();
  readonly #report: (report: DebugReport) => void;
  readonly #slowMs: number;
  readonly #interval: number;
  #timer: NodeJS.Timeout | undefined;
  #lastTick = 0;
  #enabled = true;
  #reportedExit = false;

  constructor(options: DebugOptions) {
    this.#slowMs = checkNonNegative('slowCallbackMs', options.slowCallbackMs ?? 100, true);
    if (options.onReport !== undefined) checkFunction('onReport', options.onReport);
    this.#report = options.onReport ?? defaultReport;
    this.#interval = Math.max(1, Math.min(10, this.#slowMs / 10));
    channels.taskStart.subscribe(this.#onStart);
    channels.taskEnd.subscribe(this.#onEnd);
    channels.taskGroupEnd.subscribe(this.#onGroupEnd);
    process.on('beforeExit', this.#onBeforeExit);
    if (Number.isFinite(this.#slowMs)) {
      this.#lastTick = performance.now();
      this.#timer = setInterval(this.#onTick, this.#interval).unref();
    }
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  readonly #onStart = (message: unknown): void => {
    const task = payloadTask(message);
    if (task === undefined) return;
    this.#tasks.set(task, { name: nameOf(task), stack: creationStack(), start: performance.now(), scope: scopes.getStore() });
  };

  readonly #onEnd = (message: unknown): void => {
    const task = payloadTask(message);
    if (task !== undefined) this.#tasks.delete(task);
  };

  readonly #onGroupEnd = (message: unknown): void => {
    const children = (message as { children?: unknown } | null)?.children;
    if (children === null || typeof children !== 'object' || !(Symbol.iterator in children)) return;
    const pending: PendingTaskInfo[] = [];
    for (const child of children as Iterable<unknown>) {
      if (typeof child !== 'object' || child === null || !isPending(child)) continue;
      const entry = this.#tasks.get(child);
      pending.push(entry === undefined ? { name: nameOf(child), stack: undefined, ageMs: 0 } : this.#info(entry));
    }
    if (pending.length > 0) this.#emitPending(pending, 'group', 'when their task group ended');
  };

  readonly #onBeforeExit = (): void => {
    if (this.#reportedExit) return;
    this.#reportedExit = true;
    const pending = this.pendingTasks();
    if (pending.length > 0) this.#emitPending(pending, 'exit', 'when the process was about to exit');
  };

  readonly #onTick = (): void => {
    const now = performance.now();
    const blocked = now - this.#lastTick - this.#interval;
    this.#lastTick = now;
    if (blocked >= this.#slowMs) {
      const durationMs = Math.round(blocked);
      this.#emit({
        kind: 'slow-callback',
        durationMs,
        thresholdMs: this.#slowMs,
        message: `The event loop was blocked for at least ${durationMs} ms (slowCallbackMs is ${this.#slowMs}); the callback's stack is not available`,
      });
    }
  };

  #info(entry: Entry): PendingTaskInfo {
    return { name: entry.name, stack: entry.stack, ageMs: performance.now() - entry.start };
  }

  #emit(report: DebugReport): void {
    try {
      this.#report(report);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  #emitPending(tasks: PendingTaskInfo[], where: 'scope' | 'group' | 'exit', text: string): void {
    this.#emit({ kind: 'pending-tasks', where, tasks, message: describe(tasks, text) });
  }

  pendingTasks(): PendingTaskInfo[] {
    const out: PendingTaskInfo[] = [];
    for (const [task, entry] of this.#tasks) if (isPending(task)) out.push(this.#info(entry));
    return out;
  }

  /** Reports the tasks started inside `scope` that are still pending; returns them. */
  checkScope(scope: Scope): PendingTaskInfo[] {
    const out: PendingTaskInfo[] = [];
    for (const [task, entry] of this.#tasks) if (within(entry.scope, scope) && isPending(task)) out.push(this.#info(entry));
    if (out.length > 0) this.#emitPending(out, 'scope', 'when their debugScope ended');
    return out;
  }

  disable(): void {
    if (!this.#enabled) return;
    this.#enabled = false;
    channels.taskStart.unsubscribe(this.#onStart);
    channels.taskEnd.unsubscribe(this.#onEnd);
    channels.taskGroupEnd.unsubscribe(this.#onGroupEnd);
    process.off('beforeExit', this.#onBeforeExit);
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tasks.clear();
  }

  [Symbol.dispose](): void {
    this.disable();
  }
}

/**
 * Turns on asyncio-style debug mode until the returned session is disposed: tasks still pending
 * at process exit (`beforeExit`) are reported with their names and creation stacks, and so is
 * every stretch of at least `slowCallbackMs` during which the event loop was blocked (its
 * duration only: which callback it was is not knowable from JavaScript). Creation stacks are
 * captured only while debug mode is on. Sessions are independent; each reports on its own.
 *
 * @example
 * using _debug = enableDebug({ slowCallbackMs: 50 });
 * createTask(() => new Promise(() => {}), { name: 'forgotten' });
 * // at exit: "1 task was still pending when the process was about to exit: forgotten …"
 */
export function enableDebug(options: DebugOptions = {}): DebugSession {
  return new Session(options);
}

/**
 * Runs `fn` with debug mode on, then reports every task that `fn` (or anything it started)
 * created and that is still pending when `fn` settles — the tasks it leaked. Reports go to
 * `onReport` as with {@link enableDebug}; debug mode is off again when this returns.
 *
 * @example
 * await debugScope(async () => {
 *   createTask(() => sleep(60_000), { name: 'leaked' }); // never awaited or cancelled
 * }, { onReport: (r) => console.error(r.message) });
 */
export async function debugScope<T>(fn: () => T | PromiseLike<T>, options: DebugOptions = {}): Promise<T> {
  checkFunction('fn', fn);
  const session = new Session(options);
  const scope: Scope = { parent: scopes.getStore() };
  try {
    return await scopes.run(scope, fn);
  } finally {
    session.checkScope(scope);
    session.disable();
  }
}
