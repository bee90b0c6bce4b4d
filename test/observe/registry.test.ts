import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry, DEFAULT_BUCKETS } from '../../src/observe/registry.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';

// One line of the Prometheus text format 0.0.4: a comment, or `name{labels} value`.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*)?\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/;
const COMMENT = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses exposition text strictly: every line must be a HELP/TYPE comment or a sample. */
function parse(text: string): { samples: Sample[]; types: Map<string, string>; help: Map<string, string> } {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    const comment = COMMENT.exec(line);
    if (comment) {
      (comment[1] === 'TYPE' ? types : help).set(comment[2]!, comment[3]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a valid sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k!] = v!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types, help };
}

test('counter(), gauge(), histogram() - the same name and labels give the same metric', () => {
  const r = new MetricsRegistry();
  const c = r.counter('requests_total', { method: 'GET', code: 200 });
  assert.equal(r.counter('requests_total', { code: 200, method: 'GET' }), c, 'label order does not matter');
  assert.notEqual(r.counter('requests_total', { method: 'POST', code: 200 }), c);
  c.inc();
  c.inc(2);
  assert.equal(c.value, 3);
  const g = r.gauge('connections');
  g.inc();
  g.inc();
  g.dec();
  assert.equal(g.value, 1);
  g.set(10);
  assert.equal(r.gauge('connections').value, 10);
  assert.equal(r.histogram('latency_ms'), r.histogram('latency_ms'));
});

test('counter() - refuses a negative increment; names, labels and types are checked', () => {
  const r = new MetricsRegistry();
  assert.throws(() => r.counter('c_total').inc(-1), InvalidArgumentError);
  assert.throws(() => r.counter('bad-name'), /metric name/);
  assert.throws(() => r.counter('ok_total', { 'bad-label': 1 }), /label name/);
  assert.throws(() => r.histogram('h_ms', { le: 1 }), /label name/);
  r.counter('used_total');
  assert.throws(() => r.gauge('used_total'), /is a counter, not a gauge/);
  assert.throws(() => r.histogram('h2_ms', {}, { buckets: [1, 1] }), /strictly increasing/);
});

test('toPrometheus() - every line parses; TYPE and HELP per name; label values escaped', () => {
  const r = new MetricsRegistry();
  r.counter('http_requests_total', { method: 'GET', path: '/a"b\\c\nd' }).inc(5);
  r.describe('http_requests_total', 'Requests\nreceived');
  r.gauge('in_flight').set(-2);
  const { samples, types, help } = parse(r.toPrometheus());
  assert.equal(types.get('http_requests_total'), 'counter');
  assert.equal(types.get('in_flight'), 'gauge');
  assert.equal(help.get('http_requests_total'), 'Requests\\nreceived');
  assert.deepEqual(samples, [
    { name: 'http_requests_total', labels: { method: 'GET', path: '/a"b\\c\nd' }, value: 5 },
    { name: 'in_flight', labels: {}, value: -2 },
  ]);
});

test('toPrometheus() - a histogram has cumulative _bucket{le} lines ending at +Inf, then _sum and _count, in seconds', () => {
  const r = new MetricsRegistry();
  const h = r.histogram('request_duration_seconds', { route: 'x' }, { buckets: [0.001, 0.01, 0.1], help: 'Latency' });
  for (const ms of [0.5, 0.7, 5, 50, 500]) h.record(ms);
  const { samples, types } = parse(r.toPrometheus());
  assert.equal(types.get('request_duration_seconds'), 'histogram');
  assert.deepEqual(samples, [
    { name: 'request_duration_seconds_bucket', labels: { route: 'x', le: '0.001' }, value: 2 },
    { name: 'request_duration_seconds_bucket', labels: { route: 'x', le: '0.01' }, value: 3 },
    { name: 'request_duration_seconds_bucket', labels: { route: 'x', le: '0.1' }, value: 4 },
    { name: 'request_duration_seconds_bucket', labels: { route: 'x', le: '+Inf' }, value: 5 },
    { name: 'request_duration_seconds_sum', labels: { route: 'x' }, value: 0.5562 },
    { name: 'request_duration_seconds_count', labels: { route: 'x' }, value: 5 },
  ]);
});

test('collect() - collectors publish values kept elsewhere before each read, and can be removed', () => {
  const r = new MetricsRegistry();
  let pages = 0;
  const remove = r.collect((reg) => reg.counter('pages_total').set(pages));
  pages = 7;
  assert.match(r.toPrometheus(), /^pages_total 7$/m);
  pages = 9;
  assert.equal(r.toJSON()[0]!.value, 9);
  remove();
  pages = 11;
  assert.match(r.toPrometheus(), /^pages_total 9$/m);
  r.collect(() => {
    throw new Error('broken');
  });
  assert.match(r.toPrometheus(), /^pages_total 9$/m);
  assert.throws(() => r.counter('pages_total').set(-1), InvalidArgumentError);
});

test('toPrometheus() - default buckets are used, and buckets never decrease', () => {
  const r = new MetricsRegistry();
  const h = r.histogram('d_ms');
  for (let i = 0; i < 1000; i++) h.record(i * 7.3);
  const buckets = parse(r.toPrometheus()).samples.filter((s) => s.name === 'd_ms_bucket');
  assert.equal(buckets.length, DEFAULT_BUCKETS.length + 1);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
  assert.equal(buckets.at(-1)!.value, 1000);
  assert.equal(new MetricsRegistry().toPrometheus(), '');
});

test('toJSON() - lists every series with its values or histogram snapshot', () => {
  const r = new MetricsRegistry();
  r.counter('c_total', { a: 1 }).inc(3);
  r.histogram('h_ms').record(4);
  const json = JSON.parse(JSON.stringify(r));
  assert.deepEqual(json[0], { name: 'c_total', type: 'counter', labels: { a: 1 }, value: 3 });
  assert.equal(json[1].name, 'h_ms');
  assert.equal(json[1].type, 'histogram');
  assert.equal(json[1].count, 1);
  assert.equal(json[1].max, 4);
});

test('report() - a plain-text table with a row per histogram and per value', () => {
  const r = new MetricsRegistry();
  const h = r.histogram('task_ms', { task: 'task1' });
  h.record(100);
  h.record(200);
  r.histogram('task_ms', { task: 'task2' }).record(150);
  r.counter('errors_total').inc();
  const lines = r.report().trimEnd().split('\n');
  assert.match(lines[0]!, /^name\s+labels\s+count\s+total ms\s+mean\s+min\s+p50\s+p90\s+p99\s+max$/);
  assert.match(lines[1]!, /^task_ms\s+task=task1\s+2\s+300\s+150\s+100\s+\S+\s+\S+\s+\S+\s+200$/);
  assert.match(lines[2]!, /^task_ms\s+task=task2\s+1\s+150\s+150\s+150\s+150\s+150\s+150\s+150$/);
  assert.equal(lines[3], '');
  assert.match(lines[5]!, /^errors_total\s+counter\s+1$/);
  assert.equal(new MetricsRegistry().report(), '(no metrics)\n');
});

test('reset() keeps metric handles valid; clear() removes metrics', () => {
  const r = new MetricsRegistry();
  const c = r.counter('c_total');
  c.inc(4);
  r.reset();
  assert.equal(c.value, 0);
  c.inc();
  assert.equal(r.counter('c_total').value, 1);
  r.clear();
  assert.notEqual(r.counter('c_total'), c);
  assert.throws(() => r.describe('nope', 'x'), InvalidArgumentError);
});
