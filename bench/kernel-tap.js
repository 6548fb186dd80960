'use strict';
// HTTP requests/s of `wrk` against a server on a stack attached to a real
// kernel TAP device, next to Node's http on the kernel loopback, both inside
// a network namespace of this benchmark's own (it re-runs itself under
// `unshare -n`; needs root and wrk).
const { execFile, execFileSync, spawnSync } = require('node:child_process');
const http = require('node:http');
const { format } = require('./common.js');

const INSIDE = process.env.TCPIP_BENCH_NAMESPACE === '1';

// wrk is another process: run it without blocking this event loop.
function wrk(url, seconds) {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', '-c16', `-d${seconds}s`, url], (error, out) => {
      if (error) return reject(error);
      const match = /Requests\/sec:\s+([\d.]+)/.exec(out);
      return match ? resolve(Number(match[1])) : reject(new Error(`wrk printed no rate:\n${out}`));
    });
  });
}

async function inside() {
  const { Stack } = require('..');
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const stack = new Stack();
  stack.createTapInterface({ device: 'tcpipbench0', ipAddress: '10.78.0.2/24' });
  execFileSync('ip', ['addr', 'add', '10.78.0.1/24', 'dev', 'tcpipbench0']);
  execFileSync('ip', ['link', 'set', 'tcpipbench0', 'up']);
  const onStack = http.createServer((req, res) => res.end('hello\n'));
  const front = stack.net.createServer((socket) => onStack.emit('connection', socket));
  await new Promise((resolve) => front.listen(8080, resolve));
  const kernel = http.createServer((req, res) => res.end('hello\n'));
  await new Promise((resolve) => kernel.listen(8081, '127.0.0.1', resolve));
  const seconds = Number(process.env.BENCH_SECONDS || 3);
  const run = (url) => wrk(url, seconds);
  await run('http://127.0.0.1:8081/'); // warm-up
  const baseline = await run('http://127.0.0.1:8081/');
  await run('http://10.78.0.2:8080/');
  const ours = await run('http://10.78.0.2:8080/');
  console.log(`HTTP through a kernel TAP device (wrk -c16, ${seconds} s, in a network namespace)`);
  console.log(`  Node http on the kernel loopback     ${format(baseline, 0)} requests/s  1.00x`);
  console.log(`  http on a stack behind kernel TAP    ${format(ours, 0)} requests/s  ${format(ours / baseline)}x`);
  kernel.close();
  front.close();
  stack.destroy();
}

if (INSIDE) {
  inside().catch((error) => { console.error(error); process.exit(1); });
} else {
  const probe = spawnSync('wrk', ['--version']);
  if (probe.error) {
    console.log('kernel TAP benchmark skipped: wrk is not installed (bash scripts/setup.sh installs it)');
  } else {
    const child = spawnSync('unshare', ['-n', process.execPath, __filename], {
      stdio: 'inherit',
      env: { ...process.env, TCPIP_BENCH_NAMESPACE: '1' },
    });
    if (child.error || child.status !== 0) {
      console.log('kernel TAP benchmark could not run in a network namespace (needs root and unshare)');
    }
  }
}

