#!/usr/bin/env node
// The `spate` command: parses arguments and calls the library. Nothing else lives here.
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { register as registerBench } from './bench.ts';
import { register as registerCrawl } from './crawl.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerDownload } from './download.ts';
import { register as registerLab } from './lab.ts';
import { register as registerServeApi } from './serve-api.ts';
import { register as registerServeNet } from './serve-net.ts';
import { register as registerTour } from './tour.ts';
import { register as registerWs } from './ws.ts';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('spate')
  .version(version)
  .description('High-concurrency async I/O: a crawler, a downloader, servers and a lab, on asyncio\'s model.')
  .showHelpAfterError()
  .exitOverride();

registerTour(program);
registerDemo(program);
registerLab(program);
registerCrawl(program);
registerDownload(program);
registerBench(program);
registerServeApi(program);
registerServeNet(program);
registerWs(program);
(await import('./pipeline.ts')).register(program);
(await import('./worker.ts')).register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; usage errors exit 2 (commander's default is 1).
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    console.error(error instanceof Error ? `spate: ${error.message}` : error);
    process.exitCode = 1;
  }
}
