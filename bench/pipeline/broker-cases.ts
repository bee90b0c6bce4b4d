// Cases of the `pipeline` group on real brokers (to be spread into bench/pipeline/cases.ts:
// `...brokerCases(quick)`). Each needs the service: Redis 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672.
import type { Case, Variant } from '../run.ts';

export function cases(quick: boolean): Case[] {
  const n = quick ? 5000 : 20_000;
  const out: Case[] = [];
  for (const [bench, kind, peer] of [['pipeline/bullmq', 'bullmq', 'bullmq'], ['pipeline/rabbitmq', 'amqp', 'amqplib']] as const) {
    for (const workers of [1, 2]) {
      const v = (impl: string): Variant => ({ impl, command: ['node', 'pipeline/broker.ts', impl, `--kind=${kind}`, `--workers=${workers}`, `--n=${n}`] });
      out.push({
        bench: workers === 1 ? bench : `${bench}-2w`,
        unit: 'jobs/s',
        higherIsBetter: true,
        variants: [v('spate'), v(peer), v('spate-batch')],
      });
    }
  }
  return out;
}
