'use strict';
// The packed package as a user gets it: `npm pack` in this checkout, then
// `npm install` of the tarball into empty projects, with apt hidden and an
// empty lwIP cache, on three kinds of machine: one the prebuilt addon fits
// (compilers hidden too), one with neither a prebuilt addon nor a compiler
// (wasm), and one with no prebuilt addon but a compiler (the addon built
// from the lwIP the tarball carries). Slow, so it is its own run
// (`npm run test:package`, part of `npm test`), not part of the per-backend runs.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runCommand, ROOT } = require('./helpers/child.js');
const { pathWithout, COMPILERS, APT } = require('./helpers/hidden-tools.js');
const { ORIG_SHA256 } = require('../deps/fetch.js');

const MINUTE = 60 * 1000;
const PREBUILD = 'prebuilds/linux-x64/node.napi.glibc.node';
const FIXTURE = path.join(__dirname, 'fixtures', 'package', 'serve-and-fetch.js');

// npm exports its configuration to the scripts it runs (npm test): a child
// npm must not inherit it (npm_config_local_prefix would aim it at this
// checkout), only the cache, which keeps --prefer-offline fast.
function cleanEnv(overrides) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(npm_|INIT_CWD$|TCPIP_|LWIP_SRC$|CC$|CXX$)/.test(name)) env[name] = value;
  }
  env.npm_config_cache = process.env.npm_config_cache || path.join(os.homedir(), '.npm');
  return { ...env, ...overrides };
}

function describeRun(what, result) {
  return `${what} exited with ${result.code}${result.signal ? ` (${result.signal})` : ''}\n` +
    `--- stdout\n${result.stdout.slice(-6000)}\n--- stderr\n${result.stderr.slice(-6000)}`;
}

