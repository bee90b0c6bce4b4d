// The errors of spate/pg. A caller must be able to tell apart "waited too long for a connection"
// (the pool is too small or the database too slow to hand one back), "the statement ran past its
// deadline" (stopped on the server), a cancel it did not ask for, a broken connection, a broken
// constraint and a serialization failure (which a transaction retries).
import { SpateError } from '../core/errors.ts';

/** Fields PostgreSQL sends with an error, when there was one from the server. */
export interface PgErrorDetails {
  /** The SQLSTATE, e.g. `23505`. */
  readonly sqlState?: string | undefined;
  readonly detail?: string | undefined;
  readonly table?: string | undefined;
  readonly column?: string | undefined;
  readonly constraint?: string | undefined;
}

/** The connection failed, broke or timed out while connecting; it is not reused. */
export class PgConnectionError extends SpateError {
  override readonly code = 'SPATE_PG_CONNECTION';
  override name = 'PgConnectionError';
}

/** Nobody gave a connection back within the acquire `timeout`: the pool is saturated. */
export class PgAcquireTimeoutError extends SpateError {
  override readonly code = 'SPATE_PG_ACQUIRE_TIMEOUT';
  override name = 'PgAcquireTimeoutError';
  constructor(message = 'Waited too long for a database connection', options?: ErrorOptions) {
    super(message, options);
  }
}

/** A statement ran past its `timeout` and was cancelled on the server; the connection is reusable. */
export class PgQueryTimeoutError extends SpateError {
  override readonly code = 'SPATE_PG_QUERY_TIMEOUT';
  override name = 'PgQueryTimeoutError';
  constructor(message = 'Query timed out and was cancelled on the server', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The server cancelled a statement this call did not cancel (`pg_cancel_backend`, shutdown, `statement_timeout`). */
export class PgCancelledError extends SpateError {
  override readonly code = 'SPATE_PG_CANCELLED';
  override name = 'PgCancelledError';
}

/** An error PostgreSQL reported for a statement; `sqlState` says which. */
export class PgQueryError extends SpateError {
  override readonly code: string = 'SPATE_PG_QUERY';
  override name = 'PgQueryError';
  readonly sqlState: string | undefined;
  readonly detail: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly constraint: string | undefined;
  constructor(message: string, details: PgErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.sqlState = details.sqlState;
    this.detail = details.detail;
    this.table = details.table;
    this.column = details.column;
    this.constraint = details.constraint;
  }
}

/** An integrity constraint failed (SQLSTATE class 23): unique, foreign key, check, not null; `constraint` names it. */
export class PgConstraintError extends PgQueryError {
  override readonly code = 'SPATE_PG_CONSTRAINT';
  override name = 'PgConstraintError';
}

/** A serialization failure (40001) or deadlock (40P01): the transaction can be run again. */
export class PgSerializationError extends PgQueryError {
  override readonly code = 'SPATE_PG_SERIALIZATION';
  override name = 'PgSerializationError';
}

/** `one()` found no row. */
export class PgNoRowsError extends SpateError {
  override readonly code = 'SPATE_PG_NO_ROWS';
  override name = 'PgNoRowsError';
  constructor(message = 'Query returned no rows', options?: ErrorOptions) {
    super(message, options);
  }
}

/** `one()` or `maybeOne()` found more than one row. */
export class PgTooManyRowsError extends SpateError {
  override readonly code = 'SPATE_PG_TOO_MANY_ROWS';
  override name = 'PgTooManyRowsError';
  constructor(message = 'Query returned more than one row', options?: ErrorOptions) {
    super(message, options);
  }
}

/** An error the server sent, as a driver reports it (node-postgres's `DatabaseError`, PGlite's): its SQLSTATE in `code`, and the fields `toPgError` keeps. */
export interface ServerError {
  message: string;
  code?: unknown;
  detail?: unknown;
  table?: unknown;
  column?: unknown;
  constraint?: unknown;
  severity?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Whether `error` came from the server (it carries a SQLSTATE) rather than from the socket. */
export function isServerError(error: unknown): error is ServerError {
  return error instanceof Error && typeof (error as ServerError).code === 'string' && /^[0-9A-Z]{5}$/.test((error as ServerError).code as string) && 'severity' in error;
}

/** The spate error for what a driver threw. Server errors keep their fields; others are connection errors. */
export function toPgError(error: unknown): Error {
  if (error instanceof SpateError) return error;
  if (isServerError(error)) {
    const details: PgErrorDetails = {
      sqlState: error.code as string,
      detail: str(error.detail),
      table: str(error.table),
      column: str(error.column),
      constraint: str(error.constraint),
    };
    const state = details.sqlState!;
    if (state === '40001' || state === '40P01') return new PgSerializationError(error.message, details, { cause: error });
    if (state.startsWith('23')) return new PgConstraintError(error.message, details, { cause: error });
    if (state === '57014') return new PgCancelledError(error.message, { cause: error });
    return new PgQueryError(error.message, details, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PgConnectionError(message, { cause: error });
}
