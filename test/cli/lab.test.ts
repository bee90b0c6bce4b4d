import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = `
import { Command } from 'commander';
import { register } from './src/cli/lab.ts';
const program = new Command('spate');
register(program);
await program.parseAsync(process.argv.slice(1), { from: 'user' });
`;

function run(args: string[]) {
  return spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
}

test('spate lab - prints its URL, serves, and exits 0 on SIGTERM', async () => {
  const child = run(['lab', '--port', '0', '--seed', '3']);
  let out = '';
  child.stdout.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) resolve(m[0]);
    });
    child.once('exit', () => reject(new Error(`exited early: ${out}`)));
  });
  const res = await fetch(`${url}/health`);
  assert.deepEqual(await res.json(), { status: 'ok' });
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});

test('spate lab --help - describes the options', async () => {
  const child = run(['lab', '--help']);
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => (out += c));
  await once(child, 'exit');
  assert.match(out, /--port/);
  assert.match(out, /--seed/);
  assert.match(out, /--crawl-delay/);
});

test('spate lab - a bad port is a usage error', async () => {
  const child = run(['lab', '--port', 'x']);
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (err += c));
  const [code] = await once(child, 'exit');
  assert.notEqual(code, 0);
  assert.match(err, /port must be an integer/);
});
