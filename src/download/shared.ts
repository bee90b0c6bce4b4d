// A download job shared by several workers (processes or machines) through a work queue.
//
// Every worker adds the whole list to the job's queue (the URL is the unique key, so the list is
// registered once whoever reads it), then claims batches: each URL is claimed by one worker at a
// time, under a lease the queue renews while the worker lives. A batch is downloaded by an
// ordinary Downloader into this worker's directory (complete-or-absent files, Range resume, its
// local state), and the outcome — done, skipped (already in place here) or failed, with the
// result as output — is committed for the batch; a completion from a worker whose lease ran out
// and whose URL went to another worker is refused (and its file removed: the other worker's copy
// is the one that counts). A worker that dies loses nothing: its URLs come
// back when their leases run out. A worker ends when the queue is dry and nobody holds anything.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../core/sleep.ts';
import type { Settle, WorkInput, WorkItem, WorkQueue } from '../store/work-queue.ts';
import { Downloader, type DownloaderOptions, type DownloadResult } from './downloader.ts';
import { isListError, type ListEntry, type ListItem } from './list.ts';

/** A Downloader's options (without `resume`: the queue is the job's state) plus the shared queue and how it is polled. */
export interface SharedDownloadOptions extends Omit<DownloaderOptions, 'resume'> {
  /** The job's queue (e.g. a PostgresWorkQueue in the job's schema, owned by this worker). */
  queue: WorkQueue;
  /** URLs claimed at a time. @default 2 × concurrency */
  batch?: number | undefined;
  /** How often an idle worker looks for work while others hold URLs, in ms. @default 200 */
  pollMs?: number | undefined;
}

/** What this worker did (bytes it downloaded, wall-clock seconds), and where the whole job stands. */
export interface SharedDownloadSummary {
  /** Files this worker placed, found in place, or gave up on. */
  done: number;
  skipped: number;
  failed: number;
  /** Lines of the list that could not be read. */
  listErrors: number;
  /** Completions refused because this worker's lease had run out. */
  refused: number;
  bytes: number;
  seconds: number;
  /** The whole job, all workers: URLs finished (any outcome) and in total. */
  jobFinished: number;
  jobTotal: number;
  interrupted: boolean;
}

/**
 * Runs this worker's share of a shared download job.
 *
 * @example
 * const queue = await PostgresWorkQueue.open(client, { schema: 'spate_download_x', owner: 'w1' });
 * await runSharedDownload(parseList('urls.txt'), { queue, out: 'files' });
 */
export async function runSharedDownload(items: AsyncIterable<ListEntry> | Iterable<ListEntry>, options: SharedDownloadOptions): Promise<SharedDownloadSummary> {
  const { queue, signal } = options;
  const started = Date.now();
  const batchSize = options.batch ?? 2 * (options.concurrency ?? 8);
  const pollMs = options.pollMs ?? 200;
  const summary: SharedDownloadSummary = { done: 0, skipped: 0, failed: 0, listErrors: 0, refused: 0, bytes: 0, seconds: 0, jobFinished: 0, jobTotal: 0, interrupted: false };
  // Like a lone Downloader, the directory exists after the run even if other workers took every URL.
  await mkdir(options.out, { recursive: true });
  let chunk: WorkInput[] = [];
  for await (const entry of items) {
    if (signal?.aborted) break;
    if (isListError(entry)) {
      summary.listErrors++;
      continue;
    }
    chunk.push({ key: entry.url, group: originOf(entry.url), payload: JSON.stringify({ line: entry.line ?? null, name: entry.name, sha256: entry.sha256 }) });
    if (chunk.length >= 500) {
      await queue.add(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await queue.add(chunk);

  while (!signal?.aborted) {
    const claimed = await queue.claim(batchSize);
    if (claimed.length === 0) {
      const c = await queue.counts();
      if (c.queued === 0 && c.claimed === 0) break;
      try {
        await sleep(pollMs, { signal });
      } catch {
        break;
      }
      continue;
    }
    const results = new Map<string, DownloadResult>();
    const downloader = new Downloader({
      ...options,
      resume: true,
      onProgress: (r, stats) => {
        results.set(r.url, r);
        options.onProgress?.(r, stats);
      },
    });
    try {
      await downloader.run(claimed.map(toEntry));
    } catch (error) {
      if (!signal?.aborted) throw error;
    } finally {
      await downloader.close();
    }
    const settle: Settle[] = claimed.map((it: WorkItem): Settle => {
      const r = results.get(it.key);
      if (r === undefined) return { id: it.id, lease: it.lease, kind: 'release' };
      return { id: it.id, lease: it.lease, kind: 'complete', outcome: r.status, output: JSON.stringify({ ...r, worker: queue.owner }) };
    });
    const committed = await queue.commit({ settle });
    const refused = new Set(committed.refused);
    summary.refused += refused.size;
    for (const it of claimed) {
      const r = results.get(it.key);
      if (r === undefined) continue;
      if (refused.has(it.id)) {
        // Our lease ran out and the URL is another worker's now: its copy is the one that counts.
        if (r.status === 'done') await rm(join(options.out, r.name), { force: true });
        continue;
      }
      summary[r.status === 'done' ? 'done' : r.status === 'skipped' ? 'skipped' : 'failed']++;
      if (r.status === 'done') summary.bytes += r.bytes;
    }
  }
  summary.interrupted = signal?.aborted ?? false;
  const c = await queue.counts();
  summary.jobFinished = c.done + c.dead;
  summary.jobTotal = c.done + c.dead + c.queued + c.claimed;
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

function toEntry(it: WorkItem): ListItem {
  const p = JSON.parse(it.payload ?? '{}') as { line?: number | null; name?: string; sha256?: string };
  const entry: ListItem = { url: it.key };
  if (p.line != null) entry.line = p.line;
  if (p.name !== undefined) entry.name = p.name;
  if (p.sha256 !== undefined) entry.sha256 = p.sha256;
  return entry;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}
