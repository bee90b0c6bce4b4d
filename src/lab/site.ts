// The synthetic site for crawlers: `/site/<spec>/…`, where <spec> is `default` (the site given to
// startLab) or a comma list such as `pages=1000,fanout=8,latency=50`, so tests can ask for many
// different sites from one server.
//
// Design: pages are numbered 0…N-1 in breadth-first order of a tree with `fanout` children per
// page (children of i are i·f+1 … i·f+f). Page i also links to its parent, to the home page and
// to `links` pseudo-random pages j ≤ i. Pages with a smaller number never sit deeper in the tree,
// so those extra links never shorten a path: the crawl depth of page i is its tree depth, and
// every count is exact (`siteCounts`). Extras (on by default) hang off pages by i mod 10; none of
// them adds a page to the tree, and each kind has an exact count. The calendar trap is infinite
// and therefore off unless asked for.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { LabContext } from './context.ts';
import type { BodyFaults } from './faults.ts';
import { fillBytes, hash32, pick } from './rng.ts';
import { later, send } from './send.ts';

/** A site's shape. */
export interface SiteSpec {
  /** HTML pages in the tree (the home page is page 0). @default 100 */
  readonly pages: number;
  /** Children per page. @default 5 */
  readonly fanout: number;
  /** Extra links per page to pseudo-random earlier pages. @default 3 */
  readonly links: number;
  /** Minimum size of a page's HTML in bytes (padded with text). @default 0 */
  readonly bytes: number;
  /** Latency added to every response of the site, in ms. @default 0 */
  readonly latency: number;
  /** Redirects, broken links, documents, private pages, duplicates, odd markup. @default true */
  readonly extras: boolean;
  /** The endless calendar (`calendar/<y>/<m>`, linked from the home page). @default false */
  readonly calendar: boolean;
  /** Seed of the cross links. @default the server's seed */
  readonly seed: number;
}

/** Options for a site; `depth` (if given) chooses the smallest fanout that fits the pages in it. */
export interface SiteOptions {
  pages?: number | undefined;
  fanout?: number | undefined;
  depth?: number | undefined;
  links?: number | undefined;
  bytes?: number | undefined;
  latency?: number | undefined;
  extras?: boolean | undefined;
  calendar?: boolean | undefined;
  seed?: number | undefined;
}

const LIMITS: Record<string, [number, number]> = {
  pages: [1, 10_000_000],
  fanout: [1, 10_000],
  depth: [0, 1_000],
  links: [0, 1_000],
  bytes: [0, 16 * 1024 * 1024],
  latency: [0, 60_000],
  extras: [0, 1],
  calendar: [0, 1],
  seed: [0, 0xffff_ffff],
};

/**
 * Builds a spec from options, filling in defaults. Throws RangeError on a value out of range.
 *
 * @example
 * siteSpec({ pages: 1000, depth: 3 }, 1).fanout // 10
 */
export function siteSpec(options: SiteOptions, seed: number): SiteSpec {
  const v: Record<string, number | undefined> = {
    pages: options.pages,
    fanout: options.fanout,
    depth: options.depth,
    links: options.links,
    bytes: options.bytes,
    latency: options.latency,
    seed: options.seed,
  };
  for (const [k, x] of Object.entries(v)) {
    const range = LIMITS[k];
    if (x === undefined || range === undefined) continue;
    if (!Number.isInteger(x) || x < range[0] || x > range[1]) {
      throw new RangeError(`Expected site \`${k}\` to be an integer in [${range[0]}, ${range[1]}], got ${String(x)}`);
    }
  }
  const pages = options.pages ?? 100;
  let fanout = options.fanout ?? 5;
  if (options.depth !== undefined && options.fanout === undefined) fanout = fanoutForDepth(pages, options.depth);
  return {
    pages,
    fanout,
    links: options.links ?? 3,
    bytes: options.bytes ?? 0,
    latency: options.latency ?? 0,
    extras: options.extras ?? true,
    calendar: options.calendar ?? false,
    seed: options.seed ?? seed,
  };
}

