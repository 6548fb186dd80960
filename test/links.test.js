'use strict';
// Native links between stacks: byte-exact transfer over TUN and TAP links,
// real packet loss, duplication and reordering that TCP must repair,
// conditions changed under traffic, partitions, and bad arguments.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { link } = require('..');
const { withStacks } = require('./helpers/stack.js');
const { assertTransfer } = require('./helpers/transfer.js');
const { listen, closeServer, delay, within } = require('./helpers/util.js');

const MiB = 1024 * 1024;

describe('native links', function () {
  const stack = withStacks();
  function pair(kind, { mtu, addresses = ['10.0.0.1/24', '10.0.0.2/24'] } = {}) {
    const a = stack();
    const b = stack();
    const make = kind === 'tap' ? 'createTapInterface' : 'createTunInterface';
    const ia = a[make]({ ipAddress: addresses[0], mtu });
    const ib = b[make]({ ipAddress: addresses[1], mtu });
    return { a, b, ia, ib };
  }

  it('a TUN link carries 64 MiB byte-exact, with no packet through JS', async function () {
    this.timeout(60000);
    const { a, b, ia, ib } = pair('tun', { mtu: 65535 });
    let seenInJs = 0;
    ia.on('packet', () => seenInJs++);
    ib.on('packet', () => seenInJs++);
    const l = link(ia, ib);
    assert.equal(ia.link, l);
    await assertTransfer(a, b, '10.0.0.2', 64 * MiB);
    assert.equal(seenInJs, 0);
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
    const server = b.net.createServer((s) => s.on('error', () => {}));
    await listen(server, 80);
    const client = a.net.connect(80, '10.0.0.2', () => client.write(Buffer.alloc(8000)));
    client.on('error', () => {});
    await within((async () => { while (l.stats().aToB.droppedMtu === 0) await delay(5); })(), 5000, 'an oversize packet');
    // The data never gets through, so a FIN would queue behind it: reset.
    client.resetAndDestroy();
    await closeServer(server);
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
});
