// What every command shares about how it starts and ends — the Unix manners:
// - usage errors are one line, `spate <command>: <what is wrong> (see spate <command> --help)`, exit 2
//   (commander's own are written by main.ts; usageError() writes the ones a command finds);
// - other errors are one line, `spate <command>: <message>`, exit 1; never a stack trace;
// - SIGINT/SIGTERM abort the job's signal (graceful: state kept, exit 130); a second one quits at once;
// - a closed stdout (`| head`) ends the job quietly, as `cat` does: exit 141 (128 + SIGPIPE);
// - whatever the exit path (error, signal, crash), the terminal gets its cursor back.
import { UsageError } from './parse.ts';

/** Exit codes, the same for every command (README). */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130, outputClosed: 141 } as const;

const SHOW_CURSOR = '\u001B[?25h';

/** Writes the one-line usage error for `name` and returns exit code 2. */
export function usageError(name: string, message: string): number {
  process.stderr.write(`spate ${name}: ${message} (see spate ${name} --help)\n`);
  return EXIT.usage;
}

let cursorHidden = false;
/** Called by progress displays that hide the cursor, so every exit path shows it again. */
export function noteCursorHidden(): void {
  cursorHidden = true;
}

/** Shows the cursor again if a progress display hid it. Safe to call at any time. */
export function restoreTerminal(): void {
  if (!cursorHidden) return;
  cursorHidden = false;
  try {
    if (process.stderr.isTTY) process.stderr.write(SHOW_CURSOR);
  } catch {
    // stderr gone: nothing to restore.
  }
}

function isClosedOutput(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

export interface JobContext {
  /** Aborted on SIGINT/SIGTERM or when stdout is closed. */
  signal: AbortSignal;
  /** True once stdout was closed by its reader. */
  readonly outputClosed: boolean;
}

/**
 * Runs a command's work with the shared manners and sets `process.exitCode` from what `work`
 * returns (or throws). `work` returns an exit code; it should stop promptly when `signal` aborts.
 */
export async function runJob(name: string, work: (ctx: JobContext) => Promise<number>, options: { interruptMessage?: string; quiet?: boolean } = {}): Promise<void> {
  const controller = new AbortController();
  let outputClosed = false;
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) {
      restoreTerminal();
      process.exit(EXIT.interrupted);
    }
    if (options.interruptMessage && !options.quiet) process.stderr.write(`\nspate ${name}: ${options.interruptMessage}; Ctrl-C again to quit at once\n`);
    controller.abort(new Error('interrupted'));
  };
  const onStdoutError = (error: Error) => {
    if (!isClosedOutput(error)) return;
    outputClosed = true;
    controller.abort(error);
  };
  const crash = (error: unknown) => {
    restoreTerminal();
    if (outputClosed || isClosedOutput(error)) process.exit(EXIT.outputClosed);
    process.stderr.write(`spate ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.failed);
  };
  const onExit = () => restoreTerminal();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onStdoutError);
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  process.on('exit', onExit);
  const ctx: JobContext = { signal: controller.signal, get outputClosed() { return outputClosed; } };
  try {
    const code = await work(ctx);
    process.exitCode = outputClosed ? EXIT.outputClosed : code;
  } catch (error) {
    if (outputClosed || isClosedOutput(error)) {
      process.exitCode = EXIT.outputClosed;
    } else if (error instanceof UsageError || (error as { code?: string }).code === 'SPATE_INVALID_ARGUMENT') {
      process.exitCode = usageError(name, (error as Error).message.replace(/\.$/, ''));
    } else if (controller.signal.aborted && interrupts > 0) {
      process.exitCode = EXIT.interrupted;
    } else {
      process.stderr.write(`spate ${name}: ${(error as Error).message ?? String(error)}\n`);
      process.exitCode = EXIT.failed;
    }
  } finally {
    restoreTerminal();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', crash);
    process.off('unhandledRejection', crash);
    // Left on: a late EPIPE on stdout must not crash the exit.
    process.stdout.off('error', onStdoutError);
    process.stdout.on('error', () => {});
  }
}
