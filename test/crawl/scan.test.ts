import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Parser } from 'htmlparser2';
import { LinkExtractor } from '../../src/crawl/extract.ts';
import { scanHtml, type Scanned } from '../../src/crawl/scan.ts';
import { PROFILES, profileSite } from '../../src/lab/profiles.ts';

/** What htmlparser2's Parser reports for the same tags (the reference). */
function reference(html: string): Scanned {
  const tags: { name: 'a' | 'area' | 'base' | 'meta'; attribs: Record<string, string> }[] = [];
  let title: string | undefined;
  let inTitle = false;
  const parser = new Parser({
    onopentag(name, attribs) {
      if (name === 'a' || name === 'area' || name === 'base' || name === 'meta') tags.push({ name, attribs: { ...attribs } });
      if (name === 'title' && title === undefined) {
        inTitle = true;
        title = '';
      }
    },
    onclosetag(name) {
      if (name === 'title') inTitle = false;
    },
    ontext(text) {
      if (inTitle) title += text;
    },
  }, { decodeEntities: true });
  parser.end(html);
  return { tags, title };
}

function both(html: string | Buffer, url: string, contentType?: string) {
  const run = (parser: 'scan' | 'htmlparser2') => {
    const x = new LinkExtractor({ url, parser, contentType });
    x.write(typeof html === 'string' ? Buffer.from(html, 'latin1') : html);
    return x.end();
  };
  return [run('scan'), run('htmlparser2')] as const;
}

test('scanHtml - the same tags, attributes and title as htmlparser2 on every page of every lab profile', () => {
  for (const name of PROFILES) {
    const site = profileSite(name);
    for (const [i, page] of site.pages.entries()) {
      const body = site.files[i]!.body; // pages come first, in order
      const html = body.toString('latin1');
      const scanned = scanHtml(html);
      assert.ok(scanned, `${name} ${page.url}: the scanner handed the page back`);
      if (i % 10 === 0) assert.deepEqual(scanned, reference(html), `${name} ${page.url}`);
      const [fast, slow] = both(body, `http://127.0.0.1${page.url}`);
      assert.deepEqual(fast, slow, `${name} ${page.url}`);
    }
  }
});

const TOKENS = [
  '<a href="x">', '<A HREF=y>', "<area href='z'>", '<a href=/q/>', '<a/href=w>', '<a href="u" rel="NoFollow">', '<a href', '<a href=', '<a =x href=v>', '<a hReF="1" href="2">',
  '<title>', '<TITLE >', '</title>', '</title x>', '<title/>', '<script>', '</script>', '</SCRIPT >', '</scripts>', '<style>', '</style>', '<textarea>', '</textarea>',
  '<xmp>', '</xmp>', '<iframe>', '</iframe>', '<noembed>', '<noframes>', '<plaintext>', '<svg>', '</svg>', '<math>', '</math>', '<svg/>', '<foreignObject>', '<desc>',
  '<!--', '-->', '--!>', '<!-->', '<!--->', '<![CDATA[', ']]>', '<!doctype html>', '<!DOCTYPE', '<?xml version="1.0"?>', '<!', '<!-', '</', '</>', '</ a>', '</a>',
  '<base href="/b/">', '<base href="http://[bad">', '<meta name=robots content="nofollow">', '<meta name="ROBOTS" content="noindex, nofollow">', '<meta charset=utf-8>',
  '&amp;', '&lt', '&#60;', '&#x3c;', '&eacute', '&notit;', '&', '<', '>', '/', '=', '"', "'", ' ', '\n', '\t', '\x1c', '\x0f', 'a', 'href', 'rel', '-', ']', 'é', '<<', 'K', '\u212a',
];

test('scanHtml - agrees with htmlparser2 on generated markup (fast-check)', () => {
  let handedBack = 0;
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }), (parts) => {
      const html = parts.join('');
      const scanned = scanHtml(html);
      if (scanned === undefined) {
        handedBack++;
        return;
      }
      assert.deepEqual(scanned, reference(html));
    }),
    { seed: 11, numRuns: 3000 },
  );
  assert.ok(handedBack < 3000, 'the scanner handled some inputs itself');
});

test('LinkExtractor - scanning bytes as latin-1 finds what htmlparser2 finds in the decoded page (fast-check)', () => {
  const bytes = ['\xc3\xa9', '\xe2\x80\x94', '\xe2\x82', '\xff', '\xef\xbb\xbf', '\xf0\x9f\x98\x80', '\x80', '\xe9', '\xc3'];
  const parts = fc.array(fc.oneof(fc.constantFrom(...TOKENS).map((t) => Buffer.from(t)), fc.constantFrom(...bytes).map((b) => Buffer.from(b, 'latin1'))), { maxLength: 40 });
  const types = fc.constantFrom(undefined, 'text/html; charset=utf-8', 'text/html; charset=windows-1252', 'text/html; charset=koi8-r', 'text/html; charset=utf-16le', 'text/html; charset=shift_jis');
  fc.assert(
    fc.property(parts, types, (p, type) => {
      const [fast, slow] = both(Buffer.concat(p), 'http://h/d/p', type);
      assert.deepEqual(fast, slow);
    }),
    { seed: 13, numRuns: 2000 },
  );
});

test('scanHtml - agrees with htmlparser2 on arbitrary strings (fast-check)', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('<', '>', '/', '!', '-', '"', "'", '=', ' ', '&', ';', 'a', 'b', 't', 'i', 'l', 'e', 'h', 'r', 'f', '[', ']', '?', 'x', 'C') , maxLength: 60 }), (html) => {
      const scanned = scanHtml(html);
      if (scanned !== undefined) assert.deepEqual(scanned, reference(html));
    }),
    { seed: 12, numRuns: 3000 },
  );
});

test('scanHtml - hands pages with raw-text tags inside <svg>/<math> back, and reads the rest', () => {
  assert.equal(scanHtml('<svg><title>icon</title></svg><a href="x">'), undefined);
  assert.equal(scanHtml('<math><style>x</style></math>'), undefined);
  assert.deepEqual(scanHtml('<svg><path d="M0"/></svg><title>T</title><a href="x">'), { tags: [{ name: 'a', attribs: { href: 'x' } }], title: 'T' });
  const [fast, slow] = both('<svg><title>icon</title></svg><title>Page</title><a href="/y">', 'http://h/');
  assert.deepEqual(fast, slow);
});

test('scanHtml - links in comments, scripts, CDATA and RCDATA are not links', () => {
  const html = '<!-- <a href="c"> --><script>"<a href=s>"</script><![CDATA[<a href=d>]]><title><a href=t></title><textarea><a href=ta></textarea><a href="real">';
  assert.deepEqual(scanHtml(html), reference(html));
  assert.deepEqual(scanHtml(html)!.tags.map((t) => t.attribs.href), ['real']);
});
