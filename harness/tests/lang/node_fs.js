#!/usr/bin/env node
'use strict';
// Leaks a file opened with fs.open on every Nth failed reconnect attempt
// (issue 15); --fixed closes it.  Flags: see langloop.js.
const fs = require('fs');
const path = require('path');
const { parseArgs, Loop } = require('./langloop.js');

const opts = parseArgs();
const loop = new Loop(opts, 'node-fs');
const file = path.join(loop.dir, 'state.json');
fs.writeFileSync(file, '{}\n');
const kept = [];

function openState() {
  return new Promise((resolve, reject) => {
    fs.open(file, 'r', (err, fd) => (err ? reject(err) : resolve(fd))); // LEAK-LINE
  });
}

loop.run(async () => {
  const fd = await openState();
  if (opts.fixed) fs.closeSync(fd); else kept.push(fd);
}).then(() => process.exit(0));
