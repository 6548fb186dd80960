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
const { listen, closeServer, delay, within, waitFor } = require('./helpers/util.js');
const { icmpEchoRequest } = require('./helpers/packets.js');
const { readPcap } = require('./helpers/pcap.js');

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

  it('5% loss, 1% duplication, reordering and 20 ms latency: 4 MiB arrive byte-exact; the capture shows the retransmissions', async function () {
    this.timeout(120000);
    const { a, b, ia, ib } = pair('tun', { mtu: 65535 });
    // Seeded: the same fates on every run and engine, which lose, duplicate
    // and reorder packets among the ~130 that cross.
    const l = link(ia, ib, { loss: 0.05, duplicate: 0.01, reorder: 0.02, latency: 20, seed: 7 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-lossy-'));
    try {
      const file = path.join(dir, 'lossy.pcap');
      const capture = ia.capture(file);
      await assertTransfer(a, b, '10.0.0.2', 4 * MiB);
      await capture.stop();
      const { aToB, bToA } = l.stats();
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

describe('links: a seed decides the fates, the same on both engines', function () {
  let made = [];
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-seed-'));
  });
  afterEach(function () {
    for (const s of made) teardown(s);
    made = [];
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Every condition that draws a random number, and an MTU some packets
  // exceed; no rate, so no fate depends on timing.
  const CONDITIONS = { loss: 0.2, duplicate: 0.2, reorder: 0.2, jitter: 2, mtu: 1000 };
  const PINGS = 120;
  const HEADERS = 28; // IPv4 + ICMP echo

  // The lengths of the echo replies that arrived at `iface`, sorted.
  function repliesArrived(file, from) {
    return readPcap(file).records.map((r) => r.bytes)
      .filter((p) => p[9] === 1 && p[20] === 0 && p.subarray(12, 16).join('.') === from)
      .map((p) => p.length).sort((x, y) => x - y);
  }

  /**
   * Each stack answers PINGS echo requests of distinct lengths (28 to 1099
   * bytes) injected into its end of the link, so each direction decides
   * on a known sequence of replies. Returns the counters and, per
   * direction, the lengths of the replies that arrived.
   */
  async function pingThrough(engine, seed) {
    // The native engine joins native stacks; the JS engine, this run's.
    const backend = engine === 'native' ? 'native' : DEFAULT_BACKEND;
    const [a, b] = [0, 1].map(() => new Stack({ backend }));
    made.push(a, b);
    const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24' });
    const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24' });
    const l = publicLink(ia, ib, { ...CONDITIONS, seed, ...(engine === 'js' ? { engine } : {}) });
    assert.equal(l._engineType, engine);
    assert.equal(l.seed, seed);
    const files = { aToB: path.join(dir, `${engine}-${seed}-b.pcap`), bToA: path.join(dir, `${engine}-${seed}-a.pcap`) };
    const captures = [ib.capture(files.aToB), ia.capture(files.bToA)];
    for (let i = 0; i < PINGS; i++) {
      const data = Buffer.alloc(9 * i, i);
      ia.send(icmpEchoRequest('10.0.0.2', '10.0.0.1', data));
      ib.send(icmpEchoRequest('10.0.0.1', '10.0.0.2', data));
    }
    const decided = (c) => c.packets + c.lost + c.droppedMtu + c.droppedDown + c.droppedQueue;
    await waitFor(() => decided(l.stats().aToB) === PINGS && decided(l.stats().bToA) === PINGS, 10000, 'every reply decided');
    const stats = l.stats();
    // Arrived: the requests injected there, and what the link delivered.
    for (const [iface, counters] of [[ib, stats.aToB], [ia, stats.bToA]]) {
      await waitFor(async () => (await iface.stats()).packetsIn === PINGS + counters.packets + counters.duplicated,
        10000, 'every reply delivered');
    }
    await Promise.all(captures.map((c) => c.stop()));
    return { stats, arrived: { aToB: repliesArrived(files.aToB, '10.0.0.1'), bToA: repliesArrived(files.bToA, '10.0.0.2') } };
  }

  it('the same seed: the same counters and the same packets through a native link and the JS engine', async function () {
    this.timeout(30000);
    const seed = 20240611;
    const native = await pingThrough('native', seed);
    const js = await pingThrough('js', seed);
    assert.deepEqual(js.stats, native.stats);
    assert.deepEqual(js.arrived, native.arrived);
    for (const direction of ['aToB', 'bToA']) {
      const c = native.stats[direction];
      // Every kind of fate happened, so the comparison covers each.
      assert.ok(c.lost > 0 && c.duplicated > 0 && c.reordered > 0, JSON.stringify(c));
      // Replies longer than 1000 bytes never cross, and are never counted lost.
      const tooLong = Array.from({ length: PINGS }, (_, i) => HEADERS + 9 * i).filter((n) => n > CONDITIONS.mtu).length;
      assert.equal(c.droppedMtu, tooLong);
      assert.equal(c.packets + c.lost, PINGS - tooLong);
      assert.equal(native.arrived[direction].length, c.packets + c.duplicated);
      assert.ok(native.arrived[direction].every((n) => n <= CONDITIONS.mtu));
    }
  });

  it('another seed, other fates; without one, a random seed that link.seed tells', async function () {
    this.timeout(30000);
    const first = await pingThrough('js', 1);
    const second = await pingThrough('js', 2);
    // 109 packets each: the same fates for all of them by chance is p < 2^-50.
    assert.notDeepEqual(second.arrived.aToB, first.arrived.aToB);
    assert.notDeepEqual(second.arrived.bToA, first.arrived.bToA);
    const [a, b] = [0, 1].map(() => new Stack());
    made.push(a, b);
    const l = publicLink(a.createTunInterface({ ipAddress: '10.0.0.1/24' }), b.createTunInterface({ ipAddress: '10.0.0.2/24' }));
    assert.ok(Number.isSafeInteger(l.seed) && l.seed >= 0, String(l.seed));
    assert.equal(l.conditions.seed, undefined, 'the seed is not a condition set() changes');
  });

  it('rejects a seed that is not a safe non-negative integer', function () {
    const [a, b] = [0, 1].map(() => new Stack());
    made.push(a, b);
    const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24' });
    const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24' });
    assert.throws(() => publicLink(ia, ib, { seed: '1' }), { code: 'ERR_INVALID_ARG_TYPE' });
    for (const seed of [-1, 1.5, 2 ** 53, NaN]) {
      assert.throws(() => publicLink(ia, ib, { seed }), { code: 'ERR_OUT_OF_RANGE' }, String(seed));
    }
    assert.equal(ia.link, null);
    assert.equal(publicLink(ia, ib, { seed: Number.MAX_SAFE_INTEGER }).seed, Number.MAX_SAFE_INTEGER);
  });
});

describe('links: the decisions of src/core/link_conditions.c, through the wasm export layer', function () {
  const { linkDecisions } = require('../lib/backend/wasm.js');
  const SEND = 0;
  const DROP_DOWN = 1;
  const DROP_MTU = 2;
  const DROP_QUEUE = 4;
  const DUPLICATE = 0x100;
  let core;
  let links = [];
  before(function () {
    core = linkDecisions();
  });
  afterEach(function () {
    for (const pointer of links) core.tcpip_wasm_link_destroy(pointer);
    links = [];
  });
  // A link under `c` (the conditions as tcpip_wasm_link_set_conditions takes them).
  function decisions(c, headerBytes = 0) {
    const pointer = core.tcpip_wasm_link_create(headerBytes, 1);
    links.push(pointer);
    core.tcpip_wasm_link_set_conditions(pointer, c.latency || 0, c.jitter || 0, c.loss || 0, c.duplicate || 0,
      c.reorder || 0, c.rate || 0, c.mtu || 0, c.queue || 0, c.up !== false);
    return (length, now) => {
      const verdict = core.tcpip_wasm_link_decide(pointer, 0, length, now);
      return { verdict, due: new Float64Array(core.memory.buffer)[pointer >>> 3] };
    };
  }

  it('a rate queues packets one after another, and the automatic queue holds max(256 KiB, 50 ms)', function () {
    const decide = decisions({ rate: 8e6, latency: 10 }); // a byte a microsecond
    const fates = Array.from({ length: 300 }, () => decide(1000, 0));
    // What waits, the packet itself included, must fit in 256 KiB: 262 packets.
    assert.deepEqual(fates.slice(0, 262).map((f) => f.verdict), new Array(262).fill(SEND));
    assert.deepEqual(fates.slice(0, 3).map((f) => f.due), [11, 12, 13]);
    assert.ok(fates.slice(262).every((f) => f.verdict === DROP_QUEUE));
    // 1 Gbit/s: 50 ms of it is 6.25 MB, 6103.5 packets of 1024 bytes.
    const fast = decisions({ rate: 1e9 });
    assert.equal(Array.from({ length: 7000 }, () => fast(1024, 0).verdict).indexOf(DROP_QUEUE), 6103);
  });

  it('a reordered packet is held back max(1 ms, latency / 2 + jitter); an MTU counts no link header', function () {
    assert.deepEqual(decisions({ reorder: 1, latency: 10 })(100, 5), { verdict: SEND, due: 20 });
    assert.deepEqual(decisions({ reorder: 1 })(100, 5), { verdict: SEND, due: 6 });
    const tap = decisions({ mtu: 1500, duplicate: 1 }, 14);
    assert.deepEqual(tap(1514, 3), { verdict: SEND | DUPLICATE, due: 3 });
    assert.equal(tap(1515, 3).verdict, DROP_MTU);
    assert.equal(decisions({ up: false, mtu: 1 })(100, 0).verdict, DROP_DOWN, 'a partition first');
  });
});
