'use strict';
// `npm run bench`: every benchmark, each against Node's `net` over the
// kernel loopback measured in the same run, printed as ratios.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const benches = [
  ['throughput.js'],
  ['write-cost.js'],
  ['latency.js'],
  ['connect-rate.js'],
  ['burst.js'],
  ['two-stacks.js'],
  ['udp.js'],
  ['connections.js'],
  ['memory.js', '--expose-gc'],
  ['links.js'],
  ['wasm.js'],
  ['browser.js'],
  ['kernel-tap.js'],
  ['gateway.js'],
  ['v86.js'],
];

// The same latency-bound work on a busy machine (one CPU-bound process per
// core beside baseline and subject alike) and confined to one CPU, as in a
// 1-vCPU container or CI runner.
const conditions = [
  { label: 'busy', env: { BENCH_BUSY: '1' }, prefix: [], files: ['latency.js', 'connect-rate.js', 'throughput.js', 'two-stacks.js'] },
  { label: 'one CPU (taskset -c 0)', env: {}, prefix: ['taskset', '-c', '0'], files: ['latency.js', 'connect-rate.js', 'two-stacks.js'] },
];

let failed = false;
function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) failed = true;
}

for (const [file, ...flags] of benches) run(process.execPath, [...flags, path.join(__dirname, file)]);
for (const { label, env, prefix, files } of conditions) {
  console.log(`\n--- ${label} ---`);
  for (const file of files) {
    const args = [process.execPath, path.join(__dirname, file)];
    if (prefix.length > 0) run(prefix[0], [...prefix.slice(1), ...args], env);
    else run(args[0], args.slice(1), env);
  }
}
process.exitCode = failed ? 1 : 0;
