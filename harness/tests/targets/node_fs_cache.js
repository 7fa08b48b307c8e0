#!/usr/bin/env node
'use strict';
// Clean target: a Node reconnect loop beside a bounded cache of open files.
//
// fd behaviour: an LRU Map of fs.promises FileHandles, capacity --capacity
// (32), keyed from --keys (150) files it creates at start.  About a quarter
// of the attempts read one random key: a miss opens the file (fs.open) and,
// when full, closes the least recently used handle.  The count climbs over
// the first ~150 attempts and then stays at the capacity while the cache
// turns over.
//
// Realistic because: static-file servers and log readers keep handle caches.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs, Run, attemptConnect } = require('./common.js');

async function main() {
  const opts = parseArgs({ capacity: 32, keys: 150 });
  const run = new Run(opts);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdsoak-nodecache-'));
  run.cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (let k = 0; k < opts.keys; k++) fs.writeFileSync(path.join(dir, `seg-${k}.dat`), 'x'.repeat(64));
  const cache = new Map();   // insertion order = recency order

  async function read(key) {
    let fh = cache.get(key);
    if (fh) {
      cache.delete(key);
    } else {
      if (cache.size >= opts.capacity) {
        const [oldKey, old] = cache.entries().next().value;
        cache.delete(oldKey);
        await old.close();
      }
      fh = await fs.promises.open(path.join(dir, `seg-${key}.dat`), 'r');
    }
    cache.set(key, fh);
    const buf = Buffer.alloc(16);
    await fh.read(buf, 0, 16, 0);
  }

  while (run.going()) {
    await attemptConnect(opts.port);
    run.attempts++;
    if (run.random() < 0.25) await read(Math.floor(run.random() * opts.keys));
    await run.backoff();
  }
  for (const fh of cache.values()) await fh.close();
  fs.rmSync(dir, { recursive: true, force: true });
  run.writeResult();
  process.exit(0);
}

main();
