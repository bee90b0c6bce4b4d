import { test } from 'node:test';
import assert from 'node:assert/strict';
import { charsetOf, isHtml, LinkExtractor, sniffCharset } from '../../src/crawl/extract.ts';

function extract(html: string | Uint8Array, options: { contentType?: string; followNofollow?: boolean; maxBytes?: number; chunk?: number } = {}) {
  const x = new LinkExtractor({ url: 'http://example.com/dir/page', ...options });
  const bytes = typeof html === 'string' ? Buffer.from(html) : html;
  const size = options.chunk ?? bytes.length;
  for (let i = 0; i < bytes.length; i += size) if (!x.write(bytes.subarray(i, i + size))) break;
  return x.end();
}

test('LinkExtractor - finds the title and the hrefs of <a> and <area>, in order', () => {
  const r = extract('<html><head><title>  Hello\n  World </title></head><body><a href="a">A</a><map><area href="/b"></map><a name="x">no href</a><a href="  c  ">C</a><a href="">empty</a></body></html>');
  assert.equal(r.title, 'Hello World');
  assert.deepEqual(r.hrefs, ['a', '/b', 'c']);
  assert.equal(r.base, 'http://example.com/dir/page');
});

test('LinkExtractor - decodes entities in hrefs and titles', () => {
  const r = extract('<title>Fish &amp; Chips &#8211; &eacute;</title><a href="?a=1&amp;b=2">x</a>');
  assert.equal(r.title, 'Fish & Chips – é');
  assert.deepEqual(r.hrefs, ['?a=1&b=2']);
});

test('LinkExtractor - the first <base href> wins; an invalid one is skipped', () => {
  assert.equal(extract('<base href="/root/"><base href="/other/"><a href="x">').base, 'http://example.com/root/');
  assert.equal(extract('<base href="http://[bad"><base href="https://cdn.example/">').base, 'https://cdn.example/');
  assert.equal(extract('<base target="_blank"><a href="x">').base, 'http://example.com/dir/page');
});

test('LinkExtractor - rel=nofollow links are dropped unless followNofollow', () => {
  const html = '<a href="a" rel="nofollow">a</a><a href="b" rel="noopener NoFollow">b</a><a href="c" rel="noopener">c</a>';
  assert.deepEqual(extract(html).hrefs, ['c']);
  assert.deepEqual(extract(html, { followNofollow: true }).hrefs, ['a', 'b', 'c']);
});

test('LinkExtractor - <meta name=robots> nofollow drops every link; noindex is reported', () => {
  const r = extract('<head><meta name="ROBOTS" content="NOINDEX, nofollow"></head><a href="a">a</a>');
  assert.deepEqual(r.hrefs, []);
  assert.equal(r.nofollow, true);
  assert.equal(r.noindex, true);
  assert.deepEqual(extract('<meta name="robots" content="nofollow"><a href="a">', { followNofollow: true }).hrefs, ['a']);
  assert.equal(extract('<meta name="description" content="nofollow"><a href="a">').nofollow, false);
});

test('LinkExtractor - bad markup: unclosed, misnested, upper-case and unquoted tags', () => {
  const r = extract('<TITLE>T</TITLE><ul><li><A HREF=one>1</A><li><a href=two>2<p>Unclosed <b>bold <i>both</b></i><div><p>Nested<a href=\'three\'>3');
  assert.equal(r.title, 'T');
  assert.deepEqual(r.hrefs, ['one', 'two', 'three']);
});

test('LinkExtractor - XHTML with an XML declaration and self-closing tags', () => {
  const r = extract('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" /><title>X</title></head><body><br /><a href="a" /><a href="b">b</a></body></html>');
  assert.equal(r.title, 'X');
  assert.deepEqual(r.hrefs, ['a', 'b']);
});

test('LinkExtractor - only the first <title>; an <svg> title is not the page title', () => {
  assert.equal(extract('<title>First</title><title>Second</title>').title, 'First');
  assert.equal(extract('<body><a href="x">x</a></body>').title, '');
});

test('LinkExtractor - windows-1252 from the header, from <meta charset>, and split across chunks', () => {
  const text = '<html><head><meta charset="windows-1252"><title>Café – naïve</title></head><a href="x">x</a></html>';
  const bytes = Buffer.from(new Uint8Array([...text].map((c) => (c === '–' ? 0x96 : c.charCodeAt(0)))));
  for (const chunk of [1, 7, 4096]) {
    const fromMeta = extract(bytes, { chunk });
    assert.equal(fromMeta.title, 'Café – naïve', `chunk ${chunk}`);
    assert.equal(fromMeta.charset, 'windows-1252');
  }
  assert.equal(extract(bytes, { contentType: 'text/html; charset=windows-1252' }).title, 'Café – naïve');
});

test('LinkExtractor - the header charset wins over the document; UTF-8 split mid-character decodes', () => {
  const html = Buffer.from('<meta charset="iso-8859-1"><title>日本語</title>');
  assert.equal(extract(html, { contentType: 'text/html; charset=utf-8', chunk: 1 }).title, '日本語');
  assert.equal(extract(Buffer.from('<title>日本語 ünï</title>'), { chunk: 1 }).title, '日本語 ünï');
});

test('LinkExtractor - Shift_JIS and GBK pages decode', () => {
  const sjis = Buffer.from([...Buffer.from('<meta http-equiv="content-type" content="text/html; charset=Shift_JIS"><title>'), 0x93, 0xfa, 0x96, 0x7b, ...Buffer.from('</title>')]);
  assert.equal(extract(sjis).title, '日本');
  const gbk = Buffer.from([...Buffer.from('<title>'), 0xd6, 0xd0, 0xce, 0xc4, ...Buffer.from('</title>')]);
  assert.equal(extract(gbk, { contentType: 'text/html;charset="gbk"' }).title, '中文');
});

test('LinkExtractor - an unknown charset falls back to UTF-8', () => {
  const r = extract('<title>ok</title>', { contentType: 'text/html; charset=x-nonsense' });
  assert.equal(r.charset, 'utf-8');
  assert.equal(r.title, 'ok');
});

test('LinkExtractor - past maxBytes the rest is ignored and truncated is set', () => {
  const html = `<a href="early">e</a>${' '.repeat(2000)}<a href="late">l</a>`;
  for (const chunk of [100, 5000]) {
    const r = extract(html, { maxBytes: 1000, chunk });
    assert.deepEqual(r.hrefs, ['early']);
    assert.equal(r.truncated, true);
  }
  assert.equal(extract(html, { maxBytes: 100_000 }).truncated, false);
});

test('isHtml(), charsetOf(), sniffCharset() - content type helpers', () => {
  assert.ok(isHtml('text/html; charset=utf-8'));
  assert.ok(isHtml('application/xhtml+xml'));
  assert.ok(isHtml(undefined));
  assert.ok(!isHtml('application/pdf'));
  assert.ok(!isHtml('image/png'));
  assert.equal(charsetOf('text/html; Charset="ISO-8859-1"'), 'iso-8859-1');
  assert.equal(charsetOf('text/html'), undefined);
  assert.equal(sniffCharset(Buffer.from('\ufeff<p>')), 'utf-8');
  assert.equal(sniffCharset(Buffer.from('<meta charset=koi8-r>')), 'koi8-r');
  assert.equal(sniffCharset(Buffer.from(`${' '.repeat(1100)}<meta charset="koi8-r">`)), undefined);
});
