// Shared by the lab tests: a request helper on one undici Agent per test file.
import { Agent, request } from 'undici';
import type { VirtualClock } from '../../src/testing/virtual-clock.ts';

export interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function client(): { get: (url: string, init?: Init) => Promise<Got>; agent: Agent } {
  const agent = new Agent({ keepAliveTimeout: 1000 });
  const get = async (url: string, init: Init = {}): Promise<Got> => {
    const res = await request(url, { dispatcher: agent, ...init });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
  };
  return { get, agent };
}

export type Init = NonNullable<Parameters<typeof request>[1]>;

/** Turns the event loop until `clock` holds `n` pending timers (the server reached its wait). */
export async function timersAt(clock: VirtualClock, n: number): Promise<void> {
  for (let i = 0; clock.pendingTimers < n; i++) {
    if (i > 10_000) throw new Error(`expected ${n} pending timers, have ${clock.pendingTimers}`);
    await new Promise((r) => setImmediate(r));
  }
}

export function json(got: Got): unknown {
  return JSON.parse(got.body.toString('utf8'));
}
