// spate/pg: a PostgreSQL pool with deadlines that stop the work on the server, transactions that
// retry serialization failures, cursors, metrics — on node-postgres, or on PGlite in-process when
// no server is named. Imports core and observe.
export { Pool, parseDatabaseUrl, type PoolOptions, type PoolStats, type AcquireOptions, type PoolTransactionOptions } from './pool.ts';
export { Connection, type Queryable, type QueryOptions, type CursorOptions, type TransactionOptions, type IsolationLevel } from './connection.ts';
export type { QueryResult, Row, ServerConfig } from './session.ts';
export * from './errors.ts';
