// node net client for the fidelity suite: node client_net.js HOST PORT TIMEOUT_S
const net = require('net');
const t0 = process.hrtime.bigint();
process.on('exit', () => console.error('elapsed ' + (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3)));
const [host, port, t] = [process.argv[2], +process.argv[3], +process.argv[4]];
let done = false;
const end = (msg, code) => { if (done) return; done = true; console.log(msg); process.exitCode = code; s.destroy(); };
const s = net.connect({ host, port });
const timer = setTimeout(() => end('error timeout', 1), t * 1000);
s.on('connect', () => s.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
s.on('data', () => { clearTimeout(timer); end('ok', 0); });
s.on('end', () => { clearTimeout(timer); end('error eof', 1); });
s.on('error', (e) => { clearTimeout(timer); end('error ' + e.code + ' ' + e.syscall, 1); });
