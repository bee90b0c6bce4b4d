// `spate worker <module> --broker URL`: runs the stage a module exports on a broker's queue
// (BullMQ on Redis, RabbitMQ) until SIGTERM/SIGINT; a module exporting a pipeline runs all its
// stages, each on its queue `<prefix>.<stage>` (runDistributed), or the one `--stage` names.
// Also `runBrokerDlq`, the `--broker` path of `spate pipeline dlq list|replay|purge`.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
// Only types at load time: the broker code loads when the command runs, so `spate --help` stays fast.
import type { Broker, Sink, WorkerEvent } from '../pipeline/broker.ts';
import type { PipelineLike, StageWorkerEvent } from '../pipeline/distributed.ts';
import type { Stage } from '../pipeline/stage.ts';
import { type DashboardCliOptions, dashboardOption, publishStats, startJobDashboard } from './dashboard.ts';
import { UsageError, durationOption, integer } from './parse.ts';

export interface WorkerCliOptions extends DashboardCliOptions {
  broker: string;
  queue?: string | undefined;
  stage?: string | undefined;
  prefix?: string | undefined;
  concurrency?: number | undefined;
  lease?: number | undefined;
  grace?: number | undefined;
  json?: boolean | undefined;
  quiet?: boolean | undefined;
}

/** What a worker module exports: the stage (named `stage`, or the default export) or a pipeline (`default` or `pipeline`), and optionally a sink and broker options. */
export interface WorkerModule {
  stage?: Stage;
  default?: Stage | PipelineLike | ((ctx: { args: readonly string[] }) => PipelineLike | Promise<PipelineLike>);
  pipeline?: PipelineLike | ((ctx: { args: readonly string[] }) => PipelineLike | Promise<PipelineLike>);
  sink?: Sink;
  brokerOptions?: Record<string, unknown>;
}

/** What a worker runs: one stage on one queue, or every stage of a pipeline on its own queue. */
export type WorkerTarget =
  | { kind: 'stage'; stage: Stage; sink: Sink | undefined; brokerOptions: Record<string, unknown> }
  | { kind: 'pipeline'; pipeline: PipelineLike; sink: Sink | undefined; brokerOptions: Record<string, unknown> };

function isStage(value: unknown): value is Stage {
  return typeof value === 'object' && value !== null && typeof (value as Stage).name === 'string' && typeof (value as Stage).kind === 'string' && typeof (value as Stage).options === 'object';
}

/** The pipeline a module exports (`default` or `pipeline`), or a function returning one (as `spate pipeline run` takes). */
async function pipelineOf(mod: WorkerModule): Promise<PipelineLike | undefined> {
  let p = (mod.default ?? mod.pipeline) as unknown;
  if (typeof p === 'function') p = await (p as (ctx: { args: readonly string[] }) => unknown)({ args: [] });
  const candidate = p as Partial<PipelineLike> | null | undefined;
  if (candidate === null || typeof candidate !== 'object' || !Array.isArray(candidate.stages) || typeof candidate.options !== 'object') return undefined;
  return candidate as PipelineLike;
}

/** The stage of a pipeline that `--stage` names. */
async function stageOfPipeline(path: string, p: PipelineLike, name: string): Promise<Stage> {
  const { WorkerModuleError } = await import('../pipeline/errors.ts');
  const stages = p.stages.filter(isStage);
  const found = stages.find((s) => s.name === name);
  if (!found) throw new WorkerModuleError(`${path}: the pipeline has no stage '${name}' (stages: ${stages.map((s) => s.name).join(', ')})`);
  return found;
}

/**
 * Loads a worker module and checks what it exports: a stage (`stage` or the default export), or a
 * pipeline (`default` or `pipeline`), whose stage `stageName` the worker runs, or without one all its stages.
 */
