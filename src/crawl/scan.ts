// A purpose-built scanner for what the crawler reads from a page: `<a|area href rel>`, the first
// `<title>`, the first `<base href>`, `<meta name=robots>`; nothing else is built.
//
// Design: it follows htmlparser2's Tokenizer (v12, HTML mode, entities decoded) state for state
// where a state can change what is extracted, and jumps over the rest with indexOf: text to the
// next `<`, comments to `-->`/`--!>`, CDATA to `]]>`, declarations, `<?…>` and end tags to `>`,
// raw text (`script`, `style`, `xmp`, `iframe`, `noembed`, `noframes`) and RCDATA (`title`,
// `textarea`) to their end tag; `plaintext` ends the scan. Attribute values are only sliced (and
// their entities decoded) for the tags above. Inside `<svg>`/`<math>` htmlparser2 stops treating
// those tags as raw text, which depends on its element stack; the scanner does not keep one, so
// it gives up (returns undefined) when such a tag appears while an `<svg>`/`<math>` may be open,
// and the caller parses the page with htmlparser2. test/crawl/scan.test.ts checks it against
// htmlparser2 on every page of the lab's profiles and on generated markup.
import { decodeHTMLAttribute } from 'entities';
import { DecodingMode, EntityDecoder, htmlDecodeTree } from 'entities/decode';

/** One `<a>`/`<area>`/`<base>`/`<meta>` as the crawler sees it. */
export interface ScannedTag {
  readonly name: 'a' | 'area' | 'base' | 'meta';
  readonly attribs: Readonly<Record<string, string>>;
}

/** What a scan found, in document order. */
export interface Scanned {
  readonly tags: ScannedTag[];
  /** The first `<title>`'s text, entities decoded; undefined when there is none. */
  readonly title: string | undefined;
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const EQ = 0x3d;
const DQ = 0x22;
const SQ = 0x27;
const AMP = 0x26;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0c || c === 0x0d;
}

function isEndOfTag(c: number): boolean {
  return c === SLASH || c === GT || isWs(c);
}

function isAlpha(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** The tags whose content htmlparser2 reads as raw text or RCDATA (in HTML context). */
const SPECIAL = new Set(['script', 'style', 'title', 'textarea', 'xmp', 'iframe', 'noembed', 'noframes', 'plaintext']);

/** The tag name's ASCII-lower-case form if it is one of `SPECIAL` (htmlparser2 compares `c | 0x20`). */
function specialName(s: string, start: number, end: number): string | undefined {
  const n = end - start;
  if (n < 3 || n > 9) return undefined;
  let name = '';
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isAlpha(c)) return undefined;
    name += String.fromCharCode(c | 0x20);
  }
  return SPECIAL.has(name) ? name : undefined;
}

/**
 * Finds the end of raw text / RCDATA that started at `from` for the end tag `</name`: returns
 * [end of the text, index of the `>` that closes the end tag] or undefined when there is none.
 */
function rawEnd(s: string, from: number, name: string): [number, number] | undefined {
  const seq = `</${name}`;
  // RCDATA is read character by character (a U+001C matches `<` there, as `c | 0x20`).
  const rcdata = name === 'title' || name === 'textarea';
  const len = seq.length;
  let k = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (k === len) {
      if (isEndOfTag(c)) {
        const gt = c === GT ? i : s.indexOf('>', i);
        return [i - len, gt < 0 ? s.length : gt];
      }
      k = 0;
    }
    if ((c | 0x20) === seq.charCodeAt(k)) k++;
    else if (k === 0) {
      if (rcdata) continue;
      const lt = s.indexOf('<', i + 1);
      if (lt < 0) return undefined;
      i = lt;
      k = 1;
    } else k = c === LT ? 1 : 0;
  }
  return undefined;
}

/** htmlparser2 keeps an attribute's first value. */
function setAttr(attribs: Record<string, string>, name: string, value: string): void {
  if (!Object.hasOwn(attribs, name)) attribs[name] = value;
}

function attrValue(s: string, from: number, to: number, text: ((raw: string) => string) | undefined): string {
  const raw = text === undefined ? s.slice(from, to) : text(s.slice(from, to));
  return raw.includes('&') ? decodeHTMLAttribute(raw) : raw;
}

