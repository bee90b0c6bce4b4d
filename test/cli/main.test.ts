import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
// Preloaded into the CLI: prints which CommonJS packages were loaded when it exits.
const probe = `data:text/javascript,${encodeURIComponent(`
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
process.on('exit', () => {
  const names = new Set(Object.keys(require.cache).map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(p)?.[1]).filter(Boolean));
  process.stderr.write('loaded: ' + [...names].sort().join(',') + '\\n');
});`)}`;

function spate(args: string[], withProbe = false) {
  const r = spawnSync(process.execPath, [...(withProbe ? ['--import', probe] : []), main, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('spate --version prints the version and loads no package', () => {
  const r = spate(['--version'], true);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, `${version}\n`);
  assert.equal(r.stderr, 'loaded: \n');
});

test('spate --help lists every command without loading any', () => {
  const r = spate(['--help'], true);
  assert.equal(r.status, 0);
  for (const name of ['tour', 'demo', 'lab', 'crawl', 'download', 'bench', 'serve', 'ws']) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'));
  assert.equal(r.stderr, 'loaded: commander\n');
});

test('spate alone prints the help to stderr and exits 2', () => {
  const r = spate([]);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Usage: spate /);
});

test('an unknown command is one line and exit 2', () => {
  const r = spate(['nope', '--flag']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, "spate: unknown command 'nope' (see spate --help)\n");
});

test('crawl --help loads the command, not the crawler (no undici, htmlparser2)', () => {
  const r = spate(['crawl', '--help'], true);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^Usage: spate crawl /);
  const loaded = /^loaded: (.*)$/m.exec(r.stderr)?.[1]?.split(',') ?? [];
  assert.ok(loaded.includes('commander'));
  assert.ok(!loaded.includes('undici') && !loaded.includes('htmlparser2'), `loaded: ${loaded.join(', ')}`);
});

test('usage errors inside a command are one line naming the command, exit 2, no help dump', () => {
  for (const [args, line] of [
    [['crawl'], "spate crawl: missing required argument 'url' (see spate crawl --help)\n"],
    [['crawl', 'http://127.0.0.1:1/', '--bogus'], "spate crawl: unknown option '--bogus' (see spate crawl --help)\n"],
    [['serve', 'nope'], "spate serve: unknown command 'nope' (see spate serve --help)\n"],
    [['demo', '--delay', 'abc'], 'spate demo: --delay abc: must be a duration such as 500ms, 2s or 1m (see spate demo --help)\n'],
  ] as const) {
    const r = spate([...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    assert.equal(r.stderr, line);
  }
});

test('spate help <command> is <command> --help', () => {
  const r = spate(['help', 'lab']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^Usage: spate lab /);
});

// The build saves every command's help (dist/cli/help.json) so the installed bin answers --help
// without loading commander; it must say exactly what commander says from the sources.
const dist = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const helpJson = new URL('../../dist/cli/help.json', import.meta.url);
/** Why the compiled CLI cannot be compared with the sources, if it cannot: not built, or built before the last edit. */
function staleBuild(): string | false {
  if (!existsSync(helpJson)) return 'dist/ is not built (npm run build)';
  const built = statSync(helpJson).mtimeMs;
  const src = fileURLToPath(new URL('../../src/', import.meta.url));
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.ts') && statSync(join(src, f)).mtimeMs > built);
  return newer === undefined ? false : `dist/ is older than src/${newer} (npm run build)`;
}
test('the compiled CLI answers --help from the build\'s help cache: the same text, no package loaded', { skip: staleBuild() }, () => {
  const saved = JSON.parse(readFileSync(helpJson, 'utf8')) as Record<string, string>;
  for (const name of ['', 'tour', 'demo', 'lab', 'crawl', 'download', 'bench', 'serve', 'pipeline', 'worker', 'dash', 'ws']) assert.ok(Object.hasOwn(saved, name), `help.json has '${name}'`);
  for (const words of [[], ['crawl'], ['serve', 'api'], ['pipeline', 'dlq', 'replay']]) {
    const compiled = spawnSync(process.execPath, ['--import', probe, dist, ...words, '--help'], { encoding: 'utf8' });
    assert.equal(compiled.status, 0);
    assert.equal(compiled.stderr, 'loaded: \n', `${words.join(' ')} --help loads no package`);
    assert.equal(compiled.stdout, spate([...words, '--help']).stdout, `${words.join(' ')} --help`);
  }
});
