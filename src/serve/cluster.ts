// N server processes on one port with node:cluster, the primary side. The primary forks the
// workers (each re-runs the program, which must start its server when `cluster.isWorker`), holds
// the listening socket, and hands connections out round-robin (Node's default outside Windows).
//
// Life of the primary: fork N → report once all N listen → restart a worker that dies, after a
// backoff that grows with crashes in a row (a worker that dies before the first time all N were
// listening is a startup failure: the cluster stops with exit code 1 instead of crash-looping) →
// on `signal` abort: SIGTERM every worker, wait for all to exit (SIGKILL after `killAfterMs`).
import cluster, { type Worker } from 'node:cluster';
import { type Backoff, exponentialBackoff } from '../core/backoff.ts';
import { type Clock, getClock, type Timer } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { onAbort } from '../core/signals.ts';
import { checkFunction, checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';

/** Options of {@link runCluster}. */
export interface ClusterOptions {
  /** Worker processes to run. */
  workers: number;
  /** Aborting it shuts the cluster down: SIGTERM to each worker, then wait for them. */
  signal?: AbortSignal | undefined;
  /** After SIGTERM, how long a worker gets before SIGKILL, in ms. @default 30000 */
  killAfterMs?: number | undefined;
  /** The wait before restarting a worker after `n` crashes in a row (0-based), in ms. @default exponentialBackoff({ base: 100, max: 5000 }) */
  restartBackoff?: Backoff | undefined;
  /** A worker that stays up this long resets the crash count, in ms. @default 60000 */
  stableAfterMs?: number | undefined;
  /** Called once, when all workers listen for the first time, with the address they share and their pids. */
  onListening?: ((address: { host: string; port: number }, pids: readonly number[]) => void) | undefined;
  /** Where the primary reports crashes and restarts. @default a line on stderr */
  log?: ((line: string) => void) | undefined;
  /** The script workers run. @default process.argv[1] (the program itself) */
  exec?: string | undefined;
  /** Its arguments. @default process.argv.slice(2) */
  args?: readonly string[] | undefined;
  /** @default getClock() */
  clock?: Clock | undefined;
}

/**
 * Runs `workers` copies of the program as a cluster and resolves with the exit code the primary
 * should use once they have all exited after `signal` aborted: 0, or 1 if the workers could not
 * start. Call it only in the primary (`cluster.isPrimary`).
 *
 * @example
 * if (cluster.isPrimary) {
 *   const stop = new AbortController();
 *   process.once('SIGTERM', () => stop.abort());
 *   process.exitCode = await runCluster({ workers: 4, signal: stop.signal });
 * } else {
 *   await startApiServer({ port: 8080 });
 * }
 */
export function runCluster(options: ClusterOptions): Promise<number> {
  if (!cluster.isPrimary) throw new InvalidArgumentError('runCluster() runs in the cluster primary only');
  const workers = checkInteger('workers', options.workers, 1);
  const killAfterMs = checkNonNegative('killAfterMs', options.killAfterMs ?? 30_000);
  const stableAfterMs = checkNonNegative('stableAfterMs', options.stableAfterMs ?? 60_000);
  checkSignal(options.signal);
  if (options.restartBackoff !== undefined) checkFunction('restartBackoff', options.restartBackoff);
  const backoff = options.restartBackoff ?? exponentialBackoff({ base: 100, max: 5000 });
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const clock = options.clock ?? getClock();

  const settings: Parameters<typeof cluster.setupPrimary>[0] = {};
  if (options.exec !== undefined) settings.exec = options.exec;
  if (options.args !== undefined) settings.args = [...options.args];
  cluster.setupPrimary(settings);

  const live = new Map<Worker, { started: number; listening: boolean }>();
  const timers = new Set<Timer>();
  let allListened = false;
  let crashes = 0;
  let lastCrash = -Infinity;
  let stopping = false;
  let exitCode = 0;
  let unlink = noop;

  return new Promise<number>((resolve) => {
    const fork = () => {
      const worker = cluster.fork();
      live.set(worker, { started: clock.now(), listening: false });
    };

    const onListening = (worker: Worker, address: { address: string; port: number }) => {
      const state = live.get(worker);
      if (state === undefined || state.listening) return;
      state.listening = true;
      if (allListened || stopping) return;
      const ready = [...live.values()].filter((s) => s.listening).length;
      if (ready < workers) return;
      allListened = true;
      const pids = [...live.keys()].flatMap((w) => (w.process.pid === undefined ? [] : [w.process.pid]));
      options.onListening?.({ host: address.address, port: address.port }, pids);
    };

    const onExit = (worker: Worker, code: number | null, signal: string | null) => {
      const state = live.get(worker);
      if (state === undefined) return;
      live.delete(worker);
      const how = signal === null ? `code ${String(code)}` : signal;
      if (stopping) {
        // A worker that disconnected on purpose had finished (its servers closed first); our
        // SIGTERM may still land while its process is tearing down, with no handler left.
        const clean = (code === 0 && signal === null) || (signal === 'SIGTERM' && worker.exitedAfterDisconnect);
        if (!clean) log(`spate cluster: worker ${worker.process.pid} did not exit cleanly while stopping (${how})`);
        if (live.size === 0) finish();
        return;
      }
      if (!allListened) {
        log(`spate cluster: worker ${worker.process.pid} exited (${how}) before all workers started; stopping`);
        exitCode = 1;
        shutdown();
        return;
      }
      const now = clock.now();
      if (now - lastCrash > stableAfterMs && now - state.started > stableAfterMs) crashes = 0;
      lastCrash = now;
      const delay = backoff(crashes++);
      log(`spate cluster: worker ${worker.process.pid} exited (${how}); restarting in ${Math.round(delay)} ms`);
      const timer = clock.setTimer(delay, () => {
        timers.delete(timer);
        if (!stopping) fork();
      });
      timers.add(timer);
    };

    const shutdown = () => {
      if (stopping) return;
      stopping = true;
      unlink();
      for (const timer of timers) timer.clear();
      timers.clear();
      if (live.size === 0) {
        finish();
        return;
      }
      // Workers already leaving (Ctrl-C reached them too) get no SIGTERM; the SIGKILL below still holds.
      for (const worker of live.keys()) if (!worker.exitedAfterDisconnect) worker.process.kill('SIGTERM');
      const killTimer = clock.setTimer(killAfterMs, () => {
        for (const worker of live.keys()) worker.process.kill('SIGKILL');
      });
      timers.add(killTimer);
    };

    const finish = () => {
      for (const timer of timers) timer.clear();
      timers.clear();
      cluster.off('listening', onListening);
      cluster.off('exit', onExit);
      resolve(exitCode);
    };

    cluster.on('listening', onListening);
    cluster.on('exit', onExit);
    unlink = onAbort(options.signal, shutdown);
    if (!stopping) for (let i = 0; i < workers; i++) fork();
  });
}

function noop(): void {}
