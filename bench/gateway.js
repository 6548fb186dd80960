'use strict';
// The WebSocket gateway (issue 11): one TCP flow client -> gateway -> host
// server, upload and download, for a native-stack and a wasm-stack client
// in Node and a wasm stack in a Chromium page (its own WebSocket), next to
// the same transfers over the kernel loopback in the same run; connect+close
// flows per second through the gateway against the kernel's; and the
// gateway's CPU per gigabyte uploaded against the kernel transfer's.
//
// The gateway runs in a child process of its own (`--gateway`), so that its
// CPU (process.cpuUsage(): every thread of the process) is measured apart
// from the clients' and the host servers', which run here. As the NAT tests
// do, the clients connect to a documentation address that the gateway
// redirects to the host servers on 127.0.0.1, and `allow` lets loopback pass.
// The page is bundled with esbuild and runs in Debian's Chromium through
// playwright-core (test/helpers/browser.js); without them it is left out,
// and the output says why.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const nodeNet = require('node:net');
const { fork } = require('node:child_process');
const { Stack, createGateway, connectTunnel } = require('..');
const workload = require('./fixtures/gateway-workload.js');
const { format, machineLine } = require('./common.js');

const MiB = 1024 * 1024;
const SERVICE = '198.51.100.1';
const TOKEN = 'bench-token';
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);
const PAGE_TIMEOUT_MS = 120000;

// ------------------------------------------------------------ the gateway

