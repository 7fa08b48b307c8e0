'use strict';
// Direct check of harness/lang/node/fdsoak-origins.js, without fdsoak: run by
// node_preload_check.sh with NODE_OPTIONS=--require <preload> and
// FDSOAK_LANG_LOG=<file>.  Creates fds through each wrapped call, keeps them
// open, then reads the log and checks, for each, that the last line for
// (pid, fd) names this file and the line marked `// @X`, with the right kind,
// and that /proc/self/fd/N is that kind of object (a path, socket:[..] or
// pipe:[..]).  Also checks the wrappers change nothing a program can see
// (return values, `this`, errors, rejections).  Prints ok/FAIL lines; exit 1
// on a failure.
const fs = require('fs');
const net = require('net');
const http = require('http');
const os = require('os');
const path = require('path');
const cp = require('child_process');
const { Worker } = require('worker_threads');

const SRC = fs.readFileSync(__filename, 'utf8').split('\n');
function markLine(tag) {
  const i = SRC.findIndex((l) => l.includes('// @' + tag + ' ') || l.endsWith('// @' + tag));
  return i + 1;
}
let failed = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAIL'} ${what}`);
  if (!ok) failed++;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdsoak-nodecheck-'));
const file = path.join(dir, 'data.txt');
fs.writeFileSync(file, 'hello\n');
const expect = [];   // {tag, fd, kind, pid}
const keep = [];

