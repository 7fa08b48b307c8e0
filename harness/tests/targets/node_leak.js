#!/usr/bin/env node
'use strict';
// Leaky target: a Node reconnect loop whose failure path sometimes forgets
// what the attempt opened.
//
// fd behaviour: each attempt opens a per-attempt resource, alternately a
// UDP socket (dgram, bound to 127.0.0.1:0, the "telemetry channel" of the
// adapter) or a file (fs.openSync of the attempt's journal), then tries
// net.connect.  On failure it closes the resource - except with probability
// 1/N (--n) when it drops it: one fd leaked.  Writes {"attempts","leaked"}
// to --result at exit and on SIGTERM.
//
// Realistic because: a resource created per retry and released only on the
// success path is the same bug as upstream's, in JavaScript.
const dgram = require('dgram');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs, Run, attemptConnect } = require('./common.js');

async function main() {
  const opts = parseArgs({ n: 10 });
  const run = new Run(opts);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdsoak-nodeleak-'));
  run.cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const forgotten = [];

  while (run.going()) {
    let release;
    if (run.attempts % 2 === 0) {
      const sock = dgram.createSocket('udp4');
      await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
      release = () => sock.close();
      release.handle = sock;
    } else {
      const file = path.join(dir, `journal-${run.attempts}`);
      const fd = fs.openSync(file, 'w');
      release = () => { fs.closeSync(fd); fs.unlinkSync(file); };
      release.handle = fd;
    }
    const ok = await attemptConnect(opts.port);
    run.attempts++;
    if (!ok && run.random() < 1 / opts.n) {
      forgotten.push(release.handle);   // the bug: never released
      run.leak(1);
    } else {
      release();
    }
    await run.backoff();
  }
  run.writeResult();
  process.exit(0);
}

main();
