"""asyncpg's side of the pg benchmarks (seed 001's pool: min_size=5, max_size=20, command_timeout=60).
Usage: python3 pg_bench.py fetchrow|transfer --seconds=N [--serializable=0|1]"""
import asyncio
import json
import os
import random
import resource
import sys
import time

import asyncpg


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


async def main():
    which = sys.argv[1]
    o = opts({'seconds': 5, 'concurrency': 50, 'serializable': 0})
    pool = await asyncpg.create_pool(
        dsn=os.environ['PG_BENCH_URL'], min_size=5, max_size=20, command_timeout=60,
        server_settings={'search_path': os.environ['PG_BENCH_SCHEMA']},
    )
    retries = 0

    async def fetch_user(user_id):
        async with pool.acquire() as conn:
            return await conn.fetchrow('SELECT * FROM users WHERE id = $1', user_id)

    async def transfer_funds(from_id, to_id, amount):
        nonlocal retries
        isolation = 'serializable' if o['serializable'] else 'read_committed'
        for n in range(101):
            try:
                async with pool.acquire() as conn:
                    async with conn.transaction(isolation=isolation):
                        await conn.execute('UPDATE accounts SET balance = balance - $1 WHERE id = $2', amount, from_id)
                        await conn.execute('UPDATE accounts SET balance = balance + $1 WHERE id = $2', amount, to_id)
                return
            except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError):
                retries += 1
                await asyncio.sleep(random.random() * min(0.5, 0.005 * 2 ** n))
        raise RuntimeError('too many retries')

    async def drive(seconds):
        count = 0
        end = time.perf_counter() + seconds

        async def worker(w):
            nonlocal count
            uid = w
            while time.perf_counter() < end:
                if which == 'fetchrow':
                    uid = (uid * 7919 + 1) % 10000
                    if await fetch_user(uid + 1) is None:
                        raise RuntimeError('no user')
                else:
                    a = random.randint(1, 1000)
                    b = 1 + (a + random.randint(0, 998)) % 1000
                    await transfer_funds(a, b, random.randint(1, 100))
                count += 1

        await asyncio.gather(*(worker(w) for w in range(int(o['concurrency']))))
        return count

    await drive(0.5)
    before = retries
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    count = await drive(o['seconds'])
    elapsed = time.perf_counter() - start
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_us = round(((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) * 1e6 / count)
    await pool.close()
    if which == 'fetchrow':
        report(count / elapsed, cpu_us_per_op=cpu_us)
    else:
        report(count / elapsed, retries=retries - before, cpu_us_per_op=cpu_us)


asyncio.run(main())
