// Samples a metrics source once per interval and keeps the frames: the dashboard streams them,
// the HTML report draws them all at the end.
import { type Clock, type Timer, getClock } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { checkInteger } from '../core/validate.ts';
import type { MetricsRegistry } from '../observe/registry.ts';
import { type Frame, FrameBuilder } from './frames.ts';
import { type Sample, sampleRegistry, sampleUrl } from './sample.ts';

/** Options of {@link Recorder}. Give `registry` or `url`. */
export interface RecorderOptions {
  /** The registry of this process to read. */
  registry?: MetricsRegistry | undefined;
  /** A Prometheus `/metrics` endpoint to read instead. */
  url?: string | undefined;
  /** How often a frame is taken, in ms. @default 1000 */
  intervalMs?: number | undefined;
  /** Frames kept; past it, every other old frame is dropped (the run keeps its shape). @default 3600 */
  maxFrames?: number | undefined;
  clock?: Clock | undefined;
}

/**
 * Takes a frame every `intervalMs` from a registry or a `/metrics` URL.
 *
 * @example
 * const recorder = new Recorder({ registry }).start();
 * recorder.onFrame((frame) => console.log(frame.rates));
 * await job();
 * await recorder.stop(); // one last frame
 * writeHtmlReport('report.html', { title: 'job', frames: recorder.frames });
 */
export class Recorder {
  readonly #read: () => Promise<Sample>;
  readonly #intervalMs: number;
  readonly #maxFrames: number;
  readonly #clock: Clock;
  readonly #builder = new FrameBuilder();
  readonly #listeners = new Set<(frame: Frame) => void>();
  readonly #frames: Frame[] = [];
  #timer: Timer | undefined;
  #busy: Promise<Frame | undefined> | undefined;
  #running = false;
  /** The last reading error (a URL that stopped answering), cleared by a good reading. */
  lastError: Error | undefined;

  constructor(options: RecorderOptions) {
    const { registry, url } = options;
    if ((registry === undefined) === (url === undefined)) throw new InvalidArgumentError('Expected exactly one of `registry` and `url`');
    if (url !== undefined && !/^https?:\/\//.test(url)) throw new InvalidArgumentError(`Expected \`url\` to be an http(s) URL, got ${JSON.stringify(url)}`);
    this.#intervalMs = checkInteger('intervalMs', options.intervalMs ?? 1000, 50);
    this.#maxFrames = checkInteger('maxFrames', options.maxFrames ?? 3600, 16);
    this.#clock = options.clock ?? getClock();
    this.#read = registry !== undefined ? () => Promise.resolve(sampleRegistry(registry)) : () => sampleUrl(url!);
  }

  /** Every frame so far, oldest first. */
  get frames(): readonly Frame[] {
    return this.#frames;
  }

  /** Calls `fn` with each new frame; returns a function that stops it. */
  onFrame(fn: (frame: Frame) => void): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }

  /** Takes the first frame now and one every interval. Idempotent. */
  start(): this {
    if (this.#running) return this;
    this.#running = true;
    void this.tick();
    this.#schedule();
    return this;
  }

  #schedule(): void {
    const fire = () => {
      if (!this.#running) return;
      void this.tick();
      this.#schedule();
    };
    if (this.#clock === getClock()) {
      // The real clock: unref'd, so a job that ends (or throws) is not held open by its dashboard.
      const handle = setTimeout(fire, this.#intervalMs).unref();
      this.#timer = { clear: () => clearTimeout(handle) };
    } else {
      this.#timer = this.#clock.setTimer(this.#intervalMs, fire);
    }
  }

  /** Takes a frame now (skipped while the previous reading is still pending). */
  tick(): Promise<Frame | undefined> {
    this.#busy ??= this.#take().finally(() => (this.#busy = undefined));
    return this.#busy;
  }

  async #take(): Promise<Frame | undefined> {
    let sample: Sample;
    try {
      sample = await this.#read();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error as Error;
      return undefined;
    }
    const frame = this.#builder.next(sample);
    this.#frames.push(frame);
    if (this.#frames.length > this.#maxFrames) {
      // Thin the older half so a long run still fits, drawn at a coarser step.
      const half = this.#frames.length >> 1;
      const kept = this.#frames.slice(0, half).filter((_f, i) => i % 2 === 0);
      this.#frames.splice(0, half, ...kept);
    }
    for (const fn of this.#listeners) fn(frame);
    return frame;
  }

  /** Stops the timer and takes one last frame (so the figures match the job's end). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#timer?.clear();
    await this.#busy;
    await this.tick();
  }
}
