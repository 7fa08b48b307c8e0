// Reconnect loop on Node timers (libuv): every failed attempt opens a store
// file; --leak never closes it.  Retries every 300 s: 12 attempts an hour.
'use strict';
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const leak = process.argv.includes('--leak');
const i = process.argv.indexOf('--port');
const port = i > 0 ? Number(process.argv[i + 1]) : 27312;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdsoak-node-'));
const kept = [];

function attempt() {
  const fd = fs.openSync(path.join(dir, 'store'), 'a');
  const s = net.connect(port, '127.0.0.1');
  s.on('connect', () => s.destroy());
  s.on('error', () => {
    if (leak) kept.push(fd);
    else fs.closeSync(fd);
    setTimeout(attempt, 300 * 1000);
  });
}
attempt();
