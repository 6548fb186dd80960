#!/usr/bin/env node
'use strict';

// Obtain lwIP 2.1.3 into deps/lwip/ and apply deps/patches/*.patch.
//
// The repository carries no lwIP source. Sources are tried in this order:
//   1. LWIP_SRC: an unpacked lwIP 2.1.3 tree, or a tarball of one;
//   2. a cached copy of Debian's orig tarball (deps/.cache/, then
//      $XDG_CACHE_HOME/tcpip/ or ~/.cache/tcpip/) from an earlier fetch;
//   3. Debian's source package `lwip`, downloaded with `apt-get source`
//      through a deb-src list derived from this system's own apt sources,
//      with private lists/cache dirs, so the system's apt state is untouched.
// The orig tarball must match a pinned SHA-256. deps/lwip/.tcpip-stamp records
// the source and patch hashes, so a second run is a no-op and a changed patch
// triggers a fresh unpack.
//
// Usage: node deps/fetch.js [--force] [--quiet]   (TCPIP_FETCH_VERBOSE=1 shows apt's output)
// API:   require('./deps/fetch.js').fetchLwip({ force, quiet }) -> { dir, source, changed }

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');

const LWIP_VERSION = '2.1.3';
const DEBIAN_UPSTREAM_VERSION = '2.1.3+dfsg1';
const ORIG_NAME = 'lwip_2.1.3+dfsg1.orig.tar.xz';
const ORIG_SHA256 = '0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24';

const DEPS_DIR = __dirname;
const LWIP_DIR = path.join(DEPS_DIR, 'lwip');
const PATCH_DIR = path.join(DEPS_DIR, 'patches');
const LOCAL_CACHE = path.join(DEPS_DIR, '.cache');
const STAMP_NAME = '.tcpip-stamp';

const HINT =
  'set LWIP_SRC=/path/to/lwip-2.1.3 (an unpacked tree or a tarball), or put ' +
  ORIG_NAME + ' into deps/.cache/, or allow `apt-get source lwip` ' +
  '(a Debian/Ubuntu system with apt, network access and lwip ' + LWIP_VERSION +
  ' in its suites)';

class FetchError extends Error {}

function fail(msg) {
  throw new FetchError(msg);
}

function sha256File(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function userCacheDir() {
  const base = process.env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : null);
  return base ? path.join(base, 'tcpip') : null;
}

function cacheDirs() {
  const dirs = [LOCAL_CACHE];
  const user = userCacheDir();
  if (user) dirs.push(user);
  return dirs;
}

function listPatches() {
  let names = [];
  try {
    names = fs.readdirSync(PATCH_DIR).filter((n) => n.endsWith('.patch'));
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  names.sort();
  return names.map((name) => {
    const file = path.join(PATCH_DIR, name);
    return { name, file, sha256: sha256File(file) };
  });
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: opts.timeout || 15 * 60 * 1000,
    cwd: opts.cwd,
    env: opts.env || process.env,
    input: opts.input,
  });
  return {
    ok: !r.error && r.status === 0,
    status: r.status,
    error: r.error,
    out: (r.stdout || '') + (r.stderr || ''),
    stdout: r.stdout || '',
  };
}

function haveCommand(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error;
}

function tail(text, n = 20) {
  return text.trim().split('\n').slice(-n).map((l) => '    ' + l).join('\n');
}

// ---------------------------------------------------------------------------
// Unpacking, checking, patching

function findLwipRoot(dir, depth = 2) {
  if (fs.existsSync(path.join(dir, 'src', 'core', 'tcp.c'))) return dir;
  if (depth === 0) return null;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    if (ent.isDirectory()) {
      const found = findLwipRoot(path.join(dir, ent.name), depth - 1);
      if (found) return found;
    }
  }
  return null;
}

