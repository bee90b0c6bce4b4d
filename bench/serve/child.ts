// Shared by the serve drivers: a server in a process of its own, and the driver's own deadline.
//
// A server script prints one JSON line `{"url": …}` once it listens, exits when its stdin closes
// (so it cannot outlive a driver that died), and on SIGUSR2 prints `{"connections": n}`.
// Memory is read from /proc/<pid>/status (VmRSS now, VmHWM peak), so it is the server's own.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ServerChild {
  readonly url: string;
  /** The line the process announced itself with. */
  readonly ready: Readonly<Record<string, unknown>>;
  readonly pid: number;
  /** Resident memory now, in kB (undefined where /proc is missing). */
  rssKb(): number | undefined;
  /** Peak resident memory so far, in MB (null where /proc is missing). */
  peakMb(): number | null;
  /** CPU time (user + system) the server has used so far, in seconds (NaN where /proc is missing). */
  cpuSeconds(): number;
  /** Asks the server how many connections it holds (SIGUSR2). */
  connections(): Promise<number>;
  /** SIGTERM, then SIGKILL after 3 s; resolves when it has exited. */
  stop(): Promise<void>;
}

function procStatus(pid: number, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

let ticksPerSecond: number | undefined;

function cpuSeconds(pid: number): number {
  try {
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticksPerSecond ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/**
 * Starts `command` (`node` means this Node) and resolves once it has printed a JSON line with
 * `readyKey` (a server: its `url`).
 */
export function startServer(command: string[], timeoutMs = 20_000, readyKey = 'url'): Promise<ServerChild> {
  const [exe, ...argv] = command;
  const child: ChildProcess = spawn(exe === 'node' ? process.execPath : exe!, argv, { stdio: ['pipe', 'pipe', 'pipe'], cwd: new URL('..', import.meta.url) });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: Record<string, unknown>) => void)[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let ready = false;

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms: ${stderr.trim()}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before it listened: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
    lines.on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (readyKey in line && !ready) {
        ready = true;
        clearTimeout(timer);
        const pid = child.pid!;
        resolve({
          url: String(line.url),
          ready: line,
          pid,
          rssKb: () => procStatus(pid, 'VmRSS'),
          peakMb: () => {
            const kb = procStatus(pid, 'VmHWM');
            return kb === undefined ? null : Math.round(kb / 102.4) / 10;
          },
          cpuSeconds: () => cpuSeconds(pid),
          connections: () => new Promise((done) => {
            waiting.push((l) => done(Number(l.connections)));
            child.kill('SIGUSR2');
          }),
          stop: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
            await exited;
            clearTimeout(kill);
          },
        });
      } else if ('connections' in line) {
        waiting.shift()?.(line);
      }
    });
  });
}

/** Kills the driver (and, through their stdin, its servers) if it runs past `ms`. */
export function deadline(ms: number): void {
  setTimeout(() => {
    console.error(`driver gave up after ${ms} ms`);
    process.exit(1);
  }, ms).unref();
}

/**
 * Reports `value` with the server's peak RSS as `rss_mb` (the server did the work, not the
 * driver) and, when `cpu` is given, `server_cpu_us` — the server's CPU time per unit of work
 * (per request, round trip or delivery), which a busy machine disturbs far less than a rate.
 */
export function reportServer(server: ServerChild, value: number, extra: Record<string, number> = {}, cpu?: { seconds: number; ops: number }): void {
  const cpuUs = cpu && Number.isFinite(cpu.seconds) && cpu.ops > 0 ? { server_cpu_us: round((cpu.seconds * 1e6) / cpu.ops, 2) } : {};
  console.log(JSON.stringify({ value, rss_mb: server.peakMb(), ...extra, ...cpuUs }));
}

/** Prints a `skipped` line (the runner reports it) and exits. */
export function skip(reason: string): never {
  console.log(JSON.stringify({ skipped: reason }));
  process.exit(0);
}

/** The first Python 3 that can import every module in `modules`, or undefined. */
export function python(modules: string[]): string | undefined {
  for (const exe of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(exe, ['-c', modules.map((m) => `import ${m}`).join(';') || 'pass'], { stdio: 'ignore' }).status === 0) return exe;
  }
  return undefined;
}

/** Round to `digits` decimals. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
