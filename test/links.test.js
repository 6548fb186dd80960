'use strict';
// Links between stacks: byte-exact transfer over TUN and TAP links, real
// packet loss, duplication and reordering that TCP must repair, conditions
// changed under traffic, partitions, and bad arguments. Every scenario runs
// twice: with the addon's NativeLink and with the JS engine
// (lib/link-engine.js, forced here with the internal option engine: 'js').
// On the suite's wasm run (TCPIP_BACKEND=wasm) stacks are wasm, so only the
// JS engine can join them and the native-engine scenarios are skipped.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { link: publicLink, Stack } = require('..');
const { withStacks, teardown, DEFAULT_BACKEND } = require('./helpers/stack.js');
const { assertTransfer } = require('./helpers/transfer.js');
const { listen, closeServer, delay, within } = require('./helpers/util.js');

const MiB = 1024 * 1024;



for (const engine of ['native', 'js']) (engine === 'js' || DEFAULT_BACKEND === 'native' ? describe : describe.skip)(`links, ${engine} engine${engine === 'native' && DEFAULT_BACKEND !== 'native' ? ' (native-only: skipped, the suite runs on the wasm backend)' : ''}`, function () {
  const stack = withStacks();
  // link() with this suite's engine, checked to be the one in use.
  function link(ia, ib, options = {}) {
    const l = publicLink(ia, ib, engine === 'js' ? { ...options, engine } : options);
    assert.equal(l._engineType, engine);
    return l;
  }
  function pair(kind, { mtu, addresses = ['10.0.0.1/24', '10.0.0.2/24'] } = {}) {
    const a = stack();
    const b = stack();
    const make = kind === 'tap' ? 'createTapInterface' : 'createTunInterface';
    const ia = a[make]({ ipAddress: addresses[0], mtu });
    const ib = b[make]({ ipAddress: addresses[1], mtu });
    return { a, b, ia, ib };
  }

  // A client on `a` writes `bytes` to a server on `b` until the link counts
  // a drop of kind `counter` from a to b; the connection is then reset.
  async function burstUntilDropped(a, b, l, counter, { port = 80, bytes = 8000 } = {}) {
    const server = b.net.createServer((s) => s.on('error', () => {}));
    await listen(server, port);
    const client = a.net.connect(port, '10.0.0.2', () => client.write(Buffer.alloc(bytes)));
    client.on('error', () => {});
    await within((async () => { while (l.stats().aToB[counter] === 0) await delay(5); })(), 5000, `a drop counted as ${counter}`);
    // The data never gets through, so a FIN would queue behind it: reset.
    client.resetAndDestroy();
    await closeServer(server);
  }

  it('a TUN link carries 64 MiB byte-exact, with no packet through JS', async function () {
    this.timeout(60000);
    const { a, b, ia, ib } = pair('tun', { mtu: 65535 });
    let seenInJs = 0;
    ia.on('packet', () => seenInJs++);
    ib.on('packet', () => seenInJs++);
    const readable = ia.readable; // nothing may reach it either
    const l = link(ia, ib);
    assert.equal(ia.link, l);
    assert.equal(ib.link, l);
    await assertTransfer(a, b, '10.0.0.2', 64 * MiB);
    assert.equal(seenInJs, 0);
    assert.ok(readable.locked === false && ia._readableController.desiredSize === 1024, 'nothing queued on .readable');
    const stats = l.stats();
    assert.ok(stats.aToB.bytes > 64 * MiB && stats.bToA.packets > 0);
  });

  it('a TAP link carries 64 MiB byte-exact over IPv4 and IPv6', async function () {
    this.timeout(60000);
    const { a, b, ia, ib } = pair('tap', { addresses: [['10.0.0.1/24', 'fd00::1/64'], ['10.0.0.2/24', 'fd00::2/64']] });
    link(ia, ib);
    await assertTransfer(a, b, '10.0.0.2', 64 * MiB);
    await assertTransfer(a, b, 'fd00::2', 16 * MiB);
  });

  it('5% loss, 1% duplication, reordering and 20 ms latency: 16 MiB arrive byte-exact; the capture shows the retransmissions', async function () {
    this.timeout(120000);
    const { a, b, ia, ib } = pair('tun', { mtu: 65535 });
    const l = link(ia, ib, { loss: 0.05, duplicate: 0.01, reorder: 0.02, latency: 20 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-lossy-'));
    try {
      const file = path.join(dir, 'lossy.pcap');
      const capture = ia.capture(file);
      await assertTransfer(a, b, '10.0.0.2', 16 * MiB);
      await capture.stop();
      const { aToB, bToA } = l.stats();
      // About 500 packets cross: a 5% loss misses them all with p < 1e-11, and
      // duplication and reordering together (3%) with p < 1e-6.
      assert.ok(aToB.lost + bToA.lost > 0, 'packets were lost');
      assert.ok(aToB.duplicated + bToA.duplicated + aToB.reordered + bToA.reordered > 0,
        'packets were duplicated or reordered');
      const retransmissions = execFileSync('tshark', ['-r', file, '-n', '-Y', 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
      assert.ok(retransmissions.length > 0, 'tshark finds TCP retransmissions in the capture');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('conditions change while traffic flows, and a partition stalls traffic until up()', async function () {
    this.timeout(60000);
    const { a, b, ia, ib } = pair('tun', { mtu: 65535 });
    const l = link(ia, ib);
    let received = 0;
    const server = b.net.createServer((s) => s.on('data', (d) => { received += d.length; }));
    await listen(server, 80);
    const client = a.net.connect(80, '10.0.0.2');
    const chunk = Buffer.alloc(64 * 1024, 7);
    let writing = true;
    const pump = () => {
      while (writing && client.write(chunk));
      if (writing) client.once('drain', pump);
    };
    client.once('connect', pump);
    await within((async () => { while (received < 4 * MiB) await delay(5); })(), 10000, 'traffic');
    l.set({ latency: 5, jitter: 2 });
    assert.deepEqual(l.conditions, { up: true, latency: 5, jitter: 2 });
    const before = received;
    await within((async () => { while (received < before + 2 * MiB) await delay(5); })(), 10000, 'traffic with latency');
    l.down();
    await delay(100); // packets in flight drain
    const stalled = received;
    await delay(400);
    assert.equal(received, stalled, 'nothing crosses a link that is down');
    const { aToB, bToA } = l.stats();
    assert.ok(aToB.droppedDown + bToA.droppedDown > 0, 'the partition dropped packets');
    l.up();
    await within((async () => { while (received < stalled + 2 * MiB) await delay(5); })(), 20000, 'traffic after up()');
    writing = false;
    client.destroy();
    await closeServer(server);
  });

  it('a link MTU smaller than the packets drops them and counts it', async function () {
    const { a, b, ia, ib } = pair('tun');
    const l = link(ia, ib, { mtu: 1000 });
    await burstUntilDropped(a, b, l, 'droppedMtu');
  });

  it('a rate limit paces the transfer', async function () {
    this.timeout(30000);
    const { a, b, ia, ib } = pair('tun');
    link(ia, ib, { rate: 16e6 }); // 16 Mbit/s: 2 MiB need at least ~1 s
    const started = process.hrtime.bigint();
    await assertTransfer(a, b, '10.0.0.2', 2 * MiB);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    assert.ok(seconds > 0.9, `2 MiB at 16 Mbit/s took only ${seconds.toFixed(2)} s`);
  });

  it('a stack destroyed at one end leaves the other end and the link safe', async function () {
    const { a, b, ia, ib } = pair('tun');
    const l = link(ia, ib);
    const server = b.net.createServer();
    await listen(server, 80);
    const client = a.net.connect(80, '10.0.0.2');
    client.on('error', () => {});
    await new Promise((resolve) => client.once('connect', resolve));
    b.destroy();
    client.write(Buffer.alloc(100000));
    await delay(50);
    l.destroy();
    assert.equal(l.destroyed, true);
    assert.equal(ia.link, null);
    client.destroy();
  });

  it('rejects bad arguments with Node-style errors', function () {
    const { a, ia, ib } = pair('tun');
    const tap = a.createTapInterface({ ipAddress: '10.9.0.1/24' });
    assert.throws(() => link(ia, tap), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => link(ia, ia), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => link(ia, {}), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => link(ia, ib, { loss: 2 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => link(ia, ib, { latency: 'slow' }), { code: 'ERR_INVALID_ARG_TYPE' });
    const l = link(ia, ib);
    assert.throws(() => link(ia, ib), { code: 'ERR_TCPIP_INTERFACE_LINKED' });
    assert.throws(() => l.set({ jitter: -1 }), { code: 'ERR_OUT_OF_RANGE' });
    l.destroy();
    assert.throws(() => l.set({ latency: 1 }), { code: 'ERR_TCPIP_LINK_DESTROYED' });
  });

  it('stats() count per direction with the native shape', async function () {
    const { a, b, ia, ib } = pair('tun');
    const l = link(ia, ib);
    const keys = ['packets', 'bytes', 'lost', 'duplicated', 'reordered', 'droppedDown', 'droppedMtu', 'droppedQueue'];
    const zero = Object.fromEntries(keys.map((key) => [key, 0]));
    assert.deepEqual(l.stats(), { aToB: zero, bToA: zero });
    await assertTransfer(a, b, '10.0.0.2', 256 * 1024);
    const { aToB, bToA } = l.stats();
    assert.deepEqual(Object.keys(aToB), keys);
    assert.deepEqual(Object.keys(bToA), keys);
    assert.ok(aToB.bytes > 256 * 1024 && aToB.packets > 0 && bToA.packets > 0);
    assert.equal(aToB.lost + aToB.droppedDown + aToB.droppedMtu + aToB.droppedQueue, 0);
  });

  it('latency delays every packet: a handshake takes a round trip', async function () {
    const { a, b, ia, ib } = pair('tun');
    link(ia, ib, { latency: 60 });
    const server = b.net.createServer();
    await listen(server, 80);
    const started = Date.now();
    const client = a.net.connect(80, '10.0.0.2');
    await within(new Promise((resolve) => client.once('connect', resolve)), 5000, 'connect');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 115, `the SYN and the SYN-ACK crossed in ${elapsed} ms`);
    client.destroy();
    await closeServer(server);
  });

  it('duplicate: 1 doubles every packet, and the transfer stays byte-exact', async function () {
    this.timeout(30000);
    const { a, b, ia, ib } = pair('tun');
    const l = link(ia, ib, { duplicate: 1 });
    await assertTransfer(a, b, '10.0.0.2', MiB);
    const { aToB, bToA } = l.stats();
    assert.equal(aToB.duplicated, aToB.packets);
    assert.equal(bToA.duplicated, bToA.packets);
  });

  it('a TAP link MTU counts IP bytes, not the Ethernet header', async function () {
    this.timeout(30000);
    const { a, b, ia, ib } = pair('tap');
    const l = link(ia, ib, { mtu: 1500 });
    await assertTransfer(a, b, '10.0.0.2', MiB);
    assert.equal(l.stats().aToB.droppedMtu, 0, 'full 1514-byte frames pass a 1500 MTU');
    l.set({ mtu: 1499 });
    await burstUntilDropped(a, b, l, 'droppedMtu', { port: 81 });
  });

  it('a small queue behind a rate limit drops what does not fit', async function () {
    const { a, b, ia, ib } = pair('tun');
    const l = link(ia, ib, { rate: 1e6, queue: 4000 });
    await burstUntilDropped(a, b, l, 'droppedQueue', { bytes: 256 * 1024 });
  });

  it('destroy() gives the traffic back to packet events', async function () {
    const { a, ia, ib } = pair('tun');
    const l = link(ia, ib, { latency: 1000 });
    l.destroy();
    assert.equal(l.destroyed, true);
    assert.equal(ia.link, null);
    assert.equal(ib.link, null);
    assert.throws(() => l.stats(), { code: 'ERR_TCPIP_LINK_DESTROYED' });
    const seen = new Promise((resolve) => ia.once('packet', resolve));
    const client = a.net.connect(80, '10.0.0.2');
    client.on('error', () => {});
    await within(seen, 5000, 'a packet event');
    client.destroy();
    const relinked = link(ia, ib);
    assert.equal(ia.link, relinked);
  });
});

describe('links: choosing the engine', function () {
  const stack = withStacks();
  let made = []; // stacks with a chosen backend
  afterEach(function destroyMadeStacks() {
    for (const s of made) teardown(s);
    made = [];
  });
  // A stack on this backend; without the addon a native one fails the test.
  function stackOn(backend) {
    const s = new Stack({ backend });
    made.push(s);
    return s;
  }

  it('two native stacks get the native engine', function () {
    const a = stackOn('native');
    const b = stackOn('native');
    assert.deepEqual([a.backend, b.backend], ['native', 'native']);
    const l = publicLink(a.createTunInterface({ ipAddress: '10.0.0.1/24' }), b.createTunInterface({ ipAddress: '10.0.0.2/24' }));
    assert.equal(l._engineType, 'native');
  });

  it('a native and a wasm stack joined with no conditions: the JS engine, no packet events, byte-exact', async function () {
    this.timeout(30000);
    const a = stackOn('native');
    const b = stackOn('wasm');
    const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24' });
    const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24' });
    let seenInJs = 0;
    ia.on('packet', () => seenInJs++);
    ib.on('packet', () => seenInJs++);
    const l = publicLink(ia, ib);
    assert.equal(l._engineType, 'js');
    await assertTransfer(a, b, '10.0.0.2', 4 * MiB);
    assert.equal(seenInJs, 0);
  });

  it('rejects an unknown engine', function () {
    const a = stack();
    const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24' });
    const ib = stack().createTunInterface({ ipAddress: '10.0.0.2/24' });
    assert.throws(() => publicLink(ia, ib, { engine: 'fast' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.equal(ia.link, null);
  });

  it('the JS engine holds delayed packets on one unref\'d timer per direction, cleared by destroy()', async function () {
    const a = stack();
    const b = stack();
    const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24' });
    const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24' });
    const l = publicLink(ia, ib, { engine: 'js', latency: 10000 });
    const clients = [80, 81, 82].map((port) => a.net.connect(port, '10.0.0.2').on('error', () => {}));
    const [aToB, bToA] = l._engine._directions;
    await within((async () => { while (l.stats().aToB.packets < 3) await delay(5); })(), 5000, 'held packets');
    assert.equal(aToB._queue._bytes.length, l.stats().aToB.packets, 'every packet sent waits');
    assert.ok(aToB._timer !== null && aToB._timer.hasRef() === false, 'one unref\'d timer');
    assert.equal(bToA._timer, null, 'nothing waits the other way');
    l.destroy();
    assert.equal(aToB._timer, null);
    assert.equal(aToB._queue.peekDue(), Infinity);
    assert.equal(ia._linkSink, null);
    for (const client of clients) client.destroy();
  });

  it('a native stack linked to a wasm stack uses the JS engine, in both orders', async function () {
    this.timeout(30000);
    for (const backends of [['native', 'wasm'], ['wasm', 'native'], ['wasm', 'wasm']]) {
      const [a, b] = backends.map((backend) => stackOn(backend));
      const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 65535 });
      const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24', mtu: 65535 });
      const l = publicLink(ia, ib, { latency: 1, loss: 0.01 });
      assert.equal(l._engineType, 'js', backends.join('-'));
      await assertTransfer(a, b, '10.0.0.2', 4 * MiB);
      assert.ok(l.stats().aToB.packets > 0);
    }
  });
});
