import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteWorkQueue } from '../../src/store/sqlite-queue.ts';
import { workQueueConformance } from './work-queue-conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'spate-queue-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
let path = join(dir, 'q0.sqlite');

workQueueConformance('SqliteWorkQueue', {
  async reset() {
    path = join(dir, `q${++n}.sqlite`);
  },
  async open(options) {
    return SqliteWorkQueue.open(path, options);
  },
});
