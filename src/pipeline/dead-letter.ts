// A dead letter: an item a stage gave up on after its retries. Plain JSON-able data, so the same
// record travels through the in-process store, SQLite, and the broker transports' failed sets.
//
//   { item, stage, error: { name, message, code? }, attempts, at, key? }

/** What is kept of the error that killed an item: enough to read, search and switch on. */
export interface DeadLetterError {
  readonly name: string;
  readonly message: string;
  /** The error's `code` when it had a string or number one (`'ECONNRESET'`, `'SPATE_TIMEOUT'`). */
  readonly code?: string | undefined;
}

/** An item that failed for good in one stage. */
export interface DeadLetter<T = unknown> {
  /** The stage's input that failed (for a batch stage, the batch). */
  readonly item: T;
  /** The stage's name. */
  readonly stage: string;
  readonly error: DeadLetterError;
  /** Calls made, the first one included. */
  readonly attempts: number;
  /** When it was given up, in ms since the epoch. */
  readonly at: number;
  /** The item's key or source position, when the transport knows one (for replay and dedup). */
  readonly key?: string | undefined;
}

/** A stored dead letter, with the id its store gave it (for `remove` and `replay`). */
export interface StoredDeadLetter<T = unknown> extends DeadLetter<T> {
  readonly id: number;
}

/** Reduces anything thrown to `{ name, message, code? }`; never throws. */
export function describeError(error: unknown): DeadLetterError {
  if (error instanceof Error) {
    const raw = (error as { code?: unknown }).code;
    const code = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : undefined;
    return code === undefined ? { name: error.name, message: error.message } : { name: error.name, message: error.message, code };
  }
  let message: string;
  try {
    message = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    message = String(error);
  }
  return { name: 'NonError', message };
}

/** Builds a dead letter stamped with `at` (ms since the epoch). */
export function deadLetter<T>(item: T, stage: string, error: unknown, attempts: number, at: number, key?: string): DeadLetter<T> {
  const record: DeadLetter<T> = { item, stage, error: describeError(error), attempts, at };
  return key === undefined ? record : { ...record, key };
}
