// Seeds: the performance_monitor decorator and PerformanceAnalyzer.get_report(). spate: monitor() wraps any
// function into a MetricsRegistry (latency histogram, errors, in flight); report() prints the table.
import { gather, sleep } from '../../src/core/index.ts';
import { MetricsRegistry, monitor } from '../../src/observe/index.ts';
import { VirtualClock } from '../../src/testing/index.ts';

// Virtual time (spate/testing): the printed times are exact on every run, and it all takes no time.
// Delete these two lines and the same code runs in real time.
const clock = new VirtualClock();
using _clock = clock.install(); // the default clock for sleep() and monitor() from here on

const registry = new MetricsRegistry();

async function sampleTask(delay: number, fail = false): Promise<string> {
  await sleep(delay);
  if (fail) throw new Error('sample failure');
  return `Task completed after ${delay / 1000}s`;
}

const task1 = monitor(sampleTask, { name: 'sample_task', labels: { task: 'task1' }, registry });
const task2 = monitor(sampleTask, { name: 'sample_task', labels: { task: 'task2' }, registry });
const task3 = monitor(sampleTask, { name: 'sample_task', labels: { task: 'task3' }, registry });

await clock.run(async () => {
  console.log((await gather([() => task1(100), () => task2(200), () => task3(150)])).join('; '));
  await gather([() => task1(120), () => task1(80), () => task2(250)]);
  await task3(400, true).catch(() => {});
});

console.log(registry.report());
const { count, errors, mean, max } = task1.stats();
console.log(`task1: ${count} calls, ${errors} errors, mean ${mean} ms, max ${max} ms`);