async function main() {
  // fs.openSync
  const a = fs.openSync(file, 'r'); // @A
  expect.push({ tag: 'A', fd: a, kind: 'file' });
  // fs.open with a callback: same this/args
  const b = await new Promise((resolve, reject) => {
    fs.open(file, 'r', function (err, fd) { // @B
      check(this === undefined || this === globalThis || typeof this === 'object', 'fs.open callback this');
      if (err) reject(err); else resolve(fd);
    });
  });
  expect.push({ tag: 'B', fd: b, kind: 'file' });
  // fs.promises.open
  const fh = await fs.promises.open(file, 'r'); // @C
  check(fh && typeof fh.fd === 'number' && typeof fh.read === 'function', 'fs.promises.open gives a FileHandle');
  keep.push(fh);
  expect.push({ tag: 'C', fd: fh.fd, kind: 'file' });
  // streams
  const rs = fs.createReadStream(file); // @D
  const rfd = await new Promise((r) => rs.once('open', r));
  rs.pause();
  keep.push(rs);
  expect.push({ tag: 'D', fd: rfd, kind: 'file' });
  const ws = fs.createWriteStream(path.join(dir, 'out.txt')); // @E
  const wfd = await new Promise((r) => ws.once('open', r));
  keep.push(ws);
  expect.push({ tag: 'E', fd: wfd, kind: 'file' });

  // failures behave as without the preload
  let e1 = null;
  try { fs.openSync(path.join(dir, 'missing'), 'r'); } catch (e) { e1 = e; }
  check(e1 && e1.code === 'ENOENT' && e1.syscall === 'open', 'fs.openSync throws ENOENT');
  const e2 = await new Promise((r) => fs.open(path.join(dir, 'missing'), (err, fd) => r([err, fd])));
  check(e2[0] && e2[0].code === 'ENOENT' && e2[1] === undefined, 'fs.open reports ENOENT');
  const e3 = await fs.promises.open(path.join(dir, 'missing')).then(() => null, (e) => e);
  check(e3 && e3.code === 'ENOENT', 'fs.promises.open rejects ENOENT');
  let e4 = null;
  try { fs.open(file, 'r'); } catch (e) { e4 = e; }
  check(e4 && e4.code === 'ERR_INVALID_ARG_TYPE', 'fs.open without a callback throws as before');
  check(fs.openSync.name === 'openSync' && fs.open.length === 4, 'wrappers keep name and length');

  // net: a listener of our own
  const server = net.createServer((c) => { keep.push(c); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const s1 = net.connect({ host: '127.0.0.1', port }); // @F
  check(s1 instanceof net.Socket, 'net.connect returns the socket');
  await new Promise((r) => s1.once('connect', r));
  expect.push({ tag: 'F', fd: s1._handle.fd, kind: 'socket' });
  const s2 = net.createConnection(port, 'localhost'); // @G
  await new Promise((r, j) => { s2.once('connect', r); s2.once('error', j); });
  expect.push({ tag: 'G', fd: s2._handle.fd, kind: 'socket' });
  const s3 = new net.Socket();
  const ret = s3.connect(port, '127.0.0.1'); // @H
  check(ret === s3, 'Socket.connect returns this');
  await new Promise((r) => s3.once('connect', r));
  expect.push({ tag: 'H', fd: s3._handle.fd, kind: 'socket' });
  keep.push(s1, s2, s3);
  // a refused connect: same error, and no line left for a live fd
  const refused = await new Promise((r) => {
    const s = net.connect({ host: '127.0.0.1', port: 1 });
    s.on('error', (e) => r(e.code));
  });
  check(refused === 'ECONNREFUSED', 'refused connect errors as before');

  // http with a keep-alive agent: the pooled socket stays open
  const hs = http.createServer((req, res) => res.end('hi'));
  await new Promise((r) => hs.listen(0, '127.0.0.1', r));
  const agent = new http.Agent({ keepAlive: true });
  const sock = await new Promise((r) => {
    const req = http.get({ host: '127.0.0.1', port: hs.address().port, agent }, (res) => { // @I
      res.resume();
      res.on('end', () => r(req.socket));
    });
  });
  expect.push({ tag: 'I', fd: sock._handle.fd, kind: 'socket' });

  // child_process: spawn, exec, fork
  const ch1 = cp.spawn('sleep', ['30']); // @J
  const ch2 = cp.exec('sleep 30'); // @K
  const ch3 = cp.fork(path.join(__dirname, 'node_preload_check.js'), ['--child']); // @L
  for (const [tag, ch] of [['J', ch1], ['K', ch2], ['L', ch3]]) {
    for (const s of ch.stdio) if (s && s._handle) expect.push({ tag, fd: s._handle.fd, kind: 'pipe' });
    keep.push(ch);
  }
  expect.push({ tag: 'L', fd: ch3.channel.fd, kind: 'pipe' });

  // a worker thread
  // (Node closes a worker's fds when it exits: it stays until the end.)
  const worker = new Worker(path.join(__dirname, 'node_preload_check.js'), { argv: ['--worker', file] });
  const wfd2 = await new Promise((r, j) => {
    worker.once('message', r);
    worker.once('error', j);
  });
  expect.push({ tag: 'M', fd: wfd2, kind: 'file' });

  await new Promise((r) => setTimeout(r, 200));
  verify();
  for (const ch of [ch1, ch2, ch3]) ch.kill();
  await worker.terminate();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

function verify() {
  const log = process.env.FDSOAK_LANG_LOG;
  const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const last = new Map();
  for (const l of lines) if (l.pid === process.pid) last.set(l.fd, l);
  for (const l of lines) {
    if (typeof l.note === 'string') { check(false, `a note: ${l.note}`); return; }
    const okShape = l.lang === 'node' && Number.isInteger(l.pid) && Number.isInteger(l.fd) &&
      ['file', 'socket', 'pipe'].includes(l.kind) && Array.isArray(l.stack) && l.stack.length <= 16 &&
      l.stack.every((f) => typeof f.fn === 'string' && path.isAbsolute(f.file) && Number.isInteger(f.line) &&
        !f.file.includes('fdsoak-origins'));
    if (!okShape) { check(false, `line shape ${JSON.stringify(l)}`); return; }
  }
  check(true, `${lines.length} log lines well formed`);
  for (const e of expect) {
    const l = last.get(e.fd);
    const want = `${path.basename(__filename)}:${markLine(e.tag)}`;
    const got = l ? `${path.basename(l.stack[0] ? l.stack[0].file : '-')}:${l.stack[0] ? l.stack[0].line : '-'}` : 'no line';
    let target = '';
    try { target = fs.readlinkSync(`/proc/self/fd/${e.fd}`); } catch (err) { target = 'closed'; }
    const real = target.startsWith('socket:') ? 'socket' : target.startsWith('pipe:') ? 'pipe' : target.startsWith('/') ? 'file' : target;
    // libuv's child stdio "pipes" are socketpairs
    const realOk = e.kind === 'pipe' ? (real === 'socket' || real === 'pipe') : real === e.kind;
    check(l && got === want && l.kind === e.kind && realOk,
      `@${e.tag} fd ${e.fd} ${e.kind}: want ${want} got ${got} (${l ? l.stack.map((f) => f.fn).slice(0, 3).join(' <- ') : ''}) /proc: ${target}`);
  }
  // Every open fd with a line: the line's kind agrees with /proc.
  let agree = 0, disagree = [];
  for (const n of fs.readdirSync('/proc/self/fd')) {
    const l = last.get(Number(n));
    if (!l) continue;
    let t; try { t = fs.readlinkSync(`/proc/self/fd/${n}`); } catch (err) { continue; }
    const real = t.startsWith('socket:') ? 'socket' : t.startsWith('pipe:') ? 'pipe' : 'file';
    if (real === l.kind || (l.kind === 'pipe' && real === 'socket')) agree++; else disagree.push(`${n}:${l.kind}/${t}`);
  }
  check(disagree.length === 0, `open fds with a line agree with /proc: ${agree} agree, disagree: ${disagree.join(' ') || 'none'}`);
}

if (process.argv[2] === '--child') {
  setTimeout(() => {}, 30000);
  process.on('disconnect', () => process.exit(0));
} else if (process.argv[2] === '--worker') {
  const { parentPort } = require('worker_threads');
  const fd = fs.openSync(process.argv[3], 'r'); // @M
  parentPort.postMessage(fd);
  setInterval(() => {}, 1000);
} else {
  main().catch((e) => { console.log('FAIL', e && e.stack); process.exit(1); });
}
