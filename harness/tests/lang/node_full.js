'use strict';
// Fill the file system of FILL_DIR (the test gives a small tmpfs that also
// holds fdsoak's language log), then leak one fd every 20 ms for SECONDS:
// the log cannot take their stacks, and the report must say so rather than
// blame the program (issue 24).
//
//   node node_full.js FILL_DIR SECONDS
const fs = require('fs');
const path = require('path');

const [fill, secs] = [process.argv[2], Number(process.argv[3])];
const f = fs.openSync(path.join(fill, 'filler'), 'w');
const block = Buffer.alloc(65536);
try { for (;;) fs.writeSync(f, block); } catch (e) { /* ENOSPC: full */ }
fs.closeSync(f);
const leaked = [];
const end = Date.now() + secs * 1000;
const timer = setInterval(() => {
  if (Date.now() >= end) { clearInterval(timer); return; }
  leaked.push(fs.openSync('/dev/null', 'r'));  // LEAK-LINE
}, 20);
