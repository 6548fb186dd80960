'use strict';
// `npm install` entry: obtain lwIP, then build the addon with node-gyp and
// the wasm module with clang. Either one is enough to run: without the addon,
// stacks use the wasm backend (with a warning).
// Node's headers come from the running Node installation when it ships
// them (as Debian's and NodeSource's packages do), so no download is needed.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { fetchLwip } = require('./fetch.js');

function nodeHeadersDir() {
  const prefix = path.dirname(path.dirname(process.execPath));
  const header = path.join(prefix, 'include', 'node', 'node_api.h');
  return fs.existsSync(header) ? prefix : null;
}

function nodeGypBin() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

function build(extraArgs = []) {
  const gyp = nodeGypBin();
  if (!gyp) {
    throw new Error('node-gyp is missing: run `npm install` in the package directory');
  }
  const args = [gyp, 'rebuild', ...extraArgs];
  const nodedir = process.env.npm_config_nodedir || nodeHeadersDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const result = spawnSync(process.execPath, args, {
    cwd: path.join(__dirname, '..'),
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    throw new Error(
      'building the native addon failed: a C/C++ toolchain (gcc, g++, make, python3) ' +
        "and Node's headers are needed (on Debian: apt-get install build-essential python3)",
    );
  }
}

// A packed package carries dist/wasm/; a failed build leaves it in place
// (build-wasm.js moves a module there only once it is built and valid).
function buildWasm() {
  const result = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build-wasm.js'), '--quiet'], {
    cwd: path.join(__dirname, '..'),
    stdio: 'inherit',
  });
  if (result.status === 0) return;
  if (fs.existsSync(path.join(__dirname, '..', 'dist', 'wasm', 'tcpip.wasm'))) {
    console.error('tcpip: building the wasm module failed; keeping the prebuilt dist/wasm/tcpip.wasm');
    return;
  }
  throw new Error('building the wasm module failed: clang, lld and wasi-libc are needed (scripts/setup.sh installs them)');
}

function main() {
  fetchLwip();
  const sanitize = process.argv.includes('--sanitize');
  if (sanitize) {
    build(['--sanitize=1']);
    return;
  }
  const failures = [];
  for (const step of [() => build(), buildWasm]) {
    try {
      step();
    } catch (error) {
      failures.push(error);
      console.error(`tcpip: ${error.message}`);
    }
  }
  if (failures.length === 2) throw new Error('neither the native addon nor the wasm module could be built');
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`tcpip: ${error.message}`);
    process.exit(1);
  }
}

module.exports = { build };
