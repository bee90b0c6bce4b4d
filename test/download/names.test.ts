import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve, sep } from 'node:path';
import { capBytes, nameFromDisposition, nameFromUrl, safeJoin, sanitizeName, suffixed, MAX_NAME_BYTES } from '../../src/download/names.ts';
import { UnsafePathError } from '../../src/download/errors.ts';

const hostile = [
  '../../etc/passwd', '/etc/passwd', '..\\..\\windows\\system32\\cmd.exe', 'C:\\Windows\\win.ini', '..', '.', '...', '',
  'a\u0000b', 'a\nb\r.txt', '\u202Egnp.exe', 'CON', 'con.txt', 'NUL', 'COM1.log', 'lpt9', 'a"b', 'a<b>c:d|e?f*g', 'trailing. . .',
  '  spaced  ', '.bashrc', '.spate-partial', 'x/'.repeat(300), 'é'.repeat(300) + '.tar.gz', '\uD800lone', 'e\u0301.txt', '\u200Bzw',
];

test('sanitizeName() - every hostile name becomes one safe component inside out', () => {
  const out = resolve('/tmp/spate-out');
  for (const raw of hostile) {
    const name = sanitizeName(raw);
    assert.ok(name.length > 0, raw);
    assert.ok(!name.includes('/') && !name.includes('\\'), `${raw} → ${name}`);
    assert.ok(!/\p{Cc}/u.test(name), `${JSON.stringify(raw)} → ${JSON.stringify(name)}`);
    assert.ok(!name.startsWith('.') && !/[. ]$/.test(name), `${raw} → ${name}`);
    assert.ok(Buffer.byteLength(name) <= MAX_NAME_BYTES, raw);
    assert.equal(name, name.normalize('NFC'));
    const full = safeJoin(out, name);
    assert.ok(full.startsWith(out + sep), `${raw} → ${full}`);
  }
});

test('sanitizeName() - keeps the last component and marks reserved names', () => {
  assert.equal(sanitizeName('../../etc/passwd'), 'passwd');
  assert.equal(sanitizeName('C:\\Windows\\win.ini'), 'win.ini');
  assert.equal(sanitizeName('CON'), '_CON');
  assert.equal(sanitizeName('com1.txt'), '_com1.txt');
  assert.equal(sanitizeName('console.txt'), 'console.txt');
  assert.equal(sanitizeName('a"b'), 'a_b');
  assert.equal(sanitizeName('..'), 'download');
  assert.equal(sanitizeName(''), 'download');
  assert.equal(sanitizeName('.bashrc'), 'bashrc');
  assert.equal(sanitizeName('\u202Egnp.exe'), 'gnp.exe');
  assert.equal(sanitizeName('e\u0301.txt'), '\u00e9.txt');
  assert.equal(sanitizeName('report. . '), 'report');
});

test('capBytes() - cuts at 200 UTF-8 bytes on a code point, keeping the extension', () => {
  const name = sanitizeName('é'.repeat(300) + '.tar.gz');
  assert.ok(Buffer.byteLength(name) <= 200);
  assert.ok(name.endsWith('.gz'));
  assert.ok(!name.includes('\uFFFD'));
  assert.equal(capBytes('short.txt', 200), 'short.txt');
  assert.equal(capBytes('a'.repeat(300), 200), 'a'.repeat(200));
});

test('nameFromDisposition() - filename* (RFC 5987) wins over filename; quoted escapes are undone', () => {
  assert.equal(nameFromDisposition('attachment; filename="a.txt"'), 'a.txt');
  assert.equal(nameFromDisposition('attachment; filename=plain.bin'), 'plain.bin');
  assert.equal(nameFromDisposition('attachment; filename="a\\"b.txt"'), 'a"b.txt');
  assert.equal(nameFromDisposition(`attachment; filename="EUR.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`), '€ rates.txt');
  assert.equal(nameFromDisposition(`attachment; filename*=iso-8859-1'en'%A3.txt`), '£.txt');
  assert.equal(nameFromDisposition(`attachment; filename*=koi8-r''x; filename="fallback"`), 'fallback');
  assert.equal(nameFromDisposition('inline'), undefined);
  assert.equal(nameFromDisposition(undefined), undefined);
  assert.equal(sanitizeName(nameFromDisposition(`attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`)!), 'passwd');
});

test('nameFromUrl() - last path segment, percent-decoded; undefined for the root', () => {
  assert.equal(nameFromUrl('http://h/files/a%20b.zip?x=1#f'), 'a b.zip');
  assert.equal(nameFromUrl('http://h/dir/'), 'dir');
  assert.equal(nameFromUrl('http://h/'), undefined);
  assert.equal(nameFromUrl('http://h/bad%E0%A4%A'), 'bad%E0%A4%A');
  assert.equal(sanitizeName(nameFromUrl('http://h/a/..%2F..%2Fx')!), 'x');
});

test('suffixed() - the n-th claim gets " (n)" before the extension', () => {
  assert.equal(suffixed('a.txt', 1), 'a.txt');
  assert.equal(suffixed('a.txt', 2), 'a (2).txt');
  assert.equal(suffixed('a.tar.gz', 3), 'a (3).tar.gz');
  assert.equal(suffixed('noext', 2), 'noext (2)');
  const long = suffixed('x'.repeat(200) + '.bin', 12);
  assert.ok(long.endsWith(' (12).bin') && Buffer.byteLength(long) <= 200);
});

test('safeJoin() - refuses anything not directly inside the directory', () => {
  assert.throws(() => safeJoin('/tmp/o', '../x'), UnsafePathError);
  assert.throws(() => safeJoin('/tmp/o', '/etc/passwd'), UnsafePathError);
  assert.throws(() => safeJoin('/tmp/o', 'a/b'), UnsafePathError);
  assert.throws(() => safeJoin('/tmp/o', ''), UnsafePathError);
  assert.equal(safeJoin('/tmp/o', 'a.txt'), resolve('/tmp/o/a.txt'));
});