function checkVersion(root, what) {
  const initH = path.join(root, 'src', 'include', 'lwip', 'init.h');
  let text;
  try {
    text = fs.readFileSync(initH, 'utf8');
  } catch {
    fail(`${what}: ${initH} is missing; this is not an lwIP source tree`);
  }
  const num = (name) => {
    const m = text.match(new RegExp('#define\\s+' + name + '\\s+(\\d+)'));
    return m ? m[1] : '?';
  };
  const found = [num('LWIP_VERSION_MAJOR'), num('LWIP_VERSION_MINOR'), num('LWIP_VERSION_REVISION')].join('.');
  if (found !== LWIP_VERSION) fail(`${what} is lwIP ${found}, but lwIP ${LWIP_VERSION} is required`);
}

function extractTarball(tarball, into) {
  if (!haveCommand('tar')) fail('`tar` is needed to unpack lwIP; install tar (and xz-utils), or ' + HINT);
  // GNU and BSD tar both detect the compression themselves with -x -f.
  const r = run('tar', ['-xf', tarball, '-C', into]);
  if (!r.ok) {
    fail(`could not unpack ${tarball} (is xz-utils installed?):\n${tail(r.out)}`);
  }
}

function applyPatch(root, patch, log) {
  if (haveCommand('patch')) {
    // Already applied (an LWIP_SRC tree that was patched before)? Then skip.
    const rev = run('patch', ['-p1', '-R', '--dry-run', '--batch', '-s', '-f', '-d', root, '-i', patch.file]);
    if (rev.ok) {
      log(`${patch.name} is already applied`);
      return;
    }
    const r = run('patch', ['-p1', '--forward', '--batch', '-s', '-d', root, '-i', patch.file]);
    if (!r.ok) fail(`patch ${patch.name} does not apply to lwIP ${LWIP_VERSION}:\n${tail(r.out)}`);
    return;
  }
  if (haveCommand('git')) {
    // Keep git from discovering an enclosing repository (deps/ lives in one).
    const env = { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(root) };
    const r = run('git', ['apply', '-p1', '--whitespace=nowarn', patch.file], { cwd: root, env });
    if (!r.ok) fail(`patch ${patch.name} does not apply to lwIP ${LWIP_VERSION}:\n${tail(r.out)}`);
    return;
  }
  fail('`patch` (or `git`) is needed to apply deps/patches/; install the patch package');
}

// Prepare a patched tree in a scratch dir next to deps/lwip, then swap it in,
// so an interrupted run never leaves a half-patched deps/lwip behind.
function installTree(populate, stamp, patches, log) {
  fs.mkdirSync(LOCAL_CACHE, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(LOCAL_CACHE, 'unpack-'));
  try {
    const root = populate(scratch);
    checkVersion(root, 'the lwIP source');
    for (const p of patches) applyPatch(root, p, log);
    fs.writeFileSync(path.join(root, STAMP_NAME), JSON.stringify(stamp, null, 2) + '\n');
    // Move the old tree aside (removed with the scratch dir), then swap in.
    try {
      fs.renameSync(LWIP_DIR, path.join(scratch, 'old'));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    try {
      fs.renameSync(root, LWIP_DIR);
    } catch (e) {
      // A concurrent run may have just installed the same tree.
      if (!sameStamp(readStamp(), stamp)) throw e;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(path.join(LWIP_DIR, STAMP_NAME), 'utf8'));
  } catch {
    return null;
  }
}

function sameStamp(a, b) {
  return !!a && !!b && JSON.stringify(a) === JSON.stringify(b);
}

function makeStamp(source, patches) {
  return {
    lwip: LWIP_VERSION,
    source,
    patches: patches.map((p) => ({ name: p.name, sha256: p.sha256 })),
  };
}

// ---------------------------------------------------------------------------
// Source 2: caches

function findCachedTarball(log) {
  for (const dir of cacheDirs()) {
    const file = path.join(dir, ORIG_NAME);
    if (!fs.existsSync(file)) continue;
    const sum = sha256File(file);
    if (sum === ORIG_SHA256) return file;
    log(`ignoring ${file}: SHA-256 ${sum} does not match the pinned ${ORIG_SHA256}`);
  }
  return null;
}

function storeInCaches(file, log) {
  let stored = false;
  for (const dir of cacheDirs()) {
    const dest = path.join(dir, ORIG_NAME);
    if (path.resolve(dest) === path.resolve(file)) {
      stored = true;
      continue;
    }
    try {
      fs.mkdirSync(dir, { recursive: true });
      const tmp = dest + '.tmp-' + process.pid;
      fs.copyFileSync(file, tmp);
      fs.renameSync(tmp, dest);
      stored = true;
    } catch (e) {
      // The user cache is a convenience; deps/.cache is the one that matters.
      if (dir === LOCAL_CACHE) log(`could not cache ${ORIG_NAME} in ${dir}: ${e.message}`);
    }
  }
  return stored;
}

// ---------------------------------------------------------------------------
// Source 3: Debian's source package through apt, with private state

function aptConfigPaths() {
  const r = run('apt-config', ['shell', 'SL', 'Dir::Etc::sourcelist/f', 'SP', 'Dir::Etc::sourceparts/d']);
  const paths = { list: '/etc/apt/sources.list', parts: '/etc/apt/sources.list.d' };
  if (r.ok) {
    const sl = r.stdout.match(/^SL='([^']*)'/m);
    const sp = r.stdout.match(/^SP='([^']*)'/m);
    if (sl && sl[1]) paths.list = sl[1];
    if (sp && sp[1]) paths.parts = sp[1];
  }
  return paths;
}

