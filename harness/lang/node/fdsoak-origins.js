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
//                                    The stack is taken here and kept in a
//                                    WeakMap by socket; the fd is written when
//                                    the socket's handle connects (TCP and
//                                    Pipe handles' own connect/connect6,
//                                    wrapped once on their prototypes): on the
//                                    next tick for an IP host, after the
//                                    lookup for a name, once per address that
//                                    happy eyeballs tries
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
// Behaviour of the program is unchanged (issue 23): every wrapper calls the
// original with the same `this` and arguments and returns its result or
// rethrows its error; callbacks get the same `this` and arguments;
// fs.promises.open resolves to the same FileHandle (one microtask later) and
// rejects with the same error.  Sockets get no listener and no property (a
// program that keeps EventEmitter.defaultMaxListeners at 1 would be warned;
// one that lists a socket's events would see ours).  An error thrown through
// a wrapper has the stack it would have had without it: the wrapper's frame
// is taken out (by filtering the call sites given to Error.prepareStackTrace,
// or, when Error is frozen, the line).  Once the original returned, nothing
// can throw (an fd already opened is never lost): if the log cannot be
// opened or written, or a stack cannot be taken (a frozen Error, as under
// --frozen-intrinsics), we record less, never fail.  What is left: the stack
// of such an error is formatted when it is thrown rather than when first
// read, and the createReadStream/WriteStream wrappers add one 'open'
// listener (once) to the stream they return.
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
  const q = JSON.stringify;
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

  // The cost budget.  Taking a stack costs about as much as an
  // fs.openSync+closeSync (a capture of ~20 frames, then reading them), and
  // more while V8 has not compiled this file's functions yet, so a program
  // that creates fds back to back would run at half speed.  Stacks are
  // taken at most RATE a second (a token bucket of BURST): past it, an fd
  // gets no stack (its native frames stand) and the log says so once.  A
  // leak repeats its line, so the line is still named; a program that
  // creates an fd now and then (a reconnect loop) never meets the limit.
  // Time spent was the first measure tried, but most of a stack's cost (the
  // compiler, the collector) is paid outside the code that can time it.
  // issue 23's bound is 1.5x on a loop of 2,000 open+close, of which the
  // shim's own record takes ~0.2-0.3x (harness/bench/lang_overhead.sh).  What
  // is left of the hook's cost there is the captures themselves
  // (Error.captureStackTrace; formatting and writing the line are a small
  // part): ~25 us each in a warm loop, but ~0.2 ms of the process's CPU each
  // over the 2,000 (the first ~1 ms), so RATE sets it: the burst alone is
  // ~1.1x, 100 a second ~1.2x, 200 ~1.3x, 500 ~1.4x (the hook without the
  // shim, medians of 11; issue 23).  200 a second is also ~2-4 % of a CPU
  // for a program that creates fds without pause.  FDSOAK_LANG_RATE
  // overrides RATE; 0 takes every stack.
  const RATE = (() => {
    const v = process.env.FDSOAK_LANG_RATE;
    const x = Number(v);
    return v !== undefined && v !== '' && x >= 0 ? x : 200;
  })();
  const BURST = 10;
  // The budget's clock is Date.now, read once a call: process.hrtime.bigint
  // (a call into Node's bindings that makes a BigInt) once a call cost as
  // much as the stacks the budget saved (the loop's CPU under --origins
  // lang, medians of 9: 1.91x plain with it, 1.58x with Date.now, both at
  // RATE 500).  Milliseconds are fine grained enough for a refill of RATE a
  // second (fractions add up); a wall clock set back refills nothing, set
  // forward fills the bucket (BURST at most).
  const dateNow = Date.now;
  const hr = process.hrtime.bigint;
  let tokens = BURST;
  let lastMs = dateNow();
  let skipped = 0;
  function budgetOk() {
    if (RATE === 0) return true;
    const now = dateNow();
    if (now > lastMs) tokens = Math.min(BURST, tokens + ((now - lastMs) / 1e3) * RATE);
    lastMs = now;
    if (tokens >= 1) {
      tokens -= 1;
      return true;
    }
    if (skipped++ === 0) {
      writeLine('{"pid":' + pid + ',"note":"JavaScript stacks were taken for some fds only: ' +
        'it creates fds back to back, and stacks are held to ' + RATE +
        ' a second (the other fds have native frames; FDSOAK_LANG_RATE=0 takes all)"}\n');
    }
    return false;
  }

  // Structured frames via a momentary Error.prepareStackTrace; the program's
  // own prepareStackTrace and stackTraceLimit are put back before returning.
  // When Error is frozen (Object.freeze(Error), node --frozen-intrinsics)
  // neither can be set: the stack is then read from the text that Node's own
  // formatter gives (never a formatter of the program's: that would run its
  // code), at the stack depth the program left.
  function structured(_, callSites) { return callSites; }
  const nodeFormatter = Error.prepareStackTrace;
  const FRAME_RE = /^\s*at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/;

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

  // Set Error's stack options; false (and nothing changed) when frozen.
  function setErrorOptions(prepare, limit) {
    try {
      Error.prepareStackTrace = prepare;
      if (limit !== undefined) Error.stackTraceLimit = limit;
    } catch (e) { /* frozen */ }
    return Error.prepareStackTrace === prepare;
  }

  // Frames from the text of a stack Node's formatter made.
  function framesFromText(text) {
    const out = [];
    if (typeof text !== 'string') return out;
    const lines = text.split('\n');
    for (let i = 1; i < lines.length && out.length < MAX_FRAMES; i++) {
      const m = FRAME_RE.exec(lines[i]);
      if (!m) continue;
      const file = m[2];
      if (!file || file === SELF || file.startsWith('node:')) continue;
      let fn = m[1] || '<anonymous>';
      if (fn.startsWith('Object.')) fn = fn.slice(7);
      out.push('{"fn":' + q(fn) + ',"file":' + q(framePath(file)) + ',"line":' + Number(m[3]) + '}');
    }
    return out;
  }

  // The caller's stack, outermost frames beyond `skip` (a wrapper) dropped;
  // null when none is taken (recording off, or over the budget).
  function captureStack(skip) {
    if (!enabled || !budgetOk()) return null;
    return takeStack(skip);
  }

  // Each frame's JSON, by file, line and column: most fds come from a few
  // places, and naming a frame (type, method, constructor) costs four more
  // calls into V8 than finding it.
  const frameCache = new Map();
  const FRAME_CACHE_MAX = 4096;

  function takeStack(skip) {
    const holder = {};
    const savedPrepare = Error.prepareStackTrace;
    const savedLimit = Error.stackTraceLimit;
    let sites = null;
    try {
      if (setErrorOptions(structured, CAPTURE_LIMIT)) {
        try {
          Error.captureStackTrace(holder, skip);
          sites = holder.stack;
        } finally {
          setErrorOptions(savedPrepare, savedLimit);
        }
      } else if (savedPrepare === nodeFormatter) {
        Error.captureStackTrace(holder, skip);
        return framesFromText(holder.stack);
      } else {
        return [];
      }
    } catch (e) {
      return [];
    }
    if (!Array.isArray(sites)) return [];
    const out = [];
    for (let i = 0; i < sites.length && out.length < MAX_FRAMES; i++) {
      const cs = sites[i];
      let file;
      try { file = cs.getFileName() || cs.getScriptNameOrSourceURL(); } catch (e) { file = null; }
      if (!file || file === SELF || file.startsWith('node:')) continue;
      let line = 0, col = 0;
      try { line = cs.getLineNumber() || 0; col = cs.getColumnNumber() || 0; } catch (e) { /* 0 */ }
      const key = file + ':' + line + ':' + col;
      let text = frameCache.get(key);
      if (text === undefined) {
        text = '{"fn":' + q(frameName(cs)) + ',"file":' + q(framePath(file)) + ',"line":' + line + '}';
        if (frameCache.size >= FRAME_CACHE_MAX) frameCache.clear();
        frameCache.set(key, text);
      }
      out.push(text);
    }
    return out;
  }

  // An error thrown through a wrapper gets the stack it would have had
  // without it: our frames are taken out of the call sites the program's
  // (or Node's) formatter is given.  Formatting happens now, not at the
  // first read of .stack (V8 formats once, lazily, with the trace it took
  // when the error was made, which holds the wrapper).
  function notSelf(cs) {
    try { return cs.getFileName() !== SELF; } catch (e) { return true; }
  }
  function scrub(err) {
    try {
      if (err === null || (typeof err !== 'object' && typeof err !== 'function')) return;
      const d = Object.getOwnPropertyDescriptor(err, 'stack');
      if (!d || !('value' in d)) return;
      const savedPrepare = Error.prepareStackTrace;
      let filtered = false;
      const filter = function (e, trace) {
        filtered = true;
        const kept = Array.isArray(trace) ? trace.filter(notSelf) : trace;
        return typeof savedPrepare === 'function' ? Reflect.apply(savedPrepare, this, [e, kept])
          : Reflect.apply(nodeFormatter, this, [e, kept]);
      };
      if (setErrorOptions(filter)) {
        try { void err.stack; } finally { setErrorOptions(savedPrepare); }
      }
      if (!filtered && typeof err.stack === 'string' && err.stack.includes(SELF)) {
        // Frozen Error, or a stack formatted already: drop our lines.
        const lines = err.stack.split('\n');
        const kept = lines.filter((l) => !(l.includes('(' + SELF + ':') || l.includes('at ' + SELF + ':')));
        if (d.writable) err.stack = kept.join('\n');
      }
    } catch (e) { /* the error is rethrown as it is */ }
  }

  // The line is built by hand (JSON.stringify only for the strings; each
  // frame's text is cached): about half the cost of stringifying objects.
  function record(fd, kind, stack) {
    if (!enabled || typeof fd !== 'number' || fd < 0 || stack === null) return;
    // "t": CLOCK_MONOTONIC ns (process.hrtime), so fdsoak can tell a line
    // about this fd from one about an earlier fd with the same number.
    writeLine('{"pid":' + pid + ',"fd":' + fd + ',"t":' + hr() + ',"lang":"node","kind":"' + kind +
      '","stack":[' + stack.join(',') + ']}\n');
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
    let fd;
    try {
      fd = Reflect.apply(orig, this, arguments);
    } catch (e) {
      scrub(e);
      throw e;
    }
    try { record(fd, 'file', captureStack(openSync)); } catch (e) { /* the fd is returned */ }
    return fd;
  });

  replace(fs, 'open', (orig) => function open() {
    const n = arguments.length;
    const cb = n > 0 ? arguments[n - 1] : undefined;
    let args = arguments;
    if (typeof cb === 'function' && enabled) {
      const stack = captureStack(open);
      args = Array.prototype.slice.call(arguments);
      args[n - 1] = function () {
        try { if (arguments[0] == null) record(arguments[1], 'file', stack); } catch (e) { /* never */ }
        return Reflect.apply(cb, this, arguments);
      };
    }
    try {
      return Reflect.apply(orig, this, args);
    } catch (e) {
      scrub(e);
      throw e;
    }
  });

  if (fs.promises) {
    replace(fs.promises, 'open', (orig) => function open() {
      let p;
      try {
        p = Reflect.apply(orig, this, arguments);
      } catch (e) {
        scrub(e);
        throw e;
      }
      if (!enabled || !p || typeof p.then !== 'function') return p;
      const stack = captureStack(open);
      return p.then((fh) => {
        try { record(fh && fh.fd, 'file', stack); } catch (e) { /* never */ }
        return fh;
      }, (e) => {
        scrub(e);
        throw e;
      });
    });
  }

  function streamWrapper(orig, name) {
    const wrapper = {
      [name]: function () {
        let stream;
        try {
          stream = Reflect.apply(orig, this, arguments);
        } catch (e) {
          scrub(e);
          throw e;
        }
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
  // The stack of a socket's latest connect(), by socket: a WeakMap, so the
  // socket carries nothing of ours.  The fd is recorded when the socket's
  // handle (TCP or Pipe, from Node's bindings) really connects: its
  // prototype's connect and connect6 are wrapped the first time a handle of
  // that kind is seen.  The handle knows its socket through Node's
  // owner_symbol (found by its description, once).
  const connectStacks = new WeakMap();
  const wrappedProtos = new WeakSet();
  let ownerSymbol = null;
  function ownerOf(handle) {
    try {
      if (ownerSymbol === null) {
        ownerSymbol = Object.getOwnPropertySymbols(handle)
          .find((sym) => sym.description === 'owner_symbol') || null;
      }
      return ownerSymbol !== null ? handle[ownerSymbol] : undefined;
    } catch (e) {
      return undefined;
    }
  }
  function wrapHandleConnect(handle) {
    try {
      const proto = handle && Object.getPrototypeOf(handle);
      if (!proto || wrappedProtos.has(proto)) return;
      wrappedProtos.add(proto);
      for (const key of ['connect', 'connect6']) {
        const orig = proto[key];
        if (typeof orig !== 'function') continue;
        proto[key] = dressed({
          [key]: function () {
            const rc = Reflect.apply(orig, this, arguments);
            try {
              const stack = enabled ? connectStacks.get(ownerOf(this)) : undefined;
              if (rc === 0 && stack !== undefined && typeof this.fd === 'number') {
                record(this.fd, 'socket', stack);
              }
            } catch (e) { /* no record */ }
            return rc;
          },
        }[key], orig);
      }
    } catch (e) { /* leave it unwrapped */ }
  }

  replace(net.Socket.prototype, 'connect', (orig) => function connect() {
    let stack = null;
    if (enabled) {
      try {
        stack = captureStack(connect);
        if (stack !== null) connectStacks.set(this, stack);
        else connectStacks.delete(this);  // never an older connect's stack
      } catch (e) { /* no record */ }
    }
    let result;
    try {
      result = Reflect.apply(orig, this, arguments);
    } catch (e) {
      scrub(e);
      throw e;
    }
    if (stack !== null) {
      try {
        wrapHandleConnect(this._handle);
        // A handle connected already (a path, or a synchronous connect).
        const fd = handleFd(this);
        if (fd >= 0 && !this.connecting) record(fd, 'socket', stack);
      } catch (e) { /* no record */ }
    }
    return result;
  });

  // ---- child_process ------------------------------------------------------
  if (childProcess.ChildProcess && childProcess.ChildProcess.prototype) {
    replace(childProcess.ChildProcess.prototype, 'spawn', (orig) => function spawn() {
      let result;
      try {
        result = Reflect.apply(orig, this, arguments);
      } catch (e) {
        scrub(e);
        throw e;
      }
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
