// Fault injection chosen by query string, on any endpoint.
//
// Determinism: every request that carries a fault parameter (or `key=`) belongs to a scope —
// the value of `key=` if given, else the request path — and gets that scope's next sequence
// number n (0, 1, 2, …; one counter per scope per server). A probabilistic fault `f` with
// probability p fires when uniform(hash(seed, f, scope), n) < p. So the pattern of a scope
// depends only on (seed, fault, scope, n): two servers with the same seed that receive the same
// requests in the same order answer them the same way, and `fail_first=N` fails exactly the
// first N requests of its scope.
import { hash32, uniform } from './rng.ts';

/** What to do to the body once the status and headers are out. */
export interface BodyFaults {
  /** Declare the full Content-Length but send only half the body, then close. */
  short: boolean;
  /** Pause this long (ms) when `stallAt` bytes are out. */
  stall: number;
  /** Byte of this response's body at which the stall happens (default: half). */
  stallAt: number;
  /** Destroy the connection after this many body bytes (-1: never). */
  failAt: number;
  /** Throttle to this many bytes per second (0: unthrottled). */
  rate: number;
}

/** The decision for one request. */
export interface FaultPlan {
  action: 'none' | 'reset' | 'hang' | 'fail' | 'throttle429';
  status: number;
  retryAfter: string | undefined;
  /** Wait this long (ms) before answering. */
  latency: number;
  body: BodyFaults | undefined;
}

/** Query parameters that make a request part of a fault scope. */
export const FAULT_PARAMS: readonly string[] = [
  'key', 'fail', 'fail_first', 'fail_status', 'status429', 'hang', 'reset', 'short', 'stall', 'stall_at',
  'fail_at', 'rate', 'latency', 'fault_first', 'retry_after',
];

const MAX_SCOPES = 100_000;
const MAX_LATENCY = 60_000;

function num(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  const v = Number(raw);
  return Number.isFinite(v) ? v : fallback;
}

/** Per-server fault state: the sequence counter of each scope. */
export class FaultState {
  readonly #seed: number;
  readonly #counters = new Map<string, number>();

  constructor(seed: number) {
    this.#seed = seed;
  }

  /** Number of scopes seen so far. */
  get scopes(): number {
    return this.#counters.size;
  }

  /** The next sequence number of `scope` (0, 1, 2, …). */
  next(scope: string): number {
    const n = this.#counters.get(scope) ?? 0;
    // A bound on memory for long-running labs; a reset only restarts the sequences.
    if (n === 0 && this.#counters.size >= MAX_SCOPES) this.#counters.clear();
    this.#counters.set(scope, n + 1);
    return n;
  }

  #fires(q: URLSearchParams, name: string, scope: string, n: number): boolean {
    const p = num(q, name, 0);
    if (p <= 0) return false;
    if (p >= 1) return true;
    return uniform(hash32(`${name}\0${scope}`, this.#seed), n) < p;
  }

  /**
   * The plan for a request with query `q` on `path`, or undefined when it asks for no fault.
   * Advances the scope's counter.
   */
  plan(q: URLSearchParams, path: string): FaultPlan | undefined {
    let any = false;
    for (const name of FAULT_PARAMS) {
      if (q.has(name)) {
        any = true;
        break;
      }
    }
    if (!any) return undefined;
    const scope = q.get('key') ?? path;
    const n = this.next(scope);
    const retryAfter = q.get('retry_after') ?? undefined;
    const plan: FaultPlan = {
      action: 'none',
      status: 200,
      retryAfter,
      latency: Math.min(Math.max(num(q, 'latency', 0), 0), MAX_LATENCY),
      body: undefined,
    };
    if (n < num(q, 'fail_first', 0)) {
      plan.action = 'fail';
      plan.status = failStatus(q);
      return plan;
    }
    // `fault_first=N`: the probabilistic and body faults below touch only the first N requests.
    if (n >= num(q, 'fault_first', Infinity)) return plan;
    if (this.#fires(q, 'reset', scope, n)) plan.action = 'reset';
    else if (this.#fires(q, 'hang', scope, n)) plan.action = 'hang';
    else if (this.#fires(q, 'fail', scope, n)) {
      plan.action = 'fail';
      plan.status = failStatus(q);
    } else if (this.#fires(q, 'status429', scope, n)) {
      plan.action = 'throttle429';
      plan.status = 429;
      plan.retryAfter = retryAfter ?? '1';
    }
    if (plan.action !== 'none') return plan;
    const short = this.#fires(q, 'short', scope, n);
    const stall = Math.min(Math.max(num(q, 'stall', 0), 0), MAX_LATENCY);
    const failAt = Math.floor(num(q, 'fail_at', -1));
    const rate = Math.max(num(q, 'rate', 0), 0);
    if (short || stall > 0 || failAt >= 0 || rate > 0) {
      plan.body = { short, stall, stallAt: Math.floor(num(q, 'stall_at', -1)), failAt, rate };
    }
    return plan;
  }
}

function failStatus(q: URLSearchParams): number {
  const s = Math.floor(num(q, 'fail_status', 500));
  return s >= 400 && s <= 599 ? s : 500;
}
