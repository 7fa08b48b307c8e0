'use strict';
// Shared loop of the Node language-origin test programs (issue 15); the
// Python side is langloop.py.  A bounded reconnect loop: connect to
// 127.0.0.1:--port (fdsoak watch --inject ... do=refuse makes it fail), wait
// --delay-ms (5), again, until --max-seconds (60) or --max-attempts.  On
// every --n'th failed attempt (1: every one) it awaits the program's onFail,
// which leaks from the one line marked LEAK-LINE; with --fixed the same code
// closes what it opened.  Prints "attempts A seconds S rate R
// cpu_us_per_attempt C" on stderr at the end (C: user+system CPU time of the
// process over its attempts, start-up included).  Only 127.0.0.1 is contacted.
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

function parseArgs(extra) {
  const opts = Object.assign({
    port: 27300, n: 1, fixed: false, 'delay-ms': 5, 'max-seconds': 60, 'max-attempts': 1e9,
  }, extra || {});
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in opts)) {
      console.error(`${path.basename(process.argv[1])}: unknown argument ${argv[i]}`);
      process.exit(2);
    }
    if (typeof opts[m[1]] === 'boolean') { opts[m[1]] = true; continue; }
    const v = m[2] !== undefined ? m[2] : argv[++i];
    opts[m[1]] = typeof opts[m[1]] === 'number' ? Number(v) : v;
  }
  return opts;
}

// One connect to 127.0.0.1:port: true if answered (closed again).
function attempt(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

class Loop {
  constructor(opts, prefix) {
    this.opts = opts;
    this.attempts = 0;
    this.failures = 0;
    this.start = process.hrtime.bigint();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `fdsoak-${prefix}-`));
    this.cleanups = [() => fs.rmSync(this.dir, { recursive: true, force: true })];
    this.reported = false;
    process.on('exit', () => this.finish());
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
      process.on(sig, () => {
        this.finish();
        process.removeAllListeners(sig);
        process.kill(process.pid, sig);  // die of it, as without a handler
      });
    }
  }

  finish() {
    if (this.reported) return;
    this.reported = true;
    const secs = Number(process.hrtime.bigint() - this.start) / 1e9;
    for (const fn of this.cleanups.splice(0)) {
      try { fn(); } catch (e) { /* best effort */ }
    }
    const cpu = process.cpuUsage();   // the whole process, start-up included
    const perAttempt = this.attempts ? (cpu.user + cpu.system) / this.attempts : 0;
    process.stderr.write(`attempts ${this.attempts} seconds ${secs.toFixed(3)} rate ${(this.attempts / secs).toFixed(1)} ` +
      `cpu_us_per_attempt ${perAttempt.toFixed(1)}\n`);
  }

  async run(onFail) {
    const o = this.opts;
    const deadline = Date.now() + o['max-seconds'] * 1000;
    while (this.attempts < o['max-attempts'] && Date.now() < deadline) {
      const ok = await attempt(o.port);
      this.attempts++;
      if (!ok) {
        this.failures++;
        if (this.failures % o.n === 0) await onFail(this.failures);
      }
      // --delay-ms 0: setImmediate (setTimeout would clamp it to 1 ms)
      await new Promise((r) => (o['delay-ms'] > 0 ? setTimeout(r, o['delay-ms']) : setImmediate(r)));
    }
    this.finish();
  }
}

module.exports = { parseArgs, attempt, Loop };