/**
 * The text of RCDATA `s[from, to)` as htmlparser2 reads it: an `&` starts an entity only where
 * its end-tag matcher is idle (so `<&amp;` stays as written), decoded in legacy mode.
 */
function rcdataText(s: string, from: number, to: number, name: string, text: (raw: string) => string): string {
  const amp = s.indexOf('&', from);
  if (amp < 0 || amp >= to) return text(s.slice(from, to));
  const seq = `</${name}`;
  let out = '';
  let section = from;
  let entityStart = 0;
  let i = from;
  const decoder = new EntityDecoder(htmlDecodeTree, (cp, consumed) => {
    if (section < entityStart) out += text(s.slice(section, entityStart));
    section = entityStart + consumed;
    i = section - 1;
    out += String.fromCodePoint(cp);
  });
  let k = 0;
  for (; i < to; i++) {
    const c = s.charCodeAt(i);
    if (k === seq.length) k = 0;
    if ((c | 0x20) === seq.charCodeAt(k)) k++;
    else if (k !== 0) k = c === LT ? 1 : 0;
    else if (c === AMP) {
      // As the Tokenizer: the decoder reads from the next character; 0 means "no entity here",
      // reconsume; the callback moves the index past what it decoded.
      entityStart = i;
      decoder.startEntity(DecodingMode.Legacy);
      i++;
      const used = decoder.write(s, i);
      if (used < 0) {
        decoder.end();
        break;
      }
      if (used === 0) i--;
    }
  }
  if (section < to) out += text(s.slice(section, to));
  return out;
}

const same = (raw: string): string => raw;

/**
 * Scans `s` (a whole decoded page). Returns undefined when the page needs htmlparser2's element
 * stack (a raw-text tag inside `<svg>`/`<math>`).
 *
 * `s` may also be the bytes of a page in an ASCII-compatible charset seen as latin-1 (one
 * character per byte: markup is ASCII, and no byte of a multi-byte character is); `text` then
 * decodes the raw pieces of attribute values and of the title before their entities are.
 */
