// The table of `spate`'s commands: a name, a line for `spate --help`, and how to load the module
// that registers it. main.ts reads it at start-up (so it stays free of imports), and the build's
// help cache (scripts/help-cache.mjs) walks it.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/** A module that adds one command (or several under one name) to the program. */
export interface CommandModule {
  register(program: Command): void;
}

/** One entry of the table. */
export interface Entry {
  /** One line for `spate --help`. */
  description: string;
  /** The module(s) whose `register(program)` adds the command (several share `serve`). */
  load(): Promise<CommandModule[]>;
}

/** What `spate --help` says of spate. */
export const DESCRIPTION = 'High-concurrency async I/O: a crawler, a downloader, a pipeline, servers and a lab, on asyncio\'s model.';

// To add a command: write src/cli/<name>.ts exporting
// `register(program: Command)`, then add one line here:
//   name: { description: '…', load: () => Promise.all([import('./name.ts')]) },
// (a literal import path, so the build rewrites it to .js and bundlers can see it).
/** Every command, in help order. */
export const commands: Record<string, Entry> = {
  tour: { description: 'A short tour: sequential vs concurrent, the fan-out table, a crawl, a download and a pipeline, all against a local lab', load: () => Promise.all([import('./tour.ts')]) },
  demo: { description: 'Compare sequential and concurrent waits on timers (the seeds\' first example)', load: () => Promise.all([import('./demo.ts')]) },
  lab: { description: 'Run the lab server: httpbin-like endpoints, fault injection, a fake users API, a synthetic site and files', load: () => Promise.all([import('./lab.ts')]) },
  crawl: { description: 'Crawl breadth-first from the given URLs; one JSON line per page. Resumable after Ctrl-C or a crash', load: () => Promise.all([import('./crawl.ts')]) },
  download: { description: 'Download a list of URLs into a folder: bounded concurrency, resumable retries, atomic placement', load: () => Promise.all([import('./download.ts')]) },
  bench: { description: 'Measurements you can run yourself (the side-by-side suite is `npm run bench`)', load: () => Promise.all([import('./bench.ts')]) },
  serve: { description: 'Run one of spate\'s servers: api, echo, chat, ws-chat', load: () => Promise.all([import('./serve-api.ts'), import('./serve-net.ts')]) },
  pipeline: { description: 'Run a data pipeline a module exports: bounded stages, dynamic workers, dead letters, checkpoints', load: () => Promise.all([import('./pipeline.ts')]) },
  worker: { description: 'Consume a pipeline\'s stages from a broker (BullMQ on Redis, RabbitMQ): run on as many machines as you like', load: () => Promise.all([import('./worker.ts')]) },
  dash: { description: 'A live dashboard (in the browser) of any running spate process, from its /metrics endpoint', load: () => Promise.all([import('./dash.ts')]) },
  ws: { description: 'WebSocket client (like websocat): stdin lines → messages, messages → stdout; reconnects on drops', load: () => Promise.all([import('./ws.ts')]) },
};


/** spate's version, from its package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The program with `entry`'s command registered (or, without one, the table of every command,
 * for the top-level help). Usage errors are thrown, not printed: main.ts writes them as one line.
 */
export async function makeProgram(entry: Entry | undefined): Promise<Command> {
  const [{ Command: Program }, modules] = await Promise.all([import('commander'), entry?.load() ?? []]);
  const program = new Program('spate')
    .version(version())
    .description(DESCRIPTION)
    // Settings set here are inherited by every command registered below.
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  if (entry === undefined) {
    for (const [command, { description }] of Object.entries(commands)) program.command(command).description(description);
  } else {
    for (const module of modules) module.register(program);
  }
  return program;
}
