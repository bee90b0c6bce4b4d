// The downloader's errors. Each has a `name` and a literal `code`.
import { SpateError } from '../core/errors.ts';

/** The file's SHA-256 is not the one the list asked for; the file was not placed. */
export class ChecksumMismatchError extends SpateError {
  override readonly code = 'SPATE_DOWNLOAD_CHECKSUM';
  override name = 'ChecksumMismatchError';
  readonly expected: string;
  readonly actual: string;
  constructor(url: string, expected: string, actual: string) {
    super(`sha256 mismatch for ${url}: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** The body ended at another length than the server announced (a truncated or padded transfer). */
export class SizeMismatchError extends SpateError {
  override readonly code = 'SPATE_DOWNLOAD_SIZE';
  override name = 'SizeMismatchError';
  readonly expected: number;
  readonly actual: number;
  constructor(url: string, expected: number, actual: number) {
    super(`${url}: expected ${expected} bytes, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** The server's answer cannot be used as a continuation (a Content-Range that starts elsewhere, a changed file). */
export class ResumeMismatchError extends SpateError {
  override readonly code = 'SPATE_DOWNLOAD_RESUME';
  override name = 'ResumeMismatchError';
}

/** A path the downloader refuses: outside the output directory, one of spate's own files, or a symbolic link among its working files. */
export class UnsafePathError extends SpateError {
  override readonly code = 'SPATE_DOWNLOAD_UNSAFE_PATH';
  override name = 'UnsafePathError';
}

/** A file's retries moved more bytes than its budget (3× its size + 1 MiB) without finishing it. */
export class TransferBudgetError extends SpateError {
  override readonly code = 'SPATE_DOWNLOAD_BUDGET';
  override name = 'TransferBudgetError';
  readonly budget: number;
  constructor(url: string, received: number, budget: number) {
    super(`${url}: gave up after receiving ${received} bytes (budget ${budget}) without completing the file`);
    this.budget = budget;
  }
}

/** The server's answer could not be read: a malformed head (a control byte in a header value, say). */
export class MalformedResponseError extends SpateError {
  override readonly code = 'SPATE_DOWNLOAD_MALFORMED';
  override name = 'MalformedResponseError';
}
