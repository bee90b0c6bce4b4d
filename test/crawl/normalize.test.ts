import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isTrackingParam, normalizeUrl, plainHost, UrlNormalizer } from '../../src/crawl/normalize.ts';

const same: [string, string][] = [
  ['HTTP://Example.COM/a', 'http://example.com/a'],
  ['http://example.com:80/a', 'http://example.com/a'],
  ['https://example.com:443/a', 'https://example.com/a'],
  ['http://example.com:8080/a', 'http://example.com:8080/a'],
  ['http://example.com', 'http://example.com/'],
  ['http://example.com?b=1', 'http://example.com/?b=1'],
  ['http://example.com/a#top', 'http://example.com/a'],
  ['http://example.com/a/./b/../c', 'http://example.com/a/c'],
  ['http://example.com/a/b/../../../c', 'http://example.com/c'],
  ['http://example.com/?b=2&a=1', 'http://example.com/?a=1&b=2'],
  ['http://example.com/?a=2&a=1', 'http://example.com/?a=2&a=1'],
  ['http://example.com/?b=1&a=2&a=1', 'http://example.com/?a=2&a=1&b=1'],
  ['http://example.com/?utm_source=x&utm_medium=y&id=3', 'http://example.com/?id=3'],
  ['http://example.com/?UTM_Campaign=x', 'http://example.com/'],
  ['http://example.com/?fbclid=abc&gclid=def&msclkid=1', 'http://example.com/'],
  ['http://example.com/?', 'http://example.com/'],
  ['http://example.com/?a=1&&b=2&', 'http://example.com/?a=1&b=2'],
  ['http://example.com/%7euser', 'http://example.com/~user'],
  ['http://example.com/%41%62c', 'http://example.com/Abc'],
  ['http://example.com/a%2fb', 'http://example.com/a%2Fb'],
  ['http://example.com/a%2Fb', 'http://example.com/a%2Fb'],
  ['http://example.com/?q=%7e%2f', 'http://example.com/?q=~%2F'],
  ['http://example.com/caf\u00e9', 'http://example.com/caf%C3%A9'],
  ['http://example.com/a b', 'http://example.com/a%20b'],
  ['http://Bücher.example/', 'http://xn--bcher-kva.example/'],
  ['http://user:pw@Example.com/', 'http://user:pw@example.com/'],
  ['http://example.com./a', 'http://example.com./a'],
];

test('normalizeUrl() - equivalent spellings normalise to one form', () => {
  for (const [input, expected] of same) assert.equal(normalizeUrl(input), expected, input);
});

test('normalizeUrl() - is idempotent', () => {
  for (const [, expected] of same) assert.equal(normalizeUrl(expected), expected, expected);
});

test('normalizeUrl() - keeps what may change the answer: trailing slash, index.html, www, path case, scheme', () => {
  const distinct = ['http://example.com/a', 'http://example.com/a/', 'http://example.com/a/index.html', 'http://www.example.com/a', 'http://example.com/A', 'https://example.com/a', 'http://example.com/a?x=1+2', 'http://example.com/a?x=1%202'];
  assert.equal(new Set(distinct.map((u) => normalizeUrl(u))).size, distinct.length);
});

test('normalizeUrl() - resolves relative links against a base', () => {
  assert.equal(normalizeUrl('../c?b=1&a=2#x', 'http://example.com/a/b/'), 'http://example.com/a/c?a=2&b=1');
  assert.equal(normalizeUrl('//other.example/x', 'https://example.com/'), 'https://other.example/x');
  assert.equal(normalizeUrl('?p=2', 'http://example.com/list?p=1'), 'http://example.com/list?p=2');
  assert.equal(normalizeUrl('#frag', 'http://example.com/a'), 'http://example.com/a');
});

test('normalizeUrl() - non-http(s) and malformed links give undefined', () => {
  for (const href of ['mailto:a@b.c', 'javascript:void(0)', 'ftp://example.com/', 'data:text/plain,x', 'tel:123', 'http://', 'http://exa mple.com/']) {
    assert.equal(normalizeUrl(href, 'http://example.com/'), undefined, href);
  }
  assert.equal(normalizeUrl('relative/only'), undefined);
});

test('isTrackingParam() - utm_* and the usual click ids, any case', () => {
  for (const k of ['utm_source', 'UTM_TERM', 'fbclid', 'gclid', 'mc_eid', '_ga']) assert.ok(isTrackingParam(k), k);
  for (const k of ['id', 'page', 'utm', 'q']) assert.ok(!isTrackingParam(k), k);
});

test('UrlNormalizer - gives what normalizeUrl gives, memo or not (fast-check)', () => {
  const memo = new UrlNormalizer(50);
  const part = fc.constantFrom('a', 'b', '..', '.', '%41', '%2f', 'x y', '\t', '?', 'q=1', '#', 'f', '/', '//', 'http:', 'HTTPS://h2', 'u:p@', ':8080', '\\', 'mailto:x', '&', 'utm_source=z');
  const href = fc.array(part, { maxLength: 6 }).map((p) => p.join(''));
  const base = fc.constantFrom('http://h/', 'http://h/d/e/p.html', 'http://h/d/e/?q=1', 'https://u:p@h:8443/d/#x', 'http://h/d/e/p?x#y', 'http://g/', 'http://h:81/d/');
  fc.assert(
    fc.property(href, base, (h, b) => {
      assert.equal(memo.resolver(b)(h), normalizeUrl(h, b));
      assert.equal(memo.resolver(b)(h), normalizeUrl(h, b));
    }),
    { seed: 3, numRuns: 3000 },
  );
});

test('plainHost - when it reads a host, normalizeUrl gives that host or nothing (fast-check)', () => {
  const part = fc.constantFrom('http://', 'HTTPS://', 'https:', '//', 'Example', '.com', '.', '..', 'xn--', '-', '0x7f', '127', '1', '2130706433', 'a', 'B', ':80', ':443', '@', '%41', '/', '?q', '#f', '\t', ' ', '\\', 'ß', 'é');
  fc.assert(
    fc.property(fc.array(part, { maxLength: 8 }).map((p) => p.join('')), (href) => {
      const host = plainHost(href);
      if (host === undefined) return;
      const url = normalizeUrl(href);
      if (url !== undefined) assert.equal(new URL(url).host, host, href);
    }),
    { seed: 5, numRuns: 5000 },
  );
  assert.equal(plainHost('https://News.Example.org/item?id=1'), 'news.example.org');
  assert.equal(plainHost('http://0x7f.1/'), undefined);
  assert.equal(plainHost('http://h:8080/'), undefined);
  assert.equal(plainHost('/local'), undefined);
});
