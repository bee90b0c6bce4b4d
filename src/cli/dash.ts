// `spate dash <url>`: a live dashboard of any running spate process, read from its Prometheus
// /metrics endpoint (a server's, or the /metrics of another job's --dashboard).
import { type Command, InvalidArgumentError } from 'commander';
import { durationOption, integer } from './parse.ts';

interface DashOptions {
  port: number;
  interval: number;
}

/** `http://host:port` or `…/` means its /metrics. */
export function metricsUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('is not a URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('must be an http(s) URL.');
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/metrics';
  return url.href;
}

async function run(url: string, opts: DashOptions): Promise<number> {
  const [{ sampleUrl }, { startDashboard }] = await Promise.all([import('../dash/sample.ts'), import('../dash/server.ts')]);
  try {
    await sampleUrl(url);
  } catch (error) {
    process.stderr.write(`spate dash: ${(error as Error).message}\n`);
    return 1;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const dash = await startDashboard({ url, port: opts.port, intervalMs: opts.interval, title: `spate dash ${url}`, keepAlive: true, signal: stop.signal });
    process.stdout.write(`spate dash: dashboard of ${url} at ${dash.url}\n`);
    process.stderr.write('spate dash: Ctrl-C stops it\n');
    await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    await dash.close();
    return 0;
  } catch (error) {
    process.stderr.write(`spate dash: ${(error as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Adds `spate dash`. */
export function register(program: Command): void {
  program
    .command('dash')
    .description('A live dashboard (on 127.0.0.1) of any running spate process, read from its Prometheus /metrics endpoint.')
    .argument('<url>', 'the process\'s metrics endpoint (a bare http://host:port means its /metrics)', metricsUrl)
    .option('-p, --port <port>', 'port of the dashboard (0 picks a free one)', integer(0, 65_535), 0)
    .addOption(durationOption('--interval <duration>', 'how often the endpoint is read and the page updated', 1000))
    .addHelpText('after', `
Exit codes: 0 stopped with Ctrl-C, 1 the endpoint did not answer, 2 usage.

Example:
  spate serve api --port 8080 &
  spate dash http://127.0.0.1:8080/metrics
`)
    .action(async (url: string, opts: DashOptions) => {
      process.exitCode = await run(url, opts);
    });
}
