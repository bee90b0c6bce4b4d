// What every route sees: the server's seed, clock, fault state and configuration.
import type { Clock } from '../core/clock.ts';
import type { FaultState } from './faults.ts';
import type { SiteSpec } from './site.ts';

/** Per-server state shared by the routes. */
export interface LabContext {
  readonly seed: number;
  readonly clock: Clock;
  readonly faults: FaultState;
  /** The site served at `/site/default/…`. */
  readonly site: SiteSpec;
  /** `Crawl-delay` (seconds) in `/robots.txt`, or undefined for none. */
  readonly crawlDelay: number | undefined;
  /** Users in the fake API: ids 1…users. */
  readonly users: number;
  /** Bodies computed once at start. */
  readonly bodies: {
    readonly json: Buffer;
    readonly health: Buffer;
    readonly gzip: Buffer;
    readonly deflate: Buffer;
    readonly brotli: Buffer;
  };
}
