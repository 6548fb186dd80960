'use strict';
// Addresses by DHCP and SLAAC. DHCP: the stack's client (lwIP's) and server
// (lib/dhcp), among stacks on both engines, against a hand-written client
// for what no well-behaved client sends, and against real peers in network
// namespaces the tests create: dnsmasq as server, busybox udhcpc as the
// kernel's client. SLAAC (lwIP's): router advertisements the test writes,
// and dnsmasq's in a namespace.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { SocketAddress } = require('node:net');
const { getEventListeners } = require('node:events');
const { Stack, link } = require('..');
const { teardown, DEFAULT_BACKEND, DEFAULT_THREAD } = require('./helpers/stack.js');
const { within, abortErrorOf } = require('./helpers/util.js');
const { encode, TYPES, OPTIONS, ipBytes } = require('../lib/dhcp/message.js');
const { routerAdvertisement, addressText } = require('./helpers/packets.js');

const FIXTURE = path.join(__dirname, 'fixtures', 'dhcp-peer.js');

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, resolve));
}

// Resolves with the next `count` values `event` brings.
function next(emitter, event, count = 1) {
  return new Promise((resolve) => {
    const values = [];
    const on = (value) => {
      values.push(value);
      if (values.length === count) {
        emitter.off(event, on);
        resolve(count === 1 ? values[0] : values);
      }
    };
    emitter.on(event, on);
  });
}

