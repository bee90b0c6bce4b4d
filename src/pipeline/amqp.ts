// The broker transport on RabbitMQ (AMQP 0-9-1, amqplib). Design notes:
//
// - Client: amqplib, the field's standard, whose 2.x has connection recovery built in. Recovery
//   brings the connection back; spate re-creates everything on it each time (an "epoch"): the
//   topology (re-declare), the confirm channel, each worker's channel, prefetch and consumer.
// - Acks never cross connections: a delivery remembers its epoch; after a reconnect its tag means
//   nothing (RabbitMQ already requeued it), so its ack/nack is dropped, never sent on the new
//   channel ("unknown delivery tag" closes a channel). Its retry/dead-letter publish is skipped
//   too: the redelivered copy will decide.
// - Publisher confirms are the backpressure: `enqueue` resolves when the broker confirmed the
//   message; at most `maxUnconfirmed` in flight; `publish()` returning false waits for `drain`;
//   the producer also waits while the queue holds `maxQueued` ready messages.
// - Retries: a failed delivery is published to `<queue>.retry.<bucket>` with a per-message
//   expiration equal to the stage's backoff; the queue dead-letters it back to `<queue>`. Buckets
//   are powers of two in ms, so a short wait never queues behind a long one for more than 2×.
// - Dead letters: `<queue>.dlq`, the main queue's dead-letter exchange target. spate publishes
//   its own record (`x-spate-dead` header); anything rejected elsewhere arrives with `x-death`.
// - `consumer_timeout` (RabbitMQ's default 30 min) closes a channel whose delivery stays unacked
//   too long. A job is bounded below it (`consumerTimeout` − 5 s) and fails as a ConsumerTimeoutError.
import { randomUUID } from 'node:crypto';
import { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type GetMessage, type RecoveringChannelModel, connect } from 'amqplib';
import { ClosedError, InvalidArgumentError, sleep } from '../core/index.ts';
import { checkInteger } from '../core/validate.ts';
import { ConsumerTimeoutError } from './errors.ts';
import {
  type AnyStage, type Broker, type BrokerDeadLetter, type BrokerOptions, type DeadLetters, type EnqueueOptions, type JobData, type Producer,
  type Worker, type WorkerEvent, type WorkerOptions, type WorkerStats, attemptOnce, brokerSettings, enqueueEach, retryDelay, workerSettings,
} from './broker.ts';
import { type DeadLetter, deadLetter } from './dead-letter.ts';

/** Options of a RabbitMQ (AMQP 0-9-1) broker: the common ones and RabbitMQ's own. */
export interface AmqpOptions extends BrokerOptions {
  /** Published messages awaiting the broker's confirm, per producer. @default 1000 */
  maxUnconfirmed?: number | undefined;
  /** The server's `consumer_timeout` in ms; jobs are stopped 5 s before it. @default 1_800_000 (RabbitMQ's default) */
  consumerTimeout?: number | undefined;
}

const ATTEMPT = 'x-spate-attempt';
const DEAD = 'x-spate-dead';

interface Epoch {
  readonly n: number;
  readonly model: ChannelModel;
  readonly pub: ConfirmChannel;
  readonly buckets: Set<number>;
}

interface Consumer {
  attach(epoch: Epoch): Promise<void>;
}

function bucketOf(delay: number): number {
  return delay <= 1 ? 1 : 2 ** Math.ceil(Math.log2(delay));
}

export class AmqpBroker implements Broker {
  readonly kind = 'amqp' as const;
  readonly #queue: string;
  readonly #maxQueued: number;
  readonly #batch: number;
  readonly #maxUnconfirmed: number;
  readonly #consumerTimeout: number;
  #conn: RecoveringChannelModel | undefined;
  #epoch: Epoch | undefined;
  #epochWaiters: (() => void)[] = [];
  #epochs = 0;
  readonly #consumers = new Set<Consumer>();
  readonly #workers = new Set<Worker>();
  readonly #producers = new Set<AmqpProducer<unknown>>();
  #closed: Promise<void> | undefined;
  #draining: Promise<void> | undefined;

  private constructor(options: AmqpOptions) {
    const s = brokerSettings(options);
    this.#queue = s.queue;
    this.#maxQueued = s.maxQueued;
    this.#batch = s.batch;
    this.#maxUnconfirmed = checkInteger('maxUnconfirmed', options.maxUnconfirmed ?? 1000, 1);
    this.#consumerTimeout = checkInteger('consumerTimeout', options.consumerTimeout ?? 1_800_000, 10_000);
  }

