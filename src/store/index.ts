// spate/store: durable job state. One work queue (unique keys, leased claims with fencing,
// completions committed with their outputs, dead letters, checkpoints, shared per-group
// schedules) with two backends: SQLite (node:sqlite, the embedded default) and PostgreSQL (shared
// by many workers). Crawl and download keep only their own columns and rules on top.
export { SqliteDb, type SqliteOptions, type SQLInputValue } from './sqlite.ts';
export type { ClaimCap, ClaimOptions, CommitInput, CommitResult, DeadLetter, QueueCounts, Settle, WorkInput, WorkItem, WorkOutput, WorkQueue, WorkQueueOptions } from './work-queue.ts';
export { SqliteWorkQueue, type SqliteQueueOptions } from './sqlite-queue.ts';
export { PostgresWorkQueue, schemaName, type PostgresQueueOptions } from './postgres-queue.ts';
export { PgSqlClient, type SqlClient, type SqlQueryable, type SqlResult } from './sql-client.ts';
