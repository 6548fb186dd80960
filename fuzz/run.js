#!/usr/bin/env node
'use strict';
// Builds the libFuzzer targets in fuzz/ (clang, AddressSanitizer + UBSan,
// LeakSanitizer after every input) and runs each for a while, two at a time.
//
//   npm run fuzz                          every target, 60 s each
//   npm run fuzz -- --time 1800           a campaign: 30 min each
//   npm run fuzz -- --only tcp --jobs 1   one target
//   npm run fuzz -- --build-only
//   npm run fuzz -- --out DIR             build, corpora and findings in DIR
//   npm run fuzz -- --coverage [--out DIR] the lines the corpus runs, per file
//
// The lwIP sources and compile settings are binding.gyp's (the product's),
// with fuzz/platform.c in place of src/core/sys_arch.c for a deterministic
// clock and random source. Corpora grow in build-fuzz/corpus/<target>/ from
// the seeds fuzz/seeds.js writes and the inputs of fuzz/regressions/ (every
// finding, kept as its reproducer, run with the corpus at the start); a
// run's findings land in build-fuzz/findings/, cleared when it starts.
// Exits non-zero when a target finds anything.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { writeSeeds } = require('./seeds.js');

const ROOT = path.resolve(__dirname, '..');
let OUT = path.join(ROOT, 'build-fuzz');
const TARGETS = {
  packet: { sources: ['fuzz/packet.c'], maxLen: 16384 },
  tcp: { sources: ['fuzz/tcp.c'], maxLen: 4096 },
  wasm_entry: { sources: ['fuzz/wasm_entry.c', 'src/wasm/tcpip_wasm.c', 'src/wasm/tcpip_wasm_link.c'], maxLen: 8192 },
};
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined'];
const CFLAGS = ['-std=c11', '-g', '-O1', '-fno-omit-frame-pointer', '-Wall', '-Wextra'];
// The fuzzing build, and a build that counts which lines the corpus runs.
const FLAVORS = {
  fuzz: {
    objects: 'obj', suffix: '',
    compile: [...SANITIZE, '-fsanitize=fuzzer-no-link'], link: [...SANITIZE, '-fsanitize=fuzzer', '-pthread'],
  },
  coverage: {
    objects: 'coverage-obj', suffix: '-coverage',
    compile: ['-fprofile-instr-generate', '-fcoverage-mapping', '-fsanitize=fuzzer-no-link'],
    link: ['-fprofile-instr-generate', '-fsanitize=fuzzer', '-pthread'],
  },
};
// Files whose line coverage --coverage prints beside the total.
const COVERAGE_FILES = ['tcp_in.c', 'tcp_out.c', 'tcp.c', 'ip4.c', 'ip4_frag.c', 'ip6.c', 'ip6_frag.c',
  'nd6.c', 'icmp6.c', 'etharp.c', 'interface.c', 'bridge.c', 'tcp_socket.c', 'tcpip_wasm.c'];

function parseArgs(argv) {
  const options = { time: 60, jobs: 2, only: Object.keys(TARGETS), buildOnly: false, coverage: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--time') options.time = Number(argv[++i]);
    else if (arg === '--jobs') options.jobs = Number(argv[++i]);
    else if (arg === '--only') options.only = argv[++i].split(',');
    else if (arg === '--build-only') options.buildOnly = true;
    else if (arg === '--coverage') options.coverage = true;
    else if (arg === '--out') OUT = path.resolve(argv[++i]);
    else throw new Error(`fuzz: unknown argument ${arg}`);
  }
  for (const name of options.only) {
    if (!TARGETS[name]) throw new Error(`fuzz: no target ${name} (${Object.keys(TARGETS).join(', ')})`);
  }
  if (!(options.time > 0) || !(options.jobs >= 1)) throw new Error('fuzz: --time and --jobs must be positive');
  return options;
}

function productSources() {
  const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8'));
  const lwip = gyp.variables.lwip;
  return gyp.targets[0].sources
    .filter((file) => file.endsWith('.c') && file !== 'src/core/sys_arch.c')
    .map((file) => file.replace('<(lwip)', lwip))
    .concat(['fuzz/platform.c', 'fuzz/harness.c']);
}

function includeFlags() {
  return ['-Ideps/port', '-Ideps/lwip/src/include'];
}

