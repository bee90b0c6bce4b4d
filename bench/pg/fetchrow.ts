// Seed 001's fetch_user: `SELECT * FROM users WHERE id = $1` by primary key, 50 concurrent
// callers over a pool of 20, for --seconds; reports queries/s, and the client CPU per query as
// `cpu_us_per_op` (steadier than throughput on a loaded machine). Usage: node pg/fetchrow.ts <impl>.
import pg from 'pg';
import postgres from 'postgres';
import { Pool } from '../../src/pg/index.ts';
import { args, report } from '../lib.ts';

const impl = process.argv[2];
const { seconds = 5, concurrency = 50 } = args({ seconds: 5, concurrency: 50 });
const url = process.env.PG_BENCH_URL!;
const schema = process.env.PG_BENCH_SCHEMA!;
const sql = 'SELECT * FROM users WHERE id = $1';

let fetchUser: (id: number) => Promise<unknown>;
let close: () => Promise<void>;
switch (impl) {
  case 'spate': {
    const pool = new Pool({ config: { connectionString: url, options: `-c search_path=${schema}` }, min: 5, max: 20, commandTimeout: 60_000 });
    fetchUser = (id) => pool.maybeOne(sql, [id]);
    close = () => pool.close();
    break;
  }
  case 'pg': {
    const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 20 });
    fetchUser = async (id) => (await pool.query(sql, [id])).rows[0] ?? null;
    close = () => pool.end();
    break;
  }
  case 'postgres-js': {
    const db = postgres(url, { max: 20, connection: { search_path: schema } });
    fetchUser = async (id) => (await db.unsafe(sql, [id]))[0] ?? null;
    close = () => db.end();
    break;
  }
  default:
    throw new Error(`unknown impl ${impl}`);
}

async function drive(ms: number): Promise<number> {
  let count = 0;
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    let id = w;
    while (performance.now() < end) {
      id = (id * 7919 + 1) % 10000;
      const row = await fetchUser(id + 1);
      if (row === null) throw new Error(`no user ${id + 1}`);
      count++;
    }
  }));
  return count;
}

await drive(500); // warm-up: the pool fills, the JIT settles
const cpu0 = process.cpuUsage();
const start = performance.now();
const count = await drive(seconds * 1000);
const cpu = process.cpuUsage(cpu0);
const cpuPerOp = Math.round((cpu.user + cpu.system) / count);
report(count / ((performance.now() - start) / 1000), { cpu_us_per_op: cpuPerOp });
await close();
