import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDashboard } from '../../src/dash/server.ts';
import { Recorder } from '../../src/dash/recorder.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { MetricsRegistry } from '../../src/observe/registry.ts';

/** Reads server-sent events until `stop(event)` says so. */
async function readEvents(url: string, stop: (events: { event: string; data: string }[]) => boolean): Promise<{ event: string; data: string }[]> {
  const res = await fetch(url);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const events: { event: string; data: string }[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) events.push({ event, data });
    }
    if (stop(events)) break;
  }
  return events;
}

test('startDashboard() serves the page, its assets from the package, frames over SSE, and /metrics', async () => {
  const registry = new MetricsRegistry();
  const jobs = registry.counter('spate_test_jobs_total');
  const dash = await startDashboard({ registry, intervalMs: 50, title: 'a <title>' });
  try {
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await (await fetch(dash.url)).text();
    assert.match(page, /<title>a &lt;title&gt;<\/title>/);
    assert.doesNotMatch(page, /https?:\/\//, 'no CDN: nothing outside the dashboard is linked');
    for (const [asset, type] of [['uPlot.min.js', 'text/javascript'], ['uPlot.min.css', 'text/css'], ['dashboard.js', 'text/javascript'], ['dashboard.css', 'text/css']]) {
      const res = await fetch(new URL(`assets/${asset}`, dash.url));
      assert.equal(res.status, 200, asset);
      assert.match(res.headers.get('content-type')!, new RegExp(`^${type}`));
      assert.ok((await res.text()).length > 100);
    }
    assert.equal((await fetch(new URL('assets/../package.json', dash.url))).status, 404);
    assert.equal((await fetch(dash.url, { method: 'POST' })).status, 405);
    jobs.inc(5);
    const events = await readEvents(new URL('events', dash.url).href, (e) => e.filter((x) => x.event === 'frame').length >= 2);
    assert.equal(events[0]!.event, 'history');
    assert.ok(Array.isArray(JSON.parse(events[0]!.data)));
    const frame = JSON.parse(events.at(-1)!.data) as { totals: Record<string, number>; memory: unknown; lag: unknown };
    assert.equal(frame.totals['test jobs'], 5);
    assert.notEqual(frame.memory, null, 'the process metrics are added');
    assert.match(await (await fetch(new URL('metrics', dash.url))).text(), /^spate_test_jobs_total 5$/m);
  } finally {
    await dash.close();
  }
  await assert.rejects(fetch(dash.url));
});

test('close() sends a last frame with the final figures, then ends the stream', async () => {
  const registry = new MetricsRegistry();
  const jobs = registry.counter('spate_test_jobs_total');
  const dash = await startDashboard({ registry, intervalMs: 60_000 });
  let closing: Promise<void> | undefined;
  const events = await readEvents(new URL('events', dash.url).href, (e) => {
    // Once the stream is open (its history came), the job finishes and the dashboard closes.
    if (closing === undefined && e.length > 0) {
      jobs.inc(42);
      closing = dash.close();
    }
    return e.some((x) => x.event === 'end');
  });
  await closing;
  const frames = events.filter((e) => e.event === 'frame').map((e) => JSON.parse(e.data) as { totals: Record<string, number> });
  assert.equal(frames.at(-1)!.totals['test jobs'], 42);
  assert.equal(dash.frames.at(-1)!.totals['test jobs'], 42);
  assert.equal(events.at(-1)!.event, 'end');
});

test('startDashboard() checks its options and closes when its signal aborts', async () => {
  await assert.rejects(startDashboard({}), InvalidArgumentError);
  await assert.rejects(startDashboard({ registry: new MetricsRegistry(), url: 'http://x/metrics' }), InvalidArgumentError);
  await assert.rejects(startDashboard({ registry: new MetricsRegistry(), port: 70000 }), InvalidArgumentError);
  assert.throws(() => new Recorder({ url: 'ftp://x' }), InvalidArgumentError);
  const controller = new AbortController();
  const dash = await startDashboard({ registry: new MetricsRegistry(), signal: controller.signal });
  assert.equal((await fetch(dash.url)).status, 200);
  controller.abort();
  await dash.close();
  await assert.rejects(fetch(dash.url));
});

test('a dashboard of a URL shows another process\'s /metrics, and says when it stops answering', async () => {
  const registry = new MetricsRegistry();
  registry.counter('http_requests_total', { status: 200 }).inc(7);
  const source = await startDashboard({ registry, intervalMs: 60_000 });
  const recorder = new Recorder({ url: new URL('metrics', source.url).href, intervalMs: 60_000 });
  const frame = await recorder.tick();
  assert.equal(frame!.totals['http requests'], 7);
  await source.close();
  assert.equal(await recorder.tick(), undefined);
  assert.equal(recorder.lastError?.name, 'DashboardError');
});
