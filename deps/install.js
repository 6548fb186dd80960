'use strict';
// `npm install` entry. The two engines are the native addon and the wasm
// module; either is enough to run (without the addon, stacks use the wasm
// backend, with one warning), so one failed build does not fail the install.
//
// A git checkout builds both from source, lwIP through deps/fetch.js.
// A packed package (`npm pack`, scripts/prepack.js) carries the addon
// prebuilt in prebuilds/, the wasm module in dist/wasm/ and the patched lwIP
// sources in deps/lwip/: it builds nothing when the prebuilt addon loads
// here, else builds the addon from the bundled lwIP, which needs a C/C++
// toolchain but neither apt nor the network. `npm install --build-from-source`
// builds it even where a prebuilt one loads.
//
// Node's headers come from the running Node installation when it ships
// them (as Debian's and NodeSource's packages do), so no download is needed.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { fetchLwip } = require('./fetch.js');

const ROOT = path.join(__dirname, '..');
const WASM_MODULE = path.join(ROOT, 'dist', 'wasm', 'tcpip.wasm');

function isCheckout() {
  return fs.existsSync(path.join(ROOT, '.git'));
}

function nodeHeadersDir() {
  const prefix = path.dirname(path.dirname(process.execPath));
  const header = path.join(prefix, 'include', 'node', 'node_api.h');
  return fs.existsSync(header) ? prefix : null;
}

// A checkout has node-gyp among its devDependencies; an installed package
// uses the one npm (or pnpm) hands to install scripts, else one on PATH.
function nodeGypCommand() {
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    const fromPackageManager = process.env.npm_config_node_gyp;
    if (fromPackageManager) return /\.js$/.test(fromPackageManager) ? [process.execPath, fromPackageManager] : [fromPackageManager];
    return ['node-gyp'];
  }
}

/**
 * `node-gyp rebuild` of binding.gyp in `cwd` (the package root, or a scratch
 * directory that links to its sources).
 * @param {{ cwd?: string, extraArgs?: string[], quiet?: boolean }} [options]
 */
function build({ cwd = ROOT, extraArgs = [], quiet = false } = {}) {
  const [command, ...gypArgs] = nodeGypCommand();
  const args = [...gypArgs, 'rebuild', ...extraArgs];
  // make on every core unless npm's --jobs says otherwise: a serial build of
  // lwIP and the addon took a minute on two cores.
  if (!process.env.npm_config_jobs && !extraArgs.some((a) => a.startsWith('-j') || a.startsWith('--jobs'))) {
    args.push('--jobs=max');
  }
  const nodedir = process.env.npm_config_nodedir || nodeHeadersDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const result = spawnSync(command, args, { cwd, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) {
    if (quiet) process.stderr.write(`${result.stdout}${result.stderr}`.split('\n').slice(-40).join('\n'));
    throw new Error(
      'building the native addon failed: a C/C++ toolchain (gcc, g++, make, python3) ' +
        "and Node's headers are needed (on Debian: apt-get install build-essential python3)",
    );
  }
}

// A packed package's prebuilt addon, if node-gyp-build finds one for this
// platform and it loads here (a newer glibc than this system's would not).
function loadablePrebuild() {
  let file;
  try {
    file = require('node-gyp-build').resolve(ROOT);
    require(file);
    return { file };
  } catch (error) {
    return { error: String(error.message).split('\n')[0], file };
  }
}

// A packed package carries dist/wasm/; a failed build leaves it in place
// (build-wasm.js moves a module there only once it is built and valid).
function buildWasm() {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-wasm.js'), '--quiet'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (result.status === 0) return;
  if (fs.existsSync(WASM_MODULE)) {
    console.error('tcpip: building the wasm module failed; keeping the prebuilt dist/wasm/tcpip.wasm');
    return;
  }
  throw new Error('building the wasm module failed: clang, lld and wasi-libc are needed (scripts/setup.sh installs them)');
}

function buildAddon(packed) {
  const fromSource = process.env.npm_config_build_from_source === 'true';
  if (packed && !fromSource) {
    const prebuild = loadablePrebuild();
    if (!prebuild.error) {
      console.error(`tcpip: using the prebuilt addon ${path.relative(ROOT, prebuild.file)}`);
      return;
    }
    console.error(
      `tcpip: no prebuilt addon loads on ${process.platform}-${process.arch} (${prebuild.error}); ` +
        'building it from the bundled lwIP',
    );
  }
  fetchLwip();
  build();
}

function main() {
  if (process.argv.includes('--sanitize')) {
    fetchLwip();
    build({ extraArgs: ['--sanitize=1'] });
    return;
  }
  const packed = !isCheckout();
  const attempt = (step) => {
    try {
      step();
      return true;
    } catch (error) {
      console.error(`tcpip: ${error.message}`);
      return false;
    }
  };
  const addon = attempt(() => buildAddon(packed));
  // A packed package's module is the one it was tested with: kept as it is.
  const wasm = (packed && fs.existsSync(WASM_MODULE)) || attempt(buildWasm);
  if (!addon && !wasm) throw new Error('neither the native addon nor the wasm module could be built');
  if (!addon) console.error('tcpip: without the native addon, stacks use the wasm backend');
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
