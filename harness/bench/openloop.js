'use strict';
// The cost benchmark's Node program (issue 23): N fs.openSync+closeSync of
// one file (default 2,000), timed by the program itself; writes
// "loop_s S cpu_s C proc_cpu_s P" to RESULT_FILE (C: the process's CPU time
// over the loop; P: from its start, Node's start-up included).  lang_overhead.sh runs it plain and under
// fdsoak watch.
//
//   node openloop.js RESULT_FILE [N]
const fs = require('fs');
const os = require('os');
const path = require('path');

const out = process.argv[2];
const n = Number(process.argv[3] || 2000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdsoak-openloop-'));
const file = path.join(dir, 'f');
fs.writeFileSync(file, '');
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const fd = fs.openSync(file, 'r');
  fs.closeSync(fd);
}
const loop = Number(process.hrtime.bigint() - t0) / 1e9;
const c = process.cpuUsage(c0);
const cpu = (c.user + c.system) / 1e6;
fs.rmSync(dir, { recursive: true });
const all = process.cpuUsage();
const procCpu = (all.user + all.system) / 1e6;
fs.writeFileSync(out, `loop_s ${loop.toFixed(6)} cpu_s ${cpu.toFixed(6)} proc_cpu_s ${procCpu.toFixed(6)}\n`);
