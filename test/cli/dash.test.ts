import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startDashboard } from '../../src/dash/server.ts';
import { MetricsRegistry } from '../../src/observe/registry.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function spate(args: string[]) {
  const child = spawn(process.execPath, [main, 'dash', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

test('spate dash: a bad URL is a usage error (2); an endpoint that does not answer exits 1', async () => {
  const usage = await spate(['not a url']).done;
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /not a URL/);
  const source = await startDashboard({ registry: new MetricsRegistry() });
  const gone = new URL('metrics', source.url).href;
  await source.close();
  const down = await spate([gone]).done;
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^spate dash: .* did not answer/m);
});

test('spate dash <url> shows another process\'s metrics, and Ctrl-C stops it (exit 0)', async () => {
  const registry = new MetricsRegistry();
  registry.counter('spate_pipeline_items_total').inc(12);
  const source = await startDashboard({ registry, intervalMs: 60_000 });
  // A bare origin means its /metrics.
  const run = spate([source.url.replace(/\/$/, ''), '--interval', '100ms']);
  try {
    while (!/ at (http:\S+)/.test(run.stdout())) await once(run.child.stdout, 'data');
    const url = / at (http:\S+)/.exec(run.stdout())![1]!;
    const frames = (await (await fetch(new URL('frames.json', url))).json()) as { totals: Record<string, number> }[];
    assert.equal(frames.at(-1)!.totals['pipeline items'], 12);
    run.child.kill('SIGINT');
    const { code } = await run.done;
    assert.equal(code, 0);
  } finally {
    run.child.kill('SIGKILL');
    await source.close();
  }
});
