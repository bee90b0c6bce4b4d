// The cli group: start-up of the `spate` bin as a user installs it (the packed tarball in a
// project outside the repository, run by Node 24 through its `#!/usr/bin/env node` line) against
// the floor of `node -e 0`, with `wget` and `curl` as context; and a one-page crawl of the lab end
// to end, next to wget and curl fetching that page. Goals: ≤ 1.5× the floor, ≤ 60 MB, ≤ 250 ms.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { spawnLab } from '../../src/cli/lab-process.ts';
import { installInto, nodeBinary, pack } from '../../test/package/install.ts';
import type { Case, Variant } from '../run.ts';

let installed: { env: Record<string, string> } | undefined;

/** Packs and installs once per run of the group; removed when the process exits. */
function install(): { env: Record<string, string> } {
  if (installed) return installed;
  const tarball = pack();
  const project = installInto(tarball);
  rmSync(dirname(tarball), { recursive: true, force: true });
  process.once('exit', () => rmSync(project, { recursive: true, force: true }));
  const node = nodeBinary(24);
  installed = {
    env: {
      SPATE_BIN: join(project, 'node_modules', '.bin', 'spate'),
      NODE_BIN: node,
      PATH: `${dirname(node)}${delimiter}${process.env['PATH'] ?? ''}`,
    },
  };
  return installed;
}

const has = (program: string) => spawnSync(program, ['--version'], { stdio: 'ignore' }).status === 0;

export function cases(quick: boolean): Case[] {
  const times = `--times=${quick ? 5 : 15}`;
  const measure = (impl: string, command: string[], skip?: () => string | undefined): Variant => ({
    impl,
    command: ['node', 'cli/measure.ts', times, '--', ...command],
    ...(skip ? { skip } : {}),
  });
  const peers = (args: { wget: string[]; curl: string[] }) => [
    measure('wget', ['wget', ...args.wget], () => (has('wget') ? undefined : 'wget not found')),
    measure('curl', ['curl', ...args.curl], () => (has('curl') ? undefined : 'curl not found')),
  ];
  const setup = async () => install();
  return [
    {
      bench: 'cli/version',
      unit: 'ms',
      higherIsBetter: false,
      setup: async () => ({ ...(await setup()), close: async () => {} }),
      variants: [measure('spate', ['$SPATE_BIN', '--version']), measure('node-floor', ['$NODE_BIN', '-e', '0']), ...peers({ wget: ['--version'], curl: ['--version'] })],
    },
    {
      bench: 'cli/crawl-help',
      unit: 'ms',
      higherIsBetter: false,
      setup: async () => ({ ...(await setup()), close: async () => {} }),
      variants: [measure('spate', ['$SPATE_BIN', 'crawl', '--help']), measure('node-floor', ['$NODE_BIN', '-e', '0']), ...peers({ wget: ['--help'], curl: ['--help'] })],
    },
    {
      bench: 'cli/crawl-one-page',
      unit: 'ms',
      higherIsBetter: false,
      setup: async () => {
        const { env } = await setup();
        const lab = await spawnLab();
        return { env: { ...env, PAGE_URL: `${lab.url}/site/pages=1/` }, close: () => lab.close() };
      },
      variants: [
        measure('spate', ['$SPATE_BIN', 'crawl', '$PAGE_URL', '--max-pages', '1', '--fresh', '--state', 'crawl.sqlite', '-o', '-']),
        ...peers({ wget: ['-q', '-O', '-', '$PAGE_URL'], curl: ['-sf', '$PAGE_URL'] }),
      ],
    },
  ];
}
