// spate/store: durable job state. SQLite (node:sqlite) is the embedded default; each job keeps its
// own tables behind a small interface of its own (`CrawlStore`, `DownloadStore`), so other
// backends can come later.
export { SqliteDb, type SqliteOptions, type SQLInputValue } from './sqlite.ts';
