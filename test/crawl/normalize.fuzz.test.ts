// Fuzz: URL normalisation takes any string an HTML page holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { normalizeUrl } from '../../src/crawl/normalize.ts';
import { fuzz } from '../helpers/fuzz.ts';

// Strings shaped like hrefs: schemes, hosts, escapes, dots, queries, fragments, odd characters.
const piece = fc.oneof(
  fc.constantFrom('http://', 'HTTPS://', '//', 'mailto:', 'javascript:', '/', './', '../', '?', '#', '&', '=', '%', '%2e', '%41', '%zz', '%7E', '@', ':', ':80', ':443', '[::1]', 'xn--', 'utm_source=x', 'a=1', 'b=', '\t', ' ', '\\', '..', 'é', '\u0000', '😀'),
  fc.string({ maxLength: 6 }),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
);
const href = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));
const base = fc.constantFrom(undefined, 'http://example.com/dir/page', 'https://EXAMPLE.org:443/a/b/?q=1#f');

test('normalizeUrl (fuzz) - never throws; a result is an http(s) URL without fragment, and normalising it again changes nothing', () => {
  fc.assert(
    fc.property(href, base, (h, b) => {
      const n = normalizeUrl(h, b);
      if (n === undefined) return;
      const url = new URL(n);
      assert.ok(url.protocol === 'http:' || url.protocol === 'https:', n);
      assert.ok(!n.includes('#'), n);
      assert.equal(normalizeUrl(n), n, `not idempotent for ${JSON.stringify(h)}`);
    }),
    fuzz(2),
  );
});

test('normalizeUrl (fuzz) - any string at all, with or without a base: undefined or a string, never a throw', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 64 }), base, (h, b) => {
      const n = normalizeUrl(h, b);
      assert.ok(n === undefined || typeof n === 'string');
    }),
    fuzz(2),
  );
});
