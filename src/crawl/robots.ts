// robots.txt: fetched once per origin, parsed by `robots-parser`, cached.
//
// What an answer means follows Google's documented rules (RFC 9309 §2.3.1):
//   2xx                → the rules in the file (at most 500 KiB read);
//   4xx (but 429)      → no rules: everything is allowed;
//   429, 5xx, network  → "unreachable": everything is disallowed, and the file is fetched again
//                        once `errorTtlMs` has passed (the crawler fails those pages meanwhile).
// Redirects are followed (up to 5). A successful answer is kept for `ttlMs` (a day by default,
// which is longer than almost every crawl). Concurrent asks for one origin share one fetch.
import type { Readable } from 'node:stream';
import robotsParserModule from 'robots-parser';
import { type Clock, getClock } from '../core/clock.ts';
import type { Session } from '../http/session.ts';

// robots-parser is CommonJS (`module.exports = fn`) but its typings say `export default`.
const robotsParser = robotsParserModule as unknown as typeof robotsParserModule.default;

/** The default user agent of the crawler (its robots.txt product token is `spate-crawler`). */
export const DEFAULT_USER_AGENT = 'spate-crawler/0.1 (+local)';

/** What fetching a host's robots.txt gave. */
export type RobotsStatus = 'ok' | 'missing' | 'unreachable';

/** The rules of one origin. */
export interface RobotsRules {
  readonly status: RobotsStatus;
  /** The HTTP status of robots.txt, or undefined after a network error. */
  readonly httpStatus: number | undefined;
  /** Seconds between requests asked for by `Crawl-delay` for our user agent, if any. */
  readonly crawlDelay: number | undefined;
  /** `Sitemap:` lines. */
  readonly sitemaps: readonly string[];
  /** May the crawler fetch `url` (a URL of this origin)? */
  allowed(url: string): boolean;
}

/** Options of `RobotsCache`. */
export interface RobotsCacheOptions {
  /** The session robots.txt is fetched with. */
  session: Session;
  /** Matched against `User-agent:` lines by its product token (before the `/`). @default DEFAULT_USER_AGENT */
  userAgent?: string | undefined;
  /** How long a fetched robots.txt is trusted, in ms. @default 86_400_000 */
  ttlMs?: number | undefined;
  /** How long an unreachable robots.txt blocks its origin before it is fetched again, in ms. @default 60_000 */
  errorTtlMs?: number | undefined;
  clock?: Clock | undefined;
}

interface Entry {
  rules: Promise<RobotsRules>;
  expires: number;
}

/** The most of a robots.txt that is read (500 KiB); the rest is ignored. */
export const MAX_ROBOTS_BYTES = 500 * 1024;

const ALLOW_ALL = (status: number): RobotsRules => ({ status: 'missing', httpStatus: status, crawlDelay: undefined, sitemaps: [], allowed: () => true });

/**
 * A cache of robots.txt rules per origin.
 *
 * @example
 * const robots = new RobotsCache({ session });
 * if ((await robots.get('http://127.0.0.1:8080')).allowed(url)) …
 */
export class RobotsCache {
  readonly #session: Session;
  readonly #userAgent: string;
  readonly #ttl: number;
  readonly #errorTtl: number;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();

  constructor(options: RobotsCacheOptions) {
    this.#session = options.session;
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.#ttl = options.ttlMs ?? 86_400_000;
    this.#errorTtl = options.errorTtlMs ?? 60_000;
    this.#clock = options.clock ?? getClock();
  }

  /** The rules of `origin` (`http://host:port`), fetched the first time. */
  get(origin: string, options: { signal?: AbortSignal | undefined } = {}): Promise<RobotsRules> {
    const now = this.#clock.now();
    const entry = this.#entries.get(origin);
    if (entry !== undefined && entry.expires > now) return entry.rules;
    const fresh: Entry = { rules: this.#fetch(origin, options.signal), expires: Infinity };
    this.#entries.set(origin, fresh);
    fresh.rules.then(
      (rules) => {
        fresh.expires = this.#clock.now() + (rules.status === 'unreachable' ? this.#errorTtl : this.#ttl);
      },
      () => {
        // An aborted fetch is not an answer: the next ask fetches again.
        if (this.#entries.get(origin) === fresh) this.#entries.delete(origin);
      },
    );
    return fresh.rules;
  }

  async #fetch(origin: string, signal: AbortSignal | undefined): Promise<RobotsRules> {
    const url = `${origin}/robots.txt`;
    let status: number;
    let text: string;
    try {
      const res = await this.#session.get(url, { signal, throwOnStatus: false, maxRedirects: 5, stream: true });
      status = res.status;
      if (status >= 300) res.body.destroy();
      if (status >= 400 && status < 500 && status !== 429) return ALLOW_ALL(status);
      if (status >= 300) return unreachable(status);
      // A larger file is cut, not refused: its first 500 KiB are parsed (Google's rule).
      text = (await readPrefix(res.body, MAX_ROBOTS_BYTES)).toString('utf8');
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return unreachable(undefined);
    }
    return parseRobots(url, text, this.#userAgent, status);
  }
}

/**
 * The rules of a robots.txt body (`url`: where it was fetched; `userAgent`: matched by its
 * product token). Any text is accepted: lines that are not rules are ignored.
 *
 * @example
 * parseRobots('http://h/robots.txt', 'User-agent: *\nDisallow: /private/').allowed('http://h/private/x') // false
 */
export function parseRobots(url: string, text: string, userAgent = DEFAULT_USER_AGENT, httpStatus = 200): RobotsRules {
  const robot = robotsParser(url, text);
  const delay = robot.getCrawlDelay(userAgent);
  return {
    status: 'ok',
    httpStatus,
    crawlDelay: delay !== undefined && Number.isFinite(delay) && delay > 0 ? delay : undefined,
    sitemaps: robot.getSitemaps(),
    allowed: (target) => robot.isAllowed(target, userAgent) !== false,
  };
}

/** The first `limit` bytes of `body` (the rest is not read: the stream is destroyed). */
async function readPrefix(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      chunks.push(b.subarray(0, limit - size));
      size += Math.min(b.length, limit - size);
      if (size >= limit) break;
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks, size);
}

function unreachable(status: number | undefined): RobotsRules {
  return { status: 'unreachable', httpStatus: status, crawlDelay: undefined, sitemaps: [], allowed: () => false };
}
