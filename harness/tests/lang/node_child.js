#!/usr/bin/env node
'use strict';
// Leaks a child process with its stdio pipes on every Nth failed reconnect
// attempt (issue 15): child_process.spawn('sleep', ['30']) is started and
// never waited for or closed; at most --max-children (40) are started, and
// all are killed when the program ends.  --fixed kills each child and waits
// for its pipes to close.  Flags: see langloop.js.
const { spawn } = require('child_process');
const { parseArgs, Loop } = require('./langloop.js');

const opts = parseArgs({ 'max-children': 40 });
const loop = new Loop(opts, 'node-child');
const children = new Set();
loop.cleanups.push(() => { for (const c of children) { try { c.kill('SIGKILL'); } catch (e) { /* gone */ } } });
let started = 0;

loop.run(async () => {
  if (started >= opts['max-children']) return;
  started++;
  const child = spawn('sleep', ['30']); // LEAK-LINE
  children.add(child);
  child.on('error', () => {});
  if (opts.fixed) {
    await new Promise((r) => { child.once('close', r); child.kill('SIGKILL'); });
    children.delete(child);
  }
}).then(() => process.exit(0));
