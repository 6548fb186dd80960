#!/usr/bin/env node
'use strict';
// Builds dist/wasm/tcpip.wasm (and tcpip.wasm.js, the same bytes for bundles): the lwIP sources that binding.gyp compiles for
// the native addon, plus src/core/*.c and src/wasm/*.c (if present), compiled
// with clang for wasm32-wasi against wasi-libc and linked by wasm-ld as a WASI
// reactor (no main; _initialize runs the C constructors).
//
// Small and fast (see SIZE_FLAGS): -Oz with link-time optimization, bulk
// memory (memcpy/memset become memory.copy/memory.fill), no DWARF (Debian's libc.a carries it) and, when
// binaryen's wasm-opt is installed, wasm-opt -O3 over the linked module.
//
// Usage: node scripts/build-wasm.js [--Werror] [--quiet] [--if-stale]
// Environment:
//   CLANG        the clang to use (default: clang)
//   WASI_SYSROOT a wasi-libc sysroot (default: searched, see findSysroot())
//   WASM_OPT     the wasm-opt to use (default: wasm-opt; "none" skips it)
//
// No npm dependencies. Needs clang, lld (wasm-ld), wasi-libc and compiler-rt's
// wasm32 builtins: scripts/setup.sh installs them (and binaryen, optional).

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
// Not under build/: node-gyp wipes that directory when it rebuilds.
const OUT_DIR = path.join(ROOT, 'dist', 'wasm');
const OBJ_DIR = path.join(OUT_DIR, 'obj');
const OUTPUT = path.join(OUT_DIR, 'tcpip.wasm');
const LWIP_DIR = path.join(ROOT, 'deps', 'lwip');

const args = process.argv.slice(2);
const WERROR = args.includes('--Werror');
const QUIET = args.includes('--quiet');
// --if-stale: do nothing when the module is newer than everything it is made
// of (npm test runs it so that no test runs an old module).
const IF_STALE = args.includes('--if-stale');
const CLANG = process.env.CLANG || 'clang';
const WASM_OPT = process.env.WASM_OPT || 'wasm-opt';

const SETUP_HINT = 'run scripts/setup.sh (as root) to install clang, lld, wasi-libc ' +
  'and the wasm32 compiler-rt builtins';

function fail(message) {
  process.stderr.write(`build-wasm: error: ${message}\n`);
  process.exit(1);
}

function info(message) {
  if (!QUIET) process.stdout.write(`build-wasm: ${message}\n`);
}

function rel(p) {
  return path.relative(ROOT, p) || '.';
}

