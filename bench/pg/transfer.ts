// Seed 001's transfer_funds: two UPDATEs in a transaction between random accounts (1,000 of
// them), 50 concurrent callers over a pool of 20, for --seconds; reports committed transactions/s
// and the retries (serialization failures and deadlocks run again) as `retries`, and the client CPU
// per transaction as `cpu_us_per_op` (steadier than throughput on a loaded machine). At
// --serializable=1 every peer retries 40001/40P01 with the same jittered exponential backoff.
// Usage: node pg/transfer.ts <impl> --serializable=0|1
import pg from 'pg';
import postgres from 'postgres';
import { Pool } from '../../src/pg/index.ts';
import { args, report } from '../lib.ts';

const impl = process.argv[2];
const { seconds = 5, concurrency = 50, serializable = 0 } = args({ seconds: 5, concurrency: 50, serializable: 0 });
const url = process.env.PG_BENCH_URL!;
const schema = process.env.PG_BENCH_SCHEMA!;
const begin = serializable ? 'BEGIN ISOLATION LEVEL SERIALIZABLE' : 'BEGIN';
const debit = 'UPDATE accounts SET balance = balance - $1 WHERE id = $2';
const credit = 'UPDATE accounts SET balance = balance + $1 WHERE id = $2';
let retries = 0;
let retriesSoFar = () => retries;

const backoff = (n: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(500, 5 * 2 ** n)));
const retryable = (e: unknown) => ['40001', '40P01'].includes((e as { code?: string }).code ?? '');
async function withRetries(fn: () => Promise<void>): Promise<void> {
  for (let n = 0; ; n++) {
    try {
      return await fn();
    } catch (error) {
      if (!retryable(error) || n >= 100) throw error;
      retries++;
      await backoff(n);
    }
  }
}

let transfer: (from: number, to: number, amount: number) => Promise<void>;
let close: () => Promise<void>;
switch (impl) {
  case 'spate': {
    const pool = new Pool({ config: { connectionString: url, options: `-c search_path=${schema}` }, min: 5, max: 20, commandTimeout: 60_000 });
    const options = { isolation: serializable ? ('serializable' as const) : undefined, retries: 100 };
    transfer = async (from, to, amount) => {
      await pool.transaction(async (tx) => {
        await tx.query(debit, [amount, from]);
        await tx.query(credit, [amount, to]);
      }, options);
    };
    retriesSoFar = () => pool.stats().retries;
    close = () => pool.close();
    break;
  }
  case 'pg': {
    const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 20 });
    transfer = (from, to, amount) => withRetries(async () => {
      const client = await pool.connect();
      try {
        await client.query(begin);
        await client.query(debit, [amount, from]);
        await client.query(credit, [amount, to]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    });
    close = () => pool.end();
    break;
  }
  case 'postgres-js': {
    const db = postgres(url, { max: 20, connection: { search_path: schema } });
    const isolation = serializable ? 'isolation level serializable' : '';
    transfer = (from, to, amount) => withRetries(async () => {
      await db.begin(isolation, async (tx) => {
        await tx.unsafe(debit, [amount, from]);
        await tx.unsafe(credit, [amount, to]);
      });
    });
    close = () => db.end();
    break;
  }
  default:
    throw new Error(`unknown impl ${impl}`);
}

async function drive(ms: number): Promise<number> {
  let count = 0;
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const from = 1 + Math.floor(Math.random() * 1000);
      const to = 1 + ((from + Math.floor(Math.random() * 999)) % 1000);
      await transfer(from, to, 1 + Math.floor(Math.random() * 100));
      count++;
    }
  }));
  return count;
}

await drive(500);
const before = retriesSoFar();
const cpu0 = process.cpuUsage();
const start = performance.now();
const count = await drive(seconds * 1000);
const cpu = process.cpuUsage(cpu0);
const cpuPerOp = Math.round((cpu.user + cpu.system) / count);
const elapsed = (performance.now() - start) / 1000;
const retried = retriesSoFar() - before;
await close();
report(count / elapsed, { retries: retried, cpu_us_per_op: cpuPerOp });
