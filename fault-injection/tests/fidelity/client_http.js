// node http client for the fidelity suite: node client_http.js HOST PORT TIMEOUT_S
const http = require('http');
const t0 = process.hrtime.bigint();
process.on('exit', () => console.error('elapsed ' + (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3)));
const [host, port, t] = [process.argv[2], +process.argv[3], +process.argv[4]];
const req = http.get({ host, port, path: '/', timeout: t * 1000 }, (res) => {
  res.resume();
  res.on('end', () => console.log('ok'));
});
req.on('timeout', () => req.destroy(new Error('caller timeout')));
req.on('error', (e) => { console.log('error ' + (e.code || '-') + ' ' + e.message); process.exitCode = 1; });
