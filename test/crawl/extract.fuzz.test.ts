// Fuzz: link extraction, through its public face (LinkExtractor), whatever its internals. Any
// bytes, cut into any chunks: no throw, and the same title and links however the page is cut.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LinkExtractor } from '../../src/crawl/extract.ts';
import { fuzz } from '../helpers/fuzz.ts';

const tag = fc.constantFrom(
  '<a href="', '<a href=', "<a href='", '<A HREF="', '">', "'>", '>', '</a>', '<area href="/x">', '<base href="', '<base href="http://other.example/b/">',
  '<title>', '</title>', '<!--', '-->', '<script>', '</script>', '<style>', '</style>', '<meta name="robots" content="nofollow">',
  '<meta charset="iso-8859-1">', '<meta http-equiv="content-type" content="text/html; charset=windows-1252">', 'rel="nofollow"', '&amp;', '&#x2F;', '&lt;', '<', '/', ' ', '\n',
  '<![CDATA[', ']]>', '<svg><a href="/svg">', '</svg>', '<template>', '<noscript>', '\u0000', 'é', '😀',
);
const html = fc.array(fc.oneof(tag, fc.string({ maxLength: 8 })), { maxLength: 40 }).map((parts) => parts.join(''));

/** Cuts `bytes` at the given fractions. */
function cut(bytes: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set(at.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

function extract(chunks: Uint8Array[], contentType?: string) {
  const x = new LinkExtractor({ url: 'http://example.com/dir/page.html', contentType });
  for (const c of chunks) if (!x.write(c)) break;
  return x.end();
}

test('LinkExtractor (fuzz) - any markup, cut anywhere: no throw, and the same result as in one piece', () => {
  fc.assert(
    fc.property(html, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), fc.constantFrom(undefined, 'text/html', 'text/html; charset=utf-8', 'text/html; charset=shift_jis'), (text, at, ct) => {
      const bytes = new TextEncoder().encode(text);
      const whole = extract([bytes], ct);
      const pieces = extract(cut(bytes, at), ct);
      assert.deepEqual(pieces.hrefs, whole.hrefs);
      assert.equal(pieces.title, whole.title);
      assert.equal(pieces.base, whole.base);
      assert.equal(pieces.nofollow, whole.nofollow);
      assert.ok(Array.isArray(whole.hrefs) && whole.hrefs.every((h) => typeof h === 'string'));
    }),
    fuzz(),
  );
});

test('LinkExtractor (fuzz) - arbitrary bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const r = extract([bytes]);
      assert.equal(r.bytes, bytes.length);
    }),
    fuzz(),
  );
});
