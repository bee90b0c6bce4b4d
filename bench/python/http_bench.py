"""aiohttp's side of the HTTP benchmarks (the seeds' own stack).
Usage: python3 http_bench.py throughput --seconds=5 --concurrency=50 | fanout --n=10000 --delay=1
LAB_URL comes from the environment."""
import asyncio
import json
import os
import resource
import sys
import time

import aiohttp


def opts(defaults):
    out = dict(defaults)
    for arg in sys.argv[2:]:
        if arg.startswith('--') and '=' in arg:
            k, v = arg[2:].split('=', 1)
            out[k] = float(v)
    return out


def report(value, **extra):
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'value': value, 'rss_mb': round(rss_mb, 1), **extra}))


async def throughput(seconds, concurrency):
    url = os.environ['LAB_URL'] + '/json'
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def warm():
            for _ in range(20):
                async with session.get(url) as r:
                    await r.read()
        await asyncio.gather(*(warm() for _ in range(concurrency)))
        latencies = []
        end = time.perf_counter() + seconds
        start = time.perf_counter()

        async def worker():
            while time.perf_counter() < end:
                t = time.perf_counter()
                async with session.get(url) as r:
                    await r.read()
                latencies.append((time.perf_counter() - t) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    report(len(latencies) / elapsed, p99_ms=round(p99, 2))


async def fanout(n, delay):
    url = f"{os.environ['LAB_URL']}/delay/{delay:g}"
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def one():
            async with session.get(url) as r:
                await r.read()
        start = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
        seconds = time.perf_counter() - start
    failed = sum(1 for r in results if isinstance(r, Exception))
    if failed:
        raise SystemExit(f'{failed} requests failed')
    report(seconds)


def main():
    case = sys.argv[1]
    if case == 'throughput':
        o = opts({'seconds': 5, 'concurrency': 50})
        asyncio.run(throughput(o['seconds'], int(o['concurrency'])))
    elif case == 'fanout':
        o = opts({'n': 10000, 'delay': 1})
        asyncio.run(fanout(int(o['n']), o['delay']))
    else:
        raise SystemExit(f'unknown case {case}')


main()
