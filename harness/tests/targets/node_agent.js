#!/usr/bin/env node
'use strict';
// Clean target: a Node reconnect loop beside an http.Agent keep-alive pool.
//
// fd behaviour: the program runs its own http server on an ephemeral
// loopback port (keepAliveTimeout --idle-ms, 150 ms) and a keep-alive
// http.Agent (maxSockets 4, maxFreeSockets 4) that sends bursts of requests
// to it at random moments.  Idle pooled sockets (client and server ends) stay
// open across many attempts and are closed when the server's keep-alive
// timeout fires: 0-8 sockets that come and go.  The reconnect loop uses
// net.connect to the refused port and destroys each socket on error.
//
// Realistic because: every Node service calling an HTTP API uses a
// keep-alive agent, and idle pooled sockets are the classic false alarm.
const http = require('http');
const { parseArgs, Run, attemptConnect } = require('./common.js');

async function main() {
  const opts = parseArgs({ 'idle-ms': 150 });
  const run = new Run(opts);

  const server = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end('{"ok":true}\n');
  });
  server.keepAliveTimeout = opts['idle-ms'];
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serverPort = server.address().port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 4 });

  let stopping = false;
  function request() {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: serverPort, path: '/status', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', resolve);   // a pooled socket closed under us: next time
    });
  }
  // Bursts: 1-6 concurrent requests, then a random pause, some longer than
  // the server's keep-alive timeout.
  (async function traffic() {
    while (!stopping) {
      const n = 1 + Math.floor(run.random() * 6);
      await Promise.all(Array.from({ length: n }, request));
      const pauses = [5, 20, 50, 100, 200, 300];
      await new Promise((r) => setTimeout(r, pauses[Math.floor(run.random() * pauses.length)]));
    }
  })();

  while (run.going()) {
    await attemptConnect(opts.port);
    run.attempts++;
    await run.backoff();
  }
  stopping = true;
  agent.destroy();
  server.closeAllConnections();
  server.close();
  run.writeResult();
  process.exit(0);
}

main();