function gatewayChild(mtu) {
  const gateway = createGateway({
    mtu,
    port: 0,
    host: '127.0.0.1',
    token: TOKEN,
    dns: false,
    allow: ['127.0.0.0/8'],
    redirect: ({ address, port }) => (address === SERVICE ? { address: '127.0.0.1', port } : null),
    backend: process.env.BENCH_GATEWAY_BACKEND || 'native',
  });
  gateway.once('listening', () => process.send({ port: gateway.address().port }));
  gateway.on('error', (error) => {
    console.error(error);
    process.exit(1);
  });
  process.on('message', (request) => {
    if (request === 'cpu') process.send({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => gateway.close().then(() => process.exit(0)));
}

// The gateway in its child: { url, cpu() (its user+system µs so far), end() }.
function startGateway(mtu) {
  const child = fork(__filename, ['--gateway', String(mtu)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let waiting = null;
  child.on('message', (message) => {
    const settle = waiting;
    waiting = null;
    if (settle) settle(message);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const next = () => new Promise((resolve) => { waiting = resolve; });
  return next().then(({ port }) => ({
    url: `ws://127.0.0.1:${port}/`,
    async cpu() {
      const answer = next();
      child.send('cpu');
      const { cpu } = await answer;
      return cpu.user + cpu.system;
    },
    end() {
      child.disconnect();
      return exited;
    },
  }));
}

// ------------------------------------------------------------ the clients

// A client target: run(kind, port, amount) runs the workload `kind`
// (upload, download, flows) against the host server on `port`.
async function joinClient(gateway, backend, mtu) {
  const stack = new Stack({ backend }); // a native one on the JS thread, the default
  const tap = stack.createTapInterface({ ipAddress: 'dhcp', mtu });
  const tunnel = await connectTunnel(tap, gateway.url, { token: TOKEN });
  await tap.dhcp();
  return {
    gateway,
    run: (kind, port, amount) => workload[kind](stack.net, SERVICE, port, amount),
    async teardown() {
      await tunnel.close();
      stack.destroy();
    },
  };
}

// Chromium with the gateway page (bench/fixtures/gateway-page.js), or why not.
async function openBrowser() {
  const browserHelper = require('../test/helpers/browser.js');
  const missing = browserHelper.missingPrerequisite();
  if (missing) return { skipped: missing };
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-bench-gateway-'));
  let browser = null;
  let site = null;
  const close = async () => {
    if (browser) await browser.close().catch(() => {});
    if (site) await site.close();
    fs.rmSync(outDir, { recursive: true, force: true });
  };
  try {
    browserHelper.ensureWasmBuilt();
    const entry = path.relative(browserHelper.FIXTURES, path.join(__dirname, 'fixtures', 'gateway-page.js'));
    const launching = browserHelper.launchChromium().then((launched) => { browser = launched; });
    await Promise.all([launching, browserHelper.bundleWithEsbuild('gateway', entry, outDir)]);
    site = await browserHelper.serveStatic(outDir);
    const { page, problems } = await browserHelper.openGuardedPage(browser);
    // Every call into the page: bounded in time, and a console error or a
    // page error fails the run.
    const call = async (what, fn, arg) => {
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`page: ${what}: no answer in ${PAGE_TIMEOUT_MS} ms`)), PAGE_TIMEOUT_MS);
      });
      let result;
      try {
        result = await Promise.race([page.evaluate(fn, arg), timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (problems.length) throw new Error(`page: ${what}:\n${problems.join('\n')}`);
      return result;
    };
    await page.goto(`${site.url}/gateway.html`, { waitUntil: 'load', timeout: PAGE_TIMEOUT_MS });
    await call('init()', () => window.gatewayBench.ready);
    return { version: browser.version(), call, close };
  } catch (error) {
    await close();
    return { skipped: `Chromium did not run the page (${error.message.split('\n')[0]})` };
  }
}

// The page's wasm stack joined to `gateway` as a target.
async function joinPage(chromium, gateway, mtu) {
  const key = `mtu${mtu}`;
  await chromium.call('join', ([k, url, token, m]) => window.gatewayBench.join(k, url, token, m), [key, gateway.url, TOKEN, mtu]);
  return {
    gateway,
    page: true,
    run: (kind, port, amount) => chromium.call(kind, ([k, kd, host, p, n]) => window.gatewayBench.run(k, kd, host, p, n),
      [key, kind, SERVICE, port, amount]),
    teardown: () => chromium.call('leave', (k) => window.gatewayBench.leave(k), key),
  };
}

// The host sink on 127.0.0.1: counts what each connection sends, times it
// from its connection to its end, and answers its end with its own.
async function hostSink() {
  const server = nodeNet.createServer((socket) => {
    let received = 0;
    const started = performance.now();
    socket.on('data', (chunk) => { received += chunk.length; });
    socket.on('end', () => {
      server.emit('transfer', { received, seconds: (performance.now() - started) / 1000 });
      socket.end();
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

// The host source on 127.0.0.1: reads a byte count and a newline, sends
// that many bytes in 64 KiB writes that honour back-pressure, and ends.
async function hostSource() {
  const server = nodeNet.createServer((socket) => {
    let head = '';
    socket.on('error', () => {});
    socket.on('data', function request(chunk) {
      head += chunk.toString('latin1');
      const newline = head.indexOf('\n');
      if (newline === -1) return;
      socket.off('data', request);
      let left = Number(head.slice(0, newline));
      const pump = () => {
        while (left > 0) {
          const chunkBytes = Math.min(left, CHUNK.length);
          left -= chunkBytes;
          if (!socket.write(chunkBytes === CHUNK.length ? CHUNK : CHUNK.subarray(0, chunkBytes))) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      pump();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

// One flow sending `bytes` to the host sink: Gbit/s, as the sink saw it.
async function upload(target, sink, bytes) {
  const transfer = new Promise((resolve) => sink.once('transfer', resolve));
  await target.run('upload', sink.address().port, bytes);
  const { received, seconds } = await transfer;
  if (received !== bytes) throw new Error(`received ${received} of ${bytes} bytes`);
  return (received * 8) / seconds / 1e9;
}

// One flow fetching `bytes` from the host source: Gbit/s, as the client saw it.
async function download(target, source, bytes) {
  const { bytes: received, seconds } = await target.run('download', source.address().port, bytes);
  if (received !== bytes) throw new Error(`received ${received} of ${bytes} bytes`);
  return (received * 8) / seconds / 1e9;
}

// Sequential connect + close: flows per second.
async function flows(target, sink, count) {
  const { seconds } = await target.run('flows', sink.address().port, count);
  return count / seconds;
}

async function main() {
  const bytes = Number(process.env.BENCH_BYTES || 256 * MiB);
  // A page moves tens of Mbit/s where Node clients move Gbit/s: fewer bytes.
  const pageBytes = Number(process.env.BENCH_PAGE_BYTES || 32 * MiB);
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const flowCount = Number(process.env.BENCH_CONNECTIONS || 500);
  const pageFlowCount = Math.min(flowCount, 100);
  const startLine = machineLine();
  const sink = await hostSink();
  const source = await hostSource();
  // A gateway per MTU (its option and the clients' TAP's): 1500, what every
  // client speaks, and 9000, jumbo frames for clients that set it too.
  const mtus = (process.env.BENCH_GATEWAY_MTUS || '1500,9000').split(',').map(Number);
  const clients = (process.env.BENCH_GATEWAY_CLIENTS || 'native,wasm,page').split(',');
  const gateways = [];
  const kernel = {
    name: 'kernel loopback (node:net)', gateway: null, teardown() {},
    run: (kind, port, amount) => workload[kind](nodeNet, '127.0.0.1', port, amount),
  };
  const targets = [kernel];
  let chromium = null;
  try {
    if (clients.includes('page')) chromium = await openBrowser();
    for (const mtu of mtus) {
      const gateway = await startGateway(mtu);
      gateways.push(gateway);
      for (const client of clients) {
        if (client === 'page') {
          if (chromium.skipped) continue;
          targets.push({ name: `wasm stack in Chromium, MTU ${mtu}`, ...(await joinPage(chromium, gateway, mtu)) });
        } else {
          targets.push({ name: `${client} stack, MTU ${mtu}`, ...(await joinClient(gateway, client, mtu)) });
        }
      }
    }
    for (const target of targets) {
      target.bytes = target.page ? pageBytes : bytes;
      target.flowCount = target.page ? pageFlowCount : flowCount;
      await upload(target, sink, Math.min(target.bytes, 32 * MiB));
      await download(target, source, Math.min(target.bytes, 32 * MiB));
      await flows(target, sink, 50);
      target.gbps = 0;
      target.downGbps = 0;
      target.flows = 0;
      target.cpuPerGB = Infinity;
      target.clientCpuPerGB = Infinity;
    }
    // Round after round, each target in turn: a noisy neighbour hits them
    // alike. CPU per GB: the gateway's process for a gateway target, this
    // process (client and server both) for the kernel's; a page's own CPU
    // is Chromium's, not measured.
    for (let round = 0; round < rounds; round++) {
      for (const target of targets) {
        const before = target.gateway ? await target.gateway.cpu() : 0;
        const here = cpuHere();
        target.gbps = Math.max(target.gbps, await upload(target, sink, target.bytes));
        const ownUsed = cpuHere() - here;
        const used = target.gateway ? await target.gateway.cpu() - before : ownUsed;
        target.cpuPerGB = Math.min(target.cpuPerGB, used / 1e6 / (target.bytes / 1e9));
        target.clientCpuPerGB = Math.min(target.clientCpuPerGB, ownUsed / 1e6 / (target.bytes / 1e9));
        target.downGbps = Math.max(target.downGbps, await download(target, source, target.bytes));
        target.flows = Math.max(target.flows, await flows(target, sink, target.flowCount));
      }
    }
  } finally {
    for (const target of targets) await target.teardown();
    if (chromium && chromium.close) await chromium.close();
    for (const gateway of gateways) await gateway.end();
    sink.close();
    source.close();
  }
  const [base] = targets;
  console.log('gateway: one TCP flow client -> gateway (a child process) -> host server on 127.0.0.1, up and down,'
    + ` ${bytes / MiB} MiB per run (a page: ${pageBytes / MiB} MiB, ${pageFlowCount} flows), ${flowCount} connect+close`
    + ` flows, best of ${rounds}; at start: ${startLine}; at end: load average`
    + ` ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (chromium && chromium.skipped) console.log(`  (no page: ${chromium.skipped})`);
  else if (chromium) console.log(`  (the page: Chromium ${chromium.version})`);
  console.log(`  ${'target'.padEnd(36)} ${'up Gbit/s'.padStart(9)}  ratio  ${'down'.padStart(6)}  ratio  ${'flows/s'.padStart(8)}`
    + '  ratio  CPU s/GB up: gateway process (kernel: both ends); client and host server process');
  for (const t of targets) {
    const clientCpu = t.page ? '-' : format(t.clientCpuPerGB);
    console.log(`  ${t.name.padEnd(36)} ${format(t.gbps, 3).padStart(9)}  ${format(t.gbps / base.gbps, 3)}x`
      + ` ${format(t.downGbps, 3).padStart(6)}  ${format(t.downGbps / base.downGbps, 3)}x`
      + ` ${format(t.flows, 0).padStart(8)}  ${format(t.flows / base.flows)}x  ${format(t.cpuPerGB)}`
      + ` (${format(t.cpuPerGB / base.cpuPerGB)}x); ${clientCpu}`);
  }
}

function cpuHere() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

if (require.main === module) {
  const at = process.argv.indexOf('--gateway');
  if (at !== -1) gatewayChild(Number(process.argv[at + 1]));
  else main().catch((e) => { console.error(e); process.exit(1); });
}
module.exports = { main };
