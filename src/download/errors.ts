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

/** A file name that, even after sanitising, would land outside the output directory (never expected). */
export class UnsafePathError extends SpateError {
  override readonly code = 'SPATE_DOWNLOAD_UNSAFE_PATH';
  override name = 'UnsafePathError';
}