// Compiles in parallel, skipping objects newer than their source and every
// header they could include (lwIP's, the port's, the core's).
async function compile(files, jobs, flavor) {
  const headerDirs = ['deps/port', 'deps/port/arch', 'deps/lwip/src/include/lwip', 'deps/lwip/src/include/lwip/priv',
    'deps/lwip/src/include/lwip/prot', 'deps/lwip/src/include/netif', 'src/core', 'src/wasm', 'fuzz'];
  let newestHeader = 0;
  for (const dir of headerDirs) {
    const full = path.join(ROOT, dir);
    if (!fs.existsSync(full)) continue;
    for (const name of fs.readdirSync(full)) {
      if (name.endsWith('.h')) newestHeader = Math.max(newestHeader, fs.statSync(path.join(full, name)).mtimeMs);
    }
  }
  const objects = [];
  const queue = [];
  for (const file of files) {
    const object = path.join(OUT, flavor.objects, file.replace(/[/.]/g, '_') + '.o');
    objects.push(object);
    const source = fs.statSync(path.join(ROOT, file)).mtimeMs;
    const built = fs.existsSync(object) ? fs.statSync(object).mtimeMs : 0;
    if (built > source && built > newestHeader) continue;
    // the export layer's wasm import attributes mean nothing natively
    const extra = file.startsWith('src/wasm/') ? ['-Wno-unknown-attributes'] : [];
    queue.push(['clang', [...CFLAGS, ...flavor.compile, ...extra, ...includeFlags(), '-c', file, '-o', object]]);
  }
  fs.mkdirSync(path.join(OUT, flavor.objects), { recursive: true });
  await runQueue(queue, jobs);
  return objects;
}

function runQueue(queue, jobs) {
  return new Promise((resolve, reject) => {
    let running = 0;
    let failed = null;
    const next = () => {
      if (failed) return;
      if (queue.length === 0 && running === 0) return resolve();
      while (running < jobs && queue.length > 0) {
        const [command, args] = queue.shift();
        running++;
        const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
        child.on('error', (error) => { failed = error; reject(error); });
        child.on('exit', (code) => {
          running--;
          if (code !== 0) {
            failed = new Error(`fuzz: ${command} ${args.slice(-3).join(' ')} failed`);
            return reject(failed);
          }
          next();
        });
      }
    };
    next();
  });
}

async function build(names, jobs, flavor = FLAVORS.fuzz) {
  const clang = spawnSync('clang', ['--version']);
  if (clang.status !== 0) throw new Error('fuzz: clang is needed (scripts/setup.sh installs it)');
  if (!fs.existsSync(path.join(ROOT, 'deps/lwip/src/include/lwip/init.h'))) {
    throw new Error('fuzz: lwIP is missing: run `npm install` (or node deps/fetch.js) first');
  }
  const shared = await compile(productSources(), jobs, flavor);
  for (const name of names) {
    const own = await compile(TARGETS[name].sources, jobs, flavor);
    const binary = path.join(OUT, name + flavor.suffix);
    const link = spawnSync('clang', [...flavor.link, ...shared, ...own, '-o', binary], {
      cwd: ROOT, stdio: 'inherit',
    });
    if (link.status !== 0) throw new Error(`fuzz: linking ${name} failed`);
  }
}

// libFuzzer's last status line ("#123 DONE cov: 4567 ft: 8901 corp: ...")
// and its final stats.
function summarize(log) {
  const status = [...log.matchAll(/^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/gm)].pop();
  const stat = (key) => {
    const match = log.match(new RegExp(`^stat::${key}:\\s+(\\d+)`, 'm'));
    return match ? Number(match[1]) : null;
  };
  return {
    executions: stat('number_of_executed_units') ?? (status ? Number(status[1]) : 0),
    perSecond: stat('average_exec_per_sec'),
    coverage: status ? Number(status[2]) : 0,
    features: status ? Number(status[3]) : 0,
    corpus: status ? Number(status[4]) : 0,
    rssMb: stat('peak_rss_mb'),
  };
}

