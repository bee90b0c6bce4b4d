// Every error code spate can throw is documented (fastify keeps the same test): a code a user
// cannot look up is a code they cannot handle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const docs = readFileSync(join(root, 'docs/errors.md'), 'utf8');

function errorFiles(): string[] {
  return readdirSync(join(root, 'src'))
    .map((layer) => join(root, 'src', layer, 'errors.ts'))
    .filter((file) => existsSync(file));
}

test('errors - every code in src/*/errors.ts is documented in docs/errors.md', () => {
  const codes = errorFiles().flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/code = '([A-Z_]+)'/g)].map((m) => m[1]!));
  assert.ok(codes.length >= 20, `found only ${codes.length} codes`);
  const missing = codes.filter((code) => !docs.includes(`\`${code}\``));
  assert.deepEqual(missing, []);
});

test('errors - every error class has a name equal to its class name', async () => {
  for (const file of errorFiles()) {
    const mod = (await import(file)) as Record<string, unknown>;
    for (const [exported, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
      let instance: Error;
      try {
        instance = new (value as new (...args: unknown[]) => Error)('x', 'x', 1, 'x');
      } catch {
        continue;
      }
      assert.equal(instance.name, exported, `${file}: ${exported}`);
      assert.equal(typeof (instance as { code?: unknown }).code, 'string', `${file}: ${exported} has no code`);
    }
  }
});
