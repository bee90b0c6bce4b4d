// Link and title extraction from HTML fed in chunks: a purpose-built scanner (scan.ts) over the
// decoded page, and htmlparser2's Parser for the pages the scanner hands back (raw-text tags
// inside `<svg>`/`<math>`) or when asked for (the reference the scanner is tested against).
//
// Design: bytes are held as they arrive (the crawler hands over whole bodies, so this costs no
// copy) and read at end(). The charset comes from the Content-Type header, else from a BOM or a
// `<meta charset>` / `<meta http-equiv=Content-Type>` in the first 1024 bytes (the HTML
// standard's prescan window), else UTF-8. In an ASCII-compatible charset (UTF-8, the single-byte
// ones) the bytes are scanned as latin-1 and only attribute values and the title are decoded;
// otherwise (UTF-16, the CJK multi-byte charsets) the page is decoded first. Both readers are
// forgiving: unclosed tags, bad nesting, upper-case tags and unquoted attributes (real-world
// markup) and XHTML all read as htmlparser2 reads them.
// Links are the `href` of `<a>` and `<area>`, kept as written, with the base they resolve
// against: the page URL, or the first `<base href>` (later ones are ignored, as browsers do).
// Past `maxBytes` the rest of the page is ignored and `truncated` is set.
import { TextDecoder } from 'node:util';
import { createRequire } from 'node:module';
import type { Parser as ParserType } from 'htmlparser2';
import { scanHtml, type Scanned } from './scan.ts';

/** Options of `LinkExtractor`. */

// htmlparser2 (and the DOM packages its index pulls in) costs ~100 ms to load and only the pages
// the scanner hands back need it: loaded on first use (require(esm), Node 22.12+).
let loaded: { Parser: typeof ParserType } | undefined;
function htmlparser2(): { Parser: typeof ParserType } {
  loaded ??= createRequire(import.meta.url)('htmlparser2') as { Parser: typeof ParserType };
  return loaded;
}

/** What a LinkExtractor needs to know about the page it reads. */
export interface ExtractOptions {
  /** The page's URL (after redirects): relative links resolve against it. */
  url: string;
  /** The Content-Type header, if any (its charset wins over the document's). */
  contentType?: string | undefined;
  /** Keep `rel=nofollow` links and the links of a `<meta name=robots content=nofollow>` page. @default false */
  followNofollow?: boolean | undefined;
  /** Bytes of the page that are parsed; the rest is ignored. @default 5 MiB */
  maxBytes?: number | undefined;
  /** `scan`: the scanner, htmlparser2 where it hands back; `htmlparser2`: always htmlparser2 (the reference). @default 'scan' */
  parser?: 'scan' | 'htmlparser2' | undefined;
}

/** What a page holds. */
export interface Extracted {
  /** The first `<title>`, whitespace collapsed; '' when none. */
  title: string;
  /** `href`s as written (entities decoded), in document order, duplicates included. */
  hrefs: string[];
  /** What the hrefs resolve against: the first valid `<base href>`, else the page URL. */
  base: string;
  /** The charset the bytes were decoded with. */
  charset: string;
  /** `<meta name=robots>` said nofollow (its links are dropped unless `followNofollow`). */
  nofollow: boolean;
  /** `<meta name=robots>` said noindex. */
  noindex: boolean;
  /** The page was longer than `maxBytes`. */
  truncated: boolean;
  /** Bytes seen (including those past the cap). */
  bytes: number;
}

const SNIFF_BYTES = 1024;

/** Charsets (TextDecoder's names) in which every byte below 0x80 is that ASCII character and no
 * byte of a multi-byte character is below 0x80: their bytes can be scanned as latin-1. */
const ASCII_COMPATIBLE = new Set([
  'utf-8', 'ibm866', 'koi8-r', 'koi8-u', 'macintosh', 'windows-874', 'x-mac-cyrillic',
  ...[2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16].map((n) => `iso-8859-${n}`), 'iso-8859-8-i',
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => `windows-125${n}`),
]);
const HIGH = /[\u0080-\u00ff]/;

/** True for the content types whose links are extracted (HTML and XHTML; none given counts). */
export function isHtml(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === '') return true;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'text/html' || type === 'application/xhtml+xml';
}

/** The charset named by a Content-Type value, lower-case, if any. */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const m = /;\s*charset\s*=\s*["']?([^"';\s]+)/i.exec(contentType);
  return m?.[1]?.toLowerCase();
}

/** The charset declared in the first bytes of an HTML document (BOM, meta charset, http-equiv). */
export function sniffCharset(head: Uint8Array): string | undefined {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, SNIFF_BYTES)).toString('latin1');
  for (const m of text.matchAll(/<meta\b([^>]*)>/gi)) {
    const attrs = m[1] ?? '';
    const direct = /\bcharset\s*=\s*["']?([\w.:-]+)/i.exec(attrs);
    if (direct?.[1]) return direct[1].toLowerCase();
  }
  return undefined;
}

const decoders = new Map<string, { decoder: TextDecoder; charset: string }>();

/** A decoder for `charset` (shared: it only ever decodes whole inputs, which keeps no state). */
function decoderFor(charset: string | undefined): { decoder: TextDecoder; charset: string } {
  const label = charset ?? 'utf-8';
  let d = decoders.get(label);
  if (d === undefined) {
    try {
      const decoder = new TextDecoder(label);
      d = { decoder, charset: decoder.encoding };
    } catch {
      // A label TextDecoder does not know: UTF-8 is the best guess.
      d = { decoder: new TextDecoder('utf-8'), charset: 'utf-8' };
    }
    if (decoders.size > 100) decoders.clear();
    decoders.set(label, d);
  }
  return d;
}