describe('the packed package', function () {
  this.timeout(15 * MINUTE);
  let scratch;
  let tarball;
  let tarballWithoutPrebuild;
  let unpacked;
  let noCompilersPath;
  let noAptPath;
  let lwipCache;

  before(async function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') this.skip();
    scratch = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'tcpip-package-'));
    lwipCache = path.join(scratch, 'empty-cache');
    await fs.promises.mkdir(lwipCache);
    noCompilersPath = await pathWithout(path.join(scratch, 'bin-no-compilers'), [COMPILERS, APT]);
    noAptPath = await pathWithout(path.join(scratch, 'bin-no-apt'), [APT]);

    const pack = await runCommand('npm', ['pack', '--pack-destination', scratch], { env: cleanEnv(), killAfter: 12 * MINUTE });
    assert.equal(pack.code, 0, describeRun('npm pack', pack));
    tarball = path.join(scratch, pack.stdout.trim().split('\n').pop());

    // The same package without its prebuilt addon: a platform it has none for.
    unpacked = path.join(scratch, 'unpacked');
    await fs.promises.mkdir(unpacked);
    const untar = await runCommand('tar', ['-xzf', tarball, '-C', unpacked]);
    assert.equal(untar.code, 0, describeRun('tar -x', untar));
    const withoutPrebuild = path.join(scratch, 'without-prebuild');
    await fs.promises.cp(path.join(unpacked, 'package'), path.join(withoutPrebuild, 'package'), { recursive: true });
    await fs.promises.rm(path.join(withoutPrebuild, 'package', 'prebuilds'), { recursive: true });
    tarballWithoutPrebuild = path.join(scratch, 'tcpip-without-prebuild.tgz');
    const retar = await runCommand('tar', ['-czf', tarballWithoutPrebuild, '-C', withoutPrebuild, 'package']);
    assert.equal(retar.code, 0, describeRun('tar -c', retar));
  });

  after(async function () {
    if (scratch) await fs.promises.rm(scratch, { recursive: true, force: true });
  });

  // An empty project, `npm install <tarball>` with PATH limited to `binPath`.
  async function install(name, from, binPath) {
    const project = path.join(scratch, name);
    await fs.promises.mkdir(project);
    await fs.promises.writeFile(path.join(project, 'package.json'), JSON.stringify({ name, private: true }) + '\n');
    const env = cleanEnv({ PATH: binPath, XDG_CACHE_HOME: lwipCache });
    const result = await runCommand('npm', ['install', from, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'], {
      cwd: project, env, killAfter: 12 * MINUTE,
    });
    assert.equal(result.code, 0, describeRun('npm install', result));
    return { project, output: result.stdout + result.stderr, installed: path.join(project, 'node_modules', 'tcpip'), env };
  }

  async function serveAndFetch({ project, env }) {
    await fs.promises.copyFile(FIXTURE, path.join(project, 'serve-and-fetch.js'));
    const result = await runCommand(process.execPath, ['serve-and-fetch.js'], { cwd: project, env, killAfter: 2 * MINUTE });
    assert.equal(result.code, 0, describeRun('serve-and-fetch.js', result));
    const report = JSON.parse(result.stdout);
    assert.equal(report.tcpip, path.join(project, 'node_modules', 'tcpip', 'lib', 'index.js'));
    const warnings = result.stderr.split('\n').filter((line) => line.includes('TCPIP_WASM_FALLBACK'));
    return { ...report, warnings, stderr: result.stderr };
  }

  it('carries the patched lwIP it builds from, the prebuilt addon and the wasm module, and no more', async function () {
    const list = await runCommand('tar', ['-tzf', tarball]);
    assert.equal(list.code, 0, describeRun('tar -t', list));
    const files = list.stdout.trim().split('\n').map((file) => file.replace(/^package\//, ''));
    for (const file of [PREBUILD, 'dist/wasm/tcpip.wasm', 'dist/wasm/tcpip.wasm.js', 'deps/lwip/COPYING',
      'deps/lwip/.tcpip-stamp', 'deps/lwip/src/core/tcp_in.c', 'deps/lwip/src/include/lwip/init.h',
      'deps/lwip/src/netif/ethernet.c', 'deps/install.js', 'binding.gyp', 'src/node/stack_binding.cc', 'lib/index.js']) {
      assert.ok(files.includes(file), `${file} is missing from the tarball`);
    }
    const outside = files.filter((file) => /^(test|bench|fuzz|examples|scripts|build|deps\/\.cache|deps\/lwip\/(test|doc|contrib)|deps\/lwip\/src\/apps)\//.test(file));
    assert.deepEqual(outside, []);

    const stamp = JSON.parse(await fs.promises.readFile(path.join(unpacked, 'package', 'deps', 'lwip', '.tcpip-stamp'), 'utf8'));
    assert.equal(stamp.source, ORIG_SHA256);
    const patches = (await fs.promises.readdir(path.join(ROOT, 'deps', 'patches'))).filter((name) => name.endsWith('.patch')).sort();
    assert.deepEqual(stamp.patches.map((patch) => patch.name), patches);
    // Every patch is applied to the sources shipped: taken back last first
    // (a later patch may change lines an earlier one wrote), each reverses
    // cleanly, on a copy.
    const reversed = path.join(unpacked, 'lwip-reversed');
    await fs.promises.cp(path.join(unpacked, 'package', 'deps', 'lwip'), reversed, { recursive: true });
    for (const patch of [...patches].reverse()) {
      const reverse = await runCommand('patch', ['-p1', '-R', '--batch', '-s', '-f',
        '-d', reversed, '-i', path.join(ROOT, 'deps', 'patches', patch)]);
      assert.equal(reverse.code, 0, describeRun(`patch -R ${patch}`, reverse));
    }
  });

  it('installs with neither a compiler nor apt, and serves on the prebuilt addon', async function () {
    for (const tool of ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'ld', 'apt-get']) {
      assert.ok(!fs.existsSync(path.join(noCompilersPath, tool)), `${tool} is still on PATH`);
    }
    const setup = await install('prebuilt', tarball, noCompilersPath);
    assert.match(setup.output, new RegExp(`tcpip: using the prebuilt addon ${PREBUILD.replace(/\./g, '\\.')}`));
    assert.ok(!fs.existsSync(path.join(setup.installed, 'build')), 'something was built');

    const run = await serveAndFetch(setup);
    assert.deepEqual(run.stacks, [{ backend: 'native', intact: true }, { backend: 'native', intact: true }]);
    assert.deepEqual(run.addons, [path.join(setup.installed, PREBUILD)]);
    assert.deepEqual(run.warnings, [], run.stderr);
  });

  it('installs with no prebuilt addon and no compiler, and serves on wasm with one warning', async function () {
    const setup = await install('no-prebuild-no-compiler', tarballWithoutPrebuild, noCompilersPath);
    assert.match(setup.output, /tcpip: no prebuilt addon loads on linux-x64 \(No native build was found/);
    assert.match(setup.output, /tcpip: building the native addon failed/);
    assert.match(setup.output, /tcpip: without the native addon, stacks use the wasm backend/);

    const run = await serveAndFetch(setup);
    assert.deepEqual(run.stacks, [{ backend: 'wasm', intact: true }, { backend: 'wasm', intact: true }]);
    assert.deepEqual(run.addons, []);
    assert.equal(run.warnings.length, 1, run.stderr);
    assert.match(run.warnings[0], /the native addon is not available \(No native build was found .*\); using the wasm backend/);
  });

  it('builds the addon from the lwIP the tarball carries where a compiler is present', async function () {
    const setup = await install('no-prebuild-compiler', tarballWithoutPrebuild, noAptPath);
    assert.match(setup.output, /tcpip: no prebuilt addon loads on linux-x64 .*; building it from the bundled lwIP/);
    assert.doesNotMatch(setup.output, /tcpip-deps:|building the native addon failed/);
    const objects = path.join(setup.installed, 'build', 'Release', 'obj.target', 'tcpip');
    for (const object of ['deps/lwip/src/core/tcp_in.o', 'deps/lwip/src/core/ipv6/ip6_frag.o', 'src/core/stack.o', 'src/node/stack_binding.o']) {
      assert.ok(fs.existsSync(path.join(objects, object)), `${object} was not compiled in the installed package`);
    }
    // Nothing was fetched: the lwIP cache stayed empty and no tree was unpacked.
    assert.deepEqual(await fs.promises.readdir(lwipCache), []);
    assert.ok(!fs.existsSync(path.join(setup.installed, 'deps', '.cache')));

    const run = await serveAndFetch(setup);
    assert.deepEqual(run.stacks, [{ backend: 'native', intact: true }, { backend: 'native', intact: true }]);
    assert.deepEqual(run.addons, [path.join(setup.installed, 'build', 'Release', 'tcpip.node')]);
    assert.deepEqual(run.warnings, [], run.stderr);
  });
});