// ---------------------------------------------------------------- toolchain

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.error) return { ok: false, stdout: '', stderr: String(r.error.message) };
  return { ok: r.status === 0, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

function checkClang() {
  const v = run(CLANG, ['--version']);
  if (!v.ok) fail(`${CLANG} not found (${v.stderr}); ${SETUP_HINT}`);
  const targets = run(CLANG, ['-print-targets']);
  if (targets.ok && !/\bwasm32\b/.test(targets.stdout)) {
    fail(`${CLANG} has no wasm32 backend; ${SETUP_HINT}`);
  }
  return v.stdout.split('\n')[0];
}

function checkWasmLd() {
  // clang's WebAssembly driver runs the linker named by -print-prog-name.
  const p = run(CLANG, ['--target=wasm32-wasi', '-print-prog-name=wasm-ld']);
  const candidate = p.ok ? p.stdout : 'wasm-ld';
  const v = run(candidate, ['--version']);
  if (!v.ok) fail(`wasm-ld not found (lld is missing); ${SETUP_HINT}`);
  return v.stdout.split('\n')[0];
}

function checkBuiltins(sysroot) {
  // clang links libclang_rt.builtins-wasm32.a into every wasm32-wasi program.
  const p = run(CLANG, ['--target=wasm32-wasi', `--sysroot=${sysroot}`,
    '-rtlib=compiler-rt', '-print-libgcc-file-name']);
  if (p.ok && p.stdout && !fs.existsSync(p.stdout)) {
    fail(`compiler-rt wasm32 builtins missing (${p.stdout}); ${SETUP_HINT}`);
  }
}

// binaryen's optimizer, if installed: null when absent (the build goes on
// without it and says so).
function findWasmOpt() {
  if (WASM_OPT === 'none') return null;
  const v = run(WASM_OPT, ['--version']);
  return v.ok ? v.stdout.split('\n')[0] : null;
}

function isSysroot(dir) {
  const hasHeader = ['include/wasm32-wasi/stdlib.h', 'include/stdlib.h']
    .some((f) => fs.existsSync(path.join(dir, f)));
  const hasLib = ['lib/wasm32-wasi/libc.a', 'lib/libc.a']
    .some((f) => fs.existsSync(path.join(dir, f)));
  return hasHeader && hasLib;
}

// A sysroot holds only wasi-libc, so no host header can leak into the build.
// Debian's wasi-libc is installed multiarch-style (/usr/include/wasm32-wasi,
// /usr/lib/wasm32-wasi) with no sysroot of its own; passing --sysroot=/usr
// would put the host's /usr/include on the path, so for that layout we make a
// sysroot of two symlinks under dist/wasm/.
function findSysroot() {
  const env = process.env.WASI_SYSROOT;
  if (env) {
    if (!isSysroot(env)) fail(`WASI_SYSROOT=${env} holds no wasi-libc (include/, lib/)`);
    return env;
  }
  for (const dir of ['/usr/share/wasi-sysroot', '/opt/wasi-sdk/share/wasi-sysroot',
    '/usr/local/share/wasi-sysroot']) {
    if (isSysroot(dir)) return dir;
  }
  const inc = '/usr/include/wasm32-wasi';
  const lib = '/usr/lib/wasm32-wasi';
  if (fs.existsSync(path.join(inc, 'stdlib.h')) && fs.existsSync(path.join(lib, 'libc.a'))) {
    const sysroot = path.join(OUT_DIR, 'sysroot');
    for (const [sub, target] of [['include', inc], ['lib', lib]]) {
      const dir = path.join(sysroot, sub);
      const link = path.join(dir, 'wasm32-wasi');
      fs.mkdirSync(dir, { recursive: true });
      let current = null;
      try { current = fs.readlinkSync(link); } catch { /* absent */ }
      if (current !== target) {
        fs.rmSync(link, { force: true, recursive: true });
        fs.symlinkSync(target, link);
      }
    }
    return sysroot;
  }
  fail(`wasi-libc not found (no /usr/share/wasi-sysroot, no ${inc}); ${SETUP_HINT}`);
}

// ---------------------------------------------------------------- sources

// binding.gyp is JSON in practice; gyp also allows # comments, single quotes
// and trailing commas, so strip those before JSON.parse.
function parseGyp(text) {
  let out = '';
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') { out += c + text[++i]; continue; }
      if (c === quote) { quote = null; out += '"'; continue; }
      out += c === '"' ? '\\"' : c;
      continue;
    }
    if (c === '"' || c === "'") { quote = c; out += '"'; continue; }
    if (c === '#') { while (i < text.length && text[i] !== '\n') i++; out += '\n'; continue; }
    out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

function lwipSources() {
  const gypPath = path.join(ROOT, 'binding.gyp');
  let gyp;
  try {
    gyp = parseGyp(fs.readFileSync(gypPath, 'utf8'));
  } catch (e) {
    fail(`cannot parse ${rel(gypPath)}: ${e.message}`);
  }
  const vars = {};
  for (const [k, v] of Object.entries(gyp.variables || {})) vars[k.replace(/%$/, '')] = v;
  const expand = (s) => s.replace(/<\(([\w%]+)\)/g, (m, name) => {
    const v = vars[name.replace(/%$/, '')];
    if (v === undefined) fail(`binding.gyp: unknown variable ${m} in "${s}"`);
    return String(v);
  });
  const target = (gyp.targets || []).find((t) => t.target_name === 'tcpip') ||
    (gyp.targets || [])[0];
  if (!target || !Array.isArray(target.sources)) fail('binding.gyp has no target with sources');
  const sources = target.sources
    .map((s) => path.resolve(ROOT, expand(s)))
    .filter((s) => s.endsWith('.c') && !path.relative(LWIP_DIR, s).startsWith('..'));
  if (sources.length === 0) fail('binding.gyp lists no lwIP (deps/lwip) C sources');
  return sources;
}

function cFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.c')).sort()
    .map((f) => path.join(dir, f));
}

