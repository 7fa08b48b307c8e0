'use strict';
// The stack budget of harness/lang/node/fdsoak-origins.js (issue 23's cost
// bound), on a clock this program drives: run by node_preload_check.sh as
//
//   FDSOAK_LANG_LOG=<file> node node_budget_check.js <fdsoak-origins.js>
//
// with FDSOAK_LANG_RATE unset (the default, 200 stacks a second, a burst of
// 10).  Date.now, the budget's clock, is replaced before the hook is loaded
// (the hook keeps a reference to it) by one that returns a time set here, so
// the checks depend on neither the machine's speed nor its load:
//   frozen   time stands still over 2,000 openSync+closeSync: exactly the
//            burst gets stacks, and the log says once that stacks were held
//            back;
//   refill   one second later the bucket is full again: exactly a burst more
//            within the next 200 calls, however long the refusals before it
//            (a budget that skipped the clock for a run of refused calls
//            would miss some);
//   slow     a program under the rate (one fd every 10 ms, 100 a second)
//            gets a stack for every fd.
// Prints ok/FAIL lines; exit 1 on a failure.
const fs = require('fs');
const os = require('os');
const path = require('path');

const BURST = 10;
let nowMs = 1000000;
const realNow = Date.now;
Date.now = function now() {
  return nowMs;
};
require(process.argv[2]);
Date.now = realNow;

let failed = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAIL'} ${what}`);
  if (!ok) failed++;
}

const log = process.env.FDSOAK_LANG_LOG;
function logLines() {
  return fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
function stacks() {
  return logLines().filter((l) => l.pid === process.pid && typeof l.fd === 'number').length;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdsoak-nodebudget-'));
const file = path.join(dir, 'f');
fs.writeFileSync(file, '');
function openClose(n, stepMs) {
  for (let i = 0; i < n; i++) {
    nowMs += stepMs;
    fs.closeSync(fs.openSync(file, 'r'));
  }
}

try {
  openClose(2000, 0);
  const got = stacks();
  check(got === BURST, `frozen clock, 2000 fds: ${got} stacks, the burst of ${BURST}`);
  const notes = logLines().filter((l) => typeof l.note === 'string' && l.note.includes('stacks were taken'));
  check(notes.length === 1, `the log says once that stacks were held back (${notes.length} notes)`);

  // refill: a second later, a full bucket again.
  nowMs += 1000;
  openClose(200, 0);
  const refill = stacks() - got;
  check(refill === BURST, `one second later, 200 fds: ${refill} more stacks, a burst of ${BURST}`);

  // slow: 100 fds a second, under the rate of 200; every fd gets a stack.
  nowMs += 1000;
  const before = stacks();
  openClose(100, 10);
  const slow = stacks() - before;
  check(slow === 100, `one fd every 10 ms: ${slow} stacks for 100 fds`);
} catch (e) {
  check(false, `budget check threw: ${e && e.stack}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