describe('DHCP', function () {
  this.timeout(30000);
  const stacks = [];
  const stack = () => {
    const s = new Stack();
    stacks.push(s);
    return s;
  };
  afterEach(() => {
    for (const s of stacks.splice(0)) teardown(s);
  });

  // A server stack whose bridge (10.0.0.1/24) switches `clients` TAP ports,
  // each linked to a client stack's TAP interface.
  async function network(clients, serverOptions = {}) {
    const server = stack();
    const ports = [];
    for (let i = 0; i < clients; i++) ports.push(server.createTapInterface({}));
    const bridge = server.createBridgeInterface({ ports, ipAddress: '10.0.0.1/24' });
    const dhcp = server.createDhcpServer(bridge, {
      range: ['10.0.0.100', '10.0.0.149'], router: '10.0.0.1', dns: ['10.0.0.53', '10.0.0.54', '10.0.0.55'], leaseTime: 600,
      ...serverOptions,
    });
    await once(dhcp, 'listening');
    const hosts = ports.map((port) => {
      const host = stack();
      const tap = host.createTapInterface({});
      link(port, tap);
      return { stack: host, tap };
    });
    return { server, bridge, dhcp, hosts };
  }

  it('a server gives two client stacks across a bridge their leases: address, prefix, router, DNS; they talk over them', async function () {
    const { dhcp, hosts } = await network(2);
    const [a, b] = hosts;
    const events = [];
    a.tap.on('lease', (lease) => events.push(lease));
    const [leaseA, leaseB] = await Promise.all([a.tap.dhcp(), b.tap.dhcp()]);
    assert.notEqual(leaseA.address, leaseB.address);
    for (const [host, lease] of [[a, leaseA], [b, leaseB]]) {
      assert.match(lease.address, /^10\.0\.0\.1[0-4]\d$/);
      assert.equal(lease.prefix, 24);
      assert.equal(lease.router, '10.0.0.1');
      assert.deepEqual(lease.dns, ['10.0.0.53', '10.0.0.54', '10.0.0.55']);
      assert.equal(lease.leaseTime, 600);
      assert.equal(lease.server, '10.0.0.1');
      assert.deepEqual(host.tap.ipAddresses.filter((cidr) => !cidr.startsWith('fe80')), [`${lease.address}/24`]);
      assert.equal(host.tap.gateway, '10.0.0.1');
      assert.deepEqual(host.tap.lease, lease);
      // the stack was given no servers: the lease's serve stack.dns, and a
      // Resolver made now starts from them (as from a rewritten resolv.conf)
      assert.deepEqual(host.stack.dns.getServers(), ['10.0.0.53', '10.0.0.54', '10.0.0.55']);
      assert.deepEqual(new host.stack.dns.Resolver().getServers(), ['10.0.0.53', '10.0.0.54', '10.0.0.55']);
      assert.deepEqual(new host.stack.dns.promises.Resolver().getServers(), ['10.0.0.53', '10.0.0.54', '10.0.0.55']);
    }
    assert.deepEqual(events, [leaseA]);
    assert.deepEqual(dhcp.leases().map((l) => l.address).sort(), [leaseA.address, leaseB.address].sort());
    assert.deepEqual(dhcp.leases().map((l) => l.mac).sort(), [a.tap.macAddress, b.tap.macAddress].sort());
    // TCP between the two leased addresses, through the server's bridge
    const server = b.stack.net.createServer((socket) => socket.end('over the lease'));
    await new Promise((resolve) => server.listen(7000, resolve));
    const reply = await new Promise((resolve, reject) => {
      let text = '';
      const socket = a.stack.net.connect(7000, leaseB.address);
      socket.on('data', (d) => { text += d; });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.equal(reply, 'over the lease');
    assert.equal(dhcp.stats().malformed, 0);
  });

  it("servers given to the stack win over the lease's; createTapInterface({ ipAddress: 'dhcp' }) starts the client", async function () {
    const server = stack();
    const port = server.createTapInterface({ ipAddress: '10.0.0.1/24' });
    const dhcp = server.createDhcpServer(port, { range: ['10.0.0.100', '10.0.0.100'], dns: ['10.0.0.53'] });
    await once(dhcp, 'listening');
    const host = new Stack({ dns: { servers: ['10.9.9.9'] } });
    stacks.push(host);
    const tap = host.createTapInterface({ ipAddress: ['dhcp', 'fd00::2/64'] });
    const leased = next(tap, 'lease');
    link(port, tap);
    const lease = await leased;
    assert.equal(lease.address, '10.0.0.100');
    assert.equal(lease.router, null);
    assert.equal(tap.gateway, null);
    assert.deepEqual(tap.ipAddresses.filter((cidr) => !cidr.startsWith('fe80')), ['10.0.0.100/24', 'fd00::2/64']);
    assert.deepEqual(host.dns.getServers(), ['10.9.9.9']);
    assert.deepEqual(new host.dns.Resolver().getServers(), ['10.9.9.9']);
  });

  it('a short lease is renewed (a lease event each time), and released on remove', async function () {
    const { dhcp, hosts: [host] } = await network(1, { leaseTime: 2 });
    const first = await host.tap.dhcp();
    // lwIP renews at half the lease: two renewals within about two seconds
    const renewals = await next(host.tap, 'lease', 2);
    for (const lease of renewals) assert.deepEqual(lease, first);
    assert.ok(dhcp.stats().acks >= 3);
    const released = once(dhcp, 'release');
    const closed = once(host.tap, 'close');
    host.tap.remove();
    const lease = await released;
    assert.equal(lease.address, first.address);
    assert.equal(lease.mac, host.tap.macAddress);
    await closed;
    assert.deepEqual(dhcp.leases(), []);
    assert.equal(dhcp.stats().releases, 1);
  });

  it("a stack's destroy() removes its leased interfaces at once: 'close' for each, and what waited on them rejects as for a removed interface", async function () {
    const { hosts: [a, b] } = await network(2);
    await Promise.all([a.tap.dhcp(), b.tap.dhcp()]);
    const removed = { code: 'ERR_TCPIP_INTERFACE_REMOVED' };
    // a: leased, waiting for its counters and an address no router offers;
    // beside it an interface whose DHCP client hears no server.
    const unheard = a.stack.createTapInterface({ ipAddress: 'dhcp' });
    const waiting = [a.tap.stats(), a.tap.slaac(), unheard.stats(), unheard.dhcp()];
    for (const promise of waiting) promise.catch(() => {});
    const events = [];
    a.tap.on('close', () => events.push('a'));
    unheard.on('close', () => events.push('unheard'));
    a.stack.destroy();
    assert.deepEqual(events.sort(), ['a', 'unheard']);
    assert.equal(a.tap.removed, true);
    for (const promise of waiting) await assert.rejects(within(promise, 10000, 'a rejection'), removed);
    await assert.rejects(a.tap.dhcp(), removed);
    // b: remove() waits for its RELEASE to leave; the stack's destroy() in
    // the meantime ends the wait, with one 'close'.
    let closes = 0;
    b.tap.on('close', () => closes++);
    const stats = b.tap.stats();
    stats.catch(() => {});
    b.tap.remove();
    b.stack.destroy();
    assert.equal(closes, 1);
    await assert.rejects(within(stats, 10000, 'a rejection'), removed);
    assert.equal(closes, 1);
  });

  it('dhcpStop() gives the lease back: a lease event with null, the address gone', async function () {
    const { dhcp, hosts: [host] } = await network(1);
    const lease = await host.tap.dhcp();
    const lost = next(host.tap, 'lease');
    const released = once(dhcp, 'release');
    host.tap.dhcpStop();
    assert.equal(await lost, null);
    assert.equal(host.tap.lease, null);
    assert.deepEqual(host.tap.ipAddresses.filter((cidr) => cidr.includes('.')), []);
    assert.equal(host.tap.gateway, null);
    assert.equal((await released).address, lease.address);
    assert.deepEqual(dhcp.leases(), []);
    // and again: the same address comes back
    assert.equal((await host.tap.dhcp()).address, lease.address);
  });

  it('dhcp({ signal }): an abort rejects the wait with an AbortError; a client the call started stops, one running before keeps asking', async function () {
    const s = stack();
    // An aborted signal: the client does not start (a static address stays).
    const tap = s.createTapInterface({ ipAddress: '10.0.0.50/24' });
    const reason = new Error('gave up');
    await assert.rejects(tap.dhcp({ signal: AbortSignal.abort(reason) }), abortErrorOf(reason));
    assert.deepEqual(tap.ipAddresses.filter((cidr) => cidr.includes('.')), ['10.0.0.50/24']);
    assert.equal(tap.lease, null);
    // No server answers: the call that started the client stops it on
    // abort, as dhcpStop() does, rejecting another waiter.
    const controller = new AbortController();
    const started = tap.dhcp({ signal: controller.signal });
    const other = tap.dhcp();
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    setImmediate(() => controller.abort());
    const aborted = await started.then(() => null, (e) => e);
    // Without a reason given, the signal's own (a DOMException) is the cause.
    assert.ok(aborted instanceof Error);
    const { name, code, message, cause } = aborted;
    assert.deepEqual({ name, code, message, cause }, abortErrorOf(controller.signal.reason));
    assert.equal(aborted.cause.name, 'AbortError');
    await assert.rejects(within(other, 10000, 'the other dhcp()'), { code: 'ERR_TCPIP_DHCP_STOPPED' });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    // A client running before the call (ipAddress 'dhcp') keeps asking:
    // linked to a server after the abort, it takes its lease.
    const server = stack();
    const port = server.createTapInterface({ ipAddress: '10.0.0.1/24' });
    const dhcp = server.createDhcpServer(port, { range: ['10.0.0.100', '10.0.0.100'] });
    await once(dhcp, 'listening');
    const host = stack().createTapInterface({ ipAddress: 'dhcp' });
    const timeout = AbortSignal.timeout(1);
    const error = await host.dhcp({ signal: timeout }).then(() => null, (e) => e);
    assert.equal(error.code, 'ABORT_ERR');
    assert.equal(error.cause.name, 'TimeoutError');
    const leased = next(host, 'lease');
    link(port, host);
    assert.equal((await within(leased, 20000, 'the lease')).address, '10.0.0.100');
    // Settled, the call leaves the signal alone.
    const later = new AbortController();
    assert.equal((await host.dhcp({ signal: later.signal })).address, '10.0.0.100');
    assert.equal(getEventListeners(later.signal, 'abort').length, 0);
    later.abort();
    assert.equal(host.lease.address, '10.0.0.100');
    for (const bad of [null, {}, 'soon', 3000]) {
      assert.throws(() => tap.dhcp({ signal: bad }), {
        code: 'ERR_INVALID_ARG_TYPE', message: /^The "options\.signal" property must be an instance of AbortSignal\./,
      });
    }
  });

  it('DHCP is for TAP and bridge interfaces; ipAddress dhcp and a gateway do not mix', function () {
    const s = stack();
    assert.throws(() => s.createTunInterface({ ipAddress: 'dhcp' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => s.createTapInterface({ ipAddress: 'dhcp', gateway: '10.0.0.1' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => s.createTapInterface({ ipAddress: ['dhcp', 'dhcp'] }), { code: 'ERR_INVALID_ARG_VALUE' });
    const tun = s.createTunInterface({ ipAddress: '10.0.0.2/24' });
    assert.throws(() => tun.dhcp(), { code: 'ERR_TCPIP_NOT_SUPPORTED' });
    const tap = s.createTapInterface({ ipAddress: '10.0.0.2/24' });
    assert.throws(() => s.createDhcpServer(tap, { range: ['10.0.1.1', '10.0.1.9'] }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => s.createDhcpServer(tap, { range: ['10.0.0.9', '10.0.0.1'] }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => s.createDhcpServer(tun, { range: ['10.0.0.1', '10.0.0.9'] }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => s.createDhcpServer(tap, { range: ['10.0.0.1', '10.0.0.9'], leaseTime: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  });

  // A hand-written client: a stack with a static address on the server's
  // wire and a UDP socket on port 68, sending what it likes to port 67.
  async function handClient(serverOptions = {}) {
    const server = stack();
    const port = server.createTapInterface({ ipAddress: '10.0.0.1/24' });
    const dhcp = server.createDhcpServer(port, { range: ['10.0.0.100', '10.0.0.101'], leaseTime: 600, ...serverOptions });
    await once(dhcp, 'listening');
    const client = stack();
    const tap = client.createTapInterface({ ipAddress: '10.0.0.50/24' });
    link(port, tap);
    const socket = client.dgram.createSocket('udp4');
    await new Promise((resolve) => socket.bind(68, resolve));
    socket.setBroadcast(true);
    const replies = [];
    socket.on('message', (msg) => replies.push(require('../lib/dhcp/message.js').decode(msg)));
    const send = (bytes) => new Promise((resolve) => socket.send(bytes, 67, '255.255.255.255', resolve));
    const message = (type, mac, options = [], fields = {}) => encode({
      op: 1, xid: 0x1234, chaddr: mac, type, options, ...fields,
    });
    // Waits until the server has received `count` messages in all.
    const received = async (count) => {
      while (dhcp.stats().received < count) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    // Waits until `count` replies have arrived in all.
    const answered = async (count) => {
      while (replies.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    return { server, port, dhcp, client, socket, replies, send, message, received, answered };
  }

  it('NAK for an address outside the range, or another client\'s; exhaustion: no offer once the range is given out', async function () {
    const { dhcp, replies, send, message, received, answered } = await handClient();
    await send(message(TYPES.REQUEST, '02:00:00:00:00:01', [[OPTIONS.REQUESTED_ADDRESS, ipBytes('10.0.5.5')]]));
    await received(1);
    await answered(1);
    assert.equal(replies[0].type, TYPES.NAK);
    assert.equal(replies[0].chaddr, '02:00:00:00:00:01');
    // three clients, two addresses
    for (const mac of ['02:00:00:00:00:0a', '02:00:00:00:00:0b', '02:00:00:00:00:0c']) {
      await send(message(TYPES.DISCOVER, mac));
    }
    await received(4);
    await answered(3);
    const offers = replies.filter((r) => r.type === TYPES.OFFER);
    assert.deepEqual(offers.map((r) => [r.chaddr, r.yiaddr]),
      [['02:00:00:00:00:0a', '10.0.0.100'], ['02:00:00:00:00:0b', '10.0.0.101']]);
    assert.equal(dhcp.stats().exhausted, 1);
    // the first takes its offer; a request for it from another client is refused
    await send(message(TYPES.REQUEST, '02:00:00:00:00:0a',
      [[OPTIONS.REQUESTED_ADDRESS, ipBytes('10.0.0.100')], [OPTIONS.SERVER_ID, ipBytes('10.0.0.1')]]));
    await send(message(TYPES.REQUEST, '02:00:00:00:00:0c', [[OPTIONS.REQUESTED_ADDRESS, ipBytes('10.0.0.100')]]));
    await received(6);
    await answered(5);
    assert.deepEqual(replies.slice(3).map((r) => [r.type, r.chaddr]),
      [[TYPES.ACK, '02:00:00:00:00:0a'], [TYPES.NAK, '02:00:00:00:00:0c']]);
    assert.deepEqual(dhcp.leases().map((l) => [l.address, l.mac]), [['10.0.0.100', '02:00:00:00:00:0a']]);
    assert.equal(dhcp.stats().naks, 2);
  });

  it('malformed messages are counted and dropped; the server answers the next good one', async function () {
    const { dhcp, replies, send, message, received, answered } = await handClient();
    const good = message(TYPES.DISCOVER, '02:00:00:00:00:01');
    const lying = Buffer.from(good);
    lying[243] = 12; // a host name where the end was, claiming 200 bytes of the 56 left
    lying[244] = 200;
    const lyingTail = Buffer.concat([good.subarray(0, 243), Buffer.from([12, 250, 1, 2, 3])]);
    const noEnd = Buffer.from(good.subarray(0, 243));
    const noCookie = Buffer.from(good);
    noCookie.writeUInt32BE(0, 236);
    const noType = Buffer.from(good);
    noType[242] = 9; // message type 9
    const huge = Buffer.concat([good.subarray(0, 243), Buffer.alloc(2 * 4000, 0), Buffer.from([255])]);
    for (let i = 243; i < 243 + 8000; i += 2) {
      huge[i] = 224; // 4000 one-byte options of an unassigned code
      huge[i + 1] = 0;
    }
    const malformed = [
      Buffer.alloc(0), Buffer.alloc(10, 1), good.subarray(0, 239), lying, lyingTail, noEnd, noCookie, noType, huge,
      Buffer.alloc(1400, 0xff),
    ];
    for (const bytes of malformed) await send(bytes);
    await received(malformed.length);
    assert.equal(dhcp.stats().malformed, malformed.length);
    await send(good);
    await received(malformed.length + 1);
    await answered(1);
    assert.deepEqual(replies.map((r) => r.type), [TYPES.OFFER]);
    assert.equal(dhcp.stats().offers, 1);
  });

  it("the client survives malformed replies and offers of addresses no host may have, carrying its own transaction id, and takes the real server's lease", async function () {
    // A bridge joins the client, the server's own port and a forger, which
    // answers each of the client's messages with replies lwIP must refuse:
    // malformed ones, and well-formed offers of an unspecified, broadcast,
    // multicast or loopback address (each a lease of no usable address,
    // which the forger would ACK if the client asked for it).
    const server = stack();
    const clientPort = server.createTapInterface({});
    const forgerPort = server.createTapInterface({});
    const bridge = server.createBridgeInterface({ ports: [clientPort, forgerPort], ipAddress: '10.0.0.1/24' });
    const forger = stack();
    const forgerTap = forger.createTapInterface({ ipAddress: '10.0.0.2/24' });
    link(forgerPort, forgerTap);
    const socket = forger.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise((resolve) => socket.bind(67, resolve));
    socket.setBroadcast(true);
    let forged = 0;
    const unusable = ['0.0.0.0', '255.255.255.255', '224.0.0.5', '127.0.0.1'];
    let requested = 0;
    let forging = true;
    socket.on('message', (msg) => {
      const { decode: decodeMessage } = require('../lib/dhcp/message.js');
      const request = decodeMessage(msg);
      const serverIdentifier = [OPTIONS.SERVER_ID, [10, 0, 0, 2]];
      const lease = [[OPTIONS.LEASE_TIME, [0, 0, 14, 16]], [OPTIONS.SUBNET_MASK, [255, 255, 255, 0]]];
      if (request.type === TYPES.REQUEST) {
        if (!forging) return; // the real server's lease is for the client to take
        requested++;
        const wanted = request.options.get(OPTIONS.REQUESTED_ADDRESS);
        const yiaddr = wanted ? [...wanted].join('.') : '0.0.0.0';
        const ack = encode({ xid: request.xid, chaddr: request.chaddr, type: TYPES.ACK, yiaddr, options: [serverIdentifier, ...lease] });
        socket.send(ack, 68, '255.255.255.255');
        return;
      }
      const reply = (options) => {
        const bytes = encode({ xid: request.xid, chaddr: request.chaddr, type: TYPES.OFFER, yiaddr: '10.0.0.66' });
        // the options start at 240 and the message type takes 3 bytes: replace them all
        const head = bytes.subarray(0, 240);
        return Buffer.concat([head, Buffer.from(options)]);
      };
      const serverId = [54, 4, 10, 0, 0, 2];
      const bad = [
        reply([53, 1, 2]).subarray(0, 43), // shorter than lwIP reads
        reply([53, 1, 2, ...serverId, 1, 3, 255, 255, 255, 255]), // subnet mask of 3 bytes
        reply([53, 1, 2, ...serverId, 6, 5, 1, 2, 3, 4, 5, 255]), // DNS servers of 5 bytes
        reply([53, 1, 2, ...serverId, 51, 2, 0, 1, 255]), // lease time of 2 bytes
        reply([53, 2, 2, 2, ...serverId, 255]), // message type of 2 bytes
        reply([53, 1, 2, ...serverId, 52, 2, 3, 3, 255]), // overload of 2 bytes
        reply([53, 1, 2, ...serverId, 51, 200, 0, 0]), // a lease time whose length lies
        reply([...serverId, 6, 64, ...new Array(64).fill(9), 224, 250, 1]), // 16 DNS servers, then a lie; no type
        reply([52, 1, 3, ...serverId, 255]), // overload: options in file and sname, which hold none; no type
        reply([...new Array(4000).fill(0), 224, 255]), // 4000 pads (a fragmented datagram), then a lie
        reply([]), // no options at all
        ...unusable.map((yiaddr) => encode({ xid: request.xid, chaddr: request.chaddr, type: TYPES.OFFER, yiaddr, options: [serverIdentifier, ...lease] })),
      ];
      for (const bytes of bad) {
        forged++;
        socket.send(bytes, 68, '255.255.255.255');
      }
    });
    const host = stack();
    const tap = host.createTapInterface({});
    link(clientPort, tap);
    const leased = tap.dhcp();
    // Only the forger answers the first DISCOVER: its replies carry the
    // transaction id the client waits for, so lwIP parses every one.
    for (;;) {
      const stats = await tap.stats();
      if (forged >= 15 && stats.packetsIn >= 15) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(tap.lease, null);
    assert.equal(requested, 0, 'the client asked for an address no host may have');
    forging = false;
    // Then the real server, which the client's next DISCOVER finds.
    const dhcp = server.createDhcpServer(bridge, { range: ['10.0.0.100', '10.0.0.110'], dns: ['10.0.0.1'] });
    const lease = await leased;
    assert.equal(lease.server, '10.0.0.1');
    assert.match(lease.address, /^10\.0\.0\.1[01]\d$/);
    assert.deepEqual(lease.dns, ['10.0.0.1']);
    assert.deepEqual(dhcp.leases().map((l) => l.address), [lease.address]);
  });

  it('the server answers only on its interface (bindToInterface): a DISCOVER on another interface of its stack goes unheard', async function () {
    const server = stack();
    const mine = server.createTapInterface({ ipAddress: '10.0.0.1/24' });
    const other = server.createTapInterface({ ipAddress: '10.1.0.1/24' });
    const dhcp = server.createDhcpServer(mine, { range: ['10.0.0.100', '10.0.0.110'] });
    await once(dhcp, 'listening');
    const stranger = stack();
    const strangerTap = stranger.createTapInterface({});
    link(other, strangerTap);
    const frames = [];
    mine.on('frame', (frame) => { if (frame.readUInt16BE(12) === 0x0800) frames.push(frame); });
    // the stranger asks twice (its retransmission) and is never answered
    strangerTap.dhcp().catch(() => {});
    const outOther = await (async () => {
      for (;;) {
        const stats = await other.stats();
        if (stats.packetsIn >= 2) return stats;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    assert.ok(outOther.packetsIn >= 2);
    assert.equal(dhcp.stats().received, 0);
    assert.equal(strangerTap.lease, null);
    assert.equal(frames.length, 0); // no IPv4 left by the server's own interface either
    // while a host on its own interface is served
    const host = stack();
    const tap = host.createTapInterface({});
    link(mine, tap);
    assert.equal((await tap.dhcp()).address, '10.0.0.100');
  });

  describe('SLAAC: IPv6 addresses from router advertisements', function () {
    const ROUTER_MAC = '02:00:00:00:00:01';
    const ROUTER = 'fe80::ff:fe00:1'; // the link-local address of ROUTER_MAC (EUI-64)

    // The ICMPv6 messages a TAP interface sends, as { type, target }.
    function icmpv6Messages(tap) {
      const seen = [];
      tap.on('frame', (frame) => {
        if (frame.readUInt16BE(12) !== 0x86dd) return;
        let next = frame[20];
        let offset = 54;
        if (next === 0) { // hop-by-hop options (MLD reports)
          next = frame[offset];
          offset += (frame[offset + 1] + 1) * 8;
        }
        if (next !== 58) return;
        const type = frame[offset];
        seen.push({ type, target: type === 135 ? addressText(frame.subarray(offset + 8, offset + 24)) : null });
      });
      return seen;
    }

    async function until(condition, what, ms = 10000) {
      const deadline = Date.now() + ms;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    it('solicits routers, forms an address from an advertised /64 after duplicate address detection, and ignores prefixes that are not /64 or not autonomous', async function () {
      const s = stack();
      const tap = s.createTapInterface({ macAddress: '02:00:00:00:00:05', ipAddress: ['10.0.0.2/24', 'slaac'] });
      const messages = icmpv6Messages(tap);
      const changes = [];
      tap.on('address', (change) => changes.push(change));
      const formed = tap.slaac(); // on already: the same promise's worth
      await until(() => messages.some((m) => m.type === 133), 'a router solicitation');
      tap.send(routerAdvertisement({
        router: ROUTER, routerMac: ROUTER_MAC, prefixes: [
          { prefix: 'fd00:1:2:3::', valid: 600, preferred: 300 },
          { prefix: 'fd00:9::', length: 48, valid: 600, preferred: 300 },
          { prefix: 'fd00:8::', autonomous: false, valid: 600, preferred: 300 },
        ],
      }));
      const expected = { address: 'fd00:1:2:3:0:ff:fe00:5', prefix: 64, family: 6 };
      assert.deepEqual(await formed, expected);
      assert.deepEqual(changes, [{ action: 'add', ...expected }]);
      // before it was the interface's, the stack asked whether anyone had it
      assert.ok(messages.some((m) => m.type === 135 && m.target === expected.address), JSON.stringify(messages));
      assert.deepEqual(tap.ipAddresses, ['10.0.0.2/24', 'fd00:1:2:3:0:ff:fe00:5/64']);
      assert.deepEqual(tap.addresses[1], expected);
      assert.deepEqual(await tap.slaac(), expected);
      // the other prefixes would have passed DAD in the same turn
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(changes.length, 1, JSON.stringify(changes));
      // Turned off, SLAAC retires what it formed.
      tap.slaacStop();
      await until(() => changes.length === 2, 'the address to go');
      assert.deepEqual(changes[1], { action: 'remove', ...expected });
      assert.deepEqual(tap.ipAddresses, ['10.0.0.2/24']);
    });

    it("an address goes when its valid lifetime ends, with an 'address' event of action remove", async function () {
      const s = stack();
      const tap = s.createTapInterface({ macAddress: '02:00:00:00:00:06' });
      const changes = [];
      tap.on('address', (change) => changes.push(change));
      const formed = tap.slaac();
      // lwIP's neighbour timer (1 s) ages it and runs DAD in turn: DAD takes
      // two ticks, so 3 s leave it one tick of validity
      tap.send(routerAdvertisement({ router: ROUTER, routerMac: ROUTER_MAC, prefixes: [{ prefix: 'fd00:a::', valid: 3, preferred: 2 }] }));
      assert.equal((await formed).address, 'fd00:a::ff:fe00:6');
      await until(() => changes.length === 2, 'the address to expire');
      assert.deepEqual(changes.map((c) => [c.action, c.address]), [['add', 'fd00:a::ff:fe00:6'], ['remove', 'fd00:a::ff:fe00:6']]);
      assert.deepEqual(tap.ipAddresses, []);
    });

    it('a peer reaches the stack at its SLAAC address over TCP, and the advertising router is its default route', async function () {
      const router = stack();
      const routerTap = router.createTapInterface({ macAddress: ROUTER_MAC, ipAddress: 'fd00:1:2:3::1/64' });
      router.createTunInterface({ ipAddress: 'fd77::1/128' }); // off the host's link
      const host = stack();
      const tap = host.createTapInterface({ macAddress: '02:00:00:00:00:07', ipAddress: 'slaac' });
      link(routerTap, tap);
      const formed = tap.slaac();
      tap.send(routerAdvertisement({ router: ROUTER, routerMac: ROUTER_MAC, prefixes: [{ prefix: 'fd00:1:2:3::', valid: 600, preferred: 600 }] }));
      const { address } = await formed;
      const reply = (net, port, host) => new Promise((resolve, reject) => {
        const socket = net.connect(port, host);
        let text = '';
        socket.on('data', (d) => { text += d; });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      const hostServer = host.net.createServer((socket) => socket.end(`host saw ${socket.remoteAddress}`));
      await new Promise((resolve) => hostServer.listen(7000, resolve));
      assert.equal(await reply(router.net, 7000, address), 'host saw fd00:1:2:3::1');
      const routerServer = router.net.createServer((socket) => socket.end(`router saw ${socket.remoteAddress} at ${socket.localAddress}`));
      await new Promise((resolve) => routerServer.listen(7001, resolve));
      assert.equal(await reply(host.net, 7001, 'fd77::1'), `router saw ${address} at fd77::1`);
    });

    it('slaac({ signal }): an abort rejects the wait with an AbortError; SLAAC the call turned on goes off, SLAAC on before stays', async function () {
      const s = stack();
      const tap = s.createTapInterface({ macAddress: '02:00:00:00:00:08' });
      const reason = new Error('gave up');
      await assert.rejects(tap.slaac({ signal: AbortSignal.abort(reason) }), abortErrorOf(reason));
      // No router answers: the call that turned SLAAC on turns it off on
      // abort, as slaacStop() does, rejecting another waiter.
      const controller = new AbortController();
      const started = tap.slaac({ signal: controller.signal });
      const other = tap.slaac();
      setImmediate(() => controller.abort(reason));
      await assert.rejects(started, abortErrorOf(reason));
      await assert.rejects(within(other, 10000, 'the other slaac()'), { code: 'ERR_TCPIP_SLAAC_STOPPED' });
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
      // SLAAC on before the call ('slaac' in ipAddress) stays on: an
      // advertisement after the abort gives the interface its address.
      const host = s.createTapInterface({ macAddress: '02:00:00:00:00:09', ipAddress: 'slaac' });
      const timeout = AbortSignal.timeout(1);
      const error = await host.slaac({ signal: timeout }).then(() => null, (e) => e);
      assert.equal(error.code, 'ABORT_ERR');
      assert.equal(error.cause.name, 'TimeoutError');
      const added = next(host, 'address');
      host.send(routerAdvertisement({ router: ROUTER, routerMac: ROUTER_MAC, prefixes: [{ prefix: 'fd00:b::', valid: 600, preferred: 600 }] }));
      assert.deepEqual(await within(added, 10000, 'the address'), { action: 'add', address: 'fd00:b::ff:fe00:9', prefix: 64, family: 6 });
      const later = new AbortController();
      assert.equal((await host.slaac({ signal: later.signal })).address, 'fd00:b::ff:fe00:9');
      assert.equal(getEventListeners(later.signal, 'abort').length, 0);
      for (const bad of [null, {}, 'soon']) {
        assert.throws(() => tap.slaac({ signal: bad }), { code: 'ERR_INVALID_ARG_TYPE' });
      }
      assert.throws(() => tap.slaac('soon'), { code: 'ERR_INVALID_ARG_TYPE' });
    });

    it('is for TAP and bridge interfaces; a removed interface rejects what waits for an address', async function () {
      const s = stack();
      assert.throws(() => s.createTunInterface({ ipAddress: ['fd00::1/64', 'slaac'] }), {
        code: 'ERR_INVALID_ARG_VALUE', message: /may be slaac only on a TAP or bridge interface/,
      });
      assert.throws(() => s.createTapInterface({ ipAddress: ['slaac', 'slaac'] }), { code: 'ERR_INVALID_ARG_VALUE', message: /names slaac twice/ });
      const tun = s.createTunInterface({ ipAddress: 'fd00::1/64' });
      assert.throws(() => tun.slaac(), { code: 'ERR_TCPIP_NOT_SUPPORTED' });
      const tap = s.createTapInterface({});
      const waiting = tap.slaac();
      tap.remove();
      await assert.rejects(waiting, { code: 'ERR_TCPIP_INTERFACE_REMOVED' });
      await assert.rejects(tap.slaac(), { code: 'ERR_TCPIP_INTERFACE_REMOVED' });
      const other = s.createTapInterface({});
      const stopped = other.slaac();
      other.slaacStop();
      await assert.rejects(stopped, { code: 'ERR_TCPIP_SLAAC_STOPPED' });
    });
  });

  describe('with real peers in a network namespace', function () {
    function why() {
      if (DEFAULT_BACKEND === 'wasm') return 'kernel devices are native-only, and the suite runs on the wasm backend';
      if (!fs.existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
      const probe = spawnSync('unshare', ['-n', 'true']);
      if (probe.error || probe.status !== 0) return 'unshare -n is not permitted here';
      return null;
    }
    const missing = why();
    before(function () {
      if (missing) {
        console.log(`      skipped: ${missing}`);
        this.skip();
      }
    });

    // The fixture runs in a child, asynchronously: this thread's stacks
    // (none here) and the event loop keep running.
    function inNamespace(mode) {
      return new Promise((resolve, reject) => {
        const child = spawn('unshare', ['-n', process.execPath, FIXTURE, mode, DEFAULT_THREAD]);
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('close', (code) => {
          if (code !== 0) reject(new Error(`fixture failed (${code}): ${stdout}${stderr}`));
          else resolve(JSON.parse(stdout.trim().split('\n').pop()));
        });
      });
    }

    // Whether a program is installed. It runs as it is, without the
    // sanitizer run's preload (under which dnsmasq hangs).
    function tool(command, args) {
      const env = { ...process.env };
      delete env.LD_PRELOAD;
      const probe = spawnSync(command, args, { env, timeout: 10000 });
      return !probe.error;
    }

    it(`dnsmasq gives a stack on a kernel TAP device its lease and answers its DNS queries (core on the ${DEFAULT_THREAD} thread); the stack releases on remove`, async function () {
      if (!tool('dnsmasq', ['--version'])) this.skip();
      const result = await inNamespace('dnsmasq');
      assert.match(result.lease.address, /^10\.78\.0\.(5\d|60)$/);
      assert.equal(result.lease.prefix, 24);
      assert.equal(result.lease.router, '10.78.0.1');
      assert.deepEqual(result.lease.dns, ['10.78.0.1']);
      assert.equal(result.lease.leaseTime, 120);
      assert.deepEqual(result.ipAddresses.filter((cidr) => cidr.includes('.')), [`${result.lease.address}/24`]);
      assert.equal(result.gateway, '10.78.0.1');
      assert.deepEqual(result.servers, ['10.78.0.1']);
      assert.deepEqual(result.resolved, ['10.78.0.7']);
      assert.equal(result.looked, '10.78.0.7');
      assert.equal(result.dnsmasqLog.length, 2, result.dnsmasqLog.join('\n'));
      assert.match(result.dnsmasqLog[0], new RegExp(`DHCPACK\\(tcpipdhcp0\\) ${result.lease.address.replace(/\./g, '\\.')} `));
      assert.match(result.dnsmasqLog[1], /DHCPRELEASE/);
    });

    it(`dnsmasq's router advertisements give a stack on a kernel TAP device its address by SLAAC; the kernel connects to it, and the stack reaches an address off its link through the router (core on the ${DEFAULT_THREAD} thread)`, async function () {
      if (!tool('dnsmasq', ['--version'])) this.skip();
      const result = await inNamespace('slaac');
      // fd42:0:0:7::/64 and the interface identifier of the stack's MAC (EUI-64)
      const mac = result.mac.split(':').map((h) => parseInt(h, 16));
      const word = (a, b) => ((a << 8) | b).toString(16);
      const written = `fd42:0:0:7:${word(mac[0] ^ 2, mac[1])}:${word(mac[2], 0xff)}:${word(0xfe, mac[3])}:${word(mac[4], mac[5])}`;
      const expected = new SocketAddress({ address: written, family: 'ipv6' }).address;
      assert.deepEqual(result.formed, { address: expected, prefix: 64, family: 6 });
      assert.deepEqual(result.ipAddresses, [`${expected}/64`]);
      assert.equal(result.fromKernel, 'stack saw fd42:0:0:7::1');
      assert.equal(result.fromStack, `kernel saw ${expected}`);
      // the stack asked (its first solicitation, from the unspecified
      // address while its link-local one is tentative, names no MAC)
      assert.ok(result.dnsmasqLog.some((line) => line.includes('RTR-SOLICIT(tcpipdhcp0)')), result.dnsmasqLog.join('\n'));
    });

    it(`busybox udhcpc, the kernel's client, takes a lease from the stack's server (core on the ${DEFAULT_THREAD} thread)`, async function () {
      if (!tool('busybox', ['--help'])) this.skip();
      const result = await inNamespace('udhcpc');
      assert.equal(result.udhcpc, 'LEASE 10.79.0.100 255.255.255.0 10.79.0.1 10.79.0.53 stack.test 600', result.output);
      assert.deepEqual(result.leases, [{ address: '10.79.0.100', mac: result.mac }]);
      assert.equal(result.stats.malformed, 0);
    });
  });
});
