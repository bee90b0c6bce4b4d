#!/usr/bin/env node
// The `spate` command: finds the command in `commands`, loads only that command's module and lets
// commander parse its arguments. Start-up cost is Node's own plus commander: nothing else loads
// until a command runs (`spate --version` loads nothing at all).
import { readFileSync } from 'node:fs';
import type { Command as CommandType } from 'commander';

interface CommandModule {
  register(program: CommandType): void;
}

interface Entry {
  /** One line for `spate --help`. */
  description: string;
  /** The module(s) whose `register(program)` adds the command (several share `serve`). */
  load(): Promise<CommandModule[]>;
}

// Every command, in help order. To add one: write src/cli/<name>.ts exporting
// `register(program: Command)`, then add one line here:
//   name: { description: '…', load: () => Promise.all([import('./name.ts')]) },
// (a literal import path, so the build rewrites it to .js and bundlers can see it).
const commands: Record<string, Entry> = {
  tour: { description: 'A short tour: sequential vs concurrent, the fan-out table, a crawl and a download, all against a local lab', load: () => Promise.all([import('./tour.ts')]) },
  demo: { description: 'Compare sequential and concurrent waits on timers (the seeds\' first example)', load: () => Promise.all([import('./demo.ts')]) },
  lab: { description: 'Run the lab server: httpbin-like endpoints, fault injection, a fake users API, a synthetic site and files', load: () => Promise.all([import('./lab.ts')]) },
  crawl: { description: 'Crawl breadth-first from the given URLs; one JSON line per page. Resumable after Ctrl-C or a crash', load: () => Promise.all([import('./crawl.ts')]) },
  download: { description: 'Download a list of URLs into a directory: bounded concurrency, resumable retries, atomic placement', load: () => Promise.all([import('./download.ts')]) },
  bench: { description: 'Measurements you can run yourself (the side-by-side suite is `npm run bench`)', load: () => Promise.all([import('./bench.ts')]) },
  serve: { description: 'Run one of spate\'s servers: api, echo, chat, ws-chat', load: () => Promise.all([import('./serve-api.ts'), import('./serve-net.ts')]) },
  pipeline: { description: 'Run a data pipeline a module exports: bounded stages, dynamic workers, dead letters, checkpoints', load: () => Promise.all([import('./pipeline.ts')]) },
  worker: { description: 'Consume a pipeline\'s stages from a broker (BullMQ on Redis, RabbitMQ): run on as many machines as you like', load: () => Promise.all([import('./worker.ts')]) },
  dash: { description: 'A live dashboard (in the browser) of any running spate process, from its /metrics endpoint', load: () => Promise.all([import('./dash.ts')]) },
  ws: { description: 'WebSocket client (like websocat): stdin lines → messages, messages → stdout; reconnects on drops', load: () => Promise.all([import('./ws.ts')]) },
};

const DESCRIPTION = 'High-concurrency async I/O: a crawler, a downloader, servers and a lab, on asyncio\'s model.';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The command path commander was parsing when it failed (`crawl`, `serve api`), from the argv. */
function commandPath(program: CommandType, args: readonly string[]): string {
  const names: string[] = [];
  let current = program;
  for (const arg of args) {
    if (arg.startsWith('-')) continue;
    const next = current.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!next) break;
    names.push(arg);
    current = next;
  }
  return names.join(' ');
}

function usageError(message: string): void {
  process.stderr.write(`${message}\n`);
  process.exitCode = 2;
}

async function main(args: string[]): Promise<void> {
  const first = args.find((arg) => !arg.startsWith('-'));
  if (first === undefined && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${version()}\n`);
    return;
  }
  // `spate help <cmd>` is `spate <cmd> --help`.
  if (first === 'help' && args[0] === 'help' && args[1] !== undefined && Object.hasOwn(commands, args[1])) {
    args = [args[1], '--help'];
  }
  const name = args.find((arg) => !arg.startsWith('-'));
  const entry = name === undefined || name === 'help' ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (name !== undefined && name !== 'help' && entry === undefined) {
    return usageError(`spate: unknown command '${name}' (see spate --help)`);
  }

  const [{ Command, CommanderError }, modules] = await Promise.all([import('commander'), entry?.load() ?? []]);
  const program = new Command('spate')
    .version(version())
    .description(DESCRIPTION)
    // main() writes usage errors as one line; commander only throws them (settings set here are
    // inherited by every command registered below).
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  if (entry === undefined) {
    // Top-level help: the table, without loading any command.
    for (const [command, { description }] of Object.entries(commands)) program.command(command).description(description);
  } else {
    for (const module of modules) module.register(program);
  }

  try {
    if (entry === undefined && (name === 'help' || args.length === 0)) {
      // `spate` alone or `spate help`: the help, on stdout for `help`, on stderr (exit 2) for no command.
      if (name === 'help') return void process.stdout.write(program.helpInformation());
      process.stderr.write(program.helpInformation());
      process.exitCode = 2;
      return;
    }
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    const path = commandPath(program, args);
    const prefix = path ? `spate ${path}` : 'spate';
    // Usage errors, one line, exit 2: whatever commander throws (a command reports one with
    // `command.error('what is wrong')` or by throwing commander's InvalidArgumentError), and
    // spate's own InvalidArgumentError from checking an option's value.
    if (error instanceof CommanderError || (error as { code?: unknown } | null)?.code === 'SPATE_INVALID_ARGUMENT') {
      if (error instanceof CommanderError && error.exitCode === 0) return; // --help, --version
      const what = (error as Error).message.replace(/^error: /, '').replace(/\.?\s*\n\s*/g, ' ').replace(/\.$/, '')
        // commander's "option '-c, --concurrency <n>' argument '0' is invalid. must be …" → "--concurrency 0: must be …"
        .replace(/^option '(?:-\w, )?(--[\w-]+)(?: [<[][^'>\]]*[>\]])?' argument '([^']*)' is invalid\.\s*/, (_, flag: string, value: string) => `${flag} ${value}: `);
      return usageError(`${prefix}: ${what} (see ${prefix} --help)`);
    }
    process.stderr.write(`${prefix}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv.slice(2));