// One-line format: every `deb` (or `deb-src`) entry becomes a `deb-src` entry.
function deriveOneLine(text) {
  const out = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = line.match(/^deb(?:-src)?(\s.*)$/);
    if (m) out.push('deb-src' + m[1]);
  }
  return out;
}

// deb822 format: stanzas whose Types include deb (or deb-src) get `Types: deb-src`;
// every other field (URIs, Suites, Components, Signed-By with continuation lines,
// Enabled, ...) is kept as it is.
function deriveDeb822(text) {
  const stanzas = text.replace(/\r/g, '').split(/\n[ \t]*\n/);
  const out = [];
  for (const stanza of stanzas) {
    const lines = stanza.split('\n').filter((l) => !/^#/.test(l) && l.length > 0);
    const typesIdx = lines.findIndex((l) => /^Types\s*:/i.test(l));
    if (typesIdx < 0) continue;
    const types = lines[typesIdx].replace(/^Types\s*:/i, '').trim().split(/\s+/);
    if (!types.includes('deb') && !types.includes('deb-src')) continue;
    lines[typesIdx] = 'Types: deb-src';
    out.push(lines.join('\n'));
  }
  return out;
}

function deriveSourceList(privEtc) {
  const conf = aptConfigPaths();
  const partsDir = path.join(privEtc, 'sources.list.d');
  fs.mkdirSync(partsDir, { recursive: true });
  const oneLine = [];
  let deb822Files = 0;
  const readIf = (f) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return null;
    }
  };
  const main = readIf(conf.list);
  if (main) oneLine.push(...deriveOneLine(main));
  let entries = [];
  try {
    entries = fs.readdirSync(conf.parts).sort();
  } catch {
    /* no sources.list.d */
  }
  for (const name of entries) {
    const text = readIf(path.join(conf.parts, name));
    if (text == null) continue;
    if (name.endsWith('.list')) {
      oneLine.push(...deriveOneLine(text));
    } else if (name.endsWith('.sources')) {
      const stanzas = deriveDeb822(text);
      if (stanzas.length) {
        fs.writeFileSync(path.join(partsDir, name), stanzas.join('\n\n') + '\n');
        deb822Files++;
      }
    }
  }
  const unique = [...new Set(oneLine)];
  if (unique.length) fs.writeFileSync(path.join(partsDir, 'derived.list'), unique.join('\n') + '\n');
  return { count: unique.length + deb822Files, partsDir, mainList: path.join(privEtc, 'sources.list') };
}

