// Link and title extraction from HTML fed in chunks, on htmlparser2's streaming Parser.
//
// Design: bytes go in as they arrive; nothing is held but the first 1 KiB (while the charset is
// unknown) and the title. The charset comes from the Content-Type header, else from a BOM or a
// `<meta charset>` / `<meta http-equiv=Content-Type>` in the first 1024 bytes (the HTML
// standard's prescan window), else UTF-8; bytes are decoded by a streaming TextDecoder, so a
// character split across two chunks decodes right. htmlparser2 is forgiving: unclosed tags, bad
// nesting, upper-case tags and unquoted attributes (real-world markup) and XHTML all parse.
// Links are the `href` of `<a>` and `<area>`, kept as written, with the base they resolve
// against: the page URL, or the first `<base href>` (later ones are ignored, as browsers do).
// Past `maxBytes` the rest of the page is ignored and `truncated` is set.
import { TextDecoder } from 'node:util';
import { Parser } from 'htmlparser2';

/** Options of `LinkExtractor`. */
export interface ExtractOptions {
  /** The page's URL (after redirects): relative links resolve against it. */
  url: string;
  /** The Content-Type header, if any (its charset wins over the document's). */
  contentType?: string | undefined;
  /** Keep `rel=nofollow` links and the links of a `<meta name=robots content=nofollow>` page. @default false */
  followNofollow?: boolean | undefined;
  /** Bytes of the page that are parsed; the rest is ignored. @default 5 MiB */
  maxBytes?: number | undefined;
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

function decoderFor(charset: string | undefined): { decoder: TextDecoder; charset: string } {
  if (charset !== undefined) {
    try {
      const decoder = new TextDecoder(charset);
      return { decoder, charset: decoder.encoding };
    } catch {
      // A label TextDecoder does not know: UTF-8 is the best guess.
    }
  }
  return { decoder: new TextDecoder('utf-8'), charset: 'utf-8' };
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
  readonly #parser: Parser;
  #charset: string | undefined;
  #decoder: TextDecoder | undefined;
  #head: Uint8Array[] = [];
  #headBytes = 0;
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
    if (this.#charset !== undefined) this.#useCharset(this.#charset);
    this.#parser = new Parser({
      onopentag: (name, attribs) => this.#open(name, attribs),
      onclosetag: (name) => {
        if (name === 'title' && this.#inTitle) {
          this.#inTitle = false;
          this.#titleDone = true;
        }
      },
      ontext: (text) => {
        if (this.#inTitle) this.#title += text;
      },
    }, { decodeEntities: true });
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
    if (this.#decoder === undefined) {
      this.#head.push(chunk);
      this.#headBytes += chunk.length;
      if (this.#headBytes >= SNIFF_BYTES) this.#flushHead();
    } else if (chunk.length > 0) {
      this.#parser.write(this.#decoder.decode(chunk, { stream: true }));
    }
    return !this.#truncated;
  }

  /** Ends the input and returns what was found. */
  end(): Extracted {
    if (!this.#ended) {
      if (this.#decoder === undefined) this.#flushHead();
      this.#ended = true;
      const rest = this.#decoder!.decode();
      if (rest) this.#parser.write(rest);
      this.#parser.end();
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

  #flushHead(): void {
    const head = this.#head.length === 1 ? this.#head[0]! : Buffer.concat(this.#head);
    this.#head = [];
    this.#useCharset(sniffCharset(head));
    if (head.length > 0) this.#parser.write(this.#decoder!.decode(head, { stream: true }));
  }

  #open(name: string, attribs: Record<string, string>): void {
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
