'use strict';
// Shared pieces of the benchmarks: every figure is measured next to a
// baseline (Node's `net` over the kernel loopback) in the same run.
const nodeNet = require('node:net');
const os = require('node:os');
const { fork, spawn } = require('node:child_process');
const { Stack } = require('..');

// `backend` ('native' | 'native-js' | 'wasm') forces one; without it, the
// default backend. 'native-js' is the native engine with its core on the JS
// thread ({ thread: 'js' }); 'native' is the worker-thread one.
function newStack(backend) {
  if (backend === 'native-js') return new Stack({ backend: 'native', thread: 'js' });
  if (backend === 'native') return new Stack({ backend, thread: 'worker' });
  return backend ? new Stack({ backend }) : new Stack();
}

function createLoopbackStack(backend) {
  const stack = newStack(backend);
  stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
  return stack;
}

function twoStacks(join, backend) {
  const a = newStack(backend);
  const b = newStack(backend);
  const ends = join(a, b);
  return { a, b, ends };
}

// Each target is { name, net, host, teardown }; `extra` adds targets after
// the baseline and the one-stack loopback. `backends` lists the backends to
// give a one-stack loopback each (by default one, on the default backend).
function targets(extra = [], backends = [undefined]) {
  return [
    { name: 'kernel loopback (node:net)', make: () => ({ net: nodeNet, host: '127.0.0.1', teardown() {} }) },
    ...backends.map((backend) => ({
      name: backend ? `tcpip ${{ 'native-js': 'native (JS thread)', native: 'native (worker)' }[backend] || backend}, one stack` : 'tcpip, one stack',
      make: () => {
        const stack = createLoopbackStack(backend);
        return { net: stack.net, host: '127.0.0.1', stack, teardown: () => stack.destroy() };
      },
    })),
    ...extra,
  ];
}

function listen(net, host) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

function closeServer(server) {
  return new Promise((resolve) => server.close(() => resolve()));
}

// The name and the maker of one target: the kernel loopback (backend
// 'kernel'), or a one-stack loopback on `backend` (undefined: the default).
function target(backend) {
  return backend === 'kernel' ? targets([], [])[0] : targets([], [backend])[1];
}

// Measures every target in turn, round after round, so that a noisy
// neighbour hits baseline and subject alike; keeps each target's best.
async function compare({ warmup, measure, rounds, better = 'higher', extra = [], backends }) {
  const envs = targets(extra, backends).map((target) => ({ name: target.name, env: target.make(), best: null }));
  for (const entry of envs) await warmup(entry.env);
  for (let round = 0; round < rounds; round++) {
    for (const entry of envs) {
      const value = await measure(entry.env);
      if (entry.best === null || (better === 'higher' ? value > entry.best : value < entry.best)) entry.best = value;
    }
  }
  for (const entry of envs) entry.env.teardown();
  return envs.map(({ name, env, best }) => ({ name, env, value: best }));
}

// As compare(), but each target in a process of its own: a child per target
// (`node script --child backend`, forked with an IPC channel), all started
// and warmed up first, then asked to measure in turn, round after round, as
// compare() does. For workloads whose figures depend on what else ran in the
// process: a bulk transfer allocates a buffer per 64 KiB received and frees
// them at each collection, and glibc gives the top of its heap back to the
// kernel (to fault it in again) when more than its trim threshold is free
// there; the threshold starts at 128 KiB and rises for good, to twice the
// block's size, the first time the process frees a block large enough to have
// been mmap()ed. So in one process a target's figure depended on whether a
// target measured before it had freed such a block; each child starts from
// the same state. The child's side is childTarget().
async function compareInChildren({ script, backends, rounds, better = 'higher' }) {
  const env = { ...process.env };
  delete env.BENCH_BUSY; // the hogs are this process's, beside every child
  const entries = backends.map((backend) => ({ backend, name: target(backend).name, best: null }));
  for (const entry of entries) entry.child = await forkTarget(script, entry.backend, env);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const entry of entries) {
        const value = await entry.child.ask('measure');
        if (entry.best === null || (better === 'higher' ? value > entry.best : value < entry.best)) entry.best = value;
      }
    }
  } finally {
    for (const entry of entries) entry.child.end();
  }
  return entries.map(({ name, best }) => ({ name, value: best }));
}

// Forks `script --child backend` and waits until it has warmed up.
function forkTarget(script, backend, env) {
  const child = fork(script, ['--child', backend === undefined ? '' : backend], { env });
  let waiting = null;
  const fail = (error) => { if (waiting) waiting.reject(error); waiting = null; };
  child.on('message', (message) => {
    const settle = waiting;
    waiting = null;
    if (!settle) return;
    if (message && typeof message.value === 'number') settle.resolve(message.value);
    else settle.reject(new Error(`${script} --child ${backend}: ${message && message.error}`));
  });
  child.on('error', fail);
  child.on('exit', (code) => fail(new Error(`${script} --child ${backend} exited (${code})`)));
  const ask = (request) => new Promise((resolve, reject) => {
    waiting = { resolve, reject };
    if (request !== null) child.send(request);
  });
  return ask(null).then(() => ({ ask, end: () => child.disconnect() }));
}

// In a child forked by compareInChildren(): makes the target, runs
// `warmup(env)`, then answers each 'measure' with `measure(env)` until the
// parent goes.
async function childTarget(backend, { warmup, measure }) {
  const env = target(backend).make();
  await warmup(env);
  process.on('message', (request) => {
    if (request !== 'measure') return;
    measure(env).then(
      (value) => process.send({ value }),
      (error) => process.send({ error: String(error && error.stack ? error.stack : error) }),
    );
  });
  process.on('disconnect', () => env.teardown());
  process.send({ value: 0 });
}

// BENCH_BUSY=1: one CPU-bound process per core of the machine runs beside
// the whole benchmark, baseline and subject alike, as on a CI runner or a
// laptop that is building something. Each exits once its parent is gone.
const HOG = 'const parent = process.ppid; for (;;) { for (let i = 0; i < 1e7; i++); if (process.ppid !== parent) process.exit(); }';
const hogs = [];
if (process.env.BENCH_BUSY === '1') {
  for (let i = 0; i < os.cpus().length; i++) {
    const hog = spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' });
    hog.unref(); // the benchmark exits when it is done; 'exit' ends the hogs
    hogs.push(hog);
  }
  process.on('exit', () => { for (const hog of hogs) hog.kill(); });
}

// What each figure depends on: the load average when the run started, the
// CPUs this process may use (fewer than the machine's under taskset), and
// the CPU-bound processes beside it.
function machineLine() {
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const busy = hogs.length > 0 ? `; busy: ${hogs.length} CPU-bound processes beside` : '';
  return `load average ${load}; ${os.availableParallelism()} of ${os.cpus().length} CPUs available${busy}`;
}

function format(value, digits = 2) {
  return Number(value).toFixed(digits);
}

// tcpip.js (lwIP in wasm, two stacks joined in JS) on this kind of machine,
// as issue 4 states it: a reference figure, not measured by these benchmarks.
const TCPIP_JS_GBPS = 0.25;

module.exports = {
  newStack,
  createLoopbackStack, twoStacks, targets, target, listen, closeServer, compare, compareInChildren, childTarget, format, machineLine,
  TCPIP_JS_GBPS,
};
