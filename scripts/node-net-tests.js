#!/usr/bin/env node
'use strict';
// Runs Node's own `net` tests with `require('net')` mapped to a stack's net
// (test/helpers/node-net-preload.js), each in its own process, as Node's
// test runner does, on one engine or both. Node's tests are not in this
// repository: point --tests at the test/ directory of a Node source tree of
// the running Node's major version (a git checkout, or Debian's `nodejs`
// source package: see CONTRIBUTING.md).
//
//   node scripts/node-net-tests.js --tests ~/node/test [--backend native|wasm]
//        [--jobs 2] [--timeout 30000] [name-filter ...]
//
// A test listed in KNOWN_FAILURES must fail, and every other must pass: the
// exit status is 1 when either is not so, so the list stays true.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const PRELOAD = path.join(__dirname, '..', 'test', 'helpers', 'node-net-preload.js');
const SUITES = ['parallel', 'sequential', 'pummel'];
// Tests outside test-net-* that use only `net`.
const ALSO = [
  'parallel/test-diagnostics-channel-net.js',
  'parallel/test-destroy-socket-in-lookup.js',
  'parallel/test-gc-net-timeout.js',
  'parallel/test-socket-address.js',
  'parallel/test-socket-options-invalid.js',
  'parallel/test-socket-write-after-fin.js',
  'parallel/test-socket-write-after-fin-error.js',
  'parallel/test-stream-base-typechecking.js',
  'parallel/test-timers-socket-timeout-removes-other-socket-unref-timer.js',
  'parallel/test-pipe-address.js',
  'parallel/test-pipe-stream.js',
  'parallel/test-pipe-writev.js',
  'parallel/test-pipe-abstract-socket.js',
  'parallel/test-listen-fd-ebadf.js',
  'parallel/test-blocklist.js',
  'parallel/test-blocklist-clone.js',
  'parallel/test-socketaddress.js',
];

// What cannot pass with a stack in one process, and why (README, "Limits").
const KNOWN_FAILURES = {
  'sequential/test-net-listen-shared-ports.js':
    "cluster workers share a listening port through the kernel; each worker's stack is its own host",
  'parallel/test-net-listen-handle-in-cluster-1.js':
    "a stack's listener lives in one process and cannot be sent to another (ERR_INVALID_HANDLE_TYPE, as Node says)",
  'parallel/test-net-server-close-before-ipc-response.js':
    "a cluster worker's stack server listens in the worker and never asks the primary",
  'parallel/test-net-persistent-nodelay.js': "it patches Node's own TCPWrap.prototype, which stack sockets do not use",
  'parallel/test-net-end-close.js': "it drives a handle of Node's internalBinding('stream_wrap')",
  'parallel/test-net-perf_hooks.js': "'net' performance entries are made only by Node's internal perf module",
  'parallel/test-net-child-process-connect-reset.js':
    "its server runs in a child process: a stack is a host inside one process, so the parent's stack has no server",
  'sequential/test-net-response-size.js':
    "its server runs in a child process: a stack is a host inside one process, so the parent's stack has no server",
  'parallel/test-net-server-listen-handle.js':
    "a kernel TCP descriptor belongs to the host's TCP, not the stack's: refused with Node's error (its pipe cases pass)",
};

function parseArgs(argv) {
  const options = { tests: process.env.NODE_TESTS_DIR || null, backends: ['native', 'wasm'], jobs: 2, timeout: 30000, filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--tests') options.tests = argv[++i];
    else if (arg === '--backend') options.backends = [argv[++i]];
    else if (arg === '--jobs') options.jobs = Number(argv[++i]);
    else if (arg === '--timeout') options.timeout = Number(argv[++i]);
    else options.filters.push(arg);
  }
  if (!options.tests || !fs.existsSync(path.join(options.tests, 'common', 'index.js'))) {
    throw new Error('--tests must name the test/ directory of a Node source tree (it holds common/index.js)');
  }
  return options;
}

function listTests(root, filters) {
  const names = [];
  for (const suite of SUITES) {
    const dir = path.join(root, suite);
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir).sort()) {
      if (/^test-net-.*\.js$/.test(file)) names.push(`${suite}/${file}`);
    }
  }
  for (const name of ALSO) if (fs.existsSync(path.join(root, name))) names.push(name);
  return filters.length ? names.filter((name) => filters.some((f) => name.includes(f))) : names;
}

// Node's tests name their flags in a `// Flags:` comment.
function flagsOf(file) {
  const match = fs.readFileSync(file, 'utf8').match(/^\/\/ Flags: (.*)$/m);
  return match ? match[1].trim().split(/\s+/) : [];
}

function runOne(root, name, backend, timeout) {
  const file = path.join(root, name);
  // Output goes to a file, not a pipe: some tests look at what fd 2 is.
  const logFile = path.join(os.tmpdir(), `tcpip-node-test-${process.pid}-${name.replace(/\W/g, '_')}-${backend}.log`);
  const log = fs.openSync(logFile, 'w');
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flagsOf(file), '-r', PRELOAD, path.basename(file)], {
      cwd: path.dirname(file),
      env: { ...process.env, TCPIP_BACKEND: backend },
      stdio: ['ignore', log, log],
      detached: true, // its own process group: a timeout ends the children it spawned too
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeout);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fs.closeSync(log);
      const output = fs.readFileSync(logFile, 'utf8');
      fs.rmSync(logFile, { force: true });
      try {
        process.kill(-child.pid, 'SIGKILL'); // what the test left running
      } catch {
        /* none */
      }
      resolve({ name, backend, passed: code === 0, code, signal, ms: Date.now() - started, output });
    });
  });
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const names = listTests(options.tests, options.filters);
  const runs = options.backends.flatMap((backend) => names.map((name) => ({ name, backend })));
  // As Node's runner: test/sequential shares fixed ports (common.PORT), one at a time.
  const sequential = runs.filter(({ name }) => name.startsWith('sequential/'));
  const concurrent = runs.filter(({ name }) => !name.startsWith('sequential/'));
  const results = [];
  const runQueue = (queue) => async () => {
    while (queue.length) {
      const { name, backend } = queue.shift();
      const result = await runOne(options.tests, name, backend, options.timeout);
      const known = KNOWN_FAILURES[name];
      result.expected = known ? !result.passed : result.passed;
      results.push(result);
      const status = result.passed ? 'ok' : known ? 'known failure' : 'FAIL';
      console.log(`${result.expected ? status : `UNEXPECTED ${status}`}  ${backend}  ${name}  (${result.ms} ms)`);
      if (!result.expected && !result.passed) {
        console.log(result.output.split('\n').filter((line) => !/^\s+at /.test(line)).slice(0, 12).map((l) => `    ${l}`).join('\n'));
      }
    }
  };
  await Promise.all(Array.from({ length: options.jobs }, runQueue(concurrent)));
  await runQueue(sequential)();
  const passed = results.filter((r) => r.passed).length;
  const known = results.filter((r) => !r.passed && r.expected).length;
  const unexpected = results.filter((r) => !r.expected);
  console.log(`\n${results.length} runs of ${names.length} Node tests on ${options.backends.join(' and ')}: ` +
    `${passed} passed, ${known} known failures, ${unexpected.length} unexpected`);
  for (const [name, why] of Object.entries(KNOWN_FAILURES)) if (names.includes(name)) console.log(`  known: ${name}: ${why}`);
  process.exitCode = unexpected.length ? 1 : 0;
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 2;
});
