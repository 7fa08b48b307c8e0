'use strict';
// fdsoak's language origins for Node (issue 15).  fdsoak watch --origins lang
// adds `--require <this file>` to NODE_OPTIONS and sets FDSOAK_LANG_LOG to a
// JSONL file; for every fd this process creates through the calls below we
// append one line
//
//   {"pid":P,"fd":N,"lang":"node","kind":"file|socket|pipe",
//    "stack":[{"fn":"Agent.createConnection","file":"/abs/x.js","line":31},...]}
//
// with the JavaScript stack at the call that asked for the fd, innermost
// first, at most 16 frames, with the frames of this file and of Node itself
// (node:*) left out.  fdsoak takes, per leaked (pid, fd), the last line.
//
// What is wrapped, and when the fd is written:
//   fs.openSync                      on return
//   fs.open (callback)               in the callback, before the caller's, on success
//   fs.promises.open                 when the FileHandle arrives (handle.fd)
//   fs.createReadStream/WriteStream  on the stream's 'open' (the stream opens
//                                    on a later tick, so the stack is taken at
//                                    the create call)
//   net.Socket.prototype.connect     everything that connects goes through it:
//                                    net.connect, net.createConnection, new
//                                    net.Socket().connect, http(s) agents, tls.
//                                    The fd exists once the connect is under
//                                    way: after connect() returns when already
//                                    there, else on the next tick (an IP host:
//                                    Node connects on process.nextTick), on the
//                                    tick after 'lookup' (a name) and on
//                                    'connect' (a backstop; happy eyeballs)
//   ChildProcess.prototype.spawn     spawn, exec, execFile and fork all call
//                                    it: on return, the parent's ends of the
//                                    stdio pipes (child.stdio[i]._handle.fd;
//                                    libuv makes them socketpairs, so /proc
//                                    shows sockets) and fork's IPC channel
//
// Why wrapping and not async_hooks: an async_hooks init hook runs for every
// async resource of the program (and with promise hooks for every promise),
// and the fd does not exist yet when it runs (a TCPWRAP is created before its
// socket), so it would cost everywhere and still need the wrappers to learn
// the fd.  Wrapping costs only at the calls that create fds: a stack capture
// of ~40 frames and one write(2) per fd (harness/bench/lang_overhead.sh).
//
// Behaviour of the program is unchanged: every wrapper calls the original with
// the same `this` and arguments and returns its result or rethrows its error;
// callbacks get the same `this` and arguments; fs.promises.open resolves to
// the same FileHandle (one microtask later) and rejects with the same error;
// listeners we add are 'open', 'connect' and 'lookup' (never 'error', which
// would change what an unhandled error does).  Nothing here throws: if the
// log cannot be opened or written, we stop recording.
//
// The log is opened once, here, with fs.openSync(path, 'a') (O_APPEND, and
// libuv adds O_CLOEXEC so children do not inherit it): one constant fd for
// the life of the process, open before the target's first attempt, so it is
// never seen as a leak.  Each line is one write(2) to an O_APPEND file, so
// lines from several processes do not interleave.  Worker threads share the
// process's fd table but load this file again; a worker may end at any time
// (worker.terminate()) without a chance to close a log of its own, so in a
// worker each line is an open-append-close instead (rare: few fds are created
// there).
(function fdsoakOrigins() {
  const logPath = process.env.FDSOAK_LANG_LOG;
  if (!logPath) return;

  let fs, net, childProcess, isMainThread;
  try {
    fs = require('fs');
    net = require('net');
    childProcess = require('child_process');
    isMainThread = require('worker_threads').isMainThread;
  } catch (e) {
    return;
  }
  const origOpenSync = fs.openSync;
  const origWriteSync = fs.writeSync;
  const origCloseSync = fs.closeSync;

  let logFd = -1;
  let enabled = true;
  try {
    if (isMainThread) {
      logFd = origOpenSync(logPath, 'a');  // the one constant log fd
    } else {
      origCloseSync(origOpenSync(logPath, 'a'));  // writable? else stay out
    }
  } catch (e) {
    return;  // unwritable log: do nothing at all
  }

  const MAX_FRAMES = 16;
  // Frames captured: the 16 kept plus room for node:* frames between the
  // caller and the wrapper (net.connect: 1, http.request: ~6).  The capture
  // is most of the cost, and it grows with this limit.
  const CAPTURE_LIMIT = 24;
  const SELF = __filename;
  const pid = process.pid;

  function writeLine(line) {
    if (!enabled) return;
    try {
      if (logFd >= 0) {
        origWriteSync(logFd, line);
      } else {
        const fd = origOpenSync(logPath, 'a');
        try { origWriteSync(fd, line); } finally { origCloseSync(fd); }
      }
    } catch (e) {
      enabled = false;  // disk full, log removed, ...: stop, quietly
    }
  }

  // Structured frames via a momentary Error.prepareStackTrace; the program's
  // own prepareStackTrace and stackTraceLimit are put back before returning.
  function structured(_, callSites) { return callSites; }

  function frameName(cs) {
    let fn = null, type = null;
    try {
      fn = cs.getFunctionName();
      if (cs.isConstructor()) return 'new ' + (fn || '<anonymous>');
      if (!cs.isToplevel()) type = cs.getTypeName();
      if (!fn) fn = cs.getMethodName();
    } catch (e) { /* strict-mode frames may refuse; keep what we have */ }
    if (!fn) fn = '<anonymous>';
    if (type && type !== 'Object' && type !== 'global' && !fn.startsWith(type + '.')) {
      return type + '.' + fn;
    }
    return fn;
  }

  let fileURLToPath = null;
  function framePath(file) {
    if (file.startsWith('file://')) {
      try {
        if (!fileURLToPath) fileURLToPath = require('url').fileURLToPath;
        return fileURLToPath(file);
      } catch (e) { return file; }
    }
    return file;
  }

  // The caller's stack, outermost frames beyond `skip` (a wrapper) dropped.
  function captureStack(skip) {
    if (!enabled) return null;
    const holder = {};
    const savedPrepare = Error.prepareStackTrace;
    const savedLimit = Error.stackTraceLimit;
    let sites;
    try {
      Error.prepareStackTrace = structured;
      Error.stackTraceLimit = CAPTURE_LIMIT;
      Error.captureStackTrace(holder, skip);
      sites = holder.stack;
    } catch (e) {
      sites = null;
    } finally {
      Error.prepareStackTrace = savedPrepare;
      Error.stackTraceLimit = savedLimit;
    }
    if (!Array.isArray(sites)) return [];
    const out = [];
    for (let i = 0; i < sites.length && out.length < MAX_FRAMES; i++) {
      const cs = sites[i];
      let file;
      try { file = cs.getFileName() || cs.getScriptNameOrSourceURL(); } catch (e) { file = null; }
      if (!file || file === SELF || file.startsWith('node:')) continue;
      let line = 0;
      try { line = cs.getLineNumber() || 0; } catch (e) { /* keep 0 */ }
      out.push({ fn: frameName(cs), file: framePath(file), line });
    }
    return out;
  }

  // The line is built by hand (JSON.stringify only for the strings): about
  // half the cost of stringifying the object.
  const q = JSON.stringify;
  function record(fd, kind, stack) {
    if (!enabled || typeof fd !== 'number' || fd < 0 || stack === null) return;
    let line = '{"pid":' + pid + ',"fd":' + fd + ',"lang":"node","kind":"' + kind + '","stack":[';
    try {
      for (let i = 0; i < stack.length; i++) {
        const f = stack[i];
        line += (i ? ',{"fn":' : '{"fn":') + q(f.fn) + ',"file":' + q(f.file) + ',"line":' + (f.line | 0) + '}';
      }
    } catch (e) {
      return;
    }
    writeLine(line + ']}\n');
  }

  function handleFd(obj) {
    try {
      const h = obj && obj._handle;
      const fd = h && h.fd;
      return typeof fd === 'number' ? fd : -1;
    } catch (e) {
      return -1;
    }
  }

  // A wrapper that looks like the original: same name, length and own
  // properties (util.promisify.custom and the like).
  function dressed(wrapper, orig) {
    try {
      for (const key of Reflect.ownKeys(orig)) {
        if (key === 'prototype' || key === 'caller' || key === 'arguments') continue;
        const d = Object.getOwnPropertyDescriptor(orig, key);
        if (d && (d.configurable || !Object.prototype.hasOwnProperty.call(wrapper, key))) {
          try { Object.defineProperty(wrapper, key, d); } catch (e) { /* keep ours */ }
        }
      }
    } catch (e) { /* cosmetic only */ }
    return wrapper;
  }

  function replace(obj, key, make) {
    try {
      const orig = obj[key];
      if (typeof orig !== 'function') return;
      obj[key] = dressed(make(orig), orig);
    } catch (e) { /* leave it unwrapped */ }
  }

  // ---- fs ---------------------------------------------------------------
  replace(fs, 'openSync', (orig) => function openSync() {
    const fd = Reflect.apply(orig, this, arguments);
    record(fd, 'file', captureStack(openSync));
    return fd;
  });

  replace(fs, 'open', (orig) => function open() {
    const n = arguments.length;
    const cb = n > 0 ? arguments[n - 1] : undefined;
    if (typeof cb !== 'function' || !enabled) return Reflect.apply(orig, this, arguments);
    const stack = captureStack(open);
    const args = Array.prototype.slice.call(arguments);
    args[n - 1] = function () {
      if (arguments[0] == null) record(arguments[1], 'file', stack);
      return Reflect.apply(cb, this, arguments);
    };
    return Reflect.apply(orig, this, args);
  });

  if (fs.promises) {
    replace(fs.promises, 'open', (orig) => function open() {
      const p = Reflect.apply(orig, this, arguments);
      if (!enabled || !p || typeof p.then !== 'function') return p;
      const stack = captureStack(open);
      return p.then((fh) => {
        try { record(fh && fh.fd, 'file', stack); } catch (e) { /* never */ }
        return fh;
      });
    });
  }

  function streamWrapper(orig, name) {
    const wrapper = {
      [name]: function () {
        const stream = Reflect.apply(orig, this, arguments);
        if (!enabled) return stream;
        try {
          if (stream && typeof stream.once === 'function' && typeof stream.fd !== 'number') {
            const stack = captureStack(wrapper);
            stream.once('open', (fd) => record(fd, 'file', stack));
          }
        } catch (e) { /* no record */ }
        return stream;
      },
    }[name];
    return wrapper;
  }
  replace(fs, 'createReadStream', (orig) => streamWrapper(orig, 'createReadStream'));
  replace(fs, 'createWriteStream', (orig) => streamWrapper(orig, 'createWriteStream'));

  // ---- net (and so http, https, tls) -------------------------------------
  // Per socket: the stack of its latest connect() and the fd written for it.
  // Our two listeners are added once per socket (not per connect(), so a
  // socket that reconnects many times does not pile them up).
  const kStack = Symbol('fdsoak.connectStack');
  const kRecorded = Symbol('fdsoak.recordedFd');
  const kHooked = Symbol('fdsoak.hooked');
  function recordSocket(sock) {
    const fd = handleFd(sock);
    if (fd < 0 || sock[kRecorded] === fd) return;
    sock[kRecorded] = fd;
    record(fd, 'socket', sock[kStack] || []);
  }

  replace(net.Socket.prototype, 'connect', (orig) => function connect() {
    const result = Reflect.apply(orig, this, arguments);
    if (!enabled) return result;
    const sock = this;
    try {
      sock[kStack] = captureStack(connect);
      sock[kRecorded] = -1;  // a new connect is a new fd, even if same number
      recordSocket(sock);
      if (sock.connecting && handleFd(sock) < 0) {
        // An IP host connects on the next tick (queued before ours).
        process.nextTick(recordSocket, sock);
      }
      if (!sock[kHooked]) {
        sock[kHooked] = true;
        // A name connects right after 'lookup' is emitted; 'connect' is the
        // backstop (happy eyeballs makes a new fd per address tried).
        sock.on('lookup', () => process.nextTick(recordSocket, sock));
        if (typeof sock.prependListener === 'function') sock.prependListener('connect', () => recordSocket(sock));
        else sock.on('connect', () => recordSocket(sock));
      }
    } catch (e) { /* no record */ }
    return result;
  });

  // ---- child_process ------------------------------------------------------
  if (childProcess.ChildProcess && childProcess.ChildProcess.prototype) {
    replace(childProcess.ChildProcess.prototype, 'spawn', (orig) => function spawn() {
      const result = Reflect.apply(orig, this, arguments);
      if (!enabled) return result;
      try {
        let stack = null;
        const stdio = Array.isArray(this.stdio) ? this.stdio : [];
        for (const s of stdio) {
          const fd = handleFd(s);
          if (fd >= 0) {
            if (stack === null) stack = captureStack(spawn);
            record(fd, 'pipe', stack);
          }
        }
        const ch = this.channel;
        if (ch && typeof ch.fd === 'number' && ch.fd >= 0) {
          if (stack === null) stack = captureStack(spawn);
          record(ch.fd, 'pipe', stack);
        }
      } catch (e) { /* no record */ }
      return result;
    });
  }

  // ESM named imports of builtins (import { openSync } from 'fs') see the
  // wrappers too.
  try { require('module').syncBuiltinESMExports(); } catch (e) { /* older Node */ }
})();
