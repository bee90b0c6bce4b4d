// The dashboard's own error.
import { SpateError } from '../core/errors.ts';

/** A metrics endpoint the dashboard reads did not answer, or answered something else than 200. */
export class DashboardError extends SpateError {
  override readonly code = 'SPATE_DASHBOARD';
  override name = 'DashboardError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
