// `spate pipeline run <module>` and `spate pipeline dlq list|replay|purge`: runs a pipeline a
// module exports, with progress on stderr, durable state with --state, and its dead letters.
// With --broker, `run` only enqueues the source into the first stage's queue; `spate worker`
// processes run the stages.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type PipelineStats, type PipelineStore, Pipeline, SqlitePipelineStore, exportRows, jsonlFile, keyedSink, toWritable } from '../pipeline/index.ts';
import { schemaName } from '../store/postgres-queue.ts';
import { checkStateFile } from './crawl.ts';
import { type DashboardCliOptions, dashboardOption, reportHtmlOption, startJobDashboard } from './dashboard.ts';
import { checkOutputFile, durationOption, UsageError } from './parse.ts';

export interface PipelineRunOptions extends DashboardCliOptions {
  state?: string | undefined;
  resume?: boolean | undefined;
  fresh?: boolean | undefined;
  output?: string | undefined;
  json?: boolean | undefined;
  quiet?: boolean | undefined;
  name?: string | undefined;
  broker?: string | undefined;
  prefix?: string | undefined;
  progressInterval: number;
}

/**
 * Loads a module's pipeline: its default export (or `pipeline` export), a Pipeline or a function
 * returning one (given `{ args }`).
 */
export async function loadPipeline(module: string, args: readonly string[] = []): Promise<Pipeline<unknown>> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(module)).href)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw new UsageError(`cannot load ${module}: ${(error as Error).message}`);
    throw error;
  }
  let value = mod.default ?? mod.pipeline;
  if (typeof value === 'function' && !(value instanceof Pipeline)) value = await (value as (ctx: { args: readonly string[] }) => unknown)({ args });
  if (!(value instanceof Pipeline)) throw new UsageError(`${module} must export a pipeline (default export or \`pipeline\`), or a function returning one`);
  return value as Pipeline<unknown>;
}

function progressLine(s: PipelineStats): string {
  const stages = s.stages.map((st) => `${st.name} ${st.in}→${st.out} q${st.queued} ${st.inFlight}/${st.workers}w${st.deadLetters ? ` ${st.deadLetters}dl` : ''}`).join(' | ');
  const rate = s.elapsed > 0 ? (s.read / s.elapsed) * 1000 : 0;
  return `pipeline ${s.name}: read ${s.read} (${rate.toFixed(0)}/s)${s.checkpoint ? `, checkpoint ${s.checkpoint}` : ''}, ${s.deadLetters} dead | ${stages}`;
}

