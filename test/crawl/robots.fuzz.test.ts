// Fuzz: robots.txt parsing takes whatever a server sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseRobots } from '../../src/crawl/robots.ts';
import { fuzz } from '../helpers/fuzz.ts';

const line = fc.oneof(
  fc.constantFrom('User-agent: *', 'User-agent: spate-crawler', 'user-agent:spate', 'Disallow: /', 'Disallow:', 'Allow: /a', 'Disallow: /*.php$', 'Disallow: /a*b', 'Crawl-delay: 2', 'Crawl-delay: -1', 'Crawl-delay: abc', 'Crawl-delay: 1e309', 'Sitemap: http://x/s.xml', 'Sitemap: not a url', '# comment', '', 'Disallow: /%E2%82%AC', 'Disallow: /€', '\uFEFFUser-agent: *'),
  fc.string({ maxLength: 30 }),
);
const robots = fc.array(line, { maxLength: 30 }).map((ls) => ls.join(fc.sample(fc.constantFrom('\n', '\r\n', '\r'), { numRuns: 1, seed: ls.length })[0]));
const path = fc.oneof(fc.constantFrom('/', '/a', '/a/b.php', '/private/x', '/%41', '/€', '/?q=1'), fc.string({ maxLength: 20 }).map((s) => `/${s}`));

test('parseRobots (fuzz) - any text: no throw, allowed() is a boolean, the crawl delay is finite and positive or undefined', () => {
  fc.assert(
    fc.property(robots, fc.array(path, { maxLength: 5 }), (text, paths) => {
      const rules = parseRobots('http://example.com/robots.txt', text);
      for (const p of paths) assert.equal(typeof rules.allowed(`http://example.com${p}`), 'boolean');
      assert.ok(rules.crawlDelay === undefined || (Number.isFinite(rules.crawlDelay) && rules.crawlDelay > 0));
      assert.ok(rules.sitemaps.every((s) => typeof s === 'string'));
    }),
    fuzz(),
  );
});

test('parseRobots (fuzz) - without rules for us, everything is allowed', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 30 }).filter((s) => !/(dis)?allow|user-agent/i.test(s)), { maxLength: 10 }), path, (lines, p) => {
      assert.equal(parseRobots('http://example.com/robots.txt', lines.join('\n')).allowed(`http://example.com${p}`), true);
    }),
    fuzz(),
  );
});