  get queueName(): string {
    return this.#queue;
  }

  /** Connects to RabbitMQ at `url` (amqp://user:pass@host:port/vhost); reconnects on its own after that. */
  static async connect(url: string, options: AmqpOptions): Promise<AmqpBroker> {
    const broker = new AmqpBroker(options);
    broker.#conn = await connect(url, {
      recovery: { initialMaxRetries: 2, maxDelay: 5000, setup: (model: ChannelModel) => broker.#setup(model) },
    });
    await broker.#ready();
    return broker;
  }

  async #setup(model: ChannelModel): Promise<void> {
    const pub = await model.createConfirmChannel();
    await this.#declare(pub);
    const epoch: Epoch = { n: ++this.#epochs, model, pub, buckets: new Set() };
    this.#epoch = epoch;
    model.once('close', () => {
      if (this.#epoch === epoch) this.#epoch = undefined;
    });
    // A channel closed by the broker (consumer_timeout, a precondition) takes the connection with
    // it, so recovery rebuilds one consistent epoch instead of half of one.
    pub.on('close', () => void model.close().catch(() => {}));
    pub.on('error', () => {});
    for (const c of this.#consumers) await c.attach(epoch);
    for (const resolve of this.#epochWaiters.splice(0)) resolve();
  }

  async #declare(ch: Channel): Promise<void> {
    const q = this.#queue;
    await ch.assertQueue(`${q}.dlq`, { durable: true });
    await ch.assertQueue(q, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': `${q}.dlq` } });
  }

  /** The current epoch, waiting for a reconnect if there is none. */
  async #ready(): Promise<Epoch> {
    for (;;) {
      if (this.#closed) throw new ClosedError('The broker is closed');
      if (this.#epoch) return this.#epoch;
      await new Promise<void>((resolve) => this.#epochWaiters.push(resolve));
    }
  }

  /** The current epoch if it is `epoch` (an ack or a publish for `epoch` still makes sense). */
  #current(epoch: Epoch): boolean {
    return this.#epoch === epoch;
  }

  /** Publishes with confirm on the current epoch, again on the next one if the connection drops. */
  async publish(queue: string, body: Buffer, props: { headers?: Record<string, unknown>; messageId?: string; expiration?: string }): Promise<void> {
    for (let tries = 0; ; tries++) {
      const epoch = await this.#ready();
      try {
        if (this.#draining) await this.#draining;
        await new Promise<void>((resolve, reject) => {
          const ok = epoch.pub.sendToQueue(queue, body, { persistent: true, ...props }, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
          // Past amqplib's write buffer: every publisher waits for 'drain' (or the epoch's end).
          if (!ok && !this.#draining) {
            this.#draining = new Promise<void>((done) => {
              const end = (): void => {
                this.#draining = undefined;
                done();
              };
              epoch.pub.once('drain', end);
              epoch.pub.once('close', end);
            });
          }
        });
        return;
      } catch (error) {
        if (tries >= 5 || this.#closed) throw error;
        if (this.#current(epoch)) await sleep(50 * 2 ** tries);
      }
    }
  }

  async #retryQueue(epoch: Epoch, delay: number): Promise<string> {
    const bucket = bucketOf(delay);
    const name = `${this.#queue}.retry.${bucket}`;
    if (!epoch.buckets.has(bucket)) {
      await epoch.pub.assertQueue(name, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': this.#queue } });
      epoch.buckets.add(bucket);
    }
    return name;
  }

  producer<I>(): Producer<I> {
    const p = new AmqpProducer<I>(this, this.#maxQueued, this.#batch, this.#maxUnconfirmed);
    this.#producers.add(p as AmqpProducer<unknown>);
    return p;
  }

  async depth(): Promise<number> {
    const epoch = await this.#ready();
    return (await epoch.pub.checkQueue(this.#queue)).messageCount;
  }

  /** Closes the current connection as if the network dropped it; recovery reconnects. */
  async reconnect(): Promise<void> {
    const epoch = await this.#ready();
    await epoch.model.close().catch(() => {});
  }

  async worker(stage: AnyStage, options: WorkerOptions = {}): Promise<Worker> {
    const { concurrency, grace } = workerSettings(stage, options);
    const stats: WorkerStats = { done: 0, retried: 0, dead: 0, fenced: 0, inFlight: 0, concurrency };
    const emit = (event: WorkerEvent): void => options.onEvent?.(event);
    const limit = this.#consumerTimeout - 5000;
    const inFlight = new Map<ConsumeMessage, { controller: AbortController; done: Promise<void>; started: number }>();
    // One sweep for the consumer_timeout bound instead of a timer per job (the hot path stays timer-free).
    const sweep = setInterval(() => {
      const now = Date.now();
      for (const f of inFlight.values()) {
        if (now - f.started > limit && !f.controller.signal.aborted) {
          f.controller.abort(new ConsumerTimeoutError(`Job ran past ${limit} ms, the limit below RabbitMQ's consumer_timeout (${this.#consumerTimeout} ms); set the stage's timeout lower or raise consumer_timeout`));
        }
      }
    }, Math.min(1000, limit));
    sweep.unref();
    let ch: Channel | undefined;
    let chEpoch: Epoch | undefined;
    let tag: string | undefined;
    let stopping = false;
    const queue = this.#queue;

    const handle = async (msg: ConsumeMessage, channel: Channel, epoch: Epoch, signal: AbortSignal): Promise<void> => {
      const data = JSON.parse(msg.content.toString()) as JobData;
      const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
      const attempt = Number(headers[ATTEMPT] ?? 0) + 1;
      const settle = (how: 'ack' | 'requeue'): void => {
        // Acks never cross connections: a delivery of an older epoch was requeued by the broker.
        if (!this.#current(epoch) || ch !== channel) return;
        try {
          if (how === 'ack') channel.ack(msg);
          else channel.nack(msg, false, true);
        } catch {
          // The channel closed under us: the broker requeues the delivery.
        }
      };
      const results = await Promise.all(data.items.map(async (item, i): Promise<{ error: unknown } | undefined> => {
        try {
          const outputs = await attemptOnce(stage, item, attempt, signal);
          if (!this.#current(epoch)) return undefined;
          await options.sink?.(outputs, { key: data.keys[i]!, item, attempt });
          return undefined;
        } catch (error) {
          return { error: signal.reason instanceof ConsumerTimeoutError ? signal.reason : error };
        }
      }));
      if (signal.aborted && !(signal.reason instanceof ConsumerTimeoutError)) return settle('requeue');
      if (!this.#current(epoch)) {
        stats.fenced++;
        emit({ type: 'fenced', key: data.keys[0]!, attempt });
        return;
      }
      for (let i = 0; i < results.length; i++) {
        const r = results[i];
        const key = data.keys[i]!;
        if (r === undefined) {
          stats.done++;
          emit({ type: 'done', key, attempt });
          continue;
        }
        const delay = retryDelay(stage, r.error, attempt);
        const body = Buffer.from(JSON.stringify({ items: [data.items[i]], keys: [key], stage: stage.name } satisfies JobData));
        if (delay !== undefined) {
          stats.retried++;
          emit({ type: 'retry', key, attempt, delay, error: r.error });
          await this.publish(await this.#retryQueue(epoch, delay), body, { headers: { [ATTEMPT]: attempt }, messageId: key, expiration: String(delay) });
        } else {
          const record = deadLetter(data.items[i], stage.name, r.error, attempt, Date.now(), key);
          await this.publish(`${this.#queue}.dlq`, body, { headers: { [ATTEMPT]: attempt, [DEAD]: JSON.stringify(record) }, messageId: randomUUID() });
          // Reported once the dead letter is in the broker (readable by `deadLetters().list()`).
          stats.dead++;
          emit({ type: 'dead', key, attempt, error: r.error });
        }
      }
      settle('ack');
    };

    const onMessage = (msg: ConsumeMessage | null, channel: Channel, epoch: Epoch): void => {
      if (msg === null) return; // cancelled by the broker (queue deleted): recovery re-consumes
      const controller = new AbortController();
      stats.inFlight++;
      const done = handle(msg, channel, epoch, controller.signal)
        .catch((error: unknown) => emit({ type: 'error', error }))
        .finally(() => {
          stats.inFlight--;
          inFlight.delete(msg);
        });
      inFlight.set(msg, { controller, done, started: Date.now() });
    };

    const consumer: Consumer = {
      async attach(epoch: Epoch) {
        if (stopping) return;
        const channel = await epoch.model.createChannel();
        channel.on('error', () => {});
        channel.on('close', () => {
          if (ch === channel) void epoch.model.close().catch(() => {});
        });
        await channel.prefetch(stats.concurrency);
        ch = channel;
        chEpoch = epoch;
        tag = (await channel.consume(queue, (msg) => onMessage(msg, channel, epoch), { noAck: false })).consumerTag;
      },
    };
    this.#consumers.add(consumer);
    await consumer.attach(await this.#ready());

    let closing: Promise<void> | undefined;
    const w: Worker = {
      setConcurrency(n: number) {
        stats.concurrency = checkInteger('concurrency', n, 1);
        // basic.qos applies to consumers started after it: re-consume on the same channel, so the
        // deliveries in flight keep their tags.
        const channel = ch;
        const epoch = chEpoch;
        if (!channel || !epoch || stopping) return;
        void (async () => {
          await channel.prefetch(n);
          if (tag) await channel.cancel(tag);
          tag = (await channel.consume(queue, (msg) => onMessage(msg, channel, epoch), { noAck: false })).consumerTag;
        })().catch((error: unknown) => emit({ type: 'error', error }));
      },
      stats: () => ({ ...stats }),
      close: () => {
        closing ??= (async () => {
          stopping = true;
          clearInterval(sweep);
          this.#consumers.delete(consumer);
          if (ch && tag) await ch.cancel(tag).catch(() => {});
          const all = Promise.all([...inFlight.values()].map((f) => f.done));
          if (Number.isFinite(grace)) {
            const timer = setTimeout(() => inFlight.forEach((f) => f.controller.abort(new ClosedError('Worker shutting down'))), grace);
            await all;
            clearTimeout(timer);
          } else {
            await all;
          }
          const channel = ch;
          ch = undefined;
          await channel?.close().catch(() => {});
          this.#workers.delete(w);
        })();
        return closing;
      },
      get closed() {
        return closing ?? Promise.resolve();
      },
    };
    this.#workers.add(w);
    return w;
  }

  deadLetters(): DeadLetters {
    const dlq = `${this.#queue}.dlq`;
    const toLetter = (msg: { content: Buffer; properties: { headers?: Record<string, unknown> | undefined; messageId?: unknown } }): BrokerDeadLetter => {
      const headers = msg.properties.headers ?? {};
      const id = String(msg.properties.messageId ?? '');
      if (typeof headers[DEAD] === 'string') return { ...(JSON.parse(headers[DEAD]) as DeadLetter), id };
      const data = JSON.parse(msg.content.toString()) as JobData;
      const death = (headers['x-death'] as { reason?: string; count?: number }[] | undefined)?.[0];
      return { ...deadLetter(data.items.length === 1 ? data.items[0] : data.items, data.stage ?? this.#queue, { name: 'Rejected', message: death?.reason ?? 'rejected' }, Number(headers[ATTEMPT] ?? death?.count ?? 1), Date.now(), data.keys[0]), id };
    };
    // Reads without consuming: get with manual ack, then close the channel (RabbitMQ requeues in order).
    const scan = async (fn: (msg: GetMessage, ch: Channel) => Promise<void>, limit = Infinity): Promise<void> => {
      const epoch = await this.#ready();
      const ch = await epoch.model.createChannel();
      try {
        for (let n = 0; n < limit; n++) {
          const msg = await ch.get(dlq, { noAck: false });
          if (msg === false) break;
          await fn(msg, ch);
        }
      } finally {
        await ch.close().catch(() => {});
      }
    };
    return {
      list: async ({ limit = 1000 } = {}) => {
        const out: BrokerDeadLetter[] = [];
        await scan(async (msg) => void out.push(toLetter(msg as never)), limit);
        return out;
      },
      replay: async ({ ids } = {}) => {
        let n = 0;
        await scan(async (msg, ch) => {
          const letter = toLetter(msg as never);
          if (ids && !ids.includes(letter.id)) return;
          const data = JSON.parse(msg.content.toString()) as JobData;
          await this.publish(this.#queue, msg.content, { headers: {}, ...(data.keys.length === 1 ? { messageId: data.keys[0]! } : {}) });
          ch.ack(msg);
          n++;
        });
        return n;
      },
      purge: async ({ ids } = {}) => {
        if (!ids) {
          const epoch = await this.#ready();
          return (await epoch.pub.purgeQueue(dlq)).messageCount;
        }
        let n = 0;
        await scan(async (msg, ch) => {
          if (!ids.includes(toLetter(msg as never).id)) return;
          ch.ack(msg);
          n++;
        });
        return n;
      },
    };
  }

  async destroy(): Promise<void> {
    const epoch = await this.#ready();
    const names = [this.#queue, `${this.#queue}.dlq`];
    for (let k = 0; k <= 25; k++) names.push(`${this.#queue}.retry.${2 ** k}`);
    for (const name of names) await epoch.pub.deleteQueue(name);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#producers].map((p) => p.flush().catch(() => {})));
      await Promise.all([...this.#workers].map((w) => w.close()));
      for (const resolve of this.#epochWaiters.splice(0)) resolve();
      await this.#conn?.close().catch(() => {});
    })();
    return this.#closed;
  }
}

class AmqpProducer<I> implements Producer<I> {
  readonly #broker: AmqpBroker;
  readonly #maxQueued: number;
  readonly #batch: number;
  readonly #maxUnconfirmed: number;
  readonly #checkEvery: number;
  #sinceCheck = Infinity;
  // Serialises enqueues: the bound check and the push happen in call order, and `flush` sees every earlier push.
  #gate: Promise<void> = Promise.resolve();
  #items: unknown[] = [];
  #keys: string[] = [];
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  readonly #unconfirmed = new Set<Promise<void>>();

  constructor(broker: AmqpBroker, maxQueued: number, batch: number, maxUnconfirmed: number) {
    if (!(broker instanceof AmqpBroker)) throw new InvalidArgumentError('AmqpProducer needs an AmqpBroker');
    this.#broker = broker;
    this.#maxQueued = maxQueued;
    this.#batch = batch;
    this.#maxUnconfirmed = maxUnconfirmed;
    this.#checkEvery = Math.max(1, Math.floor(maxQueued / 10));
  }

  async #room(signal: AbortSignal | undefined): Promise<void> {
    while (this.#unconfirmed.size >= this.#maxUnconfirmed) await Promise.race(this.#unconfirmed).catch(() => {});
    if (this.#sinceCheck < this.#checkEvery) return;
    for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
      if ((await this.#broker.depth()) + this.#pendingItems() < this.#maxQueued) break;
      await sleep(wait, { signal });
    }
    this.#sinceCheck = 0;
  }

  #pendingItems(): number {
    return this.#unconfirmed.size * this.#batch + this.#items.length;
  }

  async enqueue(item: I, options: EnqueueOptions = {}): Promise<void> {
    let done: Promise<void> | undefined;
    const turn = this.#gate.then(async () => {
      await this.#room(options.signal);
      this.#sinceCheck++;
      done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
      this.#items.push(item);
      this.#keys.push(options.key ?? randomUUID());
      if (this.#items.length >= this.#batch) this.#send();
    });
    this.#gate = turn.catch(() => {});
    await turn;
    return done;
  }

  enqueueAll(items: Iterable<I> | AsyncIterable<I>, options: { key?: ((item: I, index: number) => string) | undefined; signal?: AbortSignal | undefined } = {}): Promise<number> {
    return enqueueEach(this, items, options, this.#maxUnconfirmed * this.#batch);
  }

  #send(): void {
    if (this.#items.length === 0) return;
    const data: JobData = { items: this.#items, keys: this.#keys };
    const waiters = this.#waiters;
    this.#items = [];
    this.#keys = [];
    this.#waiters = [];
    const props = data.keys.length === 1 ? { messageId: data.keys[0]! } : {};
    const p = this.#broker.publish(this.#broker.queueName, Buffer.from(JSON.stringify(data)), props).then(
      () => waiters.forEach((w) => w.resolve()),
      (error: unknown) => waiters.forEach((w) => w.reject(error)),
    );
    this.#unconfirmed.add(p);
    void p.finally(() => this.#unconfirmed.delete(p));
  }

  async flush(): Promise<void> {
    await this.#gate;
    this.#send();
    await Promise.all(this.#unconfirmed);
  }
}
