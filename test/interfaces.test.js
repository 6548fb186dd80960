'use strict';
// TUN and TAP interfaces: stacks joined through JS hooks, MTU limits,
// counters, and garbage injected from JS.
const assert = require('node:assert/strict');
const { withStacks } = require('./helpers/stack.js');
const { assertTransfer } = require('./helpers/transfer.js');
const { garbage, icmpEchoRequest } = require('./helpers/packets.js');
const { listen, closeServer, delay, within } = require('./helpers/util.js');

const MiB = 1024 * 1024;

/** Joins two interfaces in JS: what one sends, the other receives. */
function join(a, b, event) {
  a.on(event, (data) => b.send(data));
  b.on(event, (data) => a.send(data));
}

describe('interfaces', function () {
  const stack = withStacks();

  describe('TUN', function () {
    it('two stacks joined by TUN hooks carry 64 MiB byte-exact', async function () {
      this.timeout(60000);
      const a = stack();
      const b = stack();
      const ta = a.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 65535 });
      const tb = b.createTunInterface({ ipAddress: '10.0.0.2/24', mtu: 65535 });
      join(ta, tb, 'packet');
      await assertTransfer(a, b, '10.0.0.2', 64 * MiB);
      const stats = await tb.stats();
      assert.ok(stats.packetsIn > 0 && stats.bytesIn > 64 * MiB, 'the receiver counted what came in');
      assert.equal(stats.dropped.malformed, 0);
    });

    it('web streams: .readable yields packets and .writable injects them', async function () {
      this.timeout(20000);
      const a = stack();
      const b = stack();
      const ta = a.createTunInterface({ ipAddress: '10.1.0.1/24' });
      const tb = b.createTunInterface({ ipAddress: '10.1.0.2/24' });
      const pipes = [ta.readable.pipeTo(tb.writable).catch(() => {}), tb.readable.pipeTo(ta.writable).catch(() => {})];
      await assertTransfer(a, b, '10.1.0.2', 2 * MiB);
      ta.remove();
      tb.remove();
      await Promise.all(pipes);
    });
  });

  describe('TAP', function () {
    for (const [family, addressA, addressB, target] of [
      ['IPv4 (ARP)', '10.2.0.1/24', '10.2.0.2/24', '10.2.0.2'],
      ['IPv6 (neighbour discovery)', 'fd00::1/64', 'fd00::2/64', 'fd00::2'],
    ]) {
      it(`two stacks joined by TAP hooks carry 64 MiB byte-exact over ${family}; no frame exceeds 1514 bytes`, async function () {
        this.timeout(90000);
        const a = stack();
        const b = stack();
        const ta = a.createTapInterface({ ipAddress: addressA });
        const tb = b.createTapInterface({ ipAddress: addressB });
        assert.equal(ta.mtu, 1500);
        assert.match(ta.macAddress, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        let largest = 0;
        const watch = (frame) => { largest = Math.max(largest, frame.length); };
        ta.on('frame', watch);
        tb.on('frame', watch);
        join(ta, tb, 'frame');
        await assertTransfer(a, b, target, 64 * MiB);
        assert.ok(largest <= 1514, `largest frame ${largest} bytes`);
        assert.ok(largest > 1400, `full-size frames were used (largest ${largest})`);
      });
    }

    it('MAC addresses: random ones are unicast and locally administered; given ones are used', function () {
      const s = stack();
      const random = s.createTapInterface({ ipAddress: '10.3.0.1/24' });
      const first = parseInt(random.macAddress.slice(0, 2), 16);
      assert.equal(first & 1, 0);
      assert.equal(first & 2, 2);
      const given = s.createTapInterface({ ipAddress: '10.4.0.1/24', macAddress: '02:11:22:33:44:55' });
      assert.equal(given.macAddress, '02:11:22:33:44:55');
      assert.throws(() => s.createTapInterface({ ipAddress: '10.5.0.1/24', macAddress: '01:00:00:00:00:01' }),
        { code: 'ERR_INVALID_ARG_VALUE' });
      assert.throws(() => s.createTapInterface({ ipAddress: '10.5.0.1/24', macAddress: 'zz' }),
        { code: 'ERR_INVALID_ARG_VALUE' });
    });
  });

  describe('management', function () {
    it('stack.interfaces lists interfaces; remove() takes one away and its traffic stops', async function () {
      const s = stack();
      const lo = s.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      const tun = s.createTunInterface({ ipAddress: '10.6.0.1/24', mtu: 9000 });
      assert.deepEqual(s.interfaces, [lo, tun]);
      assert.equal(tun.type, 'tun');
      assert.equal(tun.mtu, 9000);
      assert.deepEqual(tun.ipAddresses, ['10.6.0.1/24']);
      const pendingStats = tun.stats();
      tun.remove();
      await assert.rejects(pendingStats, { code: 'ERR_TCPIP_INTERFACE_REMOVED' });
      await assert.rejects(tun.stats(), { code: 'ERR_TCPIP_INTERFACE_REMOVED' });
      assert.equal(tun.removed, true);
      assert.deepEqual(s.interfaces, [lo]);
      assert.throws(() => tun.send(Buffer.alloc(20)), { code: 'ERR_TCPIP_INTERFACE_REMOVED' });
      const c = s.net.connect(80, '10.6.0.9');
      const error = await new Promise((resolve) => c.once('error', resolve));
      assert.equal(error.code, 'ENETUNREACH');
    });

    it('a default route sends off-subnet traffic through the TUN interface', async function () {
      const s = stack();
      const tun = s.createTunInterface({ ipAddress: '10.7.0.1/24', defaultRoute: true });
      const packet = new Promise((resolve) => tun.once('packet', resolve));
      const c = s.net.connect(80, '10.99.0.1');
      c.on('error', () => {});
      const syn = await within(packet, 5000, 'a SYN out of the TUN interface');
      assert.equal(syn[0] >> 4, 4);
      assert.deepEqual([...syn.subarray(16, 20)], [10, 99, 0, 1]);
      c.destroy();
    });

    it('a gateway takes off-subnet traffic: a TAP asks ARP for the gateway, not for the destination', async function () {
      const s = stack();
      const tap = s.createTapInterface({ ipAddress: '10.7.1.1/24', gateway: '10.7.1.254' });
      assert.equal(tap.gateway, '10.7.1.254');
      // The interface announces its own address first (gratuitous ARP); the
      // request that matters asks for someone else.
      const isArpRequest = (f) => f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 1;
      const ownAddress = (f) => f.subarray(28, 32).equals(f.subarray(38, 42));
      const frame = new Promise((resolve) => tap.on('frame', (f) => {
        if (isArpRequest(f) && !ownAddress(f)) resolve(f);
      }));
      const c = s.net.connect(80, '10.99.0.1');
      c.on('error', () => {});
      const arp = await within(frame, 5000, 'an ARP request out of the TAP interface');
      assert.deepEqual([...arp.subarray(38, 42)], [10, 7, 1, 254], 'for the gateway');
      c.destroy();
    });

    it('a stack holds at most 64 interfaces; removing one makes room, and every one of them works', async function () {
      const s = stack();
      const tuns = [];
      for (let i = 0; i < 64; i++) tuns.push(s.createTunInterface({ ipAddress: `10.${i}.0.1/24` }));
      assert.throws(() => s.createTunInterface({ ipAddress: '10.200.0.1/24' }),
        { code: 'ERR_TCPIP_TOO_MANY_INTERFACES', message: 'A stack has at most 64 interfaces' });
      tuns.pop().remove();
      const last = s.createTunInterface({ ipAddress: '10.201.0.1/24' });
      // The engine has the last one too: it answers a ping through it.
      const reply = new Promise((resolve) => last.once('packet', resolve));
      last.send(icmpEchoRequest('10.201.0.2', '10.201.0.1'));
      const packet = await within(reply, 5000, 'echo reply');
      assert.equal(packet[9], 1, 'ICMP');
      assert.equal(packet[20], 0, 'echo reply');
    });

    it('every IPv6 address an interface takes is its own: a server listens on each (4 on TUN, 3 beside the link-local one on TAP)', async function () {
      const s = stack();
      const tun = s.createTunInterface({ ipAddress: ['fd10::1/64', 'fd11::1/64', 'fd12::1/64', 'fd13::1/64'] });
      const tap = s.createTapInterface({ ipAddress: ['fd20::1/64', 'fd21::1/64', 'fd22::1/64'] });
      for (const iface of [tun, tap]) {
        for (const { address } of iface.addresses) {
          const server = s.net.createServer();
          await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(80, address, resolve);
          });
          assert.equal(server.address().address, address);
          await new Promise((resolve) => server.close(resolve));
        }
      }
    });

    it('validates options with Node-style errors', function () {
      const s = stack();
      assert.throws(() => s.createTunInterface(), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => s.createTunInterface({ ipAddress: 'nope' }), { code: 'ERR_INVALID_IP_ADDRESS' });
      assert.throws(() => s.createTunInterface({ ipAddress: '10.0.0.1/33' }), { code: 'ERR_INVALID_ARG_VALUE' });
      assert.throws(() => s.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 100 }), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => s.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 70000 }), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => s.createTunInterface({ ipAddress: '10.0.0.1/24', gateway: '::1' }), { code: 'ERR_INVALID_IP_ADDRESS' });
      // lwIP would send from an unspecified address; a multicast one is nobody's.
      for (const cidr of ['0.0.0.0/8', '::/64', '0:0::0/128', '224.0.0.1/24', '239.1.2.3/32', 'ff02::1/64', 'FF05::2/16']) {
        assert.throws(() => s.createTunInterface({ ipAddress: cidr }), {
          code: 'ERR_INVALID_ARG_VALUE',
          message: `The property 'options.ipAddress' must be a unicast address. Received '${cidr}'`,
        });
      }
      assert.throws(() => s.createTapInterface({ ipAddress: ['fd00::1/64', '::/0'] }), { code: 'ERR_INVALID_ARG_VALUE' });
      // four IPv6 addresses; a TAP interface's link-local one takes a slot
      const v6 = (count) => Array.from({ length: count }, (_, i) => `fd0${i}::1/64`);
      assert.throws(() => s.createTunInterface({ ipAddress: v6(5) }), { message: /may hold at most 4 IPv6 addresses/ });
      assert.throws(() => s.createTapInterface({ ipAddress: v6(4) }), { message: /may hold at most 3 IPv6 addresses/ });
      const tun = s.createTunInterface({ ipAddress: '10.0.0.1/24' });
      assert.throws(() => tun.send('text'), { code: 'ERR_INVALID_ARG_TYPE' });
    });
  });

  describe('bad input', function () {
    it('100,000 random and mutated packets through TUN and TAP: no crash, every one counted, the stack still serves', async function () {
      this.timeout(120000);
      const s = stack();
      s.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      const tun = s.createTunInterface({ ipAddress: ['10.0.0.1/24', 'fd00::1/64'] });
      // SLAAC on: router advertisements among the garbage reach its parser
      const tap = s.createTapInterface({ ipAddress: ['10.0.1.1/24', 'fd01::1/64', 'slaac'] });
      const server = s.net.createServer((socket) => socket.end('still here'));
      await listen(server, 80);
      // UDP, DNS and ICMP parsers in the way of the garbage: a DNS server on
      // port 53, and a connected UDP socket whose flow ICMP errors quote.
      const dnsServer = s.dns.createServer({ zone: { 'example.test': { A: ['10.0.0.1'] } } });
      await new Promise((resolve) => dnsServer.listen(53, resolve));
      const connected = s.dgram.createSocket('udp4');
      let refusals = 0;
      connected.on('error', () => refusals++);
      await new Promise((resolve) => connected.bind(5353, () => connected.connect(53, '10.0.0.2', resolve)));
      const TOTAL = 100000;
      const accepted = { tun: 0, tap: 0 };
      for (let i = 0; i < TOTAL; i++) {
        const layer = i % 2 ? 3 : 2;
        const iface = layer === 3 ? tun : tap;
        if (iface.send(garbage(layer))) accepted[layer === 3 ? 'tun' : 'tap']++;
        if (i % 2000 === 0) await delay(1);
      }
      await delay(200);
      for (const [name, iface] of [['tun', tun], ['tap', tap]]) {
        const stats = await iface.stats();
        const { malformed, oversize, down, noMemory, queueFull } = stats.dropped;
        assert.equal(stats.packetsIn + malformed + oversize + down + noMemory, accepted[name],
          `${name}: every accepted packet is counted as taken or dropped`);
        assert.equal(accepted[name] + queueFull, TOTAL / 2, `${name}: refused sends are counted`);
        assert.ok(malformed > 0, `${name}: garbage was recognised as malformed`);
      }
      const reply = await new Promise((resolve, reject) => {
        const c = s.net.connect(80, '127.0.0.1');
        let text = '';
        c.on('data', (d) => { text += d; });
        c.on('end', () => resolve(text));
        c.on('error', reject);
      });
      assert.equal(reply, 'still here');
      assert.ok(refusals > 0, 'port unreachables quoting the connected flow reached it');
      s.dns.setServers(['127.0.0.1']);
      assert.deepEqual(await s.dns.promises.resolve4('example.test'), ['10.0.0.1']);
      const dnsStats = dnsServer.stats();
      assert.ok(dnsStats.udpQueries > 1, 'injected queries reached the DNS server');
      assert.ok(dnsStats.malformed + dnsStats.formerr > 0, 'mangled queries were counted');
      connected.close();
      await new Promise((resolve) => dnsServer.close(resolve));
      await closeServer(server);
    });

    it('a flood of injected packets is bounded in memory, and refused sends are counted', async function () {
      this.timeout(60000);
      const s = stack();
      const tun = s.createTunInterface({ ipAddress: '10.8.0.1/24' });
      const packet = Buffer.alloc(1500);
      packet[0] = 0x45;
      packet.writeUInt16BE(1500, 2);
      const rssBefore = process.memoryUsage().rss;
      let refused = 0;
      // 300 MB offered in one synchronous burst: the engine either keeps up
      // or refuses, but never queues it all.
      for (let i = 0; i < 200000; i++) if (!tun.send(packet)) refused++;
      const growth = process.memoryUsage().rss - rssBefore;
      assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB during the flood`);
      await delay(100);
      const stats = await tun.stats();
      assert.equal(stats.dropped.queueFull, refused);
      assert.equal(stats.packetsIn + stats.dropped.malformed + refused, 200000);
    });
  });
});
