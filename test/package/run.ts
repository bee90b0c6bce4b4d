// `npm run test:package`: spate as a user gets it. Packs the tarball, lints it (publint, attw),
// installs it into a temporary project outside the repository and there (a) imports every
// subpath and uses one thing from each on Node 22 and Node 24, (b) require()s every subpath from
// CommonJS, (c) type-checks a strict TypeScript consumer made of the README's snippets, (d) runs
// the installed `spate` bin — and, if this machine has a Node older than 22, checks the bin's
// one-line refusal. The other Node versions come from the registry's `node` package, cached in
// the OS temp dir. Needs the npm registry (or a warm npm cache).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { installedVersion, installInto, nodeBinary, pack, root, run } from './install.ts';

const RUNTIMES = [22, 24];
const fixtures = join(root, 'test', 'package', 'consumer');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };

let tarball = '';
let project = '';
const runtimes = new Map<number, string>();

before(() => {
  tarball = pack();
  project = installInto(tarball, [`@types/node@${installedVersion('@types/node')}`]);
  for (const file of readdirSync(fixtures)) copyFileSync(join(fixtures, file), join(project, file));
  for (const major of RUNTIMES) runtimes.set(major, nodeBinary(major));
});

after(() => {
  if (tarball) rmSync(dirname(tarball), { recursive: true, force: true });
  if (project) rmSync(project, { recursive: true, force: true });
});

test('publint: the packed tarball is clean (warnings are errors)', () => {
  const out = run(process.execPath, [bin('publint'), 'run', tarball, '--strict']);
  assert.doesNotMatch(out, /warning|error|suggestion/i, out);
});

test('attw: the types resolve for every entry point (ESM-only profile)', () => {
  run(process.execPath, [bin('attw'), tarball, '--profile', 'esm-only', '--format', 'ascii']);
});

test('the tarball holds only what a user needs', () => {
  const files = run('tar', ['-tzf', tarball]).trim().split('\n').map((f) => f.replace(/^package\//, ''));
  const stray = files.filter((f) => !/^(dist|src|bin|docs)\/|^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f));
  assert.deepEqual(stray, []);
  assert.ok(files.includes('LICENSE') && files.includes('CHANGELOG.md') && files.includes('dist/index.d.ts'));
  assert.ok(!files.some((f) => f.startsWith('docs/api/')), 'the generated API reference is not packed');
});

for (const major of RUNTIMES) {
  test(`Node ${major}: import every subpath from an .mjs file and use one thing from each`, () => {
    const out = run(runtimes.get(major)!, ['use.mjs'], { cwd: project });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { node: string; imported: number; unchecked: string[] };
    assert.ok(result.node.startsWith(`v${major}.`));
    assert.equal(result.imported, Object.keys(pkg.exports).length - 1);
    if (result.unchecked.length) console.log(`# imported without a use check: ${result.unchecked.join(', ')}`);
  });

  test(`Node ${major}: require() every subpath from CommonJS (require(esm))`, () => {
    const out = run(runtimes.get(major)!, ['--no-warnings', 'require.cjs'], { cwd: project });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { node: string; required: number };
    assert.equal(result.required, Object.keys(pkg.exports).length - 1);
  });

  test(`Node ${major}: the installed bin answers --version and crawl --help`, () => {
    const env = { ...process.env, PATH: `${dirname(runtimes.get(major)!)}${delimiter}${process.env['PATH']}` };
    const spate = join(project, 'node_modules', '.bin', 'spate');
    assert.equal(run(spate, ['--version'], { env }).trim(), pkg.version);
    assert.match(run(spate, ['crawl', '--help'], { env }), /^Usage: spate crawl /);
    const unknown = spawnSync(spate, ['nope'], { env, encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, "spate: unknown command 'nope' (see spate --help)\n");
  });
}

test('a strict TypeScript consumer (nodenext, exactOptionalPropertyTypes, no skipLibCheck) compiles the README snippets', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => code.includes("from 'spate"));
  assert.ok(snippets.length >= 3, 'the README has TypeScript snippets that import spate');
  snippets.forEach((code, i) => writeFileSync(join(project, `readme-${i + 1}.ts`), code));
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project]);
});

test('an older Node gets one line from the bin, not a syntax error', (t) => {
  // The system's Node, if it is older than 22 (this repository's scripts run on the node@24
  // dev dependency, so look past node_modules/.bin).
  const path = (process.env['PATH'] ?? '').split(delimiter).filter((p) => !p.includes('node_modules'));
  const found = spawnSync('node', ['-p', 'process.version'], { encoding: 'utf8', env: { ...process.env, PATH: path.join(delimiter) } });
  const version = found.status === 0 ? found.stdout.trim() : '';
  if (!version || Number(version.slice(1).split('.')[0]) >= 22) return t.skip(`no Node older than 22 on PATH (found ${version || 'none'})`);
  const spate = spawnSync(join(project, 'node_modules', '.bin', 'spate'), ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: path.join(delimiter) } });
  assert.equal(spate.status, 2);
  assert.equal(spate.stderr, `spate needs Node >= 22 (found ${version})\n`);
});
