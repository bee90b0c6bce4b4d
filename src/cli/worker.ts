// `spate worker <module> --broker URL`: runs the stage a module exports on a broker's queue
// (BullMQ on Redis, RabbitMQ) until SIGTERM/SIGINT. Also `runBrokerDlq`, the `--broker` path of
// `spate pipeline dlq list|replay|purge`.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
// Only types at load time: the broker code loads when the command runs, so `spate --help` stays fast.
import type { Broker, Sink, WorkerEvent } from '../pipeline/broker.ts';
import type { Stage } from '../pipeline/stage.ts';
import { type DashboardCliOptions, dashboardOption, publishStats, startJobDashboard } from './dashboard.ts';
import { integer } from './parse.ts';

/** `500ms`, `2s`, `1m`, or a plain number of ms. */
function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a duration such as 500ms, 2s or 1m.');
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

export interface WorkerCliOptions extends DashboardCliOptions {
  broker: string;
  queue?: string | undefined;
  stage?: string | undefined;
  concurrency?: number | undefined;
  lease?: number | undefined;
  grace?: number | undefined;
  json?: boolean | undefined;
  quiet?: boolean | undefined;
}

/** What a worker module exports: the stage (named `stage`, or the default export), and optionally a sink and broker options. */
export interface WorkerModule {
  stage?: Stage;
  default?: Stage;
  sink?: Sink;
  brokerOptions?: Record<string, unknown>;
}

function isStage(value: unknown): value is Stage {
  return typeof value === 'object' && value !== null && typeof (value as Stage).name === 'string' && typeof (value as Stage).kind === 'string' && typeof (value as Stage).options === 'object';
}

/** Picks a stage of a pipeline a module exports (`default` or `pipeline`): the one named, or its only one. */
async function stageOfPipeline(path: string, mod: Record<string, unknown>, name: string | undefined): Promise<Stage | undefined> {
  const { WorkerModuleError } = await import('../pipeline/errors.ts');
  const p = (mod.default ?? mod.pipeline) as { stages?: unknown } | undefined;
  if (p === null || typeof p !== 'object' || !Array.isArray(p.stages)) return undefined;
  const stages = (p.stages as unknown[]).filter(isStage);
  if (name !== undefined) {
    const found = stages.find((s) => s.name === name);
    if (!found) throw new WorkerModuleError(`${path}: the pipeline has no stage '${name}' (stages: ${stages.map((s) => s.name).join(', ')})`);
    return found;
  }
  if (stages.length === 1) return stages[0];
  throw new WorkerModuleError(`${path}: the pipeline has ${stages.length} stages; choose one with --stage (${stages.map((s) => s.name).join(', ')})`);
}

/**
 * Loads a worker module and checks what it exports: a stage (`stage` or the default export), or a
 * pipeline (`default` or `pipeline`) whose stage `stageName` (or only stage) the worker runs.
 */
export async function loadWorkerModule(path: string, stageName?: string): Promise<{ stage: Stage; sink: Sink | undefined; brokerOptions: Record<string, unknown> }> {
  const { WorkerModuleError } = await import('../pipeline/errors.ts');
  let mod: WorkerModule;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as WorkerModule;
  } catch (error) {
    throw new WorkerModuleError(`cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const direct = mod.stage ?? mod.default;
  const stage = isStage(direct) && stageName === undefined ? direct : await stageOfPipeline(path, mod as Record<string, unknown>, stageName);
  if (!isStage(stage)) throw new WorkerModuleError(`${path} exports no stage: export \`stage\` (or a default) built with defineStage or a pipeline stage`);
  if (mod.sink !== undefined && typeof mod.sink !== 'function') throw new WorkerModuleError(`${path}: \`sink\` must be a function (outputs, { key, item, attempt })`);
  return { stage, sink: mod.sink, brokerOptions: mod.brokerOptions ?? {} };
}

