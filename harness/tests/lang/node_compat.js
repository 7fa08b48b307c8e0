'use strict';
// What a Node program can see of fdsoak's hook (issue 23, perturbation 9,
// and issue 24's hook rows): run plain and under `fdsoak watch --origins
// lang`, the JSON it writes must be the same.
//
//   node [--frozen-intrinsics] node_compat.js RESULT_FILE [--freeze-error]
//
// It records: the listeners and events of sockets connecting by IP and by
// name with EventEmitter.defaultMaxListeners = 1, and any warning; the
// stacks of the errors fs.openSync, fs.open and fs.promises.open give; and
// that openSync returns its fd when Error is frozen (--freeze-error, or
// node --frozen-intrinsics).
const fs = require('fs');
const net = require('net');
const EventEmitter = require('events');

const out = process.argv[2];
const freeze = process.argv.includes('--freeze-error');
if (freeze) Object.freeze(Error);
const res = { warnings: [], sockets: {}, errors: {} };
process.on('warning', (w) => res.warnings.push(`${w.name}: ${w.message}`));
EventEmitter.defaultMaxListeners = 1;

function shape(sock) {
  return {
    events: sock.eventNames().map(String).sort(),
    connect: sock.listenerCount('connect'),
    lookup: sock.listenerCount('lookup'),
    symbols: Object.getOwnPropertySymbols(sock).map(String).sort(),
  };
}

function connectOnce(host, port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    const after = shape(sock);
    sock.once('connect', () => {
      const connected = shape(sock);
      sock.destroy();
      resolve({ after, connected });
    });
    sock.once('error', (e) => resolve({ after, error: e.code }));
  });
}

async function main() {
  // An fd opened while Error is frozen comes back, and can be closed.
  const fd = fs.openSync(__filename, 'r');
  res.openSync = typeof fd;
  fs.closeSync(fd);
  try { fs.openSync('/nonexistent/fdsoak-compat', 'r'); } catch (e) { res.errors.openSync = e.stack; }
  res.errors.open = await new Promise((resolve) => {
    fs.open('/nonexistent/fdsoak-compat', 'r', (e) => resolve(e ? e.stack : 'no error'));
  });
  try { await fs.promises.open('/nonexistent/fdsoak-compat', 'r'); } catch (e) { res.errors.promises = e.stack; }
  const server = net.createServer((c) => c.destroy());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  res.sockets.ip = await connectOnce('127.0.0.1', port);
  res.sockets.name = await connectOnce('localhost', port);
  // A second connect on the same socket, as a reconnect loop does.
  res.sockets.again = await new Promise((resolve) => {
    const sock = new net.Socket();
    sock.once('error', () => {
      sock.once('error', () => resolve(shape(sock)));
      sock.connect(port, '127.0.0.1', () => { const s = shape(sock); sock.destroy(); resolve(s); });
    });
    sock.connect(1, '127.0.0.1');
  });
  server.close();
  await new Promise((resolve) => setImmediate(resolve));
  fs.writeFileSync(out, JSON.stringify(res, null, 1) + '\n');
}
main().catch((e) => { fs.writeFileSync(out, 'failed: ' + (e && e.stack) + '\n'); });
