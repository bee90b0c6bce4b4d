// Fuzz: file names from Content-Disposition, URLs and lists, and the list parser.
import assert from 'node:assert/strict';
import { resolve, sep } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseLine } from '../../src/download/list.ts';
import { MAX_NAME_BYTES, nameFromDisposition, nameFromUrl, safeJoin, sanitizeName } from '../../src/download/names.ts';
import { fuzz } from '../helpers/fuzz.ts';

const hostile = fc.oneof(
  fc.constantFrom('..', '.', '../../etc/passwd', '/etc/passwd', 'C:\\x\\win.ini', 'CON', 'con.txt', 'LPT1', '.spate-partial', '.spate-download.sqlite', 'a\u0000b', '\u202Etxt.exe', 'a/b', 'a\\b', ' . ', '~', '\u200B', 'é', 'e\u0301', '\uD800', '😀'),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const name = fc.array(hostile, { maxLength: 6 }).map((p) => p.join(''));
const disposition = fc.oneof(
  fc.tuple(fc.constantFrom('attachment', 'inline', ''), name, fc.boolean()).map(([t, n, quoted]) => `${t}; filename=${quoted ? `"${n.replace(/["\\]/g, '\\$&')}"` : n}`),
  name.map((n) => `attachment; filename*=UTF-8''${encodeURIComponent(n.toWellFormed())}`),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

test('names (fuzz) - any Content-Disposition: no throw; the sanitised name stays inside the folder', () => {
  fc.assert(
    fc.property(disposition, (header) => {
      const proposed = nameFromDisposition(header);
      const safe = sanitizeName(proposed ?? '');
      const full = safeJoin('/tmp/out', safe);
      assert.ok(full.startsWith(resolve('/tmp/out') + sep));
    }),
    fuzz(2),
  );
});

test('names (fuzz) - sanitizeName: one component, no control characters, not hidden, bounded, idempotent', () => {
  fc.assert(
    fc.property(name, (raw) => {
      const safe = sanitizeName(raw);
      assert.ok(safe.length > 0);
      assert.ok(!/[/\\]/.test(safe), safe);
      assert.ok(!/\p{Cc}/u.test(safe), JSON.stringify(safe));
      assert.ok(!safe.startsWith('.'), safe);
      assert.ok(Buffer.byteLength(safe) <= MAX_NAME_BYTES);
      assert.equal(sanitizeName(safe), safe);
      assert.doesNotThrow(() => safeJoin('/tmp/out', safe));
    }),
    fuzz(2),
  );
});

test('names (fuzz) - nameFromUrl never throws', () => {
  fc.assert(
    fc.property(fc.oneof(fc.webUrl(), fc.string({ maxLength: 40 }).map((s) => `http://h/${s}`), fc.string({ maxLength: 40 })), (url) => {
      const n = nameFromUrl(url);
      assert.ok(n === undefined || typeof n === 'string');
    }),
    fuzz(),
  );
});

test('parseLine (fuzz) - any line: nothing, an item with an http(s) URL, or a line error; never a throw', () => {
  const field = fc.oneof(fc.webUrl(), fc.string({ maxLength: 20 }), fc.constantFrom('sha256:' + 'a'.repeat(64), 'sha256:xyz', 'ftp://x/y', '#', ''));
  fc.assert(
    fc.property(fc.array(field, { maxLength: 5 }), fc.constantFrom('\t', ' ', '  '), (fields, sepr) => {
      const entry = parseLine(fields.join(sepr), 1);
      if (entry === undefined) return;
      if ('error' in entry) assert.equal(typeof entry.error, 'string');
      else assert.match(new URL(entry.url).protocol, /^https?:$/);
    }),
    fuzz(),
  );
});