function fanoutForDepth(pages: number, depth: number): number {
  if (depth === 0) return 1;
  for (let f = 1; f < pages; f++) {
    let total = 1;
    let level = 1;
    for (let d = 1; d <= depth && total < pages; d++) {
      level *= f;
      total += level;
    }
    if (total >= pages) return f;
  }
  return Math.max(1, pages - 1);
}

const specCache = new Map<string, SiteSpec | undefined>();

/** Parses `pages=…,fanout=…` (or `default`); undefined when malformed. */
export function parseSiteSpec(text: string, base: SiteSpec): SiteSpec | undefined {
  if (text === 'default') return base;
  const cacheKey = `${base.seed}\0${text}`;
  if (specCache.has(cacheKey)) return specCache.get(cacheKey);
  let spec: SiteSpec | undefined;
  try {
    const o: Record<string, number> = {};
    for (const part of text.split(',')) {
      const eq = part.indexOf('=');
      const k = part.slice(0, eq);
      if (eq < 0 || !(k in LIMITS)) throw new RangeError(part);
      o[k] = Number(part.slice(eq + 1));
    }
    spec = siteSpec({
      pages: o.pages,
      fanout: o.fanout,
      depth: o.depth,
      links: o.links,
      bytes: o.bytes,
      latency: o.latency,
      extras: o.extras === undefined ? undefined : o.extras === 1,
      calendar: o.calendar === undefined ? undefined : o.calendar === 1,
      seed: o.seed ?? base.seed,
    }, base.seed);
  } catch {
    spec = undefined;
  }
  if (specCache.size > 1000) specCache.clear();
  specCache.set(cacheKey, spec);
  return spec;
}

/** Depth of page i in the site's tree (home page: 0). */
export function pageDepth(spec: SiteSpec, i: number): number {
  let d = 0;
  while (i > 0) {
    i = Math.floor((i - 1) / spec.fanout);
    d++;
  }
  return d;
}

/** Title of page i (pages with i mod 10 = 6 are served in windows-1252 when extras are on). */
export function pageTitle(spec: SiteSpec, i: number): string {
  return spec.extras && i % 10 === 6 ? `Café ${i} – naïve` : `Page ${i}`;
}

/** Exact counts of what a site holds. */
export interface SiteCounts {
  /** HTML pages of the tree (200), each reachable. */
  pages: number;
  /** Deepest page. */
  maxDepth: number;
  /** Pages per depth, index = depth. */
  pagesPerDepth: number[];
  /** `r/<i>` URLs, each a 301 to page i. */
  redirects: number;
  /** `loop/a` and `loop/b` redirecting to each other (2 with extras, else 0). */
  redirectLoop: number;
  /** `missing/<i>` URLs answering 404. */
  broken: number;
  /** `doc/<i>.pdf` non-HTML documents. */
  documents: number;
  /** `/private/<spec>/<i>` pages, disallowed by robots.txt (200 if fetched anyway). */
  private: number;
  /** Leaf pages behind rel=nofollow links (`nofollow/<i>`), each with meta robots nofollow. */
  nofollow: number;
  /** Leaf pages linked only from the `nofollow/<i>` pages (`nofollow/<i>/deep`). */
  nofollowDeep: number;
  /** Distinct same-host URLs a crawler reaches that follows everything except robots.txt's
   * Disallow, counting every URL it requests once (calendar excluded). */
  urlsAllowed: number;
}

function countMod(n: number, r: number, from = 0): number {
  let c = 0;
  for (let i = from; i < n; i++) if (i % 10 === r) c++;
  return c;
}

/**
 * The exact counts of `spec`'s site, for tests.
 *
 * @example
 * const counts = siteCounts(siteSpec({ pages: 500, extras: false }, 1));
 * // a crawl of `${lab.url}/site/pages=500,extras=0/` finds counts.pages === 500 pages
 */