function fuzzOne(name, seconds) {
  const corpus = path.join(OUT, 'corpus', name);
  const findings = path.join(OUT, 'findings', name) + path.sep;
  fs.mkdirSync(corpus, { recursive: true });
  // what an earlier run found was reported then; this run reports its own
  fs.rmSync(findings, { recursive: true, force: true });
  fs.mkdirSync(findings, { recursive: true });
  const logFile = path.join(OUT, `${name}.log`);
  const args = [
    `-max_total_time=${seconds}`,
    `-max_len=${TARGETS[name].maxLen}`,
    `-dict=${path.join(__dirname, 'tcpip.dict')}`,
    `-artifact_prefix=${findings}`,
    '-print_final_stats=1',
    // a slow input is a finding too: the quadratic out-of-order queue was one
    '-timeout=10',
    '-rss_limit_mb=2048',
    ...inputDirs(name),
  ];
  return new Promise((resolve) => {
    const log = fs.createWriteStream(logFile);
    const env = {
      ...process.env,
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:allocator_may_return_null=1',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    };
    const child = spawn(path.join(OUT, name), args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const take = (chunk) => {
      log.write(chunk);
      text += chunk;
      if (text.length > 1 << 20) text = text.slice(-(1 << 19));
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('exit', (code) => {
      log.end();
      const found = fs.readdirSync(findings).map((file) => path.join(findings, file));
      resolve({ name, code, found, logFile, text, ...summarize(text) });
    });
  });
}

function inputDirs(name) {
  return [path.join(OUT, 'corpus', name), path.join(OUT, 'seeds', name), path.join(__dirname, 'regressions', name)]
    .filter((dir) => fs.existsSync(dir));
}

function llvmTool(name) {
  const versioned = `${name}-${String(spawnSync('clang', ['-dumpversion']).stdout).split('.')[0]}`;
  return spawnSync(versioned, ['--version']).status === 0 ? versioned : name;
}

// Replays every input once in the coverage build and prints, per target,
// the share of lines run: in all, and in the files that face the wire.
async function coverage(names) {
  await build(names, 2, FLAVORS.coverage);
  writeSeeds(path.join(OUT, 'seeds'));
  const dir = path.join(OUT, 'coverage');
  fs.mkdirSync(dir, { recursive: true });
  for (const name of names) {
    const binary = path.join(OUT, name + FLAVORS.coverage.suffix);
    const raw = path.join(dir, `${name}.profraw`);
    const data = path.join(dir, `${name}.profdata`);
    const env = { ...process.env, LLVM_PROFILE_FILE: raw };
    const replay = spawnSync(binary, ['-runs=0', ...inputDirs(name)], { cwd: ROOT, env, encoding: 'utf8' });
    const inputs = (replay.stderr.match(/^#(\d+)\s+INITED/m) || [])[1] ?? '?';
    if (spawnSync(llvmTool('llvm-profdata'), ['merge', '-sparse', raw, '-o', data]).status !== 0) {
      throw new Error(`fuzz: llvm-profdata could not merge ${raw}`);
    }
    const report = spawnSync(llvmTool('llvm-cov'), ['report', binary, `-instr-profile=${data}`], { encoding: 'utf8' });
    const lines = {};
    for (const line of report.stdout.split('\n')) {
      const columns = line.trim().split(/\s+/);
      // Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
      if (columns.length >= 10 && /%$/.test(columns[9])) lines[path.basename(columns[0])] = columns[9];
    }
    const files = COVERAGE_FILES.filter((file) => lines[file]).map((file) => `${file} ${lines[file]}`);
    console.log(`coverage: ${name}: ${inputs} inputs, lines run: ${lines.TOTAL ?? '?'} in all; ${files.join(', ')}`);
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  process.chdir(ROOT);
  if (options.coverage) return coverage(options.only);
  await build(options.only, 2);
  if (options.buildOnly) return;
  writeSeeds(path.join(OUT, 'seeds'));
  const load = os.loadavg().map((n) => n.toFixed(2)).join(' ');
  console.log(`fuzz: ${options.only.join(', ')}: ${options.time} s each, ${options.jobs} at a time ` +
    `(${os.cpus().length} CPUs, load ${load})`);
  const pending = [...options.only];
  const results = [];
  await Promise.all(Array.from({ length: Math.min(options.jobs, pending.length) }, async () => {
    while (pending.length > 0) {
      const result = await fuzzOne(pending.shift(), options.time);
      results.push(result);
      const rate = result.perSecond != null ? `${result.perSecond}/s` : '?/s';
      console.log(`fuzz: ${result.name}: ${result.executions} executions (${rate}), ` +
        `coverage ${result.coverage} edges, ${result.features} features, corpus ${result.corpus}, ` +
        `peak RSS ${result.rssMb ?? '?'} MB` + (result.code === 0 ? '' : `: FOUND (exit ${result.code})`));
    }
  }));
  const failed = results.filter((r) => r.code !== 0 || r.found.length > 0);
  for (const result of failed) {
    const lines = result.text.split('\n');
    const first = lines.findIndex((line) => /ERROR: |runtime error|assertion|deadly signal|Timeout|out-of-memory/.test(line));
    console.log(`\n== ${result.name}: log ${path.relative(ROOT, result.logFile)}`);
    console.log(lines.slice(Math.max(0, first), first + 40).join('\n'));
    for (const file of result.found) {
      console.log(`reproduce: ${path.relative(ROOT, path.join(OUT, result.name))} ${path.relative(ROOT, file)}`);
    }
  }
  console.log(`fuzz: ${results.length} targets run, ${failed.length} with findings`);
  if (failed.length > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 2;
});