/** A state URL as it may be printed: without its password. */
function redact(state: string): string {
  return state.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

function isPostgresUrl(state: string): boolean {
  return /^postgres(ql)?:\/\//.test(state);
}

/**
 * The store --state names: a SQLite file, or with a postgres:// URL the schema
 * `spate_pipeline_<name>` (from the pipeline's name), shared by every machine that runs it.
 */
export async function openPipelineStore(state: string, name: string): Promise<PipelineStore> {
  if (!isPostgresUrl(state)) return SqlitePipelineStore.open(state);
  const { PostgresPipelineStore } = await import('../pipeline/postgres-store.ts');
  return PostgresPipelineStore.open({ url: state, schema: schemaName(`spate_pipeline_${name}`) });
}

/**
 * `run --broker URL`: enqueues the module's source into its first stage's queue on the broker,
 * keyed by position; a drain stops reading the source. Resolves with the exit code (0, 130 interrupted).
 */
export async function enqueuePipelineCommand(module: string, opts: PipelineRunOptions, signals: { drain?: AbortSignal; stop?: AbortSignal } = {}): Promise<number> {
  const alone = (['state', 'resume', 'fresh', 'output', 'dashboard', 'reportHtml'] as const).filter((k) => opts[k] !== undefined);
  if (alone.length > 0) {
    const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new UsageError(`--broker only enqueues the source (spate worker runs the stages); ${alone.map(flag).join(', ')} go with a run in process`);
  }
  let p = await loadPipeline(module);
  if (opts.name) p = p.with({ name: opts.name });
  const { brokerKind } = await import('../pipeline/broker.ts');
  const { enqueueSource, pipelineQueues } = await import('../pipeline/distributed.ts');
  let kind: 'bullmq' | 'amqp';
  try {
    kind = brokerKind(opts.broker!);
  } catch (error) {
    throw new UsageError(`--broker: ${(error as Error).message}`);
  }
  const queue = pipelineQueues(p, { prefix: opts.prefix })[0]!.queue;
  // The module's `brokerOptions` (as `spate worker` reads them): its batch and maxQueued hold here too.
  const mod = (await import(pathToFileURL(resolve(module)).href)) as { brokerOptions?: Record<string, unknown> };
  const drain = signals.drain;
  // A Ctrl-C also ends a wait for room in a full queue (no worker may be running yet).
  const signal = AbortSignal.any([drain, signals.stop].filter((s): s is AbortSignal => s !== undefined));
  let read = 0;
  const started = Date.now();
  async function* source(): AsyncGenerator<unknown> {
    for await (const item of p.source) {
      if (drain?.aborted) return;
      read++;
      yield item;
    }
  }
  const err = process.stderr;
  const line = (): string => `pipeline ${p.name}: read ${read} (${(read / Math.max(1, Date.now() - started) * 1000).toFixed(0)}/s) into ${queue} on ${kind}`;
  const progress = opts.json || opts.quiet ? undefined : setInterval(() => err.write(`${line()}\n`), opts.progressInterval);
  // `enqueued` is known when the enqueueing ended by itself; after an abort only what was read is.
  let enqueued: number | undefined;
  try {
    enqueued = await enqueueSource({ source: source(), stages: p.stages, options: p.options }, opts.broker!, { prefix: opts.prefix, brokerOptions: mod.brokerOptions, signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    clearInterval(progress);
  }
  const interrupted = signal.aborted;
  const elapsed = Date.now() - started;
  if (opts.json) process.stdout.write(`${JSON.stringify({ name: p.name, queue, broker: kind, read, enqueued, elapsed, interrupted })}\n`);
  else if (!opts.quiet) {
    err.write(interrupted
      ? `interrupted: ${enqueued ?? `at most ${read}`} items enqueued into ${queue} on ${kind}; enqueueing the source again gives the same keys\n`
      : `${enqueued} items enqueued into ${queue} on ${kind} in ${(elapsed / 1000).toFixed(2)} s; \`spate worker ${module} --broker URL${opts.prefix === undefined ? '' : ` --prefix ${opts.prefix}`}\` runs the stages\n`);
  }
  return interrupted ? 130 : 0;
}

/** Runs the command as the CLI does; resolves with the exit code (0, 1 with dead letters, 130 interrupted). */
export async function runPipelineCommand(module: string, opts: PipelineRunOptions, signals: { drain?: AbortSignal; stop?: AbortSignal } = {}): Promise<number> {
  if (opts.broker !== undefined) return enqueuePipelineCommand(module, opts, signals);
  if (opts.prefix !== undefined) throw new UsageError('--prefix names broker queues: it goes with --broker');
  if (opts.resume && opts.fresh) throw new UsageError('--resume and --fresh exclude each other');
  if (opts.output !== undefined) checkOutputFile(opts.output, '--output');
  if (opts.state !== undefined && !isPostgresUrl(opts.state)) checkStateFile(opts.state, '--state');
  let p = await loadPipeline(module);
  let store: PipelineStore | undefined;
  if (opts.state) {
    store = await openPipelineStore(opts.state, opts.name ?? p.name);
    p = p.with({ store, durable: true, ...(opts.name ? { name: opts.name } : {}) });
    const saved = await store.getCheckpoint(p.name).catch(async (error: unknown) => {
      await store!.close();
      throw error;
    });
    if (saved !== undefined && !opts.resume && !opts.fresh) {
      await store.close();
      throw new UsageError(`${redact(opts.state)} holds a run of '${p.name}' at position ${saved}: pass --resume to continue it or --fresh to start over`);
    }
  } else if (opts.name) {
    p = p.with({ name: opts.name });
  }
  const dash = await startJobDashboard('pipeline run', opts);
  if (dash) p = p.with({ metrics: dash.registry });
  const err = process.stderr;
  const progress = opts.json || opts.quiet ? undefined : (s: PipelineStats) => err.write(`${progressLine(s)}\n`);
  let interrupted = false;
  let result: PipelineStats;
  try {
    const runOptions = { fresh: opts.fresh, drain: signals.drain, signal: signals.stop, onProgress: progress, progressInterval: opts.progressInterval };
    if (store && opts.output !== undefined) {
      // across resumes the output is the store's keyed rows, written out whole once the run is done
      result = await p.into(keyedSink(store, p.name), runOptions);
      if (result.status === 'done') {
        if (opts.output === '-') {
          for await (const row of store.rows(p.name)) process.stdout.write(`${JSON.stringify(row.value)}\n`);
        } else {
          await exportRows(store, p.name, opts.output);
        }
      }
    } else {
      const target = opts.output === undefined ? undefined : opts.output === '-' ? toWritable(process.stdout, { end: false }) : jsonlFile(opts.output);
      const out = target && opts.output === '-'
        ? { write: (v: unknown, k: string | undefined) => target.write(`${JSON.stringify(v)}\n`, k), close: () => target.close(), abort: (e: unknown) => target.abort(e) }
        : target;
      result = out ? await p.into(out, runOptions) : await p.run(runOptions);
    }
    interrupted = result.status === 'drained';
  } catch (error) {
    if (!signals.stop?.aborted) throw error;
    interrupted = true;
    result = p.stats();
  }
  // dead letters of earlier runs (before a resume) count too: the job has items that failed
  let dead = result.deadLetters;
  try {
    if (store) dead = Math.max(dead, (await store.listDeadLetters(p.name)).length);
  } finally {
    await store?.close();
  }
  const reported = dash ? await dash.finish({ kind: 'other', summary: { read: result.read, 'dead letters': result.deadLetters, seconds: Math.round(result.elapsed / 100) / 10 } }) : true;
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...result, interrupted })}\n`);
  else if (!opts.quiet) {
    err.write(`${progressLine(result)}\n`);
    err.write(`${interrupted ? 'interrupted: ' : ''}${result.read} read, ${result.deadLetters} dead letters in ${(result.elapsed / 1000).toFixed(2)} s\n`);
    if (interrupted && opts.state) err.write('run the same command with --resume to continue\n');
  }
  if (interrupted) return 130;
  return dead > 0 || !reported ? 1 : 0;
}

async function dlq(action: 'list' | 'replay' | 'purge', module: string | undefined, opts: { state: string; name?: string | undefined; json?: boolean | undefined; id?: number[] | undefined }): Promise<number> {
  let p = module === undefined ? undefined : await loadPipeline(module);
  const name = opts.name ?? p?.name ?? 'pipeline';
  const store = await openPipelineStore(opts.state, name);
  try {
    p = p?.with({ store });
    const letters = await store.listDeadLetters(name);
    const chosen = opts.id && opts.id.length > 0 ? letters.filter((l) => opts.id!.includes(l.id)) : letters;
    if (action === 'list') {
      for (const l of chosen) {
        process.stdout.write(opts.json
          ? `${JSON.stringify(l)}\n`
          : `${l.id}\t${l.stage}\t${l.error.name}${l.error.code ? ` ${l.error.code}` : ''}: ${l.error.message}\t${l.attempts} attempts\t${new Date(l.at).toISOString()}\t${JSON.stringify(l.item)}\n`);
      }
      if (!opts.json) process.stderr.write(`${chosen.length} dead letters in '${name}'\n`);
      return 0;
    }
    if (action === 'purge') {
      const n = await store.removeDeadLetters(name, opts.id && opts.id.length > 0 ? opts.id : undefined);
      process.stderr.write(`purged ${n} dead letters from '${name}'\n`);
      return 0;
    }
    if (!p) throw new UsageError('replay needs the module: spate pipeline dlq replay <module> --state <file>');
    const r = await p.with({ name }).replay(chosen);
    if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stderr.write(`replayed ${r.replayed}, failed again ${r.failed}\n`);
    return r.failed > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}

interface DlqCliOptions {
  state?: string | undefined;
  broker?: string | undefined;
  queue?: string | undefined;
  name?: string | undefined;
  json?: boolean | undefined;
  id?: string[] | undefined;
}

/** The local store's dead letters (--state), or a broker's (--broker with --queue). */
async function dlqOrBroker(action: 'list' | 'replay' | 'purge', module: string | undefined, opts: DlqCliOptions): Promise<number> {
  if ((opts.state === undefined) === (opts.broker === undefined)) throw new UsageError('give --state <file> or --broker <url> (with --queue)');
  if (opts.broker !== undefined) {
    if (opts.queue === undefined) throw new UsageError('--broker needs --queue <name>');
    const { runBrokerDlq } = await import('./worker.ts');
    return runBrokerDlq(action, { broker: opts.broker, queue: opts.queue, ids: opts.id });
  }
  const id = opts.id?.map((v) => {
    if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`--id ${v}: a dead letter's id in a state file is a positive integer`);
    return Number(v);
  });
  if (action === 'replay' && module === undefined) throw new UsageError('replay needs the module: spate pipeline dlq replay <module> --state <file>');
  return dlq(action, module, { name: opts.name, json: opts.json, id, state: opts.state! });
}