/** Runs a worker until `signal` aborts (SIGTERM); resolves with the exit code. */
export async function runWorkerCommand(modulePath: string, opts: WorkerCliOptions, signal: AbortSignal): Promise<number> {
  const { stage, sink, brokerOptions } = await loadWorkerModule(modulePath, opts.stage);
  const { connectBroker } = await import('../pipeline/broker.ts');
  const queue = opts.queue ?? stage.name;
  const broker: Broker = await connectBroker(opts.broker, {
    ...brokerOptions,
    queue,
    ...(opts.lease === undefined ? {} : { lease: opts.lease }),
  });
  const out = (line: unknown): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
  const onEvent = (event: WorkerEvent): void => {
    if (opts.json) {
      const { error, ...rest } = event as WorkerEvent & { error?: unknown };
      const described = error as { name?: unknown; message?: unknown } | undefined;
      const text = described !== null && typeof described === 'object' && typeof described.message === 'string' ? `${String(described.name)}: ${described.message}` : String(error);
      out(error === undefined ? rest : { ...rest, error: text });
    } else if (event.type === 'error' && !opts.quiet) {
      process.stderr.write(`spate worker: ${event.error instanceof Error ? event.error.message : String(event.error)}\n`);
    }
  };
  const worker = await broker.worker(stage, {
    onEvent,
    ...(sink ? { sink } : {}),
    ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
    ...(opts.grace === undefined ? {} : { grace: opts.grace }),
  });
  const dash = await startJobDashboard('worker', { dashboard: opts.dashboard });
  if (dash) publishStats(dash.registry, 'spate_worker', () => ({ ...worker.stats() }));
  if (opts.json) out({ type: 'ready', queue, broker: broker.kind, pid: process.pid });
  else if (!opts.quiet) process.stderr.write(`spate worker: ${stage.name} on ${broker.kind} queue ${queue}, pid ${process.pid}\n`);
  const progress = opts.quiet || opts.json ? undefined : setInterval(() => {
    const s = worker.stats();
    process.stderr.write(`worker: ${s.done} done, ${s.retried} retried, ${s.dead} dead, ${s.fenced} fenced, ${s.inFlight} in flight (concurrency ${s.concurrency})\n`);
  }, 2000);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(progress);
  await worker.close();
  await broker.close();
  await dash?.finish({ kind: 'other' });
  const s = worker.stats();
  if (opts.json) out({ type: 'summary', ...s });
  else if (!opts.quiet) process.stderr.write(`spate worker: stopped; ${s.done} done, ${s.retried} retried, ${s.dead} dead, ${s.fenced} fenced\n`);
  return 0;
}

/**
 * The broker's dead letters for `spate pipeline dlq <action> --broker URL --queue NAME [ids…]`.
 * Prints JSON lines (list) or a count; resolves with the exit code.
 */
export async function runBrokerDlq(action: 'list' | 'replay' | 'purge', opts: { broker: string; queue: string; ids?: string[] | undefined; limit?: number | undefined }): Promise<number> {
  const { connectBroker } = await import('../pipeline/broker.ts');
  const broker = await connectBroker(opts.broker, { queue: opts.queue });
  try {
    const dlq = broker.deadLetters();
    const ids = opts.ids && opts.ids.length > 0 ? opts.ids : undefined;
    if (action === 'list') {
      for (const letter of await dlq.list({ limit: opts.limit })) process.stdout.write(`${JSON.stringify(letter)}\n`);
    } else {
      const n = action === 'replay' ? await dlq.replay({ ids }) : await dlq.purge({ ids });
      process.stdout.write(`${action === 'replay' ? 'replayed' : 'purged'} ${n}\n`);
    }
    return 0;
  } finally {
    await broker.close();
  }
}

export function register(program: Command): void {
  program.command('worker')
    .description('run the stage a module exports on a broker queue (BullMQ on Redis, or RabbitMQ) until SIGTERM')
    .argument('<module>', 'a module exporting `stage` (or a default stage) or a pipeline, and optionally `sink` and `brokerOptions`')
    .requiredOption('--broker <url>', 'redis://127.0.0.1:6379 (BullMQ) or amqp://guest:guest@127.0.0.1:5672 (RabbitMQ)')
    .option('--queue <name>', 'queue name (default: the stage name)')
    .option('--stage <name>', 'when the module exports a pipeline: the stage to run (default: its only stage)')
    .option('-c, --concurrency <n>', 'jobs at once in this process (default: the stage\'s)', integer(1))
    .option('--lease <duration>', 'BullMQ lock time: a worker silent this long loses its jobs (default 30s)', duration)
    .option('--grace <duration>', 'on SIGTERM, in-flight jobs get this long before they are handed back (default 30s)', duration)
    .option('--json', 'one JSON line per job outcome on stdout, then a summary')
    .option('-q, --quiet', 'no progress on stderr')
    .addOption(dashboardOption())
    .action(async (module: string, opts: WorkerCliOptions) => {
      const controller = new AbortController();
      let interrupted = false;
      process.once('SIGTERM', () => controller.abort());
      process.once('SIGINT', () => {
        interrupted = true;
        controller.abort();
      });
      let code: number;
      try {
        code = await runWorkerCommand(module, opts, controller.signal);
      } catch (error) {
        const { BrokerUrlError, WorkerModuleError } = await import('../pipeline/errors.ts');
        const { InvalidArgumentError: SpateInvalidArgument } = await import('../core/errors.ts');
        if (!(error instanceof BrokerUrlError || error instanceof WorkerModuleError || error instanceof SpateInvalidArgument)) throw error;
        process.stderr.write(`spate worker: ${error.message} (see spate worker --help)\n`);
        code = 2;
      }
      process.exitCode = interrupted ? 130 : code;
    });
}
