'use strict';
// Packet capture: pcap files that tshark reads, for hook interfaces, native
// links and loopback.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { link } = require('..');
const { withStacks } = require('./helpers/stack.js');
const { listen, closeServer, within, waitFor } = require('./helpers/util.js');
const { icmpEchoRequest } = require('./helpers/packets.js');
const { readPcap } = require('./helpers/pcap.js');

/** tshark's one-line summaries of the packets in `file` matching `filter`. */
function tshark(file, filter) {
  const args = ['-r', file, '-n'];
  if (filter) args.push('-Y', filter);
  return execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n').filter(Boolean);
}

/** One exchange: a client on `a` sends `bytes` and ends; the server echoes the end. */
async function exchange(a, b, address, bytes) {
  const server = b.net.createServer((s) => { s.resume(); s.on('end', () => s.end()); });
  await listen(server, 80);
  await within(new Promise((resolve, reject) => {
    const c = a.net.connect(80, address, () => c.end(Buffer.alloc(bytes, 1)));
    c.resume();
    c.on('error', reject);
    c.on('close', resolve);
  }), 60000, 'exchange');
  await closeServer(server);
}

describe('packet capture', function () {
  const stack = withStacks();
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-capture-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  function twoStacks() {
    return [stack(), stack()];
  }

  it('a native TUN link capture shows the TCP handshake to tshark', async function () {
    this.timeout(30000);
    const [a, b] = twoStacks();
    const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24' });
    const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24' });
    link(ia, ib);
    const file = path.join(dir, 'tun.pcap');
    const capture = ia.capture(file);
    await exchange(a, b, '10.0.0.2', 100000);
    await capture.stop();
    const syn = tshark(file, 'tcp.flags.syn == 1 && tcp.flags.ack == 0');
    const synAck = tshark(file, 'tcp.flags.syn == 1 && tcp.flags.ack == 1');
    assert.equal(syn.length, 1, syn.join('\n'));
    assert.match(syn[0], /10\.0\.0\.1 → 10\.0\.0\.2 .*\[SYN\]/);
    assert.equal(synAck.length, 1);
    assert.ok(tshark(file, 'tcp.flags.fin == 1').length >= 2, 'both FINs are there');
    assert.ok(tshark(file, 'tcp.len > 0').length > 10, 'and the data');
  });

  it('a partition in the middle of a transfer shows up in the capture as retransmissions', async function () {
    this.timeout(60000);
    const [a, b] = twoStacks();
    const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 65535 });
    const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24', mtu: 65535 });
    const l = link(ia, ib);
    const file = path.join(dir, 'partition.pcap');
    const capture = ia.capture(file);
    let received = 0;
    let partitioned = null;
    const server = b.net.createServer((s) => {
      s.on('data', (d) => {
        received += d.length;
        // Down at once, from the receiver, with data surely in flight (a
        // timer polling for progress can miss a transfer this fast), and up
        // only once the sender has resent into the partition: its
        // retransmission timeout (up to lwIP's initial 3 s) decides when.
        if (!partitioned && received >= 1024 * 1024) {
          l.down();
          partitioned = (async () => {
            while (l.stats().aToB.droppedDown === 0) await new Promise((r) => setTimeout(r, 10));
            await new Promise((r) => setTimeout(r, 50));
            l.up();
          })();
        }
      });
      s.on('end', () => s.end());
    });
    await listen(server, 80);
    const total = 8 * 1024 * 1024;
    const done = new Promise((resolve) => {
      const c = a.net.connect(80, '10.0.0.2', () => c.end(Buffer.alloc(total, 3)));
      c.resume();
      c.on('close', resolve);
    });
    await within((async () => { while (!partitioned) await new Promise((r) => setTimeout(r, 2)); await partitioned; })(), 10000, 'the partition');
    await within(done, 30000, 'the rest after the partition');
    await closeServer(server);
    await capture.stop();
    assert.equal(received, total);
    const { aToB, bToA } = l.stats();
    assert.ok(aToB.droppedDown > 0, `the partition dropped data (a->b ${aToB.droppedDown}, b->a ${bToA.droppedDown})`);
    assert.ok(tshark(file, 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission').length > 0);
  });

  it('a TAP capture holds Ethernet frames with ARP; a loopback capture holds the packets once', async function () {
    this.timeout(30000);
    const [a, b] = twoStacks();
    const ia = a.createTapInterface({ ipAddress: '10.1.0.1/24' });
    const ib = b.createTapInterface({ ipAddress: '10.1.0.2/24' });
    ia.on('frame', (f) => ib.send(f));
    ib.on('frame', (f) => ia.send(f));
    const tapFile = path.join(dir, 'tap.pcap');
    const tapCapture = ia.capture(tapFile);
    await exchange(a, b, '10.1.0.2', 10000);
    await tapCapture.stop();
    assert.ok(tshark(tapFile, 'arp').length >= 2, 'ARP request and reply');
    assert.equal(tshark(tapFile, 'tcp.flags.syn == 1 && tcp.flags.ack == 0').length, 1);

    const lo = a.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
    const loFile = path.join(dir, 'lo.pcap');
    const loCapture = lo.capture(loFile);
    await exchange(a, a, '127.0.0.1', 1000);
    await loCapture.stop();
    assert.equal(tshark(loFile, 'tcp.flags.syn == 1 && tcp.flags.ack == 0').length, 1);

    // A bridge switches Ethernet frames: its capture holds them as such.
    const port = a.createTapInterface({});
    const bridge = a.createBridgeInterface({ ports: [port], ipAddress: '10.4.0.1/24' });
    const bridgeFile = path.join(dir, 'bridge.pcap');
    const bridgeCapture = bridge.capture(bridgeFile);
    const arp = new Promise((resolve) => port.once('frame', resolve));
    const client = a.net.connect(80, '10.4.0.2').on('error', () => {});
    await within(arp, 5000, 'an ARP request out of the bridge');
    client.destroy();
    await bridgeCapture.stop();
    assert.equal(fs.readFileSync(bridgeFile).readUInt32LE(20), 1, 'LINKTYPE_ETHERNET');
    assert.ok(tshark(bridgeFile, 'arp').length >= 1, 'tshark reads the ARP request as ARP');
  });

  it('the file holds what went in and out, in order, with whole packets and wall-clock timestamps', async function () {
    const [a] = twoStacks();
    const tun = a.createTunInterface({ ipAddress: '10.5.0.1/24' });
    const replies = [];
    tun.on('packet', (p) => replies.push(p));
    const file = path.join(dir, 'echo.pcap');
    const started = Date.now() * 1000;
    const capture = tun.capture(file);
    const requests = [0, 1, 700, 1472].map((n) => icmpEchoRequest('10.5.0.2', '10.5.0.1', Buffer.alloc(n, n & 0xff)));
    for (const request of requests) tun.send(request);
    await waitFor(() => replies.length === requests.length, 5000, 'the echo replies');
    await capture.stop();
    const ended = Date.now() * 1000;
    const { linktype, snapshotLength, records } = readPcap(file);
    assert.equal(linktype, 101, 'LINKTYPE_RAW');
    assert.equal(snapshotLength, 0x10000);
    // Each request as it came in, then the reply the stack sent.
    assert.deepEqual(records.map((r) => r.bytes), requests.flatMap((request, i) => [request, replies[i]]));
    // Milliseconds at least on either engine: within the run, in order.
    const times = records.map((r) => r.time);
    assert.ok(times[0] >= started - 1000 && times.at(-1) <= ended + 1000, `${times[0]}..${times.at(-1)} outside ${started}..${ended}`);
    assert.deepEqual(times, [...times].sort((x, y) => x - y));
  });

  it('a closing capture keeps the process alive until its file is complete', function () {
    const file = path.join(dir, 'exit.pcap');
    const child = spawnSync(process.execPath, ['-e', `
      const { Stack } = require(${JSON.stringify(path.join(__dirname, '..'))});
      const stack = new Stack();
      const lo = stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      const capture = lo.capture(${JSON.stringify(file)});
      const server = stack.net.createServer((s) => s.end('x')).listen(80, () => {
        stack.net.connect(80, '127.0.0.1').resume().on('close', () => {
          server.close(() => setTimeout(() => {
            // Nothing else is open now: only the closing capture holds the process.
            capture.stop().then(() => console.log('stopped'));
          }, 100));
        });
      });
    `], { encoding: 'utf8', timeout: 20000 });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'stopped');
    assert.equal(tshark(file, 'tcp.flags.syn == 1 && tcp.flags.ack == 0').length, 1);
  });

  it('removing an interface, or destroying its stack, completes its capture and settles stop()', async function () {
    this.timeout(30000);
    const [a, b] = twoStacks();
    const ia = a.createTunInterface({ ipAddress: '10.3.0.1/24' });
    const ib = b.createTunInterface({ ipAddress: '10.3.0.2/24' });
    ia.on('packet', (p) => ib.send(p));
    ib.on('packet', (p) => ia.send(p));
    const removedFile = path.join(dir, 'removed.pcap');
    const removedCapture = ia.capture(removedFile);
    const destroyedFile = path.join(dir, 'destroyed.pcap');
    const destroyedCapture = ib.capture(destroyedFile);
    await exchange(a, b, '10.3.0.2', 10000);
    ia.remove();
    await within(removedCapture.stop(), 5000, 'stop() after remove()');
    assert.equal(tshark(removedFile, 'tcp.flags.syn == 1 && tcp.flags.ack == 0').length, 1);
    const stopping = destroyedCapture.stop();
    b.destroy();
    await within(stopping, 5000, 'stop() pending across destroy()');
    assert.equal(tshark(destroyedFile, 'tcp.flags.syn == 1 && tcp.flags.ack == 0').length, 1);
  });

  it('rejects a path it cannot write, and a second capture of one interface', function () {
    const [a] = twoStacks();
    const tun = a.createTunInterface({ ipAddress: '10.2.0.1/24' });
    assert.throws(() => tun.capture(path.join(dir, 'missing', 'x.pcap')), { code: 'ENOENT' });
    assert.throws(() => tun.capture(42), { code: 'ERR_INVALID_ARG_TYPE' });
    const capture = tun.capture(path.join(dir, 'one.pcap'));
    assert.throws(() => tun.capture(path.join(dir, 'two.pcap')), { code: 'ERR_TCPIP_CAPTURE_RUNNING' });
    return capture.stop();
  });
});
