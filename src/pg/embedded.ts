// The embedded default: PostgreSQL itself, compiled to WebAssembly and run in this process
// (PGlite), so examples and `npm start` work with no server. It is one session, so a pool over it
// has max 1 and serialises everything — correct, since PGlite is single-connection.
//
// An in-memory PGlite runs initdb on every start (seconds, half a minute on a loaded machine),
// so the first one writes its fresh data directory to a template in the OS temp directory and
// later ones load that (about a second). The template is keyed by the PGlite build.
//
// What differs from a server: a running statement cannot be cancelled (the WASM runs on this
// thread), so a timeout takes effect when the statement returns; and there is one connection.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { toPgError } from './errors.ts';
import type { QueryResult, Session, TxStatus } from './session.ts';

const TX_COMMAND = /^\s*(begin|start\s+transaction|commit|end|rollback\s+to|rollback|abort)\b/i;

class EmbeddedSession implements Session {
  readonly createdAt = performance.now();
  readonly broken = false;
  readonly cancellable = false;
  txStatus: TxStatus = 'I';
  readonly #db: PGlite;

  constructor(db: PGlite) {
    this.#db = db;
  }

  async exec(text: string, values?: readonly unknown[]): Promise<QueryResult> {
    const command = TX_COMMAND.exec(text)?.[1]?.toLowerCase().replace(/\s+/g, ' ');
    try {
      let result;
      if (values === undefined || values.length === 0) {
        const results = await this.#db.exec(text);
        result = results.at(-1) ?? { rows: [], rowCount: 0 };
      } else {
        result = await this.#db.query(text, values as unknown[]);
      }
      this.#track(command, true);
      return { rows: result.rows as Record<string, unknown>[], rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length };
    } catch (error) {
      this.#track(command, false);
      throw toPgError(error);
    }
  }

  /** PGlite does not report its transaction status, so it is followed from the commands run. */
  #track(command: string | undefined, ok: boolean): void {
    if (command === 'begin' || command === 'start transaction') {
      if (ok) this.txStatus = 'T';
    } else if (command === 'commit' || command === 'end' || command === 'abort' || command === 'rollback') {
      this.txStatus = 'I';
    } else if (command === 'rollback to') {
      if (ok) this.txStatus = 'T';
    } else if (!ok && this.txStatus !== 'I') {
      this.txStatus = 'E';
    }
  }

  cancel(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): void {}
}

/** The one embedded database of a pool, opened on first use. `dataDir` undefined keeps it in memory. */
export class EmbeddedDatabase {
  readonly #dataDir: string | undefined;
  #db: Promise<PGlite> | undefined;

  constructor(dataDir: string | undefined) {
    this.#dataDir = dataDir;
  }

  async open(): Promise<Session> {
    this.#db ??= this.#dataDir === undefined ? openInMemory() : import('@electric-sql/pglite').then(({ PGlite }) => PGlite.create(this.#dataDir));
    return new EmbeddedSession(await this.#db);
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    if (db !== undefined) await (await db).close();
  }
}

async function openInMemory(): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  const { size, mtimeMs } = await stat(entry);
  const key = createHash('sha256').update(`${entry}:${size}:${mtimeMs}`).digest('hex').slice(0, 16);
  const template = join(tmpdir(), 'spate-pglite', `${key}.tar`);
  const cached = await readFile(template).catch(() => undefined);
  if (cached !== undefined) {
    try {
      return await PGlite.create({ loadDataDir: new Blob([cached]) });
    } catch {
      // A damaged template: fall through and write a new one.
    }
  }
  const db = await PGlite.create();
  try {
    const dump = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
    await mkdir(join(tmpdir(), 'spate-pglite'), { recursive: true });
    const temp = `${template}.${process.pid}.tmp`;
    await writeFile(temp, dump, { flush: true });
    await rename(temp, template);
  } catch {
    // Without a template the next start is only slower.
  }
  return db;
}
