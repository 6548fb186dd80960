'use strict';
// The stack in a real browser: Debian's Chromium driven by playwright-core
// (no browser download). Pages from test/fixtures/browser/ are bundled with
// webpack 5 (resolve.fallback.net) and esbuild (an alias), served from
// 127.0.0.1, and report through window.result; any console error or page
// error fails the test.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const browserTest = require('./helpers/browser.js');
const { namespaceMissing, startNamespaceGateway, forwardToSocketFile } = require('./helpers/namespace.js');
const { ensureGuest } = require('../scripts/v86-guest.js');
const { guestCmdline } = require('./helpers/v86-serial.js');

const MiB = 1024 * 1024;

// The pages' byte pattern (fixtures/browser/common.js), recomputed here so
// that the SHA-256 a page reports is checked against an independent source.
function patternSha256(size, seed) {
  const { pattern } = require('./fixtures/browser/common.js');
  return crypto.createHash('sha256').update(pattern(size, seed)).digest('hex');
}

function assertByteExact(result, size, seed) {
  assert.equal(result.ok, true, result.error);
  assert.equal(result.sentBytes, size);
  assert.equal(result.receivedBytes, size);
  assert.equal(result.firstDifference, -1, `first differing byte at ${result.firstDifference}`);
  const expected = patternSha256(size, seed);
  assert.equal(result.sentSha256, expected);
  assert.equal(result.receivedSha256, expected);
}

function assertLoopbackPage(result) {
  assertByteExact(result, 16 * MiB, 0x7c9e1d33);
  assert.equal(result.backend, 'wasm');
  assert.equal(result.serverBytes, 16 * MiB);
  assert.equal(result.connections, 1);
  assert.equal(result.isSocket, true);
  assert.deepEqual(result.isIP, [4, 6, 0]);
  assert.equal(result.remote.address, '127.0.0.1');
  assert.equal(result.remote.port, result.port);
  assert.equal(result.local.address, '127.0.0.1');
  assert.equal(result.local.family, 'IPv4');
  const { errors } = result;
  assert.deepEqual(errors.refused, {
    code: 'ECONNREFUSED', errno: -111, syscall: 'connect', message: 'connect ECONNREFUSED 127.0.0.1:1',
  });
  // The same message as Node's own net.
  assert.throws(() => require('node:net').connect(70000), (error) => {
    assert.deepEqual(errors.badPort, { code: error.code, message: error.message, name: error.name });
    return true;
  });
  assert.equal(errors.capture.code, 'ERR_TCPIP_NOT_SUPPORTED');
  assert.match(errors.capture.message, /Capture to a file is not supported in a browser/);
  assert.equal(errors.device.code, 'ERR_TCPIP_NOT_SUPPORTED');
  assert.deepEqual(errors.pipeConnect, {
    code: 'ERR_TCPIP_NOT_SUPPORTED',
    message: 'Connecting to a Unix-domain socket is not supported in a browser',
    name: 'Error',
  });
  assert.deepEqual(errors.pipeListen, {
    code: 'ERR_TCPIP_NOT_SUPPORTED',
    message: 'Listening on a Unix-domain socket is not supported in a browser',
    name: 'Error',
  });
  assert.deepEqual(errors.descriptor, {
    code: 'ERR_TCPIP_NOT_SUPPORTED',
    message: 'A socket or server over a file descriptor is not supported in a browser',
    name: 'Error',
  });
}

