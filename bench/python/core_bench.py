"""asyncio's side of the core benchmarks. Usage: python3 core_bench.py semaphore|map|queue --n=… """
import asyncio
import json
import resource
import sys
import time


def opts(defaults):
    out = dict(defaults)
    for arg in sys.argv[2:]:
        if arg.startswith('--') and '=' in arg:
            k, v = arg[2:].split('=', 1)
            out[k] = int(float(v))
    return out


def report(value):
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'value': value, 'rss_mb': round(rss_mb, 1)}))


async def noop():
    pass


async def semaphore(n, limit):
    sem = asyncio.Semaphore(limit)

    async def one():
        async with sem:
            await noop()

    await asyncio.gather(*(one() for _ in range(n)))


async def map_(n, limit):
    it = iter(range(n))
    total = 0

    async def work(x):
        return x * 2

    async def worker():
        nonlocal total
        for x in it:
            total += await work(x)

    await asyncio.gather(*(worker() for _ in range(limit)))
    assert total == n * (n - 1)


async def queue(n, consumers, maxsize):
    q = asyncio.Queue(maxsize)
    got = 0

    async def consumer():
        nonlocal got
        while True:
            item = await q.get()
            if item < 0:
                return
            got += 1

    tasks = [asyncio.create_task(consumer()) for _ in range(consumers)]
    for i in range(n):
        await q.put(i)
    for _ in range(consumers):
        await q.put(-1)
    await asyncio.gather(*tasks)
    assert got == n


def main():
    case = sys.argv[1]
    o = opts({'n': 1_000_000, 'limit': 100, 'consumers': 100, 'maxsize': 1000})
    start = time.perf_counter()
    if case == 'semaphore':
        asyncio.run(semaphore(o['n'], o['limit']))
    elif case == 'map':
        asyncio.run(map_(o['n'], o['limit']))
    elif case == 'queue':
        asyncio.run(queue(o['n'], o['consumers'], o['maxsize']))
    else:
        raise SystemExit(f'unknown case {case}')
    report(o['n'] / (time.perf_counter() - start))


main()