/**
 * Extracts a page's title and links from its bytes, fed chunk by chunk.
 *
 * @example
 * const x = new LinkExtractor({ url: res.url, contentType: res.header('content-type') });
 * for await (const chunk of res.body) if (!x.write(chunk)) break;
 * const { title, hrefs, base } = x.end();
 */
export class LinkExtractor {
  readonly #url: string;
  readonly #followNofollow: boolean;
  readonly #maxBytes: number;
  readonly #useScan: boolean;
  #chunks: Uint8Array[] = [];
  #charset: string | undefined;
  #decoder: TextDecoder | undefined;
  #bytes = 0;
  #truncated = false;
  #ended = false;
  #title = '';
  #inTitle = false;
  #titleDone = false;
  #base: string | undefined;
  #hrefs: string[] = [];
  #nofollow = false;
  #noindex = false;

  constructor(options: ExtractOptions) {
    this.#url = options.url;
    this.#followNofollow = options.followNofollow ?? false;
    this.#maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
    this.#charset = charsetOf(options.contentType);
    this.#useScan = (options.parser ?? 'scan') === 'scan';
    if (this.#charset !== undefined) this.#useCharset(this.#charset);
  }

  /** Feeds a chunk; returns false once `maxBytes` is reached (the caller can stop reading). */
  write(chunk: Uint8Array): boolean {
    if (this.#ended) return false;
    this.#bytes += chunk.length;
    if (this.#truncated) return false;
    const room = this.#maxBytes - (this.#bytes - chunk.length);
    if (chunk.length > room) {
      chunk = chunk.subarray(0, Math.max(0, room));
      this.#truncated = true;
    }
    if (chunk.length > 0) this.#chunks.push(chunk);
    return !this.#truncated;
  }

  /** Ends the input and returns what was found. */
  end(): Extracted {
    if (!this.#ended) {
      this.#ended = true;
      const c = this.#chunks;
      this.#chunks = [];
      const bytes = c.length === 1 ? c[0]! : Buffer.concat(c);
      if (this.#decoder === undefined) this.#useCharset(sniffCharset(bytes));
      let scanned: Scanned | undefined;
      if (this.#useScan && ASCII_COMPATIBLE.has(this.#charset!)) {
        // Scan the bytes as latin-1 and decode only what is kept (see scan.ts).
        const charset = this.#charset!;
        let pieces: TextDecoder | undefined;
        const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
        scanned = scanHtml(view.toString('latin1'), (raw) => {
          if (!HIGH.test(raw)) return raw;
          pieces ??= new TextDecoder(charset, { ignoreBOM: true });
          return pieces.decode(Buffer.from(raw, 'latin1'));
        });
      } else if (this.#useScan) scanned = scanHtml(this.#decoder!.decode(bytes));
      if (scanned !== undefined) {
        for (const tag of scanned.tags) this.#open(tag.name, tag.attribs);
        this.#title = scanned.title ?? '';
      } else this.#parse(this.#decoder!.decode(bytes));
    }
    return {
      title: this.#title.replace(/\s+/g, ' ').trim().slice(0, 1000),
      hrefs: this.#nofollow && !this.#followNofollow ? [] : this.#hrefs,
      base: this.#base ?? this.#url,
      charset: this.#charset ?? 'utf-8',
      nofollow: this.#nofollow,
      noindex: this.#noindex,
      truncated: this.#truncated,
      bytes: this.#bytes,
    };
  }

  #useCharset(label: string | undefined): void {
    const { decoder, charset } = decoderFor(label);
    this.#decoder = decoder;
    this.#charset = charset;
  }

  #parse(text: string): void {
    const { Parser } = htmlparser2();
    const parser = new Parser({
      onopentag: (name, attribs) => this.#open(name, attribs),
      onclosetag: (name) => {
        if (name === 'title' && this.#inTitle) {
          this.#inTitle = false;
          this.#titleDone = true;
        }
      },
      ontext: (t) => {
        if (this.#inTitle) this.#title += t;
      },
    }, { decodeEntities: true });
    parser.end(text);
  }

  #open(name: string, attribs: Readonly<Record<string, string>>): void {
    switch (name) {
      case 'a':
      case 'area': {
        const href = attribs.href;
        if (href === undefined) return;
        if (!this.#followNofollow && attribs.rel !== undefined && /(?:^|\s)nofollow(?:\s|$)/i.test(attribs.rel)) return;
        const trimmed = href.trim();
        if (trimmed !== '') this.#hrefs.push(trimmed);
        return;
      }
      case 'title':
        if (!this.#titleDone) this.#inTitle = true;
        return;
      case 'base':
        if (this.#base === undefined && attribs.href !== undefined) {
          try {
            this.#base = new URL(attribs.href.trim(), this.#url).href;
          } catch {
            // An invalid base is ignored, and the next one may count.
          }
        }
        return;
      case 'meta': {
        const metaName = attribs.name?.toLowerCase();
        if (metaName === 'robots' || metaName === 'spate-crawler') {
          const content = (attribs.content ?? '').toLowerCase();
          if (/\b(nofollow|none)\b/.test(content)) this.#nofollow = true;
          if (/\b(noindex|none)\b/.test(content)) this.#noindex = true;
        }
        return;
      }
      default:
    }
  }
}
