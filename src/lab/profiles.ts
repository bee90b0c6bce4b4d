// Site profiles that look like the web: a documentation site (`docs`) and a blog (`blog`), written
// to disk as static files so that a real web server (nginx) serves them in the benchmarks, and
// served by the lab (`/profile/<name>/<pages>/…`) for the tests.
//
// Design: a profile is a pure function of (name, pages, seed): the same arguments give the same
// bytes. Pages are generated with their links first; the crawl depth of every page is then found
// by a breadth-first walk from the home page over the links a crawler follows (`<a href>` to a
// page of the site that is not rel=nofollow), so the counts a test checks are exact. Every page is
// reachable that way, and every same-site `<a href>` (nofollow or not, in comments and scripts
// too) names a page that exists, so crawlers that differ on nofollow or on raw text still fetch
// the same set. The figures (sizes, link counts, markup quirks) and where they come from are in
// docs/lab.md.
import { mulberry32 } from './rng.ts';

/** The profiles there are. */
export const PROFILES = ['docs', 'blog'] as const;
/** A profile's name. */
export type ProfileName = (typeof PROFILES)[number];

/** One file of a profile's site. */
export interface ProfileFile {
  /** Path under the site's root, no leading slash (`docs/intro/index.html`). */
  readonly path: string;
  readonly body: Buffer;
}

/** One HTML page of a profile's site. */
export interface ProfilePage {
  /** The URL path a crawler finds it under (`/docs/intro/`, `/?page=2`). */
  readonly url: string;
  /** The file that holds it. */
  readonly file: string;
  /** Its title as a browser shows it (entities decoded, whitespace collapsed). */
  readonly title: string;
  /** Its crawl depth from the home page (0). */
  readonly depth: number;
}

/** A profile's site: its files and the exact facts a test checks. */
export interface ProfileSite {
  readonly name: ProfileName;
  /** Every file to write (pages, robots.txt, CSS and JS), pages first. */
  readonly files: ProfileFile[];
  /** The HTML pages, in generation order (the home page first). */
  readonly pages: ProfilePage[];
  /** Pages per depth, index = depth. */
  readonly pagesPerDepth: number[];
}

/** Options of `profileSite`. */
export interface ProfileOptions {
  /** HTML pages (exact). @default 2000 for docs, 1000 for blog */
  pages?: number | undefined;
  /** Seed of every random choice. @default 1 */
  seed?: number | undefined;
}

const MIN_PAGES: Record<ProfileName, number> = { docs: 20, blog: 40 };

/**
 * Generates a profile's site.
 *
 * @example
 * const site = profileSite('docs', { pages: 2000 });
 * site.pages.length // 2000
 */
