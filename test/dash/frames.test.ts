import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameBuilder, quantile, shortName } from '../../src/dash/frames.ts';
import { sampleRegistry } from '../../src/dash/sample.ts';
import { MetricsRegistry } from '../../src/observe/registry.ts';

test('quantile() interpolates inside the bucket that holds the rank, in ms; null when empty', () => {
  const buckets: [number, number][] = [[0.01, 50], [0.1, 100], [Infinity, 100]];
  assert.equal(quantile(buckets, 0.5), 10);
  assert.equal(quantile(buckets, 0.25), 5);
  assert.ok(Math.abs(quantile(buckets, 0.75)! - 55) < 1e-9);
  assert.equal(quantile([[0.01, 0], [Infinity, 0]], 0.5), null);
  // Past the last finite bound: the bound, as Prometheus's histogram_quantile.
  assert.equal(quantile([[0.01, 1], [Infinity, 10]], 0.99), 10);
});

test('shortName() drops the spate_ prefix and _total', () => {
  assert.equal(shortName('spate_crawl_pages_total'), 'crawl pages');
  assert.equal(shortName('http_requests_total'), 'http requests');
});

test('FrameBuilder: rates per second, interval percentiles, errors by kind, hosts and breakers', () => {
  const r = new MetricsRegistry();
  const pages = r.counter('spate_crawl_pages_total', { outcome: 'done' });
  const bytes = r.counter('spate_http_bytes_total', { host: 'http://a' });
  const latency = r.histogram('spate_http_request_duration_seconds', { host: 'http://a' }, { buckets: [0.001, 0.01, 0.1, 1] });
  r.counter('spate_http_requests_total', { host: 'http://a' }).inc(0);
  r.gauge('spate_crawl_in_flight').set(3);
  r.counter('spate_http_responses_total', { host: 'http://a', status: 503 }).inc(2);
  r.counter('spate_http_errors_total', { host: 'http://a', kind: 'SPATE_TIMEOUT' }).inc(1);
  r.gauge('spate_http_breaker_state', { host: 'http://a' }).set(2);
  const frames = new FrameBuilder();

  for (let i = 0; i < 10; i++) latency.record(5); // first interval: 5 ms
  const f1 = frames.next(sampleRegistry(r, 1000));
  assert.equal(f1.rates['crawl pages'], 0);
  assert.ok(f1.latency!.p50! > 1 && f1.latency!.p50! <= 10);

  pages.inc(30);
  bytes.inc(4000);
  for (let i = 0; i < 10; i++) latency.record(500); // second interval: 500 ms only
  const f2 = frames.next(sampleRegistry(r, 3000));
  assert.equal(f2.elapsed, 2);
  assert.equal(f2.rates['crawl pages'], 15);
  assert.equal(f2.totals['crawl pages'], 30);
  assert.equal(f2.bytesPerSecond, 2000);
  assert.ok(f2.latency!.p50! > 100 && f2.latency!.p50! <= 1000, `the interval's p50 (${f2.latency!.p50}) sees only the slow calls`);
  assert.equal(f2.latency!.count, 20);
  assert.deepEqual(f2.histogram!.counts, [0, 10, 0, 10, 0]);
  assert.deepEqual(f2.histogram!.le, [1, 10, 100, 1000, Infinity]);
  assert.deepEqual(f2.depths, { 'crawl in flight': 3 });
  assert.deepEqual(f2.errors, { 'HTTP 503': 2, SPATE_TIMEOUT: 1 });
  assert.deepEqual(f2.breakers, { 'http://a': 'open' });
  const host = f2.hosts[0]!;
  assert.equal(host.host, 'http://a');
  assert.equal(host.bytes, 4000);
  assert.equal(host.errors, 1);
  assert.deepEqual(host.statuses, { '5xx': 2 });
  assert.equal(host.breaker, 'open');
  assert.equal(f2.lag, null);
  assert.equal(f2.memory, null);
});

test('FrameBuilder: counts that go down (a watched process restarted) start over instead of going negative', () => {
  const r = new MetricsRegistry();
  const h = r.histogram('work_duration_seconds', {}, { buckets: [0.01, 0.1] });
  const jobs = r.counter('work_jobs_total');
  const frames = new FrameBuilder();
  for (let i = 0; i < 5; i++) h.record(50);
  jobs.inc(5);
  frames.next(sampleRegistry(r, 0));
  h.reset();
  jobs.reset();
  h.record(5);
  jobs.inc(1);
  const f = frames.next(sampleRegistry(r, 1000));
  assert.equal(f.rates['work jobs'], 0);
  assert.ok(f.latency!.p50! > 0 && f.latency!.p50! <= 10, `p50 ${f.latency!.p50} is the new process's`);
});
