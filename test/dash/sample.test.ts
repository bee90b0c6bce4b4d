import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePrometheus, sampleRegistry } from '../../src/dash/sample.ts';
import { MetricsRegistry } from '../../src/observe/registry.ts';

function registry(): MetricsRegistry {
  const r = new MetricsRegistry();
  r.counter('jobs_total', { kind: 'a "quoted"\\ \nname' }).inc(3);
  r.gauge('queue_depth').set(-2.5);
  const h = r.histogram('work_duration_seconds', { host: 'http://x:1' }, { buckets: [0.001, 0.01, 0.1] });
  for (const ms of [0.5, 2, 20, 200]) h.record(ms);
  return r;
}

test('parsePrometheus() reads back what the registry writes: the same families as sampleRegistry()', () => {
  const r = registry();
  const fromText = parsePrometheus(r.toPrometheus(), 0);
  const direct = sampleRegistry(r, 0);
  assert.deepEqual(fromText, direct);
  const h = direct.families.find((f) => f.name === 'work_duration_seconds')!.series[0]!;
  assert.deepEqual(h.buckets, [[0.001, 1], [0.01, 2], [0.1, 3], [Infinity, 4]]);
  assert.equal(h.sum, 0.2225);
  assert.equal(direct.families.find((f) => f.name === 'jobs_total')!.series[0]!.labels.kind, 'a "quoted"\\ \nname');
});

test('parsePrometheus() skips what it cannot read and keeps the rest; untyped lines count as untyped', () => {
  const s = parsePrometheus('garbage here\n# TYPE up gauge\nup 1\nup{job=} x\nfree_metric{a="b"} 2 1700000000\n# HELP x y\n', 0);
  assert.deepEqual(s.families, [
    { name: 'up', type: 'gauge', series: [{ labels: {}, value: 1 }] },
    { name: 'free_metric', type: 'untyped', series: [{ labels: { a: 'b' }, value: 2 }] },
  ]);
});

test('parsePrometheus() never throws, whatever the text (fuzz)', () => {
  const line = fc.oneof(
    fc.string(),
    fc.constantFrom('# TYPE h histogram', 'h_bucket{le="+Inf"} 3', 'h_bucket{le="0.1"} NaN', 'h_sum 1', 'h_count 2', 'x{a="\\"} 1', 'x{a="b",} 1', '# TYPE'),
  );
  fc.assert(fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
    const sample = parsePrometheus(lines.join('\n'), 0);
    for (const f of sample.families) for (const s of f.series) assert.equal(typeof s.value, 'number');
  }), { seed: 13, numRuns: 300 });
});
