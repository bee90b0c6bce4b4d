// The control rule for a stage's workers (docs/pipeline.md, "Dynamic workers"). Pure: it sees one
// observation per interval and answers with a worker count, so tests drive it with a VirtualClock.
//
// Each interval the stage reports its input-queue fill (depth / buffer), its utilisation (the
// mean fraction of workers inside the user's function — time blocked on a full downstream does not
// count, so a slow next stage never makes this one grow) and its completions.
//
//   up    when fill ≥ 0.5 and utilisation ≥ 0.85: n → min(max, n + max(1, ⌊n/2⌋)).
//         If the last step up did not raise throughput by ≥ 5 %, the stage is at a ceiling
//         (a server, a rate limit): hold at n and do not try again for 4 cooldowns.
//   down  when fill < 0.1 and the busy workers would fit in fewer with 30 % headroom:
//         n → max(min, ⌈busy / 0.7⌉).
//   hold  otherwise, and within `cooldown` ms of a step in the other direction.
//
// Hysteresis: after a step down the utilisation is about 0.7 < 0.85, so it does not go straight
// back up; after a step up the queue must drain below 0.1 before any step down.

/** What a stage reports to its autoscaler once per interval. */
export interface Observation {
  /** Items waiting in the stage's input / the buffer's capacity, in [0, 1]. */
  readonly fill: number;
  /** Mean workers inside the user's function over the interval / workers, in [0, 1]. */
  readonly utilisation: number;
  /** Items finished in the interval. */
  readonly completed: number;
}

/** The worker range and cooldown (ms) of an autoscaled stage (its checked `concurrency` options). */
export interface AutoscalerSettings {
  readonly min: number;
  readonly max: number;
  readonly initial: number;
  readonly cooldown: number;
}

/**
 * Decides a stage's worker count from one observation per interval, by the rule described at the
 * top of this file: grow by half while the queue is full and the workers busy, shrink to fit when it
 * is empty, and hold at a ceiling that more workers did not raise. Pure and clock-free: the caller
 * passes the time.
 */
export class Autoscaler {
  readonly #s: AutoscalerSettings;
  #workers: number;
  #lastUp = -Infinity;
  #lastDown = -Infinity;
  #before: number | undefined;
  #probing = false;
  #ceilingUntil = -Infinity;

  constructor(settings: AutoscalerSettings) {
    this.#s = settings;
    this.#workers = settings.initial;
  }

  /** The worker count now (`initial` before the first observation). */
  get workers(): number {
    return this.#workers;
  }

  /** Takes one interval's observation at time `now` (ms) and returns the worker count to run. */
  observe(o: Observation, now: number): number {
    const { min, max, cooldown } = this.#s;
    const n = this.#workers;
    if (this.#probing) {
      this.#probing = false;
      if (this.#before !== undefined && o.completed < this.#before * 1.05) this.#ceilingUntil = now + 4 * cooldown;
    }
    if (o.fill >= 0.5 && o.utilisation >= 0.85) {
      if (n < max && now - this.#lastDown >= cooldown && now >= this.#ceilingUntil) {
        this.#workers = Math.min(max, n + Math.max(1, Math.floor(n / 2)));
        this.#lastUp = now;
        this.#before = o.completed;
        this.#probing = true;
      }
    } else if (o.fill < 0.1 && n > min && now - this.#lastUp >= cooldown) {
      const needed = Math.max(min, Math.ceil((o.utilisation * n) / 0.7));
      if (needed < n) {
        this.#workers = needed;
        this.#lastDown = now;
      }
    }
    return this.#workers;
  }
}