export function scanHtml(s: string, text?: (raw: string) => string): Scanned | undefined {
  const tags: ScannedTag[] = [];
  let title: string | undefined;
  let foreign = 0; // `<svg>`/`<math>` opened and not yet closed (an upper bound on htmlparser2's)
  let svg = 0;
  let math = 0;
  const n = s.length;
  let i = s.indexOf('<');
  while (i >= 0 && i + 1 < n) {
    const c = s.charCodeAt(i + 1);
    if (c === 0x21) {
      // `<!`: comment, CDATA, or a declaration / bogus comment ending at the next `>`.
      if (s.startsWith('--', i + 2)) {
        const start = i + 4;
        let end: number;
        if (s.charCodeAt(start) === GT) end = start;
        else if (s.charCodeAt(start) === 0x2d && s.charCodeAt(start + 1) === GT) end = start + 1;
        else {
          const a = s.indexOf('-->', start);
          const b = s.indexOf('--!>', start);
          end = a < 0 ? (b < 0 ? -1 : b + 3) : b < 0 || a + 2 < b + 3 ? a + 2 : b + 3;
        }
        if (end < 0) break;
        i = s.indexOf('<', end + 1);
      } else if (s.startsWith('[CDATA[', i + 2)) {
        const end = s.indexOf(']]>', i + 9);
        if (end < 0) break;
        i = s.indexOf('<', end + 3);
      } else {
        const end = s.indexOf('>', i + 2);
        if (end < 0) break;
        i = s.indexOf('<', end + 1);
      }
      continue;
    }
    if (c === 0x3f) {
      const end = s.indexOf('>', i + 2);
      if (end < 0) break;
      i = s.indexOf('<', end + 1);
      continue;
    }
    if (c === SLASH) {
      // An end tag (or `</>`, or a bogus comment): all end at the next `>`. Only the names that
      // close a foreign context matter here.
      let j = i + 2;
      if (j < n && isAlpha(s.charCodeAt(j))) {
        while (j < n && !isEndOfTag(s.charCodeAt(j))) j++;
        if (j >= n) break;
        if (foreign > 0 && j - i - 2 <= 4) {
          const name = s.slice(i + 2, j).toLowerCase();
          if (name === 'svg' && svg > 0) {
            svg--;
            foreign--;
          } else if (name === 'math' && math > 0) {
            math--;
            foreign--;
          }
        }
      }
      const end = s.charCodeAt(j) === GT ? j : s.indexOf('>', j);
      if (end < 0) break;
      i = s.indexOf('<', end + 1);
      continue;
    }
    if (!isAlpha(c)) {
      i = s.indexOf('<', i + 1);
      continue;
    }
    // An opening tag: its name, then attributes as htmlparser2's states read them.
    const nameStart = i + 1;
    let j = nameStart + 1;
    while (j < n && !isEndOfTag(s.charCodeAt(j))) j++;
    if (j >= n) break;
    const special = specialName(s, nameStart, j);
    if (special !== undefined && foreign > 0) return undefined;
    let name = '';
    if (j - nameStart <= 9) name = s.slice(nameStart, j).toLowerCase();
    const keep = name === 'a' || name === 'area' || name === 'base' || name === 'meta';
    const attribs: Record<string, string> | undefined = keep ? {} : undefined;
    // States: 0 before attribute name, 1 in name, 2 after name, 3 before value, 4 self-closing.
    let state = 0;
    let attrStart = 0;
    let attrName = '';
    let end = -1;
    for (; j < n; j++) {
      const ch = s.charCodeAt(j);
      if (state === 0) {
        if (ch === GT) {
          end = j;
          break;
        } else if (ch === SLASH) state = 4;
        else if (!isWs(ch)) {
          state = 1;
          attrStart = j;
        }
      } else if (state === 1) {
        if (ch === EQ || isEndOfTag(ch)) {
          if (attribs !== undefined) attrName = s.slice(attrStart, j).toLowerCase();
          state = 2;
          j--; // reconsume in "after name"
        }
      } else if (state === 2) {
        if (ch === EQ) state = 3;
        else if (ch === SLASH || ch === GT) {
          if (attribs !== undefined) setAttr(attribs, attrName, '');
          state = 0;
          j--;
        } else if (!isWs(ch)) {
          if (attribs !== undefined) setAttr(attribs, attrName, '');
          state = 1;
          attrStart = j;
        }
      } else if (state === 3) {
        if (ch === DQ || ch === SQ) {
          const close = s.indexOf(ch === DQ ? '"' : "'", j + 1);
          if (close < 0) {
            j = n;
            break;
          }
          if (attribs !== undefined) setAttr(attribs, attrName, attrValue(s, j + 1, close, text));
          j = close;
          state = 0;
        } else if (!isWs(ch)) {
          let k = j;
          while (k < n) {
            const d = s.charCodeAt(k);
            if (isWs(d) || d === GT) break;
            k++;
          }
          if (k >= n) {
            j = n;
            break;
          }
          if (attribs !== undefined) setAttr(attribs, attrName, attrValue(s, j, k, text));
          j = k - 1;
          state = 0;
        }
      } else {
        // After `/` in a tag: `>` ends it (self-closing is ignored in HTML); else an attribute.
        if (ch === GT) {
          end = j;
          break;
        } else if (!isWs(ch)) {
          state = 0;
          j--;
        }
      }
    }
    if (end < 0) break; // a tag cut off by the end of input is ignored
    if (attribs !== undefined) tags.push({ name: name as ScannedTag['name'], attribs });
    else if (name === 'svg') {
      svg++;
      foreign++;
    } else if (name === 'math') {
      math++;
      foreign++;
    }
    if (special === undefined) {
      i = s.indexOf('<', end + 1);
      continue;
    }
    if (special === 'plaintext') break;
    const raw = rawEnd(s, end + 1, special);
    if (special === 'title' && title === undefined) {
      title = rcdataText(s, end + 1, raw === undefined ? n : raw[0], special, text ?? same);
    }
    if (raw === undefined) break;
    i = s.indexOf('<', raw[1] + 1);
  }
  return { tags, title };
}
