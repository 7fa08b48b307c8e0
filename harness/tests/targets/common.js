'use strict';
// Shared pieces of the Node target programs (see common.py for the Python
// side): flags, the reconnect attempt, the bounds and the result file.
//
// Flags: --port P (default $FDSOAK_TARGET_PORT or 27300), --delay-ms D
// (default 5), --max-seconds S (default 120), --max-attempts N, --seed S,
// --result PATH (default $FDSOAK_TARGET_RESULT), plus each program's own.
// Only 127.0.0.1 is contacted.
const fs = require('fs');
const net = require('net');
const path = require('path');

function parseArgs(extra) {
  const opts = Object.assign({
    port: Number(process.env.FDSOAK_TARGET_PORT || 27300),
    'delay-ms': 5, 'max-seconds': 120, 'max-attempts': 1000000,
    seed: Date.now() % 1000000, result: process.env.FDSOAK_TARGET_RESULT || '',
  }, extra || {});
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in opts)) {
      console.error(`${path.basename(process.argv[1])}: unknown argument ${argv[i]}`);
      process.exit(2);
    }
    const v = m[2] !== undefined ? m[2] : argv[++i];
    opts[m[1]] = typeof opts[m[1]] === 'number' ? Number(v) : v;
  }
  return opts;
}

// A small seeded generator (mulberry32) so runs can be replayed by seed.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Run {
  constructor(opts) {
    this.opts = opts;
    this.random = rng(opts.seed);
    this.deadline = Date.now() + opts['max-seconds'] * 1000;
    this.attempts = 0;
    this.leaked = 0;
    this.leakEvents = 0;
    this.leaks = [];   // [attempt, fds] per leak event (first 10,000)
    this.written = false;
    this.cleanups = [];   // run at exit and on a stop signal
    console.error(`${path.basename(process.argv[1])}: pid ${process.pid} seed ${opts.seed}`);
    process.on('exit', () => { this.writeResult(); this.cleanup(); });
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
      process.on(sig, () => {
        // Record, then die of the signal as without a handler.
        this.writeResult();
        this.cleanup();
        process.removeAllListeners(sig);
        process.kill(process.pid, sig);
      });
    }
  }

  going() {
    return this.attempts < this.opts['max-attempts'] && Date.now() < this.deadline;
  }

  // The pause before the next attempt: the delay with +-20 % jitter.
  backoff() {
    const d = this.opts['delay-ms'] * (0.8 + 0.4 * this.random());
    return new Promise((resolve) => setTimeout(resolve, d));
  }

  cleanup() {
    for (const fn of this.cleanups.splice(0)) {
      try { fn(); } catch (e) { /* best effort */ }
    }
  }

  // Book a leak of `fds` fds in the current attempt (1-based).
  leak(fds) {
    this.leaked += fds;
    this.leakEvents++;
    if (this.leaks.length < 10000) this.leaks.push([this.attempts, fds]);
  }

  writeResult() {
    if (!this.opts.result || this.written) return;
    this.written = true;
    const tmp = `${this.opts.result}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({
      attempts: this.attempts, leaked: this.leaked, leak_events: this.leakEvents,
      pid: process.pid, seed: this.opts.seed, leaks: this.leaks,
    }));
    fs.renameSync(tmp, this.opts.result);
  }
}

// One reconnect attempt with net.connect: resolves true if the peer
// answered (the socket is closed again), false on refusal/timeout.
function attemptConnect(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

module.exports = { parseArgs, Run, attemptConnect };
