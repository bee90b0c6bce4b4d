"""asyncio's side of the pipeline benchmarks. Usage:
  python3 pipeline_bench.py local --n=1000000        seed 002's DataPipeline: producer, 16 workers, Queue(100), output queue
  python3 pipeline_bench.py lines <in> <out> [--limit-mb=20]   seed 004's aiofiles: async for line in f, await out.write(...)
"""
import asyncio
import json
import os
import resource
import sys
import time


def report(value, **extra):
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'value': value, 'rss_mb': round(rss_mb, 1), **extra}))


class DataPipeline:
    def __init__(self, num_workers=16, queue_size=100, batch=1000):
        self.input_queue = asyncio.Queue(maxsize=queue_size)
        self.output_queue = asyncio.Queue(maxsize=queue_size)
        self.num_workers = num_workers
        self.batch = batch
        self.count = 0
        self.sum = 0

    async def producer(self, data_source):
        for item in data_source:
            await self.input_queue.put(json.loads(item))

    async def process_item(self, row):
        return {'id': row['id'], 'v': row['v'] * 2}

    async def worker(self):
        while True:
            item = await self.input_queue.get()
            try:
                await self.output_queue.put(await self.process_item(item))
            finally:
                self.input_queue.task_done()

    async def sink(self):
        batch = []
        while True:
            row = await self.output_queue.get()
            if row is None:
                break
            batch.append(row)
            if len(batch) >= self.batch:
                self.flush(batch)
                batch = []
        self.flush(batch)

    def flush(self, batch):
        self.count += len(batch)
        self.sum += sum(r['v'] for r in batch)

    async def run_pipeline(self, data_source):
        sink = asyncio.create_task(self.sink())
        workers = [asyncio.create_task(self.worker()) for _ in range(self.num_workers)]
        await self.producer(data_source)
        await self.input_queue.join()
        for w in workers:
            w.cancel()
        await self.output_queue.put(None)
        await sink


async def local(n):
    source = ('{"id":%d,"v":%d}' % (i, i % 97) for i in range(n))
    p = DataPipeline()
    start = time.perf_counter()
    cpu0 = time.process_time()
    await p.run_pipeline(source)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    assert p.count == n, p.count
    report(n / seconds, items_per_cpu_s=round(n / cpu))


async def lines(src, dst, limit_mb):
    try:
        import aiofiles
    except ImportError:
        print(json.dumps({'skipped': 'python3-aiofiles is not installed (apt-get install python3-aiofiles)'}))
        return
    # aiofiles hands every line to a thread: it reads only the first `limit_mb` MB, and the rate is of those
    limit = min(os.path.getsize(src), limit_mb * 1e6)
    read = 0
    start = time.perf_counter()
    cpu0 = time.process_time()
    async with aiofiles.open(src, mode='r') as f, aiofiles.open(dst, mode='w') as out:
        async for line in f:
            read += len(line)
            await out.write(json.dumps({'line': line.rstrip('\n')}) + '\n')
            if read >= limit:
                break
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    report(read / 1e6 / seconds, mb_per_cpu_s=round(read / 1e6 / cpu, 2))


if __name__ == '__main__':
    which = sys.argv[1]
    if which == 'local':
        n = 1_000_000
        for arg in sys.argv[2:]:
            if arg.startswith('--n='):
                n = int(float(arg[4:]))
        asyncio.run(local(n))
    else:
        limit_mb = 20
        for arg in sys.argv[4:]:
            if arg.startswith('--limit-mb='):
                limit_mb = float(arg[11:])
        asyncio.run(lines(sys.argv[2], sys.argv[3], limit_mb))
