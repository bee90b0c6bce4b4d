import { type Clock, getClock } from './clock.ts';
import { InvalidArgumentError } from './errors.ts';
import { onAbort } from './signals.ts';
import { type InputValue, observedOwner, Task, type TaskFn, type TaskInput } from './task.ts';
import { checkNonNegative, checkSignal } from './validate.ts';

/** When `wait` returns (asyncio's constants). */
export type ReturnWhen = 'FIRST_COMPLETED' | 'FIRST_EXCEPTION' | 'ALL_COMPLETED';

/** Options of `wait`. */
export interface WaitOptions {
  /** @default 'ALL_COMPLETED' */
  returnWhen?: ReturnWhen | undefined;
  /** Milliseconds; on expiry `wait` returns what is done so far (it does not throw). @default Infinity */
  timeout?: number | undefined;
  /** Aborting it rejects with `signal.reason` and cancels the tasks `wait` created itself. */
  signal?: AbortSignal | undefined;
  /** @default the default clock (see `setDefaultClock`) */
  clock?: Clock | undefined;
}

/** What `wait` resolves with: the tasks that are done and those still pending. */
export interface WaitResult<T> {
  readonly done: Set<Task<T>>;
  readonly pending: Set<Task<T>>;
}

const RETURN_WHEN = new Set<string>(['FIRST_COMPLETED', 'FIRST_EXCEPTION', 'ALL_COMPLETED']);

/**
 * Waits until `returnWhen` holds, or `timeout` passes, and splits the inputs into settled and
 * pending Tasks (asyncio's wait). Inputs that are not Tasks become Tasks (functions are started
 * with the task's signal); look at outcomes with `task.result()` / `task.error()`. Nothing is
 * cancelled when it returns — pending tasks are the caller's to cancel or await.
 * 'FIRST_EXCEPTION' counts rejections, not cancellations; with none it is 'ALL_COMPLETED'.
 * Tasks created here never report unhandled rejections; tasks passed in are observed by `wait`.
 *
 * @example
 * const { done, pending } = await wait([fetchA, fetchB], { returnWhen: 'FIRST_COMPLETED' });
 * for (const task of pending) task.cancel();
 */
export function wait<I extends TaskInput<unknown>>(inputs: Iterable<I>, options: WaitOptions = {}): Promise<WaitResult<InputValue<I>>> {
  type T = InputValue<I>;
  const { returnWhen = 'ALL_COMPLETED', timeout = Infinity, signal, clock = getClock() } = options;
  if (!RETURN_WHEN.has(returnWhen)) {
    throw new InvalidArgumentError(`Expected \`returnWhen\` to be 'FIRST_COMPLETED', 'FIRST_EXCEPTION' or 'ALL_COMPLETED', got ${String(returnWhen)}`);
  }
  checkNonNegative('timeout', timeout, true);
  checkSignal(signal);
  if (signal?.aborted) return Promise.reject(signal.reason);
  const tasks: Task<T>[] = [];
  const created: Task<T>[] = [];
  for (const input of inputs) {
    if (input instanceof Task) {
      tasks.push(input as Task<T>);
      continue;
    }
    const task = new Task<T>((typeof input === 'function' ? input : () => input) as TaskFn<T>, {}, observedOwner);
    tasks.push(task);
    created.push(task);
  }
  return new Promise<WaitResult<T>>((resolve, reject) => {
    let remaining = tasks.length;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      timer?.clear();
      unlink();
      const done = new Set<Task<T>>();
      const pending = new Set<Task<T>>();
      for (const task of tasks) (task.done() ? done : pending).add(task);
      resolve({ done, pending });
    };
    const timer = timeout === Infinity || remaining === 0 ? undefined : clock.setTimer(timeout, finish);
    const unlink = onAbort(signal, (reason) => {
      if (finished) return;
      finished = true;
      timer?.clear();
      for (const task of created) task.cancel(reason);
      reject(reason);
    });
    if (remaining === 0) {
      finish();
      return;
    }
    const settled = (task: Task<T>) => {
      if (finished) return;
      remaining--;
      if (remaining === 0 || returnWhen === 'FIRST_COMPLETED' || (returnWhen === 'FIRST_EXCEPTION' && task.state === 'rejected')) finish();
    };
    for (const task of tasks) task.then(() => settled(task), () => settled(task));
  });
}