function fetchWithApt(log) {
  if (!haveCommand('apt-get')) fail('no lwIP source found, and `apt-get` is not available: ' + HINT);

  const priv = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-apt-'));
  try {
    const etc = path.join(priv, 'etc');
    const lists = path.join(priv, 'lists');
    const cache = path.join(priv, 'cache');
    const download = path.join(priv, 'download');
    for (const d of [etc, path.join(lists, 'partial'), path.join(cache, 'archives', 'partial'), download]) {
      fs.mkdirSync(d, { recursive: true });
    }
    const derived = deriveSourceList(etc);
    if (derived.count === 0) fail('no lwIP source found, and no apt sources to derive a deb-src list from: ' + HINT);

    // As root, apt downloads as the unprivileged `_apt` user: let it write here.
    if (process.getuid && process.getuid() === 0) {
      fs.chmodSync(priv, 0o755);
      const who = run('id', ['-u', '_apt']);
      if (who.ok) {
        const uid = Number(who.stdout.trim());
        for (const d of [path.join(lists, 'partial'), path.join(cache, 'archives', 'partial'), download]) {
          try {
            fs.chownSync(d, uid, -1);
          } catch {
            /* apt then downloads unsandboxed and says so */
          }
        }
      }
    }

    const opts = [
      '-q',
      '-o', 'Dir::Etc::sourcelist=' + derived.mainList,
      '-o', 'Dir::Etc::sourceparts=' + derived.partsDir,
      '-o', 'Dir::State::Lists=' + lists,
      '-o', 'Dir::Cache=' + cache,
      '-o', 'Dir::Cache::archives=' + path.join(cache, 'archives'),
      '-o', 'Dir::Cache::pkgcache=',
      '-o', 'Dir::Cache::srcpkgcache=',
      '-o', 'APT::Get::List-Cleanup=false',
      '-o', 'Acquire::Languages=none',
    ];
    const env = { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' };

    log('apt-get update (deb-src only, private lists) ...');
    const verbose = (what, r) => {
      if (process.env.TCPIP_FETCH_VERBOSE) log(`${what}:\n${tail(r.out, 1000)}`);
    };
    const upd = run('apt-get', [...opts, 'update'], { env });
    verbose('apt-get update', upd);
    // A third-party repository without sources is not fatal; a missing lwip is.
    if (!upd.ok) log(`apt-get update reported problems (continuing):\n${tail(upd.out, 8)}`);

    const show = run('apt-cache', [...opts, 'showsrc', 'lwip'], { env });
    const versions = [...show.stdout.matchAll(/^Version:\s*(\S+)/gm)].map((m) => m[1]);
    const wanted = versions.filter((v) => v.replace(/^\d+:/, '').startsWith(DEBIAN_UPSTREAM_VERSION + '-'));
    if (wanted.length === 0) {
      const why = versions.length
        ? `the apt sources offer lwip ${[...new Set(versions)].join(', ')}, not ${DEBIAN_UPSTREAM_VERSION}`
        : `the apt sources offer no lwip source package${upd.ok ? '' : ` (apt-get update failed:\n${tail(upd.out, 8)}\n)`}`;
      fail(`no lwIP source found, and ${why}: ` + HINT);
    }
    const version = wanted[0];

    log(`apt-get source --download-only lwip=${version} ...`);
    const src = run('apt-get', [...opts, 'source', '--download-only', `lwip=${version}`], { cwd: download, env });
    verbose('apt-get source', src);
    const file = path.join(download, ORIG_NAME);
    if (!src.ok || !fs.existsSync(file)) {
      fail(`apt-get source lwip=${version} failed:\n${tail(src.out)}\n` + HINT);
    }
    const sum = sha256File(file);
    if (sum !== ORIG_SHA256) {
      fail(`refusing ${ORIG_NAME} from apt: SHA-256 ${sum} does not match the pinned ${ORIG_SHA256}`);
    }
    if (!storeInCaches(file, log)) fail(`could not store ${ORIG_NAME} in ${LOCAL_CACHE}`);
    return path.join(LOCAL_CACHE, ORIG_NAME);
  } finally {
    fs.rmSync(priv, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

function fetchLwip(options = {}) {
  const quiet = !!options.quiet;
  const log = (msg) => {
    if (!quiet) process.stderr.write('tcpip-deps: ' + msg + '\n');
  };
  const patches = listPatches();
  const override = process.env.LWIP_SRC;

  // Source 1: LWIP_SRC, a tree or a tarball.
  if (override) {
    const src = path.resolve(override);
    let st;
    try {
      st = fs.statSync(src);
    } catch {
      fail(`LWIP_SRC=${override} does not exist`);
    }
    if (st.isDirectory()) {
      const root = findLwipRoot(src);
      if (!root) fail(`LWIP_SRC=${override} holds no lwIP tree (no src/core/tcp.c)`);
      if (path.resolve(root) === path.resolve(LWIP_DIR)) fail('LWIP_SRC must not point at deps/lwip itself');
      const stamp = makeStamp('dir:' + fs.realpathSync(root), patches);
      if (!options.force && sameStamp(readStamp(), stamp)) return { dir: LWIP_DIR, source: stamp.source, changed: false };
      log(`copying lwIP from ${root}`);
      installTree((scratch) => {
        const dest = path.join(scratch, 'lwip');
        fs.cpSync(root, dest, { recursive: true, filter: (s) => path.basename(s) !== '.git' });
        fs.rmSync(path.join(dest, STAMP_NAME), { force: true });
        return dest;
      }, stamp, patches, log);
      log(`lwIP ${LWIP_VERSION} ready in ${LWIP_DIR}`);
      return { dir: LWIP_DIR, source: stamp.source, changed: true };
    }
    const sum = sha256File(src);
    const stamp = makeStamp(sum, patches);
    if (!options.force && sameStamp(readStamp(), stamp)) return { dir: LWIP_DIR, source: sum, changed: false };
    if (sum === ORIG_SHA256) storeInCaches(src, log);
    else log(`LWIP_SRC tarball is not Debian's ${ORIG_NAME}; trusting it as an explicit override`);
    log(`unpacking ${src}`);
    installTree((scratch) => {
      extractTarball(src, scratch);
      const root = findLwipRoot(scratch);
      if (!root) fail(`LWIP_SRC=${override} holds no lwIP tree (no src/core/tcp.c)`);
      return root;
    }, stamp, patches, log);
    log(`lwIP ${LWIP_VERSION} ready in ${LWIP_DIR}`);
    return { dir: LWIP_DIR, source: sum, changed: true };
  }

  const stamp = makeStamp(ORIG_SHA256, patches);
  if (!options.force && sameStamp(readStamp(), stamp)) return { dir: LWIP_DIR, source: ORIG_SHA256, changed: false };

  // Source 2: a cache; source 3: apt.
  let tarball = findCachedTarball(log);
  if (tarball) {
    log(`using cached ${tarball}`);
    if (path.dirname(tarball) !== LOCAL_CACHE) storeInCaches(tarball, log);
  } else {
    tarball = fetchWithApt(log);
  }
  log(`unpacking ${ORIG_NAME}`);
  installTree((scratch) => {
    extractTarball(tarball, scratch);
    const root = path.join(scratch, 'lwip-' + LWIP_VERSION);
    if (!fs.existsSync(path.join(root, 'src', 'core', 'tcp.c'))) fail(`${ORIG_NAME} did not unpack to lwip-${LWIP_VERSION}/`);
    return root;
  }, stamp, patches, log);
  log(`lwIP ${LWIP_VERSION} ready in ${LWIP_DIR}`);
  return { dir: LWIP_DIR, source: ORIG_SHA256, changed: true };
}

module.exports = { fetchLwip, FetchError, ORIG_NAME, ORIG_SHA256, LWIP_DIR };

if (require.main === module) {
  const args = process.argv.slice(2);
  try {
    fetchLwip({ force: args.includes('--force'), quiet: args.includes('--quiet') });
  } catch (e) {
    const msg = e instanceof FetchError ? e.message : e && e.stack ? e.stack : String(e);
    process.stderr.write('tcpip-deps: error: ' + msg + '\n');
    process.exit(1);
  }
}
