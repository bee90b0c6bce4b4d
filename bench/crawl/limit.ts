// crawl/limit: the bound on pages/s that concurrency ÷ latency sets (nothing is crawled).
import { args, report } from '../lib.ts';

const { concurrency, latency } = args({ concurrency: 64, latency: 50 }) as { concurrency: number; latency: number };
report(concurrency / (latency / 1000));