function report(command: string, error: unknown): number {
  const usage = error instanceof UsageError || (error as { code?: string }).code === 'SPATE_INVALID_ARGUMENT';
  process.stderr.write(usage
    ? `spate ${command}: ${(error as Error).message} (see spate ${command} --help)\n`
    : `spate ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
  return usage ? 2 : 1;
}

/** Adds `spate pipeline`. */
export function register(program: Command): void {
  const cmd = program.command('pipeline').description('Run a data pipeline a module exports (stages, backpressure, dynamic workers, dead letters, checkpoints; docs/pipeline.md).');
  cmd.command('run')
    .description('Run the pipeline a module exports; progress on stderr.')
    .argument('<module>', 'a .ts/.js module whose default export is a pipeline (or a function returning one)')
    .option('--state <file|url>', 'durable mode: checkpoints and dead letters in this SQLite file, or a postgres:// URL shared by many machines (schema spate_pipeline_<name>)')
    .option('--resume', 'continue the run saved in --state from its checkpoint')
    .option('--fresh', 'forget the run saved in --state and start over')
    .option('-o, --output <file>', 'write the outputs as JSONL (complete or absent; - for stdout)')
    .option('--name <name>', 'the pipeline name in the state (default: the module\'s); with a postgres:// state it names the schema too')
    .option('--broker <url>', 'instead of running here: enqueue the source into the first stage\'s queue on this broker (redis://… BullMQ, amqp://… RabbitMQ); `spate worker <module> --broker URL` runs the stages')
    .option('--prefix <name>', 'with --broker: the queues are <prefix>.<stage> (default: the pipeline\'s name)')
    .option('--json', 'the final stats as JSON on stdout, no progress')
    .option('-q, --quiet', 'no progress and no summary')
    .addOption(durationOption('--progress-interval <duration>', 'how often a progress line is printed', 1000))
    .addOption(dashboardOption()).addOption(reportHtmlOption())
    .addHelpText('after', '\nExit codes: 0 done, 1 some items became dead letters, 2 usage, 130 interrupted (Ctrl-C drains: in-flight items finish, then a checkpoint; twice stops now).\nWith --broker the run only enqueues the source (Ctrl-C stops reading it): 0 once it is all in the broker.\n\nExample:\n  spate pipeline run examples/pipeline/checkpoints.ts --state state.sqlite\n  spate pipeline run examples/pipeline/checkpoints.ts --state state.sqlite --resume\n  spate pipeline run examples/pipeline/module.ts --broker redis://127.0.0.1:6379   # then: spate worker examples/pipeline/module.ts --broker …\n')
    .action(async (module: string, opts: PipelineRunOptions) => {
      const drain = new AbortController();
      const stop = new AbortController();
      let interrupts = 0;
      const onSignal = () => {
        interrupts++;
        if (interrupts === 1) {
          process.stderr.write('\npipeline: draining (in-flight items finish; Ctrl-C again to stop now)\n');
          drain.abort();
        } else {
          stop.abort(new Error('interrupted'));
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        process.exitCode = await runPipelineCommand(module, opts, { drain: drain.signal, stop: stop.signal });
      } catch (error) {
        process.exitCode = report('pipeline run', error);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  const dl = cmd.command('dlq').description('The dead letters in a state file: list, replay through their stage, purge.');
  const ids = (value: string, previous: string[] = []) => [...previous, value];
  dl.command('list')
    .description('List dead letters: id, stage, error, attempts, time, item.')
    .option('--state <file|url>', 'the SQLite state file or postgres:// URL')
    .option('--broker <url>', 'or: the broker whose dead letters to read (redis://… BullMQ, amqp://… RabbitMQ), with --queue')
    .option('--queue <name>', 'with --broker: the stage\'s queue')
    .option('--name <name>', 'the pipeline name', 'pipeline')
    .option('--id <id>', 'only this one (repeatable)', ids)
    .option('--json', 'one JSON record per line')
    .action(async (opts: DlqCliOptions & { name: string }) => {
      try { process.exitCode = await dlqOrBroker('list', undefined, opts); } catch (error) { process.exitCode = report('pipeline dlq list', error); }
    });
  dl.command('replay')
    .description('Run dead letters again from their stage on; those that pass leave the store (with --broker: they go back on the queue).')
    .argument('[module]', 'the module the pipeline came from (not needed with --broker)')
    .option('--state <file|url>', 'the SQLite state file or postgres:// URL')
    .option('--broker <url>', 'or: the broker whose dead letters go back on --queue')
    .option('--queue <name>', 'with --broker: the stage\'s queue')
    .option('--name <name>', 'the pipeline name (default: the module\'s)')
    .option('--id <id>', 'only this one (repeatable)', ids)
    .option('--json', 'the counts as JSON')
    .action(async (module: string | undefined, opts: DlqCliOptions) => {
      try { process.exitCode = await dlqOrBroker('replay', module, opts); } catch (error) { process.exitCode = report('pipeline dlq replay', error); }
    });
  dl.command('purge')
    .description('Delete dead letters (all of the pipeline\'s, or those given with --id).')
    .option('--state <file|url>', 'the SQLite state file or postgres:// URL')
    .option('--broker <url>', 'or: the broker whose dead letters to delete, with --queue')
    .option('--queue <name>', 'with --broker: the stage\'s queue')
    .option('--name <name>', 'the pipeline name', 'pipeline')
    .option('--id <id>', 'only this one (repeatable)', ids)
    .action(async (opts: DlqCliOptions & { name: string }) => {
      try { process.exitCode = await dlqOrBroker('purge', undefined, opts); } catch (error) { process.exitCode = report('pipeline dlq purge', error); }
    });
}
