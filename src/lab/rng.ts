// Seeded randomness for the lab. Everything the lab invents (bytes, fault decisions, fake users,
// site links) is a pure function of the server's seed and a name, so two servers started with the
// same seed answer the same sequence of requests the same way.
//
// Design: counter-based, not stateful. `uniform(key, n)` and `fillBytes(key, offset, length)`
// hash (key, position) with murmur3's finaliser, so any byte of a file or any decision in a
// sequence can be computed without generating what comes before it (Range requests, resumes).

const GOLDEN = 0x9e3779b9;

/** murmur3's 32-bit finaliser: a fast bijective mix with full avalanche. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A 32-bit hash of `text`, salted by `seed` (FNV-1a over UTF-16 code units, then mixed). */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ mix32(seed)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** The `n`-th number in [0, 1) of the sequence named `key`. */
export function uniform(key: number, n: number): number {
  const hi = Math.floor(n / 0x1_0000_0000);
  return mix32((key ^ mix32((n >>> 0) + GOLDEN) ^ mix32(hi ^ GOLDEN)) >>> 0) / 0x1_0000_0000;
}

/** The `n`-th integer in [0, bound) of the sequence named `key`. */
export function pick(key: number, n: number, bound: number): number {
  return Math.floor(uniform(key, n) * bound);
}

/** A stateful generator (mulberry32) for code that draws numbers one after another. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/**
 * Bytes are generated in blocks of this size; block `b` of stream `key` depends only on (key, b):
 * one of POOL random blocks (chosen by hashing (key, b)) whose first 16 bytes are replaced by a
 * stamp hashed from (key, b). Copying a pooled block is a memcpy, so the lab serves generated
 * files at memory speed; the stamp makes every block of every stream distinct, so a block written
 * at the wrong offset, or from the wrong file, changes the checksum.
 */
export const BLOCK = 65_536;
const POOL = 64;
const STAMP = 16;

let pool: Buffer | undefined;
const stamp = new Uint32Array(STAMP / 4);
const stampBytes = Buffer.from(stamp.buffer);

function getPool(): Buffer {
  if (pool === undefined) {
    const words = new Uint32Array((POOL * BLOCK) / 4);
    for (let i = 0; i < words.length; i++) words[i] = mix32((Math.imul(i, GOLDEN) + 0x2545f491) >>> 0);
    pool = Buffer.from(words.buffer);
  }
  return pool;
}

function blockHash(key: number, block: number): number {
  return mix32((key ^ mix32((block + GOLDEN) >>> 0) ^ Math.floor(block / 0x1_0000_0000)) >>> 0);
}

/**
 * Bytes `[offset, offset + length)` of the endless deterministic stream named `key`.
 * Returns a fresh Buffer (it may be handed to a socket).
 *
 * @example
 * fillBytes(hash32('report.bin', seed), 1000, 10).equals(fillBytes(hash32('report.bin', seed), 0, 1010).subarray(1000))
 */
export function fillBytes(key: number, offset: number, length: number): Buffer {
  if (length <= 0) return Buffer.alloc(0);
  const src = getPool();
  const out = Buffer.allocUnsafe(length);
  let pos = 0;
  while (pos < length) {
    const abs = offset + pos;
    const block = Math.floor(abs / BLOCK);
    const within = abs - block * BLOCK;
    const n = Math.min(BLOCK - within, length - pos);
    const h = blockHash(key, block);
    const base = (h % POOL) * BLOCK;
    src.copy(out, pos, base + within, base + within + n);
    if (within < STAMP) {
      // Little-endian words, as Uint32Array is on every platform Node ships for.
      for (let w = 0; w < stamp.length; w++) stamp[w] = mix32((h + Math.imul(w + 1, GOLDEN)) >>> 0);
      stampBytes.copy(out, pos, within, Math.min(STAMP, within + n));
    }
    pos += n;
  }
  return out;
}
