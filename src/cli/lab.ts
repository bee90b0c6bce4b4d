// `spate lab`: runs the lab server until SIGINT or SIGTERM.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { startLab } from '../lab/index.ts';

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}].`);
    return n;
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds ≥ 0.');
  return n;
}

/** Adds `spate lab`. */
export function register(program: Command): void {
  program.command('lab')
    .description('Run the lab server: httpbin-like endpoints, fault injection, a fake users API, a synthetic site and files (docs/lab.md).')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', integer('port', 0, 65_535), 8080)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--seed <n>', 'seed of generated content and fault decisions', integer('seed', 0, 0xffff_ffff), 1)
    .option('--pages <n>', 'pages of the default site (/site/default/)', integer('pages', 1, 10_000_000), 100)
    .option('--crawl-delay <seconds>', 'Crawl-delay announced in /robots.txt', seconds)
    .addHelpText('after', '\nExample:\n  spate lab --port 8080 --seed 7\n  curl "http://127.0.0.1:8080/status/200?fail=0.3&retry_after=1"\n')
    .action(async (opts: { port: number; host: string; seed: number; pages: number; crawlDelay?: number }) => {
      let lab;
      try {
        lab = await startLab({ port: opts.port, host: opts.host, seed: opts.seed, site: { pages: opts.pages }, crawlDelay: opts.crawlDelay });
      } catch (error) {
        process.stderr.write(`spate lab: ${(error as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`spate lab listening on ${lab.url} (seed ${opts.seed}); Ctrl-C stops it\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await lab.close();
      process.exitCode = 0;
    });
}