export function profileSite(name: ProfileName, options: ProfileOptions = {}): ProfileSite {
  if (!PROFILES.includes(name)) throw new RangeError(`Expected a profile among ${PROFILES.join(', ')}, got ${JSON.stringify(name)}`);
  const pages = options.pages ?? (name === 'docs' ? 2000 : 1000);
  const seed = options.seed ?? 1;
  if (!Number.isInteger(pages) || pages < MIN_PAGES[name] || pages > 100_000) {
    throw new RangeError(`Expected \`pages\` to be an integer in [${MIN_PAGES[name]}, 100000], got ${String(pages)}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new RangeError(`Expected \`seed\` to be an integer in [0, 4294967295], got ${String(seed)}`);
  const drafts = name === 'docs' ? docsSite(pages, seed) : blogSite(pages, seed);
  return finish(name, drafts, name === 'docs' ? DOCS_STATIC : BLOG_STATIC);
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

interface Draft {
  url: string;
  file: string;
  title: string;
  /** Same-site page URLs a crawler follows from here (not nofollow). */
  follows: string[];
  body: Buffer;
}

type Rng = () => number;

function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** A log-normal draw (median `median`, shape `sigma`), clipped to [lo, hi]. */
function logNormal(rng: Rng, median: number, sigma: number, lo: number, hi: number): number {
  const u = Math.max(rng(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  return Math.round(Math.min(hi, Math.max(lo, median * Math.exp(sigma * z))));
}

const WORDS = (
  'request response stream buffer socket timeout retry session cookie header body queue worker task ' +
  'event loop signal abort scope group limit rate token bucket cache proxy route handler schema ' +
  'config option plugin server client pool agent crawl page link index search table column query ' +
  'record field value state store commit lock channel message frame batch window metric trace span ' +
  'deploy build release install upgrade migrate backup restore encode decode parse format render'
).split(' ');

const LOREM = (
  'the of and to in is that for it as with be on not this by are or from at which but have an they ' +
  'you were their one all we can her has there been if more when will would who so no'
).split(' ');

function words(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += (i ? ' ' : '') + WORDS[Math.floor(rng() * WORDS.length)]!;
  return s;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A paragraph of about `bytes` bytes with inline markup and entities. */
function paragraph(rng: Rng, bytes: number, link: () => string | undefined): string {
  let s = '<p>';
  while (s.length < bytes) {
    const r = rng();
    if (r < 0.05) {
      const a = link();
      s += a === undefined ? ' plain ' : ` ${a} `;
    } else if (r < 0.1) s += ` <code>${WORDS[Math.floor(rng() * WORDS.length)]}()</code> `;
    else if (r < 0.13) s += ' &amp; ';
    else if (r < 0.15) s += ` <em>${LOREM[Math.floor(rng() * LOREM.length)]}</em>`;
    else if (r < 0.16) s += '&nbsp;&mdash; ';
    else s += ` ${rng() < 0.3 ? WORDS[Math.floor(rng() * WORDS.length)] : LOREM[Math.floor(rng() * LOREM.length)]}`;
  }
  return `${s}.</p>\n`;
}

/** A code block of about `bytes` bytes, with the entities code needs (`&lt;`, `&quot;`). */
function codeBlock(rng: Rng, bytes: number): string {
  let s = '<div class="highlight"><pre><code class="language-ts">';
  const start = s.length;
  while (s.length - start < bytes) {
    const w = WORDS[Math.floor(rng() * WORDS.length)]!;
    const r = rng();
    if (r < 0.3) s += `<span class="k">const</span> ${w} = <span class="nx">await</span> client.${w}(&quot;/${w}&quot;, { signal });\n`;
    else if (r < 0.5) s += `<span class="c1">// ${words(rng, 6)}</span>\n`;
    else if (r < 0.7) s += `if (${w}.length &lt; 10 &amp;&amp; ${w} !== undefined) return &lt;${w} /&gt;;\n`;
    else s += `  <span class="nx">${w}</span>.<span class="nf">then</span>((x) =&gt; x.${w});\n`;
  }
  return `${s}</code></pre></div>\n`;
}

/** windows-1252 / latin-1 bytes of `text` (every character used here is below U+0100 or a dash). */
function latin(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c === 0x2013 ? 0x96 : c === 0x2014 ? 0x97 : c === 0x2019 ? 0x92 : c < 256 ? c : 0x3f;
  }
  return out;
}

function finish(name: ProfileName, drafts: Draft[], statics: ProfileFile[]): ProfileSite {
  const index = new Map<string, number>();
  drafts.forEach((d, i) => index.set(d.url, i));
  const depth = new Array<number>(drafts.length).fill(-1);
  depth[0] = 0;
  const queue = [0];
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q]!;
    for (const url of drafts[i]!.follows) {
      const j = index.get(url);
      if (j === undefined) throw new Error(`profile ${name}: ${drafts[i]!.url} links to ${url}, which is not a page`);
      if (depth[j] === -1) {
        depth[j] = depth[i]! + 1;
        queue.push(j);
      }
    }
  }
  const pagesPerDepth: number[] = [];
  const pages = drafts.map((d, i) => {
    if (depth[i] === -1) throw new Error(`profile ${name}: ${d.url} is not reachable`);
    pagesPerDepth[depth[i]!] = (pagesPerDepth[depth[i]!] ?? 0) + 1;
    return { url: d.url, file: d.file, title: d.title.replace(/\s+/g, ' ').trim(), depth: depth[i]! };
  });
  return { name, files: [...drafts.map((d) => ({ path: d.file, body: d.body })), ...statics], pages, pagesPerDepth };
}

const ROBOTS = 'User-agent: *\nDisallow: /private/\n';
const CSS = Buffer.from(`body{font:16px/1.5 system-ui;margin:0}.sidebar{width:18rem;float:left}\n${'.x{color:#333}\n'.repeat(200)}`);
const JS = Buffer.from(`window.addEventListener('load',function(){document.body.classList.add('ready')});\n${'/* theme */\n'.repeat(100)}`);

const DOCS_STATIC: ProfileFile[] = [
  { path: 'robots.txt', body: Buffer.from(ROBOTS) },
  { path: '_static/theme.css', body: CSS },
  { path: '_static/theme.js', body: JS },
  { path: '_static/logo.svg', body: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n') },
];
const BLOG_STATIC: ProfileFile[] = [
  { path: 'robots.txt', body: Buffer.from(ROBOTS) },
  { path: 'assets/style.css', body: CSS },
  { path: 'assets/app.js', body: JS },
  { path: 'feed.xml', body: Buffer.from('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Notes on software</title></channel></rss>\n') },
];

// ---------------------------------------------------------------------------------------------
// docs: sections of pages; every page has the whole navigation in a sidebar.

interface DocPage {
  url: string;
  file: string;
  section: number;
  /** Title as text (may hold characters that become entities). */
  title: string;
}

const SPECIAL_TITLES = ['Config & Options', '<select> element', 'What\u2019s new', 'Errors \u2014 reference', 'Caf\u00e9 & bar: \u00ab quotes \u00bb', 'a < b > c'];

function docsSite(total: number, seed: number): Draft[] {
  const rng = mulberry32(seed ^ 0xd0c5);
  // Sections of 15–70 pages (an index page each), filled to exactly `total` pages with the home.
  const sizes: number[] = [];
  let left = total - 1;
  while (left > 0) {
    let size = Math.min(left, int(rng, 15, 70));
    if (left - size > 0 && left - size < 2) size = left;
    sizes.push(size);
    left -= size;
  }
  const sections = sizes.map((size, s) => ({ slug: `${WORDS[s % WORDS.length]}${s >= WORDS.length ? `-${Math.floor(s / WORDS.length)}` : ''}`, size, title: cap(words(rng, 2)), pages: [] as DocPage[] }));
  const all: DocPage[] = [{ url: '/', file: 'index.html', section: -1, title: 'Project documentation' }];
  sections.forEach((sec, s) => {
    const indexPage: DocPage = { url: `/docs/${sec.slug}/`, file: `docs/${sec.slug}/index.html`, section: s, title: `${sec.title} overview` };
    sec.pages.push(indexPage);
    all.push(indexPage);
    for (let k = 1; k < sec.size; k++) {
      const special = rng() < 0.04 ? SPECIAL_TITLES[Math.floor(rng() * SPECIAL_TITLES.length)]! : undefined;
      const title = special === undefined ? cap(words(rng, int(rng, 2, 5))) : `${special} (${k})`;
      const p: DocPage = { url: `/docs/${sec.slug}/${k}-${words(rng, 2).replace(/ /g, '-')}.html`, file: '', section: s, title };
      (p as { file: string }).file = p.url.slice(1);
      sec.pages.push(p);
      all.push(p);
    }
  });
  const drafts: Draft[] = [];
  for (let i = 0; i < all.length; i++) {
    const page = all[i]!;
    const follows: string[] = [];
    // Links are written as the page would write them (absolute path, relative, with #fragment);
    // `follows` gets the page each one names.
    const rel = (to: DocPage): string => relative(page.url, to.url);
    const parts: string[] = [];
    const kind = i === 0 ? 'html' : rng() < 0.1 ? 'xhtml' : rng() < 0.015 ? 'win1252' : rng() < 0.006 ? 'latin1' : 'html';
    const selfClose = kind === 'xhtml' ? ' /' : '';
    const link = (to: DocPage, text: string, how: 'abs' | 'rel' | 'frag' = 'abs', attrs = ''): string => {
      follows.push(to.url);
      const href = how === 'abs' ? to.url : how === 'rel' ? rel(to) : `${rel(to)}#${words(rng, 1)}`;
      return `<a${attrs} href="${esc(href)}">${esc(text)}</a>`;
    };
    // Header: logo, a few top-level sections, external links.
    parts.push('<header class="top"><a class="logo" href="/">');
    follows.push('/');
    parts.push(`<img src="/_static/logo.svg" alt="Project"${selfClose}></a><nav class="top-nav"><ul>`);
    for (let s = 0; s < Math.min(6, sections.length); s++) parts.push(`<li>${link(sections[s]!.pages[0]!, sections[s]!.title)}</li>`);
    parts.push('<li><a href="https://github.com/example/project" class="external">GitHub</a></li><li><a href="https://discord.example.com/invite">Chat</a></li></ul></nav></header>\n');
    // Sidebar: every section, the current one and its neighbours expanded, capped near 300.
    parts.push('<div class="wrapper"><nav class="sidebar" aria-label="Main"><ul class="toc">\n');
    let budget = 300 - 12;
    for (let s = 0; s < sections.length; s++) {
      const sec = sections[s]!;
      const open = page.section >= 0 && Math.abs(s - page.section) <= 1;
      parts.push(`<li class="toc-l1${s === page.section ? ' current' : ''}">${link(sec.pages[0]!, sec.title)}`);
      budget--;
      if (open || (page.section < 0 && s < 2)) {
        parts.push('<ul>');
        for (let k = 1; k < sec.pages.length && budget > 0; k++, budget--) parts.push(`<li class="toc-l2">${link(sec.pages[k]!, sec.pages[k]!.title)}</li>\n`);
        parts.push('</ul>');
      }
      parts.push('</li>\n');
    }
    parts.push('</ul></nav>\n<main class="content" role="main">\n');
    // Breadcrumbs.
    parts.push(`<nav class="breadcrumbs"><ol><li>${link(all[0]!, 'Docs', 'rel')}</li>`);
    if (page.section >= 0) parts.push(`<li>&rsaquo; ${link(sections[page.section]!.pages[0]!, sections[page.section]!.title, 'rel')}</li>`);
    parts.push(`<li>&rsaquo; ${esc(page.title)}</li></ol></nav>\n<h1>${esc(page.title)}<a class="headerlink" href="#top" title="Permalink">&para;</a></h1>\n`);
    // Content to the page's size: paragraphs, code, headings with permalinks, a few in-text links.
    const target = logNormal(rng, 11_500, 0.5, 5 * 1024, 60 * 1024);
    const inText = (): string | undefined => {
      const r = rng();
      if (r < 0.7) {
        const to = all[Math.floor(rng() * all.length)]!;
        return link(to, words(rng, 2), rng() < 0.5 ? 'rel' : 'frag');
      }
      if (r < 0.9) return `<a href="https://developer.mozilla.org/en-US/docs/Web/${words(rng, 1)}" class="external">MDN</a>`;
      return `<a href="#${words(rng, 1)}">see below</a>`;
    };
    let size = parts.reduce((n, p) => n + p.length, 0) + 1500;
    let h = 0;
    while (size < target) {
      const r = rng();
      let block: string;
      if (r < 0.12) block = `<h2 id="s${++h}">${esc(cap(words(rng, 3)))}<a class="headerlink" href="#s${h}" title="Permalink to this heading">&para;</a></h2>\n`;
      else if (r < 0.35) block = codeBlock(rng, int(rng, 200, 1200));
      else if (r < 0.38) block = `<div class="admonition note"><p class="admonition-title">Note</p><p>${esc(words(rng, 12))} &amp; ${esc(words(rng, 6))}.</p></div>\n`;
      else if (r < 0.4) block = `<table class="docutils"><thead><tr><th>Option</th><th>Default</th></tr></thead><tbody>${Array.from({ length: 6 }, () => `<tr><td><code>${words(rng, 1)}</code></td><td>${int(rng, 0, 1000)}</td></tr>`).join('')}</tbody></table>\n`;
      else block = paragraph(rng, int(rng, 200, 900), inText);
      parts.push(block);
      size += block.length;
    }
    // Markup a crawler must not take links from: a comment, a script, CDATA in XHTML.
    const some = all[Math.floor(rng() * all.length)]!.url;
    parts.push(`<!-- old nav: <a href="${some}">moved</a> -->\n`);
    if (kind === 'xhtml') parts.push(`<script type="text/javascript">//<![CDATA[\nvar nav = '<a href="${some}">' + (1 < 2 && 3 > 2);\n//]]></script>\n`);
    else parts.push(`<script>var tpl = '<a href="${some}">x</a>'; if (1 < 2) document.title += '';</script>\n`);
    // Prev / next.
    parts.push('<nav class="prev-next">');
    if (i > 1) parts.push(link(all[i - 1]!, `\u2190 ${all[i - 1]!.title}`, 'rel', ' rel="prev"'));
    if (i + 1 < all.length) parts.push(link(all[i + 1]!, `${all[i + 1]!.title} \u2192`, 'rel', ' rel="next"'));
    parts.push('</nav>\n</main></div>\n<footer><p>&copy; 2026 The Project. <a href="https://creativecommons.org/licenses/by/4.0/" rel="license">CC BY 4.0</a></p></footer>\n');
    drafts.push({ url: page.url, file: page.file, title: `${page.title} \u2014 Project 4.2 documentation`, follows, body: docsDocument(kind, page.title, parts.join('')) });
  }
  return drafts;
}

function docsDocument(kind: string, title: string, body: string): Buffer {
  const head = '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/_static/theme.css"><script src="/_static/theme.js" defer></script>';
  const t = `${esc(title)} &mdash; Project 4.2 documentation`;
  switch (kind) {
    case 'xhtml':
      return Buffer.from(`<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />\n<title>${t}</title>\n<link rel="stylesheet" href="/_static/theme.css" type="text/css" />\n</head>\n<body>\n${body}</body>\n</html>\n`);
    case 'win1252':
      return latin(`<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<HTML><HEAD>\n<META http-equiv="Content-Type" content="text/html; charset=windows-1252">\n<TITLE>${t}</TITLE>\n</HEAD>\n<BODY>\n${body.replace(/[^\t\n\r\u0020-\u00ff\u2013\u2014\u2019]/g, '?')}</BODY></HTML>\n`);
    case 'latin1':
      return latin(`<!DOCTYPE html>\n<html><head><meta charset="iso-8859-1"><title>${t}</title>${head}</head>\n<body>\n${body.replace(/[^\t\n\r\u0020-\u00ff]/g, '?')}</body></html>\n`);
    default:
      return Buffer.from(`<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">${head}<title>${t}</title></head>\n<body>\n${body}</body></html>\n`);
  }
}

/** The shortest relative reference from page URL `from` to `to` (both absolute paths). */
function relative(from: string, to: string): string {
  const a = from.split('/');
  const b = to.split('/');
  a.pop();
  const file = b.pop()!;
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  const up = a.length - common;
  const rest = [...b.slice(common), file].join('/');
  if (up === 0) return rest === '' ? './' : rest;
  return '../'.repeat(up) + rest;
}

// ---------------------------------------------------------------------------------------------
// blog: posts, paginated lists (`?page=N`) of the home page and of tags, yearly archives.

const TAGS = ['javascript', 'node', 'performance', 'databases', 'networking', 'security', 'testing', 'devops', 'career', 'python', 'rust', 'design'];

interface BlogPage {
  url: string;
  file: string;
  title: string;
}

function blogSite(total: number, seed: number): Draft[] {
  const rng = mulberry32(seed ^ 0xb109);
  const perPage = 10;
  const years = 8;
  // Count the pages that `posts` posts make; find the most posts that fit, fill the rest with
  // static pages (about, talks, …).
  const tagOf = (p: number): number[] => [p % TAGS.length, (p * 7 + 3) % TAGS.length].filter((t, k, all) => all.indexOf(t) === k);
  const count = (posts: number): number => {
    const perTag = new Array<number>(TAGS.length).fill(0);
    for (let p = 0; p < posts; p++) for (const t of tagOf(p)) perTag[t]!++;
    const tagPages = perTag.reduce((n, c) => n + Math.max(1, Math.ceil(c / perPage)), 0);
    return posts + Math.max(1, Math.ceil(posts / perPage)) + tagPages + years;
  };
  let posts = Math.floor(total * 0.75);
  while (posts > 1 && count(posts) > total - 1) posts--;
  const statics = total - count(posts);
  const postPages: BlogPage[] = [];
  for (let p = 0; p < posts; p++) {
    const year = 2026 - Math.floor((p * years) / posts);
    const title = rng() < 0.06 ? `${cap(words(rng, 3))} & ${words(rng, 2)}: what \u201cfast\u201d means` : cap(words(rng, int(rng, 3, 8)));
    const slug = `${p}-${words(rng, 3).replace(/ /g, '-')}`;
    postPages.push({ url: `/posts/${year}/${slug}/`, file: `posts/${year}/${slug}/index.html`, title });
  }
  const home = (n: number): BlogPage => ({ url: n === 1 ? '/' : `/?page=${n}`, file: n === 1 ? 'index.html' : `page-${n}.html`, title: n === 1 ? 'Notes on software' : `Notes on software \u2014 page ${n}` });
  const tagPage = (t: number, n: number): BlogPage => ({ url: n === 1 ? `/tags/${TAGS[t]}/` : `/tags/${TAGS[t]}/?page=${n}`, file: n === 1 ? `tags/${TAGS[t]}/index.html` : `tags/${TAGS[t]}/page-${n}.html`, title: `Posts tagged \u201c${TAGS[t]}\u201d${n === 1 ? '' : ` (page ${n})`}` });
  const yearPage = (y: number): BlogPage => ({ url: `/archive/${2026 - y}/`, file: `archive/${2026 - y}/index.html`, title: `Archive ${2026 - y}` });
  const staticPage = (k: number): BlogPage => ({ url: `/pages/${k}/`, file: `pages/${k}/index.html`, title: k === 0 ? 'About' : `Talks & notes ${k}` });
  const homeCount = Math.max(1, Math.ceil(posts / perPage));
  const byTag: number[][] = TAGS.map(() => []);
  for (let p = 0; p < posts; p++) for (const t of tagOf(p)) byTag[t]!.push(p);
  const byYear: number[][] = Array.from({ length: years }, () => []);
  for (let p = 0; p < posts; p++) byYear[2026 - Number(postPages[p]!.url.split('/')[2])]!.push(p);

  const drafts: Draft[] = [];
  const render = (page: BlogPage, main: (link: (to: BlogPage, text: string, attrs?: string) => string, follows: string[]) => string): void => {
    const follows: string[] = [];
    const link = (to: BlogPage, text: string, attrs = ''): string => {
      if (!/rel="[^"]*nofollow/.test(attrs)) follows.push(to.url);
      return `<a${attrs} href="${esc(to.url)}">${esc(text)}</a>`;
    };
    const header = `<header class="site-header"><a class="brand" href="/">Notes on software</a><nav>${[0, 1, 2].map((k) => (k < statics ? link(staticPage(k), staticPage(k).title) : '')).join(' ')} ${link(yearPage(0), 'Archive')} <a href="https://mastodon.example/@author" rel="me">Mastodon</a></nav></header>\n`;
    follows.push('/');
    const aside = `<aside class="widgets"><h3>Tags</h3><ul>${TAGS.map((_, t) => `<li>${link(tagPage(t, 1), TAGS[t]!, ' rel="tag"')}</li>`).join('')}</ul><h3>Archive</h3><ul>${Array.from({ length: years }, (_, y) => `<li>${link(yearPage(y), String(2026 - y))}</li>`).join('')}</ul><h3>Blogroll</h3><ul>${Array.from({ length: 15 }, (_, k) => `<li><a href="https://blog${k}.example.net/" rel="nofollow noopener">${esc(cap(words(rng, 2)))}</a></li>`).join('')}</ul></aside>\n`;
    const body = `${header}<div class="layout"><main>\n${main(link, follows)}</main>\n${aside}</div><footer>&copy; 2026 &middot; <a href="https://creativecommons.org/licenses/by-sa/4.0/" rel="license nofollow">CC BY-SA</a></footer>\n`;
    const html = `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(page.title)}</title><meta name="viewport" content="width=device-width"><link rel="stylesheet" href="/assets/style.css"><link rel="alternate" type="application/rss+xml" href="/feed.xml"><script async src="/assets/app.js"></script>\n<script type="application/ld+json">{"@context":"https://schema.org","@type":"Blog","url":"https://blog.example.org${page.url}"}</script></head>\n<body>\n${body}</body></html>\n`;
    drafts.push({ url: page.url, file: page.file, title: page.title, follows, body: Buffer.from(html) });
  };
  const excerpt = (p: number, link: (to: BlogPage, text: string, attrs?: string) => string): string =>
    `<article class="excerpt"><h2>${link(postPages[p]!, postPages[p]!.title)}</h2><p class="meta">${tagOf(p).map((t) => link(tagPage(t, 1), `#${TAGS[t]}`, ' rel="tag nofollow"')).join(' ')}</p>${paragraph(rng, int(rng, 600, 1600), () => undefined)}<p>${link(postPages[p]!, 'Read more \u2192', ' class="more"')}</p></article>\n`;
  const pager = (at: (n: number) => BlogPage, n: number, count: number, link: (to: BlogPage, text: string, attrs?: string) => string): string => {
    let s = '<nav class="pagination">';
    if (n > 1) s += link(at(n - 1), '\u2190 Newer', ' rel="prev"');
    for (const k of [1, n - 2, n - 1, n + 1, n + 2, count]) if (k >= 1 && k <= count && k !== n) s += ` ${link(at(k), String(k))}`;
    if (n < count) s += ` ${link(at(n + 1), 'Older \u2192', ' rel="next"')}`;
    return `${s}</nav>\n`;
  };
  for (let n = 1; n <= homeCount; n++) {
    render(home(n), (link) => {
      let s = `<h1>${n === 1 ? 'Latest posts' : `Posts, page ${n}`}</h1>\n`;
      for (let p = (n - 1) * perPage; p < Math.min(posts, n * perPage); p++) s += excerpt(p, link);
      return s + pager(home, n, homeCount, link);
    });
  }
  for (let p = 0; p < posts; p++) {
    render(postPages[p]!, (link) => {
      const target = logNormal(rng, 42_000, 0.6, 15 * 1024, 180 * 1024);
      let s = `<article class="post"><h1>${esc(postPages[p]!.title)}</h1><p class="meta">${tagOf(p).map((t) => link(tagPage(t, 1), TAGS[t]!, ' rel="tag"')).join(', ')}</p>\n`;
      const inText = (): string => {
        const r = rng();
        if (r < 0.55) return `<a href="https://${words(rng, 1)}.example.com/${words(rng, 2).replace(/ /g, '/')}?utm_source=blog&amp;utm_medium=post">${esc(words(rng, 2))}</a>`;
        if (r < 0.75) return `<a href="https://news.example.org/item?id=${int(rng, 1, 1e7)}" rel="nofollow ugc">discussion</a>`;
        if (r < 0.85) return `<a href="https://shop.example.net/p/${int(rng, 1, 1e5)}" rel="sponsored nofollow">affiliate</a>`;
        const to = postPages[Math.floor(rng() * posts)]!;
        return link(to, words(rng, 2));
      };
      while (s.length < target * 0.8) s += rng() < 0.2 ? codeBlock(rng, int(rng, 300, 2000)) : paragraph(rng, int(rng, 300, 1500), inText);
      s += '</article>\n<section class="comments"><h2>Comments</h2>\n';
      let c = 0;
      while (s.length < target) {
        s += `<div class="comment" id="comment-${++c}"><p class="author"><a href="https://user${int(rng, 1, 9999)}.example.io/" rel="external nofollow ugc">${esc(cap(words(rng, 2)))}</a></p>${paragraph(rng, int(rng, 150, 700), () => (rng() < 0.5 ? `<a href="https://${words(rng, 1)}.example.org/" rel="nofollow ugc">link</a>` : undefined))}</div>\n`;
      }
      s += '</section>\n<nav class="post-nav">';
      if (p > 0) s += link(postPages[p - 1]!, `\u2190 ${postPages[p - 1]!.title}`, ' rel="prev"');
      if (p + 1 < posts) s += ` ${link(postPages[p + 1]!, `${postPages[p + 1]!.title} \u2192`, ' rel="next"')}`;
      return `${s}</nav>\n`;
    });
  }
  for (let t = 0; t < TAGS.length; t++) {
    const list = byTag[t]!;
    const pagesOfTag = Math.max(1, Math.ceil(list.length / perPage));
    for (let n = 1; n <= pagesOfTag; n++) {
      render(tagPage(t, n), (link) => {
        let s = `<h1>Tagged ${esc(TAGS[t]!)}</h1>\n<ul class="post-list">`;
        for (const p of list.slice((n - 1) * perPage, n * perPage)) s += `<li>${link(postPages[p]!, postPages[p]!.title)}</li>\n`;
        return `${s}</ul>\n${pager((k) => tagPage(t, k), n, pagesOfTag, link)}`;
      });
    }
  }
  for (let y = 0; y < years; y++) {
    render(yearPage(y), (link) => `<h1>${2026 - y}</h1>\n<ul class="archive">${byYear[y]!.map((p) => `<li>${link(postPages[p]!, postPages[p]!.title)}</li>\n`).join('')}</ul>\n`);
  }
  for (let k = 0; k < statics; k++) {
    render(staticPage(k), (link) => `<h1>${esc(staticPage(k).title)}</h1>\n${paragraph(rng, int(rng, 2000, 6000), () => undefined)}<p>${k + 1 < statics ? link(staticPage(k + 1), 'More') : ''}</p>\n`);
  }
  return drafts;
}

/**
 * Writes a profile's site under `dir` (created if missing), each file complete or absent (written
 * to a temp name, then renamed). Returns the number of files written.
 */
export async function writeProfileSite(site: ProfileSite, dir: string): Promise<number> {
  const { mkdir, writeFile, rename } = await import('node:fs/promises');
  const { dirname, join } = await import('node:path');
  const made = new Set<string>();
  for (const f of site.files) {
    const path = join(dir, f.path);
    const parent = dirname(path);
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true });
      made.add(parent);
    }
    await writeFile(`${path}.tmp`, f.body);
    await rename(`${path}.tmp`, path);
  }
  return site.files.length;
}

