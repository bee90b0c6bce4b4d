#!/usr/bin/env node
// The `spate` command: finds the command in `commands`, loads only that command's module and lets
// commander parse its arguments. Start-up cost is Node's own plus commander: nothing else loads
// until a command runs (`spate --version` loads nothing at all).
import { readFileSync } from 'node:fs';
import type { Command as CommandType } from 'commander';
import { commands, makeProgram, version } from './commands.ts';



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

/**
 * `spate [command…] --help` as the build saved it (help.json beside the compiled main.js, written
 * by scripts/help-cache.mjs from the same commander definitions), so help costs no commander.
 * From the .ts sources there is no such file and commander writes the help as usual.
 */
function cachedHelp(args: readonly string[]): string | undefined {
  const last = args.at(-1);
  if (last !== '--help' && last !== '-h') return undefined;
  const words = args.slice(0, -1);
  if (words.some((w) => w.startsWith('-'))) return undefined;
  try {
    const saved = JSON.parse(readFileSync(new URL('./help.json', import.meta.url), 'utf8')) as Record<string, string>;
    return Object.hasOwn(saved, words.join(' ')) ? saved[words.join(' ')] : undefined;
  } catch {
    return undefined;
  }
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
  const saved = cachedHelp(args);
  if (saved !== undefined) return void process.stdout.write(saved);
  const name = args.find((arg) => !arg.startsWith('-'));
  const entry = name === undefined || name === 'help' ? undefined : Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (name !== undefined && name !== 'help' && entry === undefined) {
    return usageError(`spate: unknown command '${name}' (see spate --help)`);
  }

  const [{ CommanderError }, program] = await Promise.all([import('commander'), makeProgram(entry)]);

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