export async function loadWorkerModule(path: string, stageName?: string): Promise<WorkerTarget> {
  const { WorkerModuleError } = await import('../pipeline/errors.ts');
  let mod: WorkerModule;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as WorkerModule;
  } catch (error) {
    throw new WorkerModuleError(`cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (mod.sink !== undefined && typeof mod.sink !== 'function') throw new WorkerModuleError(`${path}: \`sink\` must be a function (outputs, { key, item, attempt })`);
  const common = { sink: mod.sink, brokerOptions: mod.brokerOptions ?? {} };
  const direct = mod.stage ?? mod.default;
  if (isStage(direct) && stageName === undefined) return { kind: 'stage', stage: direct, ...common };
  const p = await pipelineOf(mod);
  if (p !== undefined && stageName === undefined) return { kind: 'pipeline', pipeline: p, ...common };
  if (p !== undefined) return { kind: 'stage', stage: await stageOfPipeline(path, p, stageName!), ...common };
  throw new WorkerModuleError(`${path} exports no stage: export \`stage\` (or a default) built with defineStage, or a pipeline`);
}

/** Writes a worker event as one JSON line (its error as `Name: message`). */
function jsonEvent(event: WorkerEvent | StageWorkerEvent): Record<string, unknown> {
  const { error, ...rest } = event as WorkerEvent & { error?: unknown };
  const described = error as { name?: unknown; message?: unknown } | undefined;
  const text = described !== null && typeof described === 'object' && typeof described.message === 'string' ? `${String(described.name)}: ${described.message}` : String(error);
  return error === undefined ? rest : { ...rest, error: text };
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

const out = (line: unknown): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

/** Runs a worker until `signal` aborts (SIGTERM); resolves with the exit code. */
export async function runWorkerCommand(modulePath: string, opts: WorkerCliOptions, signal: AbortSignal): Promise<number> {
  const target = await loadWorkerModule(modulePath, opts.stage);
  if (target.kind === 'pipeline') return runPipelineWorkers(target.pipeline, target, opts, signal);
  if (opts.prefix !== undefined) throw new UsageError('--prefix names the queues of a whole pipeline; for one stage use --queue');
  const { stage, sink, brokerOptions } = target;
  const { connectBroker } = await import('../pipeline/broker.ts');
  const queue = opts.queue ?? stage.name;
  const broker: Broker = await connectBroker(opts.broker, {
    ...brokerOptions,
    queue,
    ...(opts.lease === undefined ? {} : { lease: opts.lease }),
  });
  const onEvent = (event: WorkerEvent): void => {
    if (opts.json) out(jsonEvent(event));
    else if (event.type === 'error' && !opts.quiet) {
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
  await aborted(signal);
  clearInterval(progress);
  await worker.close();
  await broker.close();
  await dash?.finish({ kind: 'other' });
  const s = worker.stats();
  if (opts.json) out({ type: 'summary', ...s });
  else if (!opts.quiet) process.stderr.write(`spate worker: stopped; ${s.done} done, ${s.retried} retried, ${s.dead} dead, ${s.fenced} fenced\n`);
  return 0;
}

/** Every stage of a pipeline, each on its queue `<prefix>.<stage>`, until `signal` aborts. */
async function runPipelineWorkers(p: PipelineLike, target: { sink: Sink | undefined; brokerOptions: Record<string, unknown> }, opts: WorkerCliOptions, signal: AbortSignal): Promise<number> {
  if (opts.queue !== undefined) throw new UsageError('--queue names one stage\'s queue; a whole pipeline\'s queues are <prefix>.<stage> (--prefix), or run one stage with --stage');
  const { runDistributed } = await import('../pipeline/distributed.ts');
  const workers = await runDistributed(p, opts.broker, {
    prefix: opts.prefix,
    brokerOptions: { ...target.brokerOptions, ...(opts.lease === undefined ? {} : { lease: opts.lease }) },
    sink: target.sink,
    concurrency: opts.concurrency,
    grace: opts.grace,
    onEvent: (event: StageWorkerEvent) => {
      if (opts.json) out(jsonEvent(event));
      else if (event.type === 'error' && !opts.quiet) {
        process.stderr.write(`spate worker: ${event.stage}: ${event.error instanceof Error ? event.error.message : String(event.error)}\n`);
      }
    },
  });
  const totals = () => {
    const all = workers.stats();
    const sum = (k: 'done' | 'retried' | 'dead' | 'fenced' | 'inFlight') => all.reduce((n, s) => n + s[k], 0);
    return { done: sum('done'), retried: sum('retried'), dead: sum('dead'), fenced: sum('fenced'), inFlight: sum('inFlight') };
  };
  const dash = await startJobDashboard('worker', { dashboard: opts.dashboard });
  if (dash) publishStats(dash.registry, 'spate_worker', totals);
  const queues = workers.stages.map((s) => s.queue);
  if (opts.json) out({ type: 'ready', queues, broker: workers.kind, pid: process.pid });
  else if (!opts.quiet) process.stderr.write(`spate worker: ${workers.stages.length === 1 ? '1 stage' : `${workers.stages.length} stages`} on ${workers.kind}, queues ${queues.join(', ')}, pid ${process.pid}\n`);
  const line = (): string => workers.stats()
    .map((s) => `${s.stage} ${s.done} done${s.retried ? ` ${s.retried} retried` : ''}${s.dead ? ` ${s.dead} dead` : ''}${s.fenced ? ` ${s.fenced} fenced` : ''} ${s.inFlight}/${s.concurrency}`)
    .join(' | ');
  const progress = opts.quiet || opts.json ? undefined : setInterval(() => process.stderr.write(`worker: ${line()}\n`), 2000);
  await aborted(signal);
  clearInterval(progress);
  await workers.close();
  await dash?.finish({ kind: 'other' });
  if (opts.json) out({ type: 'summary', ...totals(), stages: workers.stats() });
  else if (!opts.quiet) process.stderr.write(`spate worker: stopped; ${line()}\n`);
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
    .description('run the stage a module exports, or every stage of its pipeline, on broker queues (BullMQ on Redis, or RabbitMQ) until SIGTERM')
    .argument('<module>', 'a module exporting `stage` (or a default stage) or a pipeline, and optionally `sink` (the last stage\'s outputs) and `brokerOptions`')
    .requiredOption('--broker <url>', 'redis://127.0.0.1:6379 (BullMQ) or amqp://guest:guest@127.0.0.1:5672 (RabbitMQ)')
    .option('--queue <name>', 'one stage: its queue (default: the stage name)')
    .option('--stage <name>', 'when the module exports a pipeline: run only this stage, on its own queue (default: every stage, each on <prefix>.<stage>)')
    .option('--prefix <name>', 'a whole pipeline: its queues are <prefix>.<stage> (default: the pipeline\'s name)')
    .option('-c, --concurrency <n>', 'jobs at once in this process, per stage (default: the stage\'s)', integer(1))
    .addOption(durationOption('--lease <duration>', 'BullMQ lock time: a worker silent this long loses its jobs (default 30s)'))
    .addOption(durationOption('--grace <duration>', 'on SIGTERM, in-flight jobs get this long before they are handed back (default 30s)'))
    .option('--json', 'one JSON line per job outcome on stdout, then a summary')
    .option('-q, --quiet', 'no progress on stderr')
    .addOption(dashboardOption())
    .addHelpText('after', '\nA pipeline module runs every stage here; its source goes on the first queue with `spate pipeline run <module> --broker URL`.\n\nExit codes: 0 after SIGTERM, 130 after SIGINT, 2 usage.\n\nExample:\n  spate worker pipeline.ts --broker redis://127.0.0.1:6379 --json\n  spate pipeline run pipeline.ts --broker redis://127.0.0.1:6379\n')
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
        if (!(error instanceof BrokerUrlError || error instanceof WorkerModuleError || error instanceof SpateInvalidArgument || error instanceof UsageError)) throw error;
        process.stderr.write(`spate worker: ${error.message} (see spate worker --help)\n`);
        code = 2;
      }
      process.exitCode = interrupted ? 130 : code;
    });
}
