// spate/crawl: a breadth-first crawler with durable, resumable state (docs/crawl.md).
export { Crawler, type CrawlerOptions, type CrawlScope, type PageRecord, type CrawledPage, type PageContext, type CrawlStats, type CrawlSummary } from './crawler.ts';
export { normalizeUrl, isTrackingParam } from './normalize.ts';
export { LinkExtractor, isHtml, charsetOf, sniffCharset, type ExtractOptions, type Extracted } from './extract.ts';
export { RobotsCache, parseRobots, DEFAULT_USER_AGENT, type RobotsRules, type RobotsStatus, type RobotsCacheOptions } from './robots.ts';
export { SqliteCrawlStore, type CrawlStore, type ClaimRowsOptions, type PageState, type Discovery, type FrontierItem, type Completion, type CommitResult, type StoreCounts, type MaybePromise } from './store.ts';
export { JsonlOutput } from './output.ts';
export { PostgresCrawlStore, exportCrawl, type PostgresCrawlStoreOptions } from './postgres-store.ts';
