// require() of every subpath (require(esm): Node 22.12+ and 24), run by test/package/run.ts.
'use strict';
const assert = require('node:assert/strict');
const { exports: subpaths } = require('spate/package.json');
let required = 0;
for (const subpath of Object.keys(subpaths)) {
  if (subpath === './package.json') continue;
  const module = require(subpath === '.' ? 'spate' : `spate/${subpath.slice(2)}`);
  assert.ok(Object.keys(module).length > 0, `${subpath} exports nothing through require()`);
  required++;
}
assert.equal(typeof require('spate/core').Semaphore, 'function');
console.log(JSON.stringify({ node: process.version, required }));
