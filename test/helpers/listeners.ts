// Abort-listener bookkeeping for hygiene tests: how many listeners a signal was given and had
// taken away, and how many it holds now.
import { getEventListeners } from 'node:events';

/** Counts every addEventListener / removeEventListener call on `signal` from now on. */
export function countListeners(signal: AbortSignal): { added: number; removed: number } {
  const counts = { added: 0, removed: 0 };
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => (counts.added++, add(...args))) as typeof add;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => (counts.removed++, remove(...args))) as typeof remove;
  return counts;
}

/** The abort listeners `signal` holds right now. */
export function liveListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}