const TYPES: Record<string, string> = { html: 'text/html', css: 'text/css', js: 'application/javascript', svg: 'image/svg+xml', xml: 'text/xml', txt: 'text/plain' };

/**
 * What a static server (the benchmarks' nginx config) answers for `target` (path and query) on
 * `site`: a directory serves its `index.html`, `?page=N` the directory's `page-N.html`.
 */
export function profileFile(site: ProfileSite, target: string): { status: number; type: string; body: Buffer } {
  const q = target.indexOf('?');
  const path = decodeURIComponent(q < 0 ? target : target.slice(0, q));
  const page = q < 0 ? null : new URLSearchParams(target.slice(q + 1)).get('page');
  let files = (site as ProfileSite & { index?: Map<string, Buffer> }).index;
  if (files === undefined) {
    files = new Map(site.files.map((f) => [`/${f.path}`, f.body]));
    (site as ProfileSite & { index?: Map<string, Buffer> }).index = files;
  }
  const candidates = path.endsWith('/') ? [`${path}page-${page ?? ''}.html`, `${path}index.html`] : [path];
  for (const c of candidates) {
    const body = files.get(c);
    if (body !== undefined) return { status: 200, type: TYPES[c.slice(c.lastIndexOf('.') + 1)] ?? 'application/octet-stream', body };
  }
  return { status: 404, type: 'text/html', body: Buffer.from('<html><body>404 Not Found</body></html>') };
}