export function siteCounts(spec: SiteSpec): SiteCounts {
  const pagesPerDepth: number[] = [];
  for (let i = 0; i < spec.pages; i++) {
    const d = pageDepth(spec, i);
    pagesPerDepth[d] = (pagesPerDepth[d] ?? 0) + 1;
  }
  const x = spec.extras;
  const c = {
    pages: spec.pages,
    maxDepth: pagesPerDepth.length - 1,
    pagesPerDepth,
    redirects: x ? countMod(spec.pages, 3) : 0,
    redirectLoop: x ? 2 : 0,
    broken: x ? countMod(spec.pages, 5) : 0,
    documents: x ? countMod(spec.pages, 7) : 0,
    private: x ? countMod(spec.pages, 9) : 0,
    nofollow: x ? countMod(spec.pages, 1) : 0,
    nofollowDeep: x ? countMod(spec.pages, 1) : 0,
    urlsAllowed: 0,
  };
  c.urlsAllowed = c.pages + c.redirects + c.redirectLoop + c.broken + c.documents + c.nofollow + c.nofollowDeep;
  return c;
}

const FILLER = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ';

function pad(html: string[], size: number, bytes: number): void {
  let missing = bytes - size - 20;
  if (missing <= 0) return;
  html.push('<p>');
  while (missing > 0) {
    const s = missing >= FILLER.length ? FILLER : FILLER.slice(0, missing);
    html.push(s);
    missing -= s.length;
  }
  html.push('</p>\n');
}

