#!/usr/bin/env node
'use strict';
// The prepack script (`npm pack`, `npm publish`): makes what the tarball
// carries besides the checkout's own files (package.json "files" lists them):
//   - deps/lwip/: lwIP 2.1.3 from the pinned, checksummed orig tarball with
//     deps/patches applied (deps/fetch.js); the tarball takes the sources the
//     build needs and lwIP's COPYING, git never does;
//   - prebuilds/<platform>-<arch>/node.napi.<libc>.node: the addon, built
//     afresh in a scratch directory (the checkout's build/ is left alone),
//     stripped, and named as prebuildify names Node-API builds, so that
//     node-gyp-build finds it, in Node and in Electron alike;
//   - dist/wasm/: the wasm module, rebuilt if its sources changed.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fetchLwip, ORIG_NAME, ORIG_SHA256 } = require('../deps/fetch.js');
const { build } = require('../deps/install.js');

const ROOT = path.join(__dirname, '..');

function fail(message) {
  process.stderr.write(`prepack: error: ${message}\n`);
  process.exit(1);
}

function info(message) {
  process.stderr.write(`prepack: ${message}\n`);
}

// node-gyp-build tells glibc from musl the same way a prebuild is tagged.
function libc() {
  const report = process.report && process.report.getReport();
  return report && report.header && report.header.glibcVersionRuntime ? 'glibc' : 'musl';
}

function prebuildPath() {
  const name = process.platform === 'linux' ? `node.napi.${libc()}.node` : 'node.napi.node';
  return path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, name);
}

function bundleLwip() {
  const { source } = fetchLwip();
  if (source !== ORIG_SHA256) {
    fail(`deps/lwip comes from LWIP_SRC (${source}); a package ships only the pinned ${ORIG_NAME}: unset LWIP_SRC`);
  }
}

// A scratch directory with binding.gyp and links to the sources, as the
// sanitizer build does, so node-gyp's rebuild does not wipe build/.
function buildPrebuild() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-prebuild-'));
  try {
    fs.copyFileSync(path.join(ROOT, 'binding.gyp'), path.join(scratch, 'binding.gyp'));
    for (const dir of ['src', 'deps', 'node_modules']) fs.symlinkSync(path.join(ROOT, dir), path.join(scratch, dir));
    info('building the addon');
    build({ cwd: scratch, extraArgs: ['-j', String(os.availableParallelism())], quiet: true });
    const target = prebuildPath();
    fs.rmSync(path.dirname(target), { recursive: true, force: true });
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(scratch, 'build', 'Release', 'tcpip.node'), target);
    const strip = spawnSync('strip', ['--strip-all', target], { stdio: 'inherit' });
    if (strip.error || strip.status !== 0) info(`strip failed or is missing: ${path.relative(ROOT, target)} keeps its symbols`);
    const load = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', target], { stdio: 'inherit' });
    if (load.status !== 0) fail(`the prebuilt addon ${path.relative(ROOT, target)} does not load`);
    info(`${path.relative(ROOT, target)}: ${fs.statSync(target).size} bytes`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function buildWasm() {
  const result = spawnSync(process.execPath, [path.join(__dirname, 'build-wasm.js'), '--quiet', '--if-stale'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (result.status !== 0) fail('the wasm module (dist/wasm/) could not be built');
}

function main() {
  try {
    bundleLwip();
    buildPrebuild();
  } catch (error) {
    fail(error.message);
  }
  buildWasm();
}

main();
