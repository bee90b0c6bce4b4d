#!/usr/bin/env node
// The `spate` command: parses arguments and calls the library. Nothing else lives here.
console.log('spate: not yet');
