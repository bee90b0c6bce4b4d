// Packs spate as `npm publish` would and installs the tarball into a project outside the
// repository; fetches other Node versions from the registry's `node` package. Shared by the
// package test (test/package/run.ts) and the `cli` benchmark group.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a command; throws with its output when it fails. */
export function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${String(result.stdout)}${String(result.stderr)}`);
  }
  return String(result.stdout);
}

/**
 * A Node binary of the given major version: this process's own when it matches, else the
 * registry's `node@<major>` installed once into the OS temp dir (kept between runs).
 */
export function nodeBinary(major: number): string {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const dir = join(tmpdir(), 'spate-runtimes', `node${major}`);
  const bin = join(dir, 'node_modules', '.bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, allowScripts: { node: true } }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `node@${major}`], { cwd: dir });
  }
  return bin;
}

/** Builds dist/ and packs it; returns the tarball's path (in a fresh temp dir). */
export function pack(): string {
  run('npm', ['run', 'build'], { cwd: root });
  const dest = mkdtempSync(join(tmpdir(), 'spate-pack-'));
  const out = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: root });
  const [{ filename }] = JSON.parse(out) as [{ filename: string }];
  return join(dest, filename);
}

/** A new project in the OS temp dir with the tarball (and `extra` packages) installed. */
export function installInto(tarball: string, extra: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'spate-consumer-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'spate-consumer', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...extra], { cwd: dir });
  return dir;
}

/** The version of a package installed in this repository (to pin the same one elsewhere). */
export function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}
