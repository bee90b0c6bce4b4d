#!/usr/bin/env node
'use strict';
// The `spate` bin: plain CommonJS that parses on any Node, so an old Node gets one line instead
// of a syntax error. The CLI itself is the compiled dist/cli/main.js (built by `npm run build`,
// which `npm ci`, `npm install <git url>` and `npm pack` run through `prepare`).
var parts = process.versions.node.split('.').map(Number);
var major = parts[0];
var minor = parts[1];
// undici 8 (spate/http) needs 22.19; node:sqlite needs no flag from 22.13.
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write('spate needs Node >= ' + (major < 22 ? '22' : '22.19') + ' (found v' + process.versions.node + ')\n');
  process.exit(2);
}
// Compiled code of spate and its dependencies is cached on disk (Node's compile cache, in the OS
// temp dir): later starts skip most of the parsing, which is most of a short command's time.
var nodeModule = require('module');
if (typeof nodeModule.enableCompileCache === 'function') nodeModule.enableCompileCache();
import('../dist/cli/main.js').catch(function (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).indexOf('dist/cli/main.js') !== -1) {
    process.stderr.write('spate: dist/ is missing; run `npm run build` in ' + require('path').resolve(__dirname, '..') + '\n');
  } else {
    process.stderr.write(String(error && error.stack || error) + '\n');
  }
  process.exitCode = 1;
});
