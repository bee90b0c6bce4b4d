// spate/download: a resumable batch downloader with atomic placement and adaptive concurrency.
export { Downloader, STATE_FILE, PARTIAL_DIR, type DownloaderOptions, type DownloadResult, type DownloadSummary, type DownloadStats } from './downloader.ts';
export { parseList, parseLine, isListError, type ListItem, type ListError, type ListEntry } from './list.ts';
export { sanitizeName, nameFromDisposition, nameFromUrl, safeJoin, suffixed, MAX_NAME_BYTES } from './names.ts';
export { SqliteDownloadStore, type DownloadStore, type DownloadRecord, type DownloadState, type NewItem, type Totals } from './store.ts';
export { AdaptiveController, AdaptiveConcurrency, type AdaptiveOptions, type Sample } from './adaptive.ts';
export { ResizableLimit } from './limit.ts';
export { ChecksumMismatchError, SizeMismatchError, ResumeMismatchError, UnsafePathError } from './errors.ts';
export { runSharedDownload, type SharedDownloadOptions, type SharedDownloadSummary } from './shared.ts';
