'use strict';
// The wasm backend in Chromium against the wasm backend in Node, on the same
// workloads in the same run: one stack's loopback socket to socket, and two
// stacks joined by TUN hooks in JS (MTU 65535). The workloads are one module
// (bench/fixtures/workload.js) that Node requires and the page bundles
// (esbuild, as the README shows; BENCH_BUNDLER=webpack for webpack 5). The
// page is served from 127.0.0.1 and runs in Debian's Chromium through
// playwright-core; Node and Chromium rounds alternate, and each side keeps
// its best. Without Chromium or the bundlers it says why and skips.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Stack } = require('..');
const browserHelper = require('../test/helpers/browser.js');
const workload = require('./fixtures/workload.js');
const { format, TCPIP_JS_GBPS } = require('./common.js');

const MiB = 1024 * 1024;
const WARMUP_BYTES = 32 * MiB;
const ROUND_TIMEOUT_MS = 60000;
const PING_WARMUP = 500;
const PING_COUNT = 2000;

const WORKLOADS = [
  { key: 'loopback', name: 'one stack, loopback socket to socket' },
  { key: 'tun', name: 'two stacks, TUN hooks in JS (MTU 65535)' },
];

function skip(reason) {
  console.log(`browser (wasm in Chromium against wasm in Node): skipped: ${reason}`);
}

async function bundle(outDir, bundler) {
  // The helper bundles entries relative to the test fixtures; the page lives here.
  const entry = path.relative(browserHelper.FIXTURES, path.join(__dirname, 'fixtures', 'page.js'));
  if (bundler === 'webpack') await browserHelper.bundleWithWebpack({ bench: entry }, outDir);
  else await browserHelper.bundleWithEsbuild('bench', entry, outDir);
}

/**
 * Opens the page once and keeps it: run(name, bytes) calls window.bench.run
 * in it. As the browser tests' runPage: only 127.0.0.1 may be reached, and a
 * console error, page error or failed request fails the round.
 */
async function openPage(browser, url) {
  const { context, page, problems } = await browserHelper.openGuardedPage(browser);
  const check = () => {
    if (problems.length) throw new Error(`${url}:\n${problems.join('\n')}`);
  };
  const within = (promise, what) => {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  await page.goto(url, { waitUntil: 'load', timeout: ROUND_TIMEOUT_MS });
  await within(page.evaluate(() => window.bench.ready), 'init()');
  check();
  return {
    async run(name, bytes) {
      const result = await within(page.evaluate(([n, b]) => window.bench.run(n, b), [name, bytes]), name);
      check();
      return result;
    },
    close: () => context.close(),
  };
}

async function main() {
  const bytes = Number(process.env.BENCH_BYTES || 256 * MiB);
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const bundler = process.env.BENCH_BUNDLER === 'webpack' ? 'webpack' : 'esbuild';

  const missing = browserHelper.missingPrerequisite();
  if (missing) return skip(missing);
  try {
    browserHelper.ensureWasmBuilt();
  } catch (error) {
    return skip(`the wasm module is not built and could not be (${error.message.split('\n')[0]})`);
  }

  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-bench-browser-'));
  let browser = null;
  let site = null;
  let page = null;
  try {
    // Chromium starts while the bundler runs.
    const launching = browserHelper.launchChromium().then((b) => { browser = b; });
    const [launched, bundled] = await Promise.allSettled([launching, bundle(outDir, bundler)]);
    if (launched.status === 'rejected') return skip(`Chromium did not start (${launched.reason.message.split('\n')[0]})`);
    if (bundled.status === 'rejected') throw bundled.reason;
    site = await browserHelper.serveStatic(outDir);
    page = await openPage(browser, `${site.url}/bench.html`);

    const sides = {
      chromium: (name, n) => page.run(name, n),
      node: (name, n) => workload.run(Stack, name, n),
    };
    const best = {};
    for (const w of WORKLOADS) best[w.key] = { chromium: null, node: null };

    // Warm both JITs (and wasm tier-up) on every workload before timing.
    for (const w of WORKLOADS) {
      for (const side of Object.keys(sides)) await sides[side](w.key, WARMUP_BYTES);
    }
    for (let round = 0; round < rounds; round++) {
      for (const w of WORKLOADS) {
        // Alternate who goes first, so neither always runs right after the other.
        const order = round % 2 === 0 ? ['node', 'chromium'] : ['chromium', 'node'];
        for (const side of order) {
          const r = await sides[side](w.key, bytes);
          if (r.bytes < bytes) throw new Error(`${side} ${w.key}: ${r.bytes} of ${bytes} bytes`);
          if (!best[w.key][side] || r.gbps > best[w.key][side].gbps) best[w.key][side] = r;
        }
      }
    }

    const version = browser.version();
    console.log(`browser: wasm backend in Chromium ${version} against the wasm backend in Node ${process.version}, ` +
      `${bytes / MiB} MiB per run, best of ${rounds}, interleaved (${bundler} bundle)`);
    const kpps = (r) => `${format(r.packets / r.seconds / 1000, 0)} kpackets/s`;
    for (const w of WORKLOADS) {
      const { chromium, node } = best[w.key];
      console.log(`  ${w.name}`);
      console.log(`    Chromium ${format(chromium.gbps).padStart(6)} Gbit/s${chromium.packets ? `  ${kpps(chromium)}` : ''}`);
      console.log(`    Node     ${format(node.gbps).padStart(6)} Gbit/s${node.packets ? `  ${kpps(node)}` : ''}`);
      console.log(`    Chromium / Node: ${format(chromium.gbps / node.gbps)}x`);
    }
    // 1-byte round trips, one at a time: what each scheduling step costs.
    const latency = { chromium: Infinity, node: Infinity };
    for (const side of Object.keys(sides)) await sides[side]('pingpong', PING_WARMUP);
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? ['node', 'chromium'] : ['chromium', 'node']) {
        const r = await sides[side]('pingpong', PING_COUNT);
        latency[side] = Math.min(latency[side], r.microseconds);
      }
    }
    console.log(`  1-byte round trip, one stack (${PING_COUNT} per run)`);
    console.log(`    Chromium ${format(latency.chromium, 1).padStart(6)} µs`);
    console.log(`    Node     ${format(latency.node, 1).padStart(6)} µs`);
    console.log(`    Chromium / Node: ${format(latency.chromium / latency.node)}x`);
    const joined = best.tun.chromium.gbps;
    console.log(`  Chromium, two stacks in JS: ${format(joined / TCPIP_JS_GBPS, 1)}x tcpip.js's ${TCPIP_JS_GBPS} Gbit/s ` +
      '(a stated reference from issue 4, not measured here)');
    return best;
  } finally {
    if (page) await page.close().catch(() => {});
    if (browser) await browser.close().catch(() => {});
    if (site) await site.close();
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main };
