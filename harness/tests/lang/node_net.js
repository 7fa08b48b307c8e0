#!/usr/bin/env node
'use strict';
// Keeps a net.connect socket to its own local listener on every Nth failed
// reconnect attempt (issue 15): the reconnect loop's connect to --port fails,
// the "fallback" connection to our own server on 127.0.0.1 succeeds and is
// never closed (its accepted end in the server stays too).  --fixed closes
// it.  Flags: see langloop.js.
const net = require('net');
const { parseArgs, Loop } = require('./langloop.js');

const opts = parseArgs();
const loop = new Loop(opts, 'node-net');
const kept = [];
const server = net.createServer((conn) => {
  conn.on('error', () => {});
  conn.resume();
});

function openFallback(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port }); // LEAK-LINE
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  loop.cleanups.push(() => server.close());
  loop.run(async () => {
    const sock = await openFallback(port);
    sock.on('error', () => {});
    if (opts.fixed) {
      await new Promise((r) => { sock.once('close', r); sock.destroy(); });
    } else {
      kept.push(sock);
    }
  }).then(() => process.exit(0));
});
