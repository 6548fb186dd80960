'use strict';
// Browser tests: bundle fixture pages (webpack 5, esbuild), serve them from
// 127.0.0.1, and run them in Debian's Chromium through playwright-core.
// Nothing is downloaded: playwright-core drives the system's browser.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'browser');
const WASM_JS = path.join(ROOT, 'dist', 'wasm', 'tcpip.wasm.js');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// No sandbox (root in CI), and nothing that talks to the network by itself;
// host names other than 127.0.0.1 resolve to nothing.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/** Why the browser tests cannot run here, or null. */
function missingPrerequisite() {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (scripts/setup.sh installs Debian's chromium)`;
  for (const name of ['playwright-core', 'webpack', 'esbuild']) {
    try {
      require.resolve(name);
    } catch {
      return `the devDependency ${name} is not installed (npm install)`;
    }
  }
  return null;
}

/** The wasm module for bundles (dist/wasm/tcpip.wasm.js), built if missing. */
function ensureWasmBuilt() {
  if (fs.existsSync(WASM_JS)) return;
  const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-wasm.js'), '--quiet'], {
    cwd: ROOT, encoding: 'utf8',
  });
  if (result.status !== 0 || !fs.existsSync(WASM_JS)) {
    throw new Error(`npm run build:wasm failed:\n${result.stdout}${result.stderr}`);
  }
}

function writePage(outDir, name) {
  fs.writeFileSync(path.join(outDir, `${name}.html`),
    `<!doctype html>\n<meta charset="utf-8">\n<title>${name}</title>\n<script src="${name}.js"></script>\n`);
}

/**
 * Bundles fixture entries with webpack 5 as the README tells users to:
 * `resolve.fallback.net` is 'tcpip/polyfill/net', and ProvidePlugin gives the
 * global Buffer. 'tcpip' resolves to this
 * repository through its package.json (a package may import itself by
 * name), with its "exports" and "browser" fields, as from node_modules.
 * @param {Record<string, string>} entries page name -> fixture file
 */
function bundleWithWebpack(entries, outDir) {
  const webpack = require('webpack');
  const config = {
    mode: 'development',
    devtool: false,
    target: 'web',
    context: FIXTURES,
    entry: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, `./${file}`])),
    output: { path: outDir, filename: '[name].js' },
    resolve: { fallback: { net: 'tcpip/polyfill/net' } },
    // Node code uses the global Buffer (the client library here does).
    plugins: [new webpack.ProvidePlugin({ Buffer: ['buffer', 'Buffer'] })],
    performance: { hints: false },
    infrastructureLogging: { level: 'error' },
  };
  return new Promise((resolve, reject) => {
    webpack(config, (error, stats) => {
      if (error) return reject(error);
      if (stats.hasErrors() || stats.hasWarnings()) {
        return reject(new Error(`webpack:\n${stats.toString({ all: false, errors: true, warnings: true })}`));
      }
      for (const name of Object.keys(entries)) writePage(outDir, name);
      return resolve(stats);
    });
  });
}

/**
 * Bundles one fixture entry with esbuild and the alias that esbuild and Vite
 * users write: { net: 'tcpip/polyfill/net' }, and `inject` for the global Buffer.
 */
async function bundleWithEsbuild(name, file, outDir) {
  const esbuild = require('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(FIXTURES, file)],
    outfile: path.join(outDir, `${name}.js`),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    alias: { net: 'tcpip/polyfill/net' },
    inject: [path.join(FIXTURES, 'buffer-global.js')],
    logLevel: 'silent',
  });
  if (result.errors.length || result.warnings.length) {
    throw new Error(`esbuild: ${JSON.stringify([...result.errors, ...result.warnings], null, 2)}`);
  }
  writePage(outDir, name);
  return result;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm' };

/**
 * A static file server for `dir` on 127.0.0.1 (an ephemeral port).
 * `serve(name, file)` adds a file from elsewhere under `name` (v86's build
 * and the guest's files, served from where they are).
 */
function serveStatic(dir) {
  const extra = new Map();
  const server = http.createServer((req, res) => {
    const name = path.basename(decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname));
    const file = extra.get(name) || path.join(dir, name);
    fs.readFile(file, (error, body) => {
      if (error) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' }).end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        serve: (name, file) => extra.set(name, file),
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}

/** Debian's Chromium; `args` are more command-line flags. */
function launchChromium(args = []) {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...args], timeout: 30000 });
}

/**
 * A new page in its own context that may reach 127.0.0.1 only. `problems`
 * collects what must fail a test or a benchmark: a blocked request, a
 * console error, an uncaught page error, a failed request; `log` keeps the
 * console.
 */
async function openGuardedPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  const log = [];
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1') route.continue();
    else {
      problems.push(`request to ${route.request().url()} blocked`);
      route.abort();
    }
  });
  page.on('console', (message) => {
    log.push(`${message.type()}: ${message.text()}`);
    if (message.type() === 'error') problems.push(`console.error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.stack || error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure() && request.failure().errorText}`));
  return { context, page, problems, log };
}

/**
 * Opens `url`, waits for the page to set `window.result`, and returns it.
 * Rejects on any console error, uncaught page error or failed request; only
 * 127.0.0.1 may be reached.
 */
async function runPage(browser, url, timeout) {
  const { context, page, problems, log } = await openGuardedPage(browser);
  try {
    await page.goto(url, { waitUntil: 'load', timeout });
    const done = page.waitForFunction(() => window.result !== undefined, null, { timeout, polling: 100 });
    // An uncaught error usually means no result will ever come: stop early.
    const failed = new Promise((resolve) => {
      const timer = setInterval(() => { if (problems.length) { clearInterval(timer); resolve(); } }, 100);
      done.finally(() => clearInterval(timer)).catch(() => {});
    });
    await Promise.race([done, failed]);
    const result = problems.length ? undefined : await page.evaluate(() => window.result);
    if (problems.length) throw new Error(`${url}:\n${problems.join('\n')}\nconsole:\n${log.join('\n')}`);
    return result;
  } finally {
    await context.close();
  }
}

module.exports = {
  ROOT, FIXTURES, missingPrerequisite, ensureWasmBuilt, bundleWithWebpack, bundleWithEsbuild, serveStatic,
  launchChromium, openGuardedPage, runPage,
};