// Every function the public header declares is exported, so JS can call the
// core directly; src/wasm/*.h (the export layer) is scanned the same way.
function exportedFunctions() {
  const headers = [path.join(ROOT, 'src', 'core', 'tcpip.h')];
  const wasmDir = path.join(ROOT, 'src', 'wasm');
  if (fs.existsSync(wasmDir)) {
    for (const f of fs.readdirSync(wasmDir).sort()) {
      if (f.endsWith('.h')) headers.push(path.join(wasmDir, f));
    }
  }
  const names = new Set();
  for (const h of headers) {
    const text = fs.readFileSync(h, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, ' ')
      .replace(/\/\/.*$/gm, ' ')
      .replace(/^\s*#.*$/gm, ' ');
    // Declarations only: a name followed by "(" and not inside "(*name)".
    const re = /(^|[\s*])(tcpip\w*)\s*\(/gm;
    let m;
    while ((m = re.exec(text)) !== null) names.add(m[2]);
  }
  return [...names];
}

// ---------------------------------------------------------------- build

// What makes the module small, measured with bench/wasm.js (native and wasm
// side by side) and in-process A/B runs of the variants (clang 14, binaryen
// 108): against the former -O2 build (290,814 bytes, 127 KB of it DWARF from
// libc.a), this one is about a third the size and faster on every workload
// measured (bulk memory is the speed-up; -O2 over -Oz buys ~5% on 1-byte
// request/response and MTU 1500, for +30 KB).
//   -Oz -flto           size; LTO inlines across lwIP's files
//   -mbulk-memory       memcpy/memset inline as memory.copy/memory.fill: the
//                       bulk-data path is mostly copies (Chrome 75, Firefox
//                       79, Safari 15 and every Node from 18 have it)
//   -fmacro-prefix-map  __FILE__ (in lwIP's assertion messages) relative to
//                       the repository: shorter, and the same on every machine
// wasm-ld already drops unreferenced functions and data (--gc-sections is its
// default), so -ffunction-sections/-fdata-sections change nothing.
const SIZE_FLAGS = ['-Oz', '-flto', '-mbulk-memory'];

const CFLAGS = [
  '-std=c11', ...SIZE_FLAGS, `-fmacro-prefix-map=${ROOT}${path.sep}=`, '-Wall', '-Wextra',
  `-I${path.join(ROOT, 'deps', 'port')}`,
  `-I${path.join(LWIP_DIR, 'src', 'include')}`,
];

function objectName(src) {
  return path.join(OBJ_DIR, rel(src).replace(/[\\/]/g, '__').replace(/\.c$/, '.o'));
}

function compile(target, src) {
  const argv = [...target, ...CFLAGS, ...(WERROR ? ['-Werror'] : []),
    '-c', src, '-o', objectName(src)];
  return new Promise((resolve) => {
    const child = spawn(CLANG, argv, { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.on('data', (d) => { stderr += d; });
    child.on('error', (e) => resolve({ src, ok: false, stderr: String(e.message) }));
    child.on('close', (code) => resolve({ src, ok: code === 0, stderr }));
  });
}

async function compileAll(target, sources) {
  const jobs = Math.max(1, (os.availableParallelism ? os.availableParallelism() : os.cpus().length));
  const results = [];
  let next = 0;
  async function worker() {
    while (next < sources.length) {
      const src = sources[next++];
      results.push(await compile(target, src));
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, sources.length) }, worker));
  const order = new Map(sources.map((s, i) => [s, i]));
  return results.sort((a, b) => order.get(a.src) - order.get(b.src));
}

function countWarnings(text) {
  return (text.match(/: warning: /g) || []).length;
}

function newestMtime(paths) {
  let newest = 0;
  const visit = (p) => {
    let stat;
    try { stat = fs.statSync(p); } catch { return; }
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(p)) visit(path.join(p, entry));
    } else {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  paths.forEach(visit);
  return newest;
}

function upToDate() {
  const outputs = [OUTPUT, path.join(OUT_DIR, 'tcpip.wasm.js')];
  if (!outputs.every((f) => fs.existsSync(f))) return false;
  const built = Math.min(...outputs.map((f) => fs.statSync(f).mtimeMs));
  const inputs = [
    path.join(ROOT, 'src', 'core'), path.join(ROOT, 'src', 'wasm'), path.join(ROOT, 'deps', 'port'),
    path.join(ROOT, 'deps', 'lwip', 'src'), path.join(ROOT, 'binding.gyp'), __filename,
  ];
  return newestMtime(inputs) < built;
}

async function main() {
  if (!fs.existsSync(path.join(LWIP_DIR, 'src', 'include', 'lwip', 'init.h'))) {
    fail(`lwIP is not in ${rel(LWIP_DIR)}: run node deps/fetch.js`);
  }
  if (IF_STALE && upToDate()) {
    info(`${rel(OUTPUT)} is up to date`);
    return;
  }
  const clangVersion = checkClang();
  const ldVersion = checkWasmLd();
  const wasmOptVersion = findWasmOpt();
  fs.mkdirSync(OBJ_DIR, { recursive: true });
  const sysroot = findSysroot();
  checkBuiltins(sysroot);
  info(`${clangVersion}; ${ldVersion}; ${wasmOptVersion || 'no wasm-opt'}; sysroot ${sysroot}`);

  const target = ['--target=wasm32-wasi', `--sysroot=${sysroot}`];
  const sources = [
    ...lwipSources(),
    ...cFiles(path.join(ROOT, 'src', 'core')),
    ...cFiles(path.join(ROOT, 'src', 'wasm')),
  ];
  for (const f of fs.readdirSync(OBJ_DIR)) fs.rmSync(path.join(OBJ_DIR, f), { force: true });
  // Built beside, and moved into place only when valid: a failed build
  // leaves the module that was there (a packed package ships one).
  const linked = path.join(OBJ_DIR, 'tcpip.linked.wasm');
  const built = path.join(OBJ_DIR, 'tcpip.wasm');

  info(`compiling ${sources.length} files`);
  const results = await compileAll(target, sources);
  let failed = 0;
  const warnings = { lwip: 0, ours: 0 };
  for (const r of results) {
    if (r.stderr) process.stderr.write(r.stderr.endsWith('\n') ? r.stderr : r.stderr + '\n');
    const n = countWarnings(r.stderr);
    if (path.relative(LWIP_DIR, r.src).startsWith('..')) warnings.ours += n;
    else warnings.lwip += n;
    if (!r.ok) {
      failed++;
      process.stderr.write(`build-wasm: FAILED ${rel(r.src)}\n`);
    }
  }
  if (failed) fail(`${failed} of ${sources.length} files failed to compile`);

  const exportsList = exportedFunctions();
  const linkArgs = [
    ...target,
    // No -O here: with one, clang's driver runs any wasm-opt on the PATH by
    // itself; this script runs it (or not) explicitly below. The code was
    // optimized at -Oz in the bitcode; LTO keeps those attributes.
    ...SIZE_FLAGS.filter((f) => f !== '-Oz'),
    // Debian's libc.a carries DWARF (~127 KB of the module). With wasm-opt
    // next, keep the name and target_features sections (wasm-opt reads the
    // features from the latter, and drops the names); without, drop all.
    wasmOptVersion ? '-Wl,--strip-debug' : '-Wl,--strip-all',
    // A WASI reactor: no main, _initialize is exported and runs constructors.
    '-mexec-model=reactor',
    // The lwIP core keeps state in globals; a larger stack than wasm-ld's
    // 64 KiB default, placed first so an overflow traps instead of silently
    // overwriting data.
    '-Wl,-z,stack-size=1048576',
    '-Wl,--stack-first',
    // A call through a mismatched prototype links to a trapping stub with
    // only a warning from wasm-ld: make every linker warning an error.
    '-Wl,--fatal-warnings',
    // The export layer counts the C heap (tcpip_wasm_heap_in_use).
    ...['malloc', 'calloc', 'realloc', 'free'].map((name) => `-Wl,--wrap=${name}`),
    ...exportsList.map((name) => `-Wl,--export=${name}`),
    ...results.map((r) => objectName(r.src)),
    '-o', linked,
  ];
  info(`linking ${rel(OUTPUT)} (${exportsList.length} exported functions)`);
  const link = spawnSync(CLANG, linkArgs, { cwd: ROOT, encoding: 'utf8' });
  if (link.stderr) process.stderr.write(link.stderr);
  if (link.error || link.status !== 0) {
    fail(`link failed${link.error ? `: ${link.error.message}` : ''}`);
  }

  let optimized;
  if (!wasmOptVersion) fs.renameSync(linked, built);
  if (wasmOptVersion) {
    const linkedSize = fs.statSync(linked).size;
    // -O3: as small as -Oz here (within 0.1%) and no slower.
    const opt = spawnSync(WASM_OPT, ['-O3', '--strip-producers', linked, '-o', built],
      { cwd: ROOT, encoding: 'utf8' });
    if (opt.error || opt.status !== 0) {
      process.stderr.write(opt.stderr || '');
      fail(`${WASM_OPT} failed${opt.error ? `: ${opt.error.message}` : ''} (WASM_OPT=none skips it)`);
    }
    optimized = `wasm-opt -O3: ${linkedSize} -> ${fs.statSync(built).size} bytes`;
  } else {
    optimized = `wasm-opt skipped: ${WASM_OPT === 'none' ? 'WASM_OPT=none' : `no ${WASM_OPT} (Debian package binaryen)`}`;
  }

  const bytes = fs.readFileSync(built);
  // Validate with the engine that will run it.
  try {
    new WebAssembly.Module(bytes);
  } catch (e) {
    fail(`${rel(built)} is not a valid module: ${e.message}`);
  }
  const size = bytes.length;
  // Bundles take the module from tcpip.wasm.js (lib/platform/browser.js).
  const bundled = path.join(OBJ_DIR, 'tcpip.wasm.js');
  fs.writeFileSync(bundled,
    `'use strict';\n// Generated by scripts/build-wasm.js from tcpip.wasm (${bytes.length} bytes).\n` +
    `module.exports.WASM_BASE64 = '${bytes.toString('base64')}';\n`);
  fs.renameSync(built, OUTPUT);
  fs.renameSync(bundled, path.join(OUT_DIR, 'tcpip.wasm.js'));
  info(`warnings: ${warnings.ours} in src/, ${warnings.lwip} in deps/lwip`);
  process.stdout.write(`${rel(OUTPUT)}: ${size} bytes (${optimized})\n`);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
