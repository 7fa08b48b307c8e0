// node fetch (undici) client for the fidelity suite: node client_fetch.js URL TIMEOUT_S
const t0 = process.hrtime.bigint();
process.on('exit', () => console.error('elapsed ' + (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3)));
const [url, t] = [process.argv[2], +process.argv[3]];
fetch(url, { signal: AbortSignal.timeout(t * 1000) })
  .then((r) => r.text()).then(() => console.log('ok'))
  .catch((e) => {
    const c = e.cause || {};
    console.log('error ' + e.name + ' ' + (c.code || '-') + ' ' + (c.syscall || '-'));
    process.exitCode = 1;
  });