/** Encodes text to windows-1252 (only the characters the lab uses outside ASCII). */
function win1252(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c === 0x2013 ? 0x96 : c === 0x2014 ? 0x97 : c < 256 ? c : 0x3f;
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function pagePath(root: string, i: number): string {
  return i === 0 ? root : `${root}page/${i}`;
}

interface Page {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer | string;
}

const HTML = 'text/html; charset=utf-8';

function htmlPage(title: string, head: string, body: string[]): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${esc(title)}</title>${head}</head>\n<body>\n<h1>${esc(title)}</h1>\n${body.join('')}</body></html>\n`;
}

/** Renders page i of the site rooted at `root` (`/site/<spec>/`) on `origin` (`http://host`). */
function renderPage(spec: SiteSpec, root: string, origin: string, specText: string, i: number): Page {
  const x = spec.extras;
  const kind = i % 10;
  const isBase = x && kind === 4;
  const title = pageTitle(spec, i);
  const links: string[] = [];
  const a = (href: string, text: string, extra = '') => links.push(`<li><a href="${esc(href)}"${extra}>${esc(text)}</a></li>\n`);
  // Relative hrefs: from the home page and from <base> pages (base = root) children are
  // `page/<c>`; from other pages, siblings in `page/`, so `<c>`.
  const rel = (c: number) => (i === 0 || isBase ? `page/${c}` : String(c));
  const f = spec.fanout;
  for (let c = i * f + 1; c <= i * f + f && c < spec.pages; c++) {
    if (x && kind === 8) links.push(`<li><A HREF=${rel(c)}>Child ${c}</A>\n`);
    else a(rel(c), `Child ${c}`);
  }
  if (i > 0) {
    const p = Math.floor((i - 1) / f);
    a(`${origin}${pagePath(root, p)}`, 'Parent');
    a(root, 'Home');
  }
  const key = hash32(`links\0${i}`, spec.seed);
  for (let k = 0; k < spec.links; k++) {
    const j = pick(key, k, i + 1);
    a(pagePath(root, j), `See also ${j}`);
  }
  let head = '';
  if (x) {
    if (i === 0) {
      a(`${root}loop/a`, 'Loop');
      a('http://other.invalid/elsewhere', 'Elsewhere');
      links.push('<li><a href="mailto:lab@example.invalid">Mail</a></li>\n<li><a href="javascript:void(0)">Script</a></li>\n');
    }
    if (kind === 1) a(`${root}nofollow/${i}`, 'Not followed', ' rel="nofollow"');
    if (kind === 2 && i > 0) {
      // Duplicates of the parent that normalisation removes: fragment, dot segments, tracking
      // parameters, host case.
      const p = pagePath(root, Math.floor((i - 1) / f));
      const slash = p.lastIndexOf('/') + 1;
      const dir = p.slice(0, slash);
      const leaf = p.slice(slash);
      a(`${p}#top`, 'Fragment');
      a(`${dir}./${leaf}`, 'Dot');
      a(`${dir}x/../${leaf}`, 'Dot-dot');
      a(`${p}?utm_source=lab&utm_medium=crawl&utm_campaign=dup`, 'Tracking');
      a(`${origin.toUpperCase().replace('HTTP://', 'http://')}${p}`, 'Host case');
    }
    if (kind === 3) a(`${root}r/${i}`, 'Via redirect');
    if (isBase) head += `<base href="${esc(origin + root)}">`;
    if (kind === 5) a(`${root}missing/${i}`, 'Broken');
    if (kind === 7) a(`${root}doc/${i}.pdf`, 'Document');
    if (kind === 9) a(`/private/${specText}/${i}`, 'Private');
  }
  if (spec.calendar && i === 0) a(`${root}calendar/2026/11`, 'Calendar');
  const parts = ['<ul>\n', ...links, '</ul>\n'];
  if (x && kind === 8) parts.push('<p>Unclosed paragraph <b>bold <i>both</b></i>\n<div><p>Nested\n');
  let html: string;
  if (x && kind === 0 && i > 0) {
    html = `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" /><title>${esc(title)}</title>${head}</head>\n<body>\n<h1>${esc(title)}</h1><br />\n${parts.join('')}</body></html>\n`;
  } else if (x && kind === 6) {
    html = `<!DOCTYPE html>\n<html><head><meta charset="windows-1252"><title>${esc(title)}</title>${head}</head>\n<body>\n<h1>${esc(title)}</h1>\n${parts.join('')}</body></html>\n`;
  } else {
    html = htmlPage(title, head, parts);
  }
  if (spec.bytes > html.length) {
    const padded: string[] = [];
    pad(padded, html.length, spec.bytes);
    html = html.replace('</body>', `${padded.join('')}</body>`);
  }
  if (x && kind === 6) {
    return { status: 200, headers: { 'content-type': 'text/html; charset=windows-1252' }, body: win1252(html) };
  }
  return { status: 200, headers: { 'content-type': HTML }, body: html };
}

function leaf(title: string, head: string, links: string[]): Page {
  return { status: 200, headers: { 'content-type': HTML }, body: htmlPage(title, head, links) };
}

function notFound(): Page {
  return { status: 404, headers: { 'content-type': HTML }, body: htmlPage('Not Found', '', ['<p>No such page.</p>\n']) };
}

function redirect(status: number, location: string): Page {
  return { status, headers: { location, 'content-type': HTML }, body: '' };
}

function pageNumber(text: string | undefined, spec: SiteSpec): number {
  if (text === undefined || !/^(0|[1-9][0-9]*)$/.test(text)) return -1;
  const i = Number(text);
  return i < spec.pages ? i : -1;
}

/** Resolves a path inside a site (`rest` = segments after `/site/<spec>/`). */
function sitePage(spec: SiteSpec, specText: string, origin: string, rest: string[]): Page {
  const root = `/site/${specText}/`;
  const [a, b, c] = rest;
  const x = spec.extras;
  if (rest.length === 0 || (rest.length === 1 && a === '')) return renderPage(spec, root, origin, specText, 0);
  if (a === 'page' && rest.length === 2) {
    const i = pageNumber(b, spec);
    if (i === 0) return redirect(301, root);
    return i < 0 ? notFound() : renderPage(spec, root, origin, specText, i);
  }
  if (a === 'sitemap.xml' && rest.length === 1) {
    const urls: string[] = [];
    for (let i = 0; i < spec.pages; i++) urls.push(`<url><loc>${origin}${pagePath(root, i)}</loc></url>\n`);
    return {
      status: 200,
      headers: { 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls.join('')}</urlset>\n`,
    };
  }
  if (a === 'robots.txt' && rest.length === 1) return { status: 301, headers: { location: '/robots.txt' }, body: '' };
  if (x) {
    const i = pageNumber(b, spec);
    if (a === 'r' && rest.length === 2 && i >= 0 && i % 10 === 3) return redirect(301, `${root}page/${i}`);
    if (a === 'loop' && rest.length === 2 && (b === 'a' || b === 'b')) return redirect(302, `${root}loop/${b === 'a' ? 'b' : 'a'}`);
    if (a === 'doc' && rest.length === 2 && b?.endsWith('.pdf')) {
      const j = pageNumber(b.slice(0, -4), spec);
      if (j >= 0 && j % 10 === 7) {
        const body = Buffer.concat([Buffer.from('%PDF-1.4\n'), fillBytes(hash32(`doc\0${j}`, spec.seed), 0, 1015)]);
        return { status: 200, headers: { 'content-type': 'application/pdf' }, body };
      }
    }
    if (a === 'nofollow' && i >= 0 && i % 10 === 1) {
      if (rest.length === 2) return leaf(`Nofollow ${i}`, '<meta name="robots" content="nofollow">', [`<p><a href="${root}nofollow/${i}/deep">Deeper</a></p>\n`]);
      if (rest.length === 3 && c === 'deep') return leaf(`Nofollow ${i} deep`, '', [`<p><a href="${root}">Home</a></p>\n`]);
    }
  }
  if (spec.calendar && a === 'calendar' && rest.length === 3 && /^[0-9]{4}$/.test(b ?? '') && /^(1[0-2]|[1-9])$/.test(c ?? '')) {
    const y = Number(b);
    const m = Number(c);
    const next = m === 12 ? `${y + 1}/1` : `${y}/${m + 1}`;
    const prev = m === 1 ? `${y - 1}/12` : `${y}/${m - 1}`;
    return leaf(`Calendar ${y}-${m}`, '', [`<p><a href="${root}calendar/${prev}">Previous month</a> <a href="${root}calendar/${next}">Next month</a></p>\n`]);
  }
  return notFound();
}

function originOf(req: IncomingMessage): string {
  const host = req.headers.host ?? `${req.socket.localAddress ?? '127.0.0.1'}:${req.socket.localPort ?? 80}`;
  return `http://${host}`;
}

/** `/robots.txt` for the whole server. */
export function robotsTxt(ctx: LabContext, req: IncomingMessage): string {
  const lines = ['User-agent: *', 'Disallow: /private/'];
  if (ctx.crawlDelay !== undefined) lines.push(`Crawl-delay: ${ctx.crawlDelay}`);
  lines.push('', `Sitemap: ${originOf(req)}/site/default/sitemap.xml`, '');
  return lines.join('\n');
}

/** Serves `/site/…` and `/private/…`; `parts` are the path's segments (parts[0] is ''). */
export function serveSite(ctx: LabContext, req: IncomingMessage, res: ServerResponse, parts: string[], faults: BodyFaults | undefined): void {
  const opts = faults === undefined ? undefined : { faults };
  const specText = parts[2];
  if (parts[1] === 'site' && specText === 'robots.txt' && parts.length === 3) {
    send(ctx.clock, req, res, 200, { 'content-type': 'text/plain; charset=utf-8' }, robotsTxt(ctx, req), opts);
    return;
  }
  const spec = specText === undefined ? undefined : parseSiteSpec(specText, ctx.site);
  if (spec === undefined || specText === undefined) {
    const page = notFound();
    send(ctx.clock, req, res, page.status, page.headers, page.body, opts);
    return;
  }
  let page: Page;
  if (parts[1] === 'private') {
    const i = parts.length === 4 ? pageNumber(parts[3], spec) : -1;
    page = spec.extras && i >= 0 && i % 10 === 9 ? leaf(`Private ${i}`, '', [`<p><a href="/site/${specText}/">Home</a></p>\n`]) : notFound();
  } else if (parts.length === 3) {
    page = redirect(301, `/site/${specText}/`);
  } else {
    page = sitePage(spec, specText, originOf(req), parts.slice(3));
  }
  later(ctx.clock, res, spec.latency, () => send(ctx.clock, req, res, page.status, page.headers, page.body, opts));
}
