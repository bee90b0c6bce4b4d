// URL normalisation: the key of the crawler's visited set.
//
// Design: two URLs are the same page when they differ only in ways that RFC 3986 §6 calls
// equivalent, or in ways that by convention never change the page. The WHATWG URL parser does
// the first part (lower-case scheme and host, IDN to punycode, default port dropped, dot segments
// resolved, an empty path becomes `/`); on top of it:
//   - the fragment is dropped (it never reaches the server);
//   - percent-escapes get upper-case hex, and escapes of unreserved characters (A–Z a–z 0–9
//     - . _ ~) are decoded (RFC 3986 §6.2.2.2);
//   - the query loses empty pairs and tracking parameters (`utm_*`, `fbclid`, `gclid`, …), then
//     is sorted by key (stably: repeated keys keep their order, `a=2&a=1` ≠ `a=1&a=2`); a query
//     left empty is removed along with its `?`.
// Deliberately NOT normalised, because the server may answer differently: a trailing slash
// (`/a` vs `/a/`), `index.html`, `www.`, the case of the path, `http` vs `https`, `+` vs `%20`
// in the query, and userinfo.
const TRACKING = new Set([
  'fbclid', 'gclid', 'dclid', 'gbraid', 'wbraid', 'msclkid', 'yclid', 'igshid', 'twclid', 'ttclid',
  'mc_cid', 'mc_eid', '_ga', '_gl', '_hsenc', '_hsmi', 'mkt_tok', 'oly_anon_id', 'oly_enc_id', 'vero_id', 'ref_src',
]);

/** True for a query parameter name that only tracks the visit (`utm_*`, `fbclid`, `gclid`, …). */
export function isTrackingParam(name: string): boolean {
  const key = name.toLowerCase();
  return key.startsWith('utm_') || TRACKING.has(key);
}

const ESCAPE = /%([0-9a-fA-F]{2})/g;

function unescapeUnreserved(_match: string, hex: string): string {
  const c = parseInt(hex, 16);
  const unreserved = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
  return unreserved ? String.fromCharCode(c) : `%${hex.toUpperCase()}`;
}

function normalizeEscapes(s: string): string {
  return s.includes('%') ? s.replace(ESCAPE, unescapeUnreserved) : s;
}

function normalizeQuery(search: string): string {
  const pairs: { key: string; pair: string }[] = [];
  for (const part of search.slice(1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    let key: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    } catch {
      key = rawKey;
    }
    if (isTrackingParam(key)) continue;
    pairs.push({ key: normalizeEscapes(rawKey), pair: normalizeEscapes(part) });
  }
  if (pairs.length === 0) return '';
  if (pairs.length > 1) pairs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let out = '?';
  for (let i = 0; i < pairs.length; i++) out += (i ? '&' : '') + pairs[i]!.pair;
  return out;
}

/**
 * The normalised form of `href` (resolved against `base`), or undefined when it is not an
 * http(s) URL or does not parse. See the design note above (and docs/crawl.md) for the rules.
 *
 * @example
 * normalizeUrl('HTTP://Example.COM:80/a/./b/../c?utm_source=x&b=2&a=1#top');
 * // → 'http://example.com/a/c?a=1&b=2'
 */
export function normalizeUrl(href: string, base?: string | URL | undefined): string | undefined {
  let url: URL;
  try {
    url = new URL(href, base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const auth = url.username || url.password ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  const path = normalizeEscapes(url.pathname);
  const query = url.search.length > 1 ? normalizeQuery(url.search) : '';
  return `${url.protocol}//${auth}${url.host}${path}${query}`;
}

/** Characters an href may start with for its resolution to depend only on the base's directory. */
function dirRelative(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x2d || c === 0x7e || c === 0x25;
}

/**
 * A copy of `s` that does not keep a larger string alive: hrefs are slices of their page's text,
 * and a memo key that is a slice would hold the whole page.
 */
function own(s: string): string {
  return s.length < 13 ? s : (` ${s}`).slice(1);
}

/**
 * `normalizeUrl` with a memo: a page's links mostly repeat on every page of a site (navigation,
 * sidebars), so most are resolved once. Memos are kept per part of the base a result can depend
 * on: the scheme and authority for `/…` and `//…` hrefs, the directory for a path or an absolute
 * URL; other hrefs (`?…`, `#…`, leading spaces) are not memoised.
 *
 * @example
 * const resolve = new UrlNormalizer().resolver(page.base);
 * for (const href of page.hrefs) admit(resolve(href));
 */
export class UrlNormalizer {
  readonly #memos = new Map<string, Map<string, string | undefined>>();
  readonly #max: number;
  #size = 0;

  /** @param max entries kept before the memo starts over. @default 20000 */
  constructor(max = 20_000) {
    this.#max = max;
  }

  /** A function that gives what `normalizeUrl(href, base)` gives; `base` is a serialised absolute URL. */
  resolver(base: string): (href: string) => string | undefined {
    const slash = base.indexOf('/', base.indexOf('//') + 2);
    const origin = slash < 0 ? base : base.slice(0, slash);
    let end = base.length;
    const q = base.indexOf('?');
    const h = base.indexOf('#');
    if (q >= 0) end = q;
    if (h >= 0 && h < end) end = h;
    const dir = `${base.slice(0, base.lastIndexOf('/', end - 1) + 1)}\u0001`;
    let byOrigin: Map<string, string | undefined> | undefined;
    let byDir: Map<string, string | undefined> | undefined;
    return (href) => {
      const c = href.charCodeAt(0);
      let memo: Map<string, string | undefined>;
      if (c === 0x2f) memo = byOrigin ??= this.#memo(origin);
      else if (dirRelative(c)) memo = byDir ??= this.#memo(dir);
      else return normalizeUrl(href, base);
      const known = memo.get(href);
      if (known !== undefined || memo.has(href)) return known;
      const url = normalizeUrl(href, base);
      if (++this.#size > this.#max) {
        for (const m of this.#memos.values()) m.clear();
        this.#size = 1;
      }
      memo.set(own(href), url);
      return url;
    };
  }

  #memo(key: string): Map<string, string | undefined> {
    let memo = this.#memos.get(key);
    if (memo === undefined) {
      if (this.#memos.size > 1000) this.#memos.clear();
      memo = new Map();
      this.#memos.set(key, memo);
    }
    return memo;
  }
}

const PLAIN = /^https?:\/\/([A-Za-z0-9.-]+)(?:[/?#]|$)/i;
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|[0-9]+)$/i;

/**
 * The host `normalizeUrl(href)` gives (when it gives a URL), read off the href without parsing
 * it: only for an absolute http(s) URL whose host is a plain domain (letters, digits, dots,
 * dashes; no port, userinfo or escapes) that is not an IPv4 form; undefined otherwise.
 */
export function plainHost(href: string): string | undefined {
  const m = PLAIN.exec(href);
  if (m === null) return undefined;
  const host = m[1]!.toLowerCase();
  const last = host.slice(host.lastIndexOf('.') + 1);
  if (last === '' || NUMERIC_LABEL.test(last)) return undefined; // an IPv4 form, or a trailing dot
  return host;
}