describe('browser (Chromium, playwright-core)', function () {
  this.timeout(60000);
  let outDir = null;
  let site = null;
  let browser = null;

  before(async function () {
    const missing = browserTest.missingPrerequisite();
    if (missing) {
      // CI installs all of it (scripts/setup.sh, npm install): there, a gap is a failure.
      if (process.env.CI) throw new Error(`browser tests cannot run: ${missing}`);
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    browserTest.ensureWasmBuilt();
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-browser-'));
    // Chromium starts while the bundlers run; after() closes it whatever fails.
    const launching = browserTest.launchChromium().then((launched) => { browser = launched; });
    const results = await Promise.allSettled([
      launching,
      browserTest.bundleWithWebpack({
        loopback: 'loopback-entry.js', tun: 'tun.js', tunnel: 'tunnel.js', 'v86-bus': 'v86-bus.js', 'v86-guest': 'v86-guest.js',
      }, outDir),
      browserTest.bundleWithEsbuild('loopback-esbuild', 'loopback-entry.mjs', outDir),
    ]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    site = await browserTest.serveStatic(outDir);
  });

  after(async function () {
    if (browser) await browser.close();
    if (site) await site.close();
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  it('webpack 5: unmodified net libraries (echo server, client) exchange 16 MiB over a polyfilled stack', async function () {
    const result = await browserTest.runPage(browser, `${site.url}/loopback.html`, 45000);
    assertLoopbackPage(result);
  });

  it('webpack 5: two stacks joined by TUN hooks carry 16 MiB of TCP byte-exact', async function () {
    const result = await browserTest.runPage(browser, `${site.url}/tun.html`, 45000);
    assertByteExact(result, 16 * MiB, 0x2545f491);
    assert.deepEqual(result.backends, ['wasm', 'wasm']);
    assert.ok(result.packets > 16 * MiB / result.mtu, `${result.packets} packets`);
    assert.ok(result.packetsOut > 0);
  });

  it('attachV86 in a page: a wasm stack behind a fake v86 NIC bus moves 2 MiB of TCP each way byte-exact', async function () {
    const result = await browserTest.runPage(browser, `${site.url}/v86-bus.html`, 45000);
    assertByteExact(result, 2 * MiB, 0x5eed86);
    assert.deepEqual(result.backends, ['wasm', 'wasm']);
    assert.equal(result.downBytes, 2 * MiB);
    assert.equal(result.downFirstDifference, -1);
    assert.equal(result.adapterStats.dropped, 0);
    assert.ok(result.adapterStats.framesIn > 2 * MiB / 1514 && result.adapterStats.framesOut > 2 * MiB / 1514, JSON.stringify(result.adapterStats));
  });

  it('v86 and a wasm stack in one page: the guest takes a DHCP lease from the stack, wget and sha256sum agree on 8 MiB', async function () {
    this.timeout(120000);
    // The guest's files: fetched and built when the cache lacks them; if
    // they cannot be, this fails saying why (never a skip).
    const guest = await ensureGuest();
    const v86Build = path.join(path.dirname(require.resolve('v86/package.json')), 'build');
    site.serve('libv86.js', path.join(v86Build, 'libv86.js'));
    site.serve('v86.wasm', path.join(v86Build, 'v86.wasm'));
    site.serve('seabios.bin', guest.bios);
    site.serve('vgabios.bin', guest.vgaBios);
    site.serve('bzImage', guest.bzimage);
    site.serve('initrd.gz', guest.initrd);
    // virtio: wget of 8 MiB takes 2.4 s against ne2k's 8-11 s. V8 flags
    // are per browser, so v86 gets one of its own: with Liftoff only (as
    // its Node child has), the page takes 11-16 s; with V8's tier-up, 53 s
    // (the boot alone 35 s), v86 compiling many small wasm modules.
    const nic = 'virtio';
    const query = new URLSearchParams({ nic, cmdline: guestCmdline(guest.cmdline, nic) });
    const v86Browser = await browserTest.launchChromium(['--js-flags=--liftoff-only']);
    let result;
    try {
      result = await browserTest.runPage(v86Browser, `${site.url}/v86-guest.html?${query}`, 100000);
    } finally {
      await v86Browser.close();
    }
    assert.equal(result.ok, true, result.error);
    assert.equal(result.backend, 'wasm');
    assert.equal(result.nic, nic);
    assert.equal(result.guestSha256, patternSha256(result.size, result.seed));
    assert.equal(result.size, 8 * MiB);
    // One lease, the range's first address, for the MAC v86 announced; the
    // guest configured it.
    assert.equal(result.leases.length, 1, JSON.stringify(result.leases));
    const [lease] = result.leases;
    assert.equal(lease.address, '10.0.2.15');
    assert.equal(lease.mac.toLowerCase(), result.guestMac.toLowerCase());
    assert.equal(result.guestLease, `LEASE ${lease.address}/24 router=10.0.2.2 dns=10.0.2.2`);
    assert.equal(result.guestAddress, `${lease.address}/24`);
    // The request came from the leased address.
    assert.deepEqual(result.requests, [{ line: 'GET /pattern HTTP/1.1', remoteAddress: lease.address }]);
    // Frames both ways, as the stack's interface, the adapter and the
    // guest's kernel counted them: 8 MiB in frames of at most 1514 bytes
    // one way, the guest's ACKs (some for many segments) the other. The
    // guest's counters were read first, the interface's, then the
    // adapter's, last. The stack's first frames (ARP, IPv6) came while the
    // guest booted: those the adapter held back from the virtio NIC before
    // its driver was up are `notReady`, not `framesOut`.
    const { interfaceStats, adapterStats, guestFrames } = result;
    const minimum = (8 * MiB) / 1514;
    assert.ok(guestFrames.rx > minimum && guestFrames.tx > 10, JSON.stringify(result));
    assert.ok(adapterStats.framesOut >= guestFrames.rx && interfaceStats.packetsIn >= guestFrames.tx, JSON.stringify(result));
    assert.ok(adapterStats.framesOut + adapterStats.notReady >= interfaceStats.packetsOut, JSON.stringify(result));
    assert.ok(adapterStats.framesIn >= interfaceStats.packetsIn, JSON.stringify(result));
    assert.equal(adapterStats.dropped, 0);
    assert.deepEqual(Object.values(interfaceStats.dropped).filter((n) => n !== 0), []);
  });

  it('a wasm stack in the page joins a WebSocket gateway (the page\'s WebSocket), takes a lease, reads 4 MiB byte-exact', async function () {
    const { Stack, createGateway } = require('..');
    const { pattern } = require('./fixtures/browser/common.js');
    const gateway = createGateway({ port: 0, host: '127.0.0.1', token: 'page-token', backend: 'native', dns: false });
    try {
      await new Promise((resolve, reject) => {
        gateway.once('listening', resolve);
        gateway.once('error', reject);
      });
      assert.ok(gateway.stack instanceof Stack);
      const served = gateway.stack.net.createServer((socket) => socket.end(pattern(4 * MiB, 0x1f123bb5)));
      await new Promise((resolve) => served.listen(80, gateway.router.addresses[0].address, resolve));
      const query = new URLSearchParams({ gateway: `ws://127.0.0.1:${gateway.address().port}/`, token: 'page-token' });
      const result = await browserTest.runPage(browser, `${site.url}/tunnel.html?${query}`, 45000);
      assertByteExact(result, 4 * MiB, 0x1f123bb5);
      assert.equal(result.backend, 'wasm');
      assert.match(result.lease.address, /^10\.0\.2\.\d+$/);
      assert.equal(result.lease.router, '10.0.2.2');
      assert.deepEqual(result.states, ['closed']);
      assert.ok(result.tunnelStats.framesIn > 4 * MiB / 1514, `${result.tunnelStats.framesIn} frames in`);
      // The page's token came in the query, and the page is gone again.
      assert.deepEqual(gateway.metrics().refusals, {});
      assert.equal(gateway.metrics().connections, 1);
    } finally {
      await gateway.close();
    }
  });

  it('a wasm stack in the page joins a gateway by DHCP and GETs 16 MiB byte-exact from a kernel HTTP server in a network namespace behind its NAT', async function () {
    // As the Node test does (test/gateway-nat.test.js): the gateway and the
    // server in a namespace of their own, the server on an address `allow`
    // alone permits. The page cannot open the gateway's socket file: a port
    // on 127.0.0.1 here is piped to it.
    const missing = await namespaceMissing();
    if (missing) {
      console.log(`      skipped: gateway NAT in a namespace: ${missing}`);
      this.skip();
    }
    const size = 16 * MiB;
    const seed = 0x3a1f0c27;
    const child = await startNamespaceGateway({ token: 'page-token', backend: 'native', size, seed });
    let forward = null;
    try {
      forward = await forwardToSocketFile(child.socketPath);
      const target = `${child.allowed}:${child.port}`;
      const query = new URLSearchParams({ gateway: `ws://127.0.0.1:${forward.port}/`, token: 'page-token', http: target });
      const result = await browserTest.runPage(browser, `${site.url}/tunnel.html?${query}`, 50000);
      assert.equal(result.ok, true, result.error);
      assert.equal(result.backend, 'wasm');
      assert.match(result.lease.address, /^10\.0\.2\.\d+$/);
      assert.equal(result.lease.router, '10.0.2.2');
      assert.equal(result.status, 'HTTP/1.1 200 OK');
      assert.equal(result.contentLength, size);
      assert.equal(result.receivedBytes, size);
      assert.equal(result.receivedSha256, patternSha256(size, seed));
      assert.deepEqual(child.served.map(({ local, method, url, bytes }) => [local, method, url, bytes]),
        [[child.allowed, 'GET', '/', size]]);
      assert.ok(result.tunnelStats.framesIn > size / 1514, `${result.tunnelStats.framesIn} frames in`);
      // The page's WebSocket asked for batched frames (a page takes a few
      // thousand messages a second): many frames a message, each way.
      assert.ok(result.tunnelStats.messagesIn * 8 < result.tunnelStats.framesIn, JSON.stringify(result.tunnelStats));
      assert.ok(result.tunnelStats.messagesOut * 2 < result.tunnelStats.framesOut, JSON.stringify(result.tunnelStats));
      const metrics = await child.metricsText();
      assert.match(metrics, /^tcpip_gateway_flows_total\{protocol="tcp"\} 1$/m);
      assert.match(metrics, /^tcpip_gateway_connections_total 1$/m);
      assert.doesNotMatch(metrics, /^tcpip_gateway_refusals_total\{/m);
    } finally {
      if (forward) await forward.close();
      await child.stop();
    }
  });

  it('esbuild with the alias net -> tcpip/polyfill/net runs the same page, imported as ES modules', async function () {
    const result = await browserTest.runPage(browser, `${site.url}/loopback-esbuild.html`, 45000);
    assertLoopbackPage(result);
  });
});
