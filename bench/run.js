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
  ['memory.js', '--expose-gc'],
  ['links.js'],
  ['wasm.js'],
  ['browser.js'],
  ['kernel-tap.js'],
];

let failed = false;
for (const [file, ...flags] of benches) {
  const result = spawnSync(process.execPath, [...flags, path.join(__dirname, file)], { stdio: 'inherit' });
  if (result.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
