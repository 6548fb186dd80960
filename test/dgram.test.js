'use strict';
// stack.dgram against Node's own dgram: the same scenario runs on the kernel
// loopback (node:dgram) and on a stack, and what users see must match —
// events and their order, rinfo, addresses, errors thrown and passed. Then
// what only a stack can show: datagrams between stacks across links
// (fragmented, broadcast), bounded receive buffers, teardown.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const nodeDgram = require('node:dgram');
const { link } = require('..');
const { withStack } = require('./helpers/stack.js');
const { errorShape, thrownShape } = require('./helpers/oracle.js');
const { within, waitFor, delay, nextEvent } = require('./helpers/util.js');
const { sha256 } = require('./helpers/hash.js');

function bound(socket, ...args) {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(...args, () => {
      socket.removeListener('error', reject);
      resolve(socket.address());
    });
  });
}

function closed(socket) {
  return new Promise((resolve) => socket.close(resolve));
}

function sent(socket, ...args) {
  return new Promise((resolve) => socket.send(...args, (error, bytes) => resolve(error ? errorShape(error) : bytes)));
}

// Without the ports, which the two sides choose differently (also where an
// error's message names them).
function portless(value) {
  return JSON.parse(JSON.stringify(value, (key, v) => {
    if (key === 'port') return typeof v;
    if (key === 'message' && typeof v === 'string') return v.replace(/:\d+$/, ':PORT');
    return v;
  }));
}

describe('stack.dgram', function () {
  const ctx = withStack();

  // Runs scenario(dgram) on node:dgram and then on the stack's dgram.
  async function both(scenario, timeout = 8000) {
    const node = await within(Promise.resolve(scenario(nodeDgram, 'node')), timeout, 'node:dgram scenario');
    const stack = await within(Promise.resolve(scenario(ctx.stack.dgram, 'stack')), timeout, 'stack.dgram scenario');
    return { node, stack };
  }

  describe('as node:dgram does', function () {
    for (const [type, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']]) {
      it(`${type}: a request and its answer, with rinfo, addresses and events in order`, async function () {
        const { node, stack } = await both(async (dgram) => {
          const log = [];
          const server = dgram.createSocket(type);
          const client = dgram.createSocket({ type });
          server.on('listening', () => log.push('server listening'));
          client.on('listening', () => log.push('client listening'));
          server.on('message', (msg, rinfo) => {
            log.push(['server message', String(msg), portless(rinfo)]);
            server.send(Buffer.concat([msg, Buffer.from('!')]), rinfo.port, rinfo.address);
          });
          const address = await bound(server, 0, host);
          const answer = nextEvent(client, 'message');
          log.push(['client sent', await sent(client, 'ping', address.port, host)]);
          const [msg, rinfo] = await answer;
          log.push(['client message', String(msg), portless(rinfo), rinfo.port === address.port]);
          log.push(['client address', portless(client.address())]);
          client.on('close', () => log.push('client close'));
          await closed(client);
          await closed(server);
          return log;
        });
        if (ctx.stack.thread === 'worker') {
          // A worker answers a send once its turn ran, and the datagram may
          // be delivered in the same batch: the send's callback then comes
          // after the peer's 'message', where the kernel (and the JS-thread
          // and wasm engines, which send at once) call it back first.
          const [sentEntry] = stack.splice(stack.findIndex((e) => e[0] === 'client sent'), 1);
          stack.splice(2, 0, sentEntry);
        }
        assert.deepStrictEqual(stack, node);
      });
    }

    it('every send() overload: strings, buffers, typed arrays, lists, offset and length, empty', async function () {
      const { node, stack } = await both(async (dgram) => {
        const receiver = dgram.createSocket('udp4');
        const { port } = await bound(receiver, 0, '127.0.0.1');
        const got = [];
        receiver.on('message', (msg) => got.push(msg.toString('hex')));
        const sender = dgram.createSocket('udp4');
        const results = [];
        results.push(await sent(sender, 'text', port, '127.0.0.1'));
        results.push(await sent(sender, Buffer.from('buffer'), port, '127.0.0.1'));
        results.push(await sent(sender, new Uint8Array([1, 2, 3]), port, '127.0.0.1'));
        results.push(await sent(sender, new DataView(new ArrayBuffer(2)), port, '127.0.0.1'));
        results.push(await sent(sender, ['a', Buffer.from('b'), new Uint8Array([99])], port, '127.0.0.1'));
        results.push(await sent(sender, Buffer.from('0123456789'), 2, 5, port, '127.0.0.1'));
        results.push(await sent(sender, '0123456789', 8, 2, port, '127.0.0.1'));
        results.push(await sent(sender, '', port, '127.0.0.1'));
        results.push(await sent(sender, [], port, '127.0.0.1'));
        results.push(await sent(sender, 'no address', port));
        await waitFor(() => got.length === results.length, 5000, 'every datagram');
        await closed(sender);
        await closed(receiver);
        return { results, got };
      });
      assert.deepStrictEqual(stack, node);
      assert.strictEqual(stack.got.length, 10);
    });

    it('connect(): the peer, sends without an address, remoteAddress(), disconnect()', async function () {
      const { node, stack } = await both(async (dgram) => {
        const log = [];
        const peer = dgram.createSocket('udp4');
        const { port } = await bound(peer, 0, '127.0.0.1');
        const socket = dgram.createSocket('udp4');
        const received = nextEvent(peer, 'message');
        await new Promise((resolve) => socket.connect(port, '127.0.0.1', resolve));
        log.push(['remote', portless(socket.remoteAddress()), socket.remoteAddress().port === port]);
        log.push(['local', portless(socket.address())]);
        log.push(['sent', await sent(socket, 'hello')]);
        log.push(['sent', await sent(socket, Buffer.from('xhello'), 1, 3)]);
        log.push(['got', String((await received)[0])]);
        log.push(['with address', thrownShape(() => socket.send('x', port, '127.0.0.1'))]);
        log.push(['again', thrownShape(() => socket.connect(port, '127.0.0.1'))]);
        socket.disconnect();
        log.push(['disconnected', thrownShape(() => socket.remoteAddress())]);
        log.push(['twice', thrownShape(() => socket.disconnect())]);
        log.push(['sent after', await sent(socket, 'later', port, '127.0.0.1')]);
        await closed(socket);
        await closed(peer);
        return log;
      });
      assert.deepStrictEqual(stack, node);
    });

    for (const [type, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']]) {
      it(`${type}: a connected socket whose peer's port is closed hears ECONNREFUSED`, async function () {
        const { node, stack } = await both(async (dgram) => {
          const closedPort = dgram.createSocket(type);
          const { port } = await bound(closedPort, 0, host);
          await closed(closedPort);
          const socket = dgram.createSocket(type);
          await new Promise((resolve) => socket.connect(port, host, resolve));
          const failed = nextEvent(socket, 'error');
          const result = await sent(socket, 'anyone?');
          const [error] = await failed;
          // Unconnected, the same datagram is dropped without a word.
          const other = dgram.createSocket(type);
          other.on('error', (e) => assert.fail(e));
          await sent(other, 'anyone?', port, host);
          await delay(50);
          await closed(socket);
          await closed(other);
          return [result, errorShape(error)];
        });
        assert.deepStrictEqual(stack, node);
      });
    }

    it('udp6 on "::" takes IPv4 peers, shown as ::ffff: addresses; ipv6Only does not', async function () {
      const { node, stack } = await both(async (dgram) => {
        const log = [];
        const dual = dgram.createSocket('udp6');
        const { port } = await bound(dual, 0);
        const v4 = dgram.createSocket('udp4');
        const received = nextEvent(dual, 'message');
        await sent(v4, 'from v4', port, '127.0.0.1');
        const [msg, rinfo] = await received;
        log.push([String(msg), portless(rinfo)]);
        const answer = nextEvent(v4, 'message');
        log.push(await sent(dual, 'to v4', rinfo.port, rinfo.address));
        log.push(portless((await answer)[1]));
        const only = dgram.createSocket({ type: 'udp6', ipv6Only: true });
        await bound(only, 0);
        log.push(portless(await sent(only, 'x', port, '::ffff:127.0.0.1')));
        for (const socket of [dual, v4, only]) await closed(socket);
        return log;
      });
      assert.deepStrictEqual(stack, node);
    });

    it('errors thrown at once: types, ports, states, options before bind', async function () {
      const { node, stack } = await both(async (dgram) => {
        const log = [];
        log.push(thrownShape(() => dgram.createSocket('udp5')));
        log.push(thrownShape(() => dgram.createSocket({ type: 'udp4', lookup: 1 })));
        const socket = dgram.createSocket('udp4');
        socket.on('error', () => {});
        log.push(thrownShape(() => socket.send('x', 0, '127.0.0.1')));
        log.push(thrownShape(() => socket.send('x', 70000, '127.0.0.1')));
        log.push(thrownShape(() => socket.send(42, 9, '127.0.0.1')));
        log.push(thrownShape(() => socket.send([1], 9, '127.0.0.1')));
        log.push(thrownShape(() => socket.send('abc', 4, 1, 9, '127.0.0.1')));
        log.push(thrownShape(() => socket.send('abc', 1, 9, 9, '127.0.0.1')));
        log.push(thrownShape(() => socket.connect(0)));
        log.push(thrownShape(() => socket.address()));
        log.push(thrownShape(() => socket.remoteAddress()));
        log.push(thrownShape(() => socket.setBroadcast(true)));
        log.push(thrownShape(() => socket.setTTL(0)));
        log.push(thrownShape(() => socket.setTTL('x')));
        log.push(thrownShape(() => socket.getRecvBufferSize()));
        log.push(thrownShape(() => socket.setRecvBufferSize(-1)));
        log.push(thrownShape(() => socket.addMembership()));
        await bound(socket, 0, '127.0.0.1');
        log.push(thrownShape(() => socket.bind(0)));
        log.push(thrownShape(() => socket.setTTL(256)));
        log.push(thrownShape(() => socket.setMulticastTTL(256)));
        log.push(thrownShape(() => socket.setTTL(64)));
        log.push(thrownShape(() => socket.addMembership('10.0.0.1')));
        log.push(thrownShape(() => socket.dropMembership('224.0.0.7')));
        log.push(thrownShape(() => socket.addMembership('224.0.0.7')));
        log.push(thrownShape(() => socket.addMembership('224.0.0.7')));
        log.push(thrownShape(() => socket.dropMembership('224.0.0.7')));
        log.push(thrownShape(() => socket.setMulticastInterface('10.9.9.9')));
        log.push(thrownShape(() => socket.disconnect()));
        log.push(socket.getRecvBufferSize(), socket.getSendBufferSize());
        socket.setRecvBufferSize(1000);
        log.push(socket.getRecvBufferSize());
        await closed(socket);
        log.push(thrownShape(() => socket.send('x', 9, '127.0.0.1')));
        log.push(thrownShape(() => socket.close()));
        log.push(thrownShape(() => socket.address()));
        return log;
      });
      assert.deepStrictEqual(stack, node);
    });

    it('errors that arrive later: EMSGSIZE, EACCES, EINVAL, EADDRINUSE, EADDRNOTAVAIL', async function () {
      const { node, stack } = await both(async (dgram) => {
        const log = [];
        const socket = dgram.createSocket('udp4');
        const { port } = await bound(socket, 0, '127.0.0.1');
        log.push(await sent(socket, Buffer.alloc(65508), 9, '127.0.0.1'));
        log.push(await sent(socket, 'x', 9, '255.255.255.255'));
        log.push(await sent(socket, 'x', 9, '::1'));
        const taken = dgram.createSocket('udp4');
        taken.bind(port, '127.0.0.1');
        const [error] = await nextEvent(taken, 'error');
        log.push(portless(errorShape(error)));
        // The socket is unbound again and may bind elsewhere.
        log.push(portless(await bound(taken, 0, '127.0.0.1')));
        const unknownHost = dgram.createSocket('udp4');
        unknownHost.bind(0, '10.255.255.1');
        log.push(errorShape((await nextEvent(unknownHost, 'error'))[0]));
        // Without a callback a failed send is silent, as in Node.
        socket.send(Buffer.alloc(65508), 9, '127.0.0.1');
        await delay(20);
        for (const s of [socket, taken, unknownHost]) s.close();
        return log;
      });
      assert.deepStrictEqual(stack, node);
    });

    it('a name no lookup knows: ENOTFOUND, in the callback or as an error', async function () {
      const socket = ctx.stack.dgram.createSocket('udp4');
      const error = await sent(socket, 'x', 9, 'no-such-host.invalid');
      assert.deepStrictEqual([error.code, error.syscall, error.message],
        ['ENOTFOUND', 'getaddrinfo', 'getaddrinfo ENOTFOUND no-such-host.invalid']);
      socket.send('x', 9, 'no-such-host.invalid');
      assert.strictEqual((await nextEvent(socket, 'error'))[0].code, 'ENOTFOUND');
      await closed(socket);
    });

    it('sends wait for the implicit bind; a close() right after drops them, as in Node', async function () {
      const { node, stack } = await both(async (dgram) => {
        const log = [];
        const receiver = dgram.createSocket('udp4');
        const { port } = await bound(receiver, 0, '127.0.0.1');
        const got = [];
        receiver.on('message', (msg) => got.push(String(msg)));
        for (const closeAtOnce of [true, false]) {
          const sender = dgram.createSocket('udp4');
          sender.on('listening', () => log.push('listening'));
          sender.on('close', () => log.push('close'));
          sender.send('one', port, '127.0.0.1', (e, n) => log.push(['one', e, n]));
          sender.send('two', port, '127.0.0.1', (e, n) => log.push(['two', e, n]));
          if (closeAtOnce) {
            sender.close(() => log.push('close callback'));
            await waitFor(() => log.includes('close callback'), 5000, 'close');
          } else {
            await waitFor(() => got.length === 2, 5000, 'both datagrams');
            await closed(sender);
          }
          await delay(20);
          log.push([...got]);
        }
        await closed(receiver);
        return log;
      });
      assert.deepStrictEqual(stack, node);
    });

    it('broadcast needs setBroadcast(), then reaches sockets on the port', async function () {
      ctx.stack.createTapInterface({ ipAddress: '10.44.0.1/24' });
      const socket = ctx.stack.dgram.createSocket('udp4');
      await bound(socket, 0);
      assert.strictEqual((await sent(socket, 'x', 9, '10.44.0.255')).code, 'EACCES');
      socket.setBroadcast(true);
      assert.strictEqual(await sent(socket, 'x', 9, '10.44.0.255'), 1);
      assert.strictEqual(await sent(socket, 'x', 9, '255.255.255.255'), 1);
      await closed(socket);
    });
  });

  describe('between stacks', function () {
    function linkedPair(options = {}) {
      const a = ctx.createStack();
      const b = ctx.createStack();
      const kind = options.tap ? 'createTapInterface' : 'createTunInterface';
      const ia = a[kind]({ ipAddress: ['10.50.0.1/24', 'fd50::1/64'], mtu: options.mtu });
      const ib = b[kind]({ ipAddress: ['10.50.0.2/24', 'fd50::2/64'], mtu: options.mtu });
      const l = link(ia, ib, options.link || {});
      return { a, b, link: l };
    }

    for (const [family, to] of [['udp4', '10.50.0.2'], ['udp6', 'fd50::2']]) {
      it(`${family}: datagrams up to the largest fragment across a 1500-byte MTU and arrive intact`, async function () {
        const { a, b } = linkedPair({ tap: true, mtu: 1500 });
        const receiver = b.dgram.createSocket(family);
        const { port } = await bound(receiver, 0);
        const sender = a.dgram.createSocket(family);
        // IPv6 stops 40 bytes short of Linux's 65527: lwIP's buffers hold
        // 65535 bytes with the IPv6 header.
        const largest = family === 'udp4' ? 65507 : 65487;
        const payloads = [1, 1472, 1473, 9000, largest].map((size) => crypto.randomBytes(size));
        const got = [];
        receiver.on('message', (msg, rinfo) => got.push([sha256(msg), msg.length, rinfo.size]));
        for (const payload of payloads) assert.strictEqual(await sent(sender, payload, port, to), payload.length);
        assert.strictEqual((await sent(sender, Buffer.alloc(largest + 1), port, to)).code, 'EMSGSIZE');
        await waitFor(() => got.length === payloads.length, 10000, 'every datagram');
        assert.deepStrictEqual(got, payloads.map((p) => [sha256(p), p.length, p.length]));
        await closed(sender);
        await closed(receiver);
      });
    }

    it('broadcast across a bridge reaches every stack on it, and not the sender', async function () {
      const hub = ctx.createStack();
      const ports = [];
      const hosts = [];
      for (let i = 0; i < 3; i++) {
        const port = hub.createTapInterface({});
        const host = ctx.createStack();
        link(port, host.createTapInterface({ ipAddress: `10.60.0.${i + 2}/24` }));
        ports.push(port);
        hosts.push(host);
      }
      hub.createBridgeInterface({ ports, ipAddress: '10.60.0.1/24' });
      const receivers = [];
      const got = [];
      for (const host of [hub, ...hosts.slice(1)]) {
        const socket = host.dgram.createSocket({ type: 'udp4', reuseAddr: true });
        socket.on('message', (msg, rinfo) => got.push([String(msg), rinfo.address]));
        await bound(socket, 6700);
        receivers.push(socket);
      }
      const sender = hosts[0].dgram.createSocket('udp4');
      await bound(sender, 6700);
      sender.on('message', () => got.push('echo to the sender'));
      sender.setBroadcast(true);
      assert.strictEqual(await sent(sender, 'all', 6700, '255.255.255.255'), 3);
      assert.strictEqual(await sent(sender, 'subnet', 6700, '10.60.0.255'), 6);
      await waitFor(() => got.length >= 6, 5000, 'the broadcasts');
      await delay(50);
      assert.deepStrictEqual(got.sort(), [
        ['all', '10.60.0.2'], ['all', '10.60.0.2'], ['all', '10.60.0.2'],
        ['subnet', '10.60.0.2'], ['subnet', '10.60.0.2'], ['subnet', '10.60.0.2'],
      ].sort());
      for (const socket of [sender, ...receivers]) await closed(socket);
    });

    it('a multicast datagram reaches a member on the other stack', async function () {
      const { a, b } = linkedPair({ tap: true });
      const member = b.dgram.createSocket({ type: 'udp4', reuseAddr: true });
      await bound(member, 6800);
      member.addMembership('239.1.2.3');
      const received = nextEvent(member, 'message');
      const sender = a.dgram.createSocket('udp4');
      await bound(sender, 0);
      sender.setMulticastTTL(2);
      // No route to the group: the interface must be named, as on Linux.
      assert.strictEqual((await sent(sender, 'group', 6800, '239.1.2.3')).code, 'ENETUNREACH');
      sender.setMulticastInterface('10.50.0.1');
      sender.setMulticastLoopback(false);
      assert.strictEqual(await sent(sender, 'group', 6800, '239.1.2.3'), 5);
      const [msg, rinfo] = await received;
      assert.deepStrictEqual([String(msg), rinfo.address], ['group', '10.50.0.1']);
      await closed(sender);
      await closed(member);
    });

    it('a group reaches the hosts that joined it, not the others; leaving stops it', async function () {
      const hub = ctx.createStack();
      const ports = [];
      const hosts = [];
      for (let i = 0; i < 3; i++) {
        const port = hub.createTapInterface({});
        const host = ctx.createStack();
        link(port, host.createTapInterface({ ipAddress: [`10.61.0.${i + 2}/24`, `fd61::${i + 2}/64`] }));
        ports.push(port);
        hosts.push(host);
      }
      hub.createBridgeInterface({ ports });
      for (const [type, group, from] of [['udp4', '239.5.5.5', '10.61.0.2'], ['udp6', 'ff15::5', 'fd61::2']]) {
        const member = hosts[1].dgram.createSocket(type);
        const outsider = hosts[2].dgram.createSocket(type);
        const got = [];
        member.on('message', (msg) => got.push(['member', String(msg)]));
        outsider.on('message', (msg) => got.push(['outsider', String(msg)]));
        await bound(member, 6900);
        await bound(outsider, 6900);
        member.addMembership(group);
        const sender = hosts[0].dgram.createSocket(type);
        await bound(sender, 0);
        sender.setMulticastInterface(from);
        await sent(sender, 'one', 6900, group);
        await waitFor(() => got.length > 0, 5000, 'the member gets it');
        member.dropMembership(group);
        await delay(20);
        await sent(sender, 'two', 6900, group);
        await delay(100);
        assert.deepStrictEqual(got, [['member', 'one']], type);
        for (const socket of [member, outsider, sender]) await closed(socket);
      }
    });

    it('joining and leaving send IGMP and MLD reports, as a kernel does', async function () {
      const stack = ctx.createStack();
      const tap = stack.createTapInterface({ ipAddress: ['10.62.0.1/24', 'fd62::1/64'] });
      await delay(20);
      const frames = [];
      tap.on('frame', (frame) => frames.push(frame));
      // IPv4 protocol 2 (IGMP), or IPv6 with a hop-by-hop header before ICMPv6 (MLD).
      const igmp = (f) => f.readUInt16BE(12) === 0x0800 && f[14 + 9] === 2 ? f[14 + (f[14] & 0x0f) * 4] : null;
      const mld = (f) => f.readUInt16BE(12) === 0x86dd && f[14 + 6] === 0 && f[14 + 40] === 58 ? f[14 + 48] : null;
      const socket4 = stack.dgram.createSocket('udp4');
      await bound(socket4, 7000);
      socket4.addMembership('239.6.6.6');
      const socket6 = stack.dgram.createSocket({ type: 'udp6', ipv6Only: true });
      await bound(socket6, 7000);
      socket6.addMembership('ff15::6');
      await waitFor(() => frames.some((f) => igmp(f) === 0x16) && frames.some((f) => mld(f) === 131), 5000,
        'an IGMPv2 and an MLD report');
      await closed(socket4);
      await closed(socket6);
      await waitFor(() => frames.some((f) => igmp(f) === 0x17) && frames.some((f) => mld(f) === 132), 5000,
        'an IGMP leave and an MLD done once the sockets close');
    });

    it('a socket nobody reads in time keeps a bounded queue: the rest is dropped', async function () {
      const { a, b } = linkedPair();
      const receiver = b.dgram.createSocket('udp4');
      const { port } = await bound(receiver, 0);
      receiver.setRecvBufferSize(16 * 1024); // 32 KiB as Linux doubles it
      let received = 0;
      receiver.on('message', (msg) => {
        received += msg.length;
      });
      const sender = a.dgram.createSocket('udp4');
      await bound(sender, 0);
      // 4 MiB sent in one go from this thread: the receiver's handlers run
      // only afterwards, so the engine must hold or drop what arrives.
      const payload = Buffer.alloc(1024);
      for (let i = 0; i < 4096; i++) sender.send(payload, port, '10.50.0.2');
      await delay(300);
      assert.ok(received > 0, 'some datagrams arrive');
      assert.ok(received < 4 * 1024 * 1024, `what the buffer could not hold is dropped (${received} bytes arrived)`);
      // And the socket still works once it has caught up.
      const next = nextEvent(receiver, 'message');
      await sent(sender, 'after', port, '10.50.0.2');
      assert.strictEqual(String((await next)[0]), 'after');
      await closed(sender);
      await closed(receiver);
    });

    it('a datagram to a port nobody binds is dropped; the sender is not hurt', async function () {
      const { a } = linkedPair();
      const sender = a.dgram.createSocket('udp4');
      assert.strictEqual(await sent(sender, 'nobody', 9, '10.50.0.2'), 6);
      await closed(sender);
    });
  });

  describe('what a review found', function () {
    it('a failed send without a callback stays silent on a connected socket, on every engine', async function () {
      const peer = ctx.stack.dgram.createSocket('udp4');
      const { port } = await bound(peer, 0, '127.0.0.1');
      const socket = ctx.stack.dgram.createSocket('udp4');
      const errors = [];
      socket.on('error', (e) => errors.push(e.code));
      await new Promise((resolve) => socket.connect(port, '127.0.0.1', resolve));
      socket.send(Buffer.alloc(65508));
      await delay(50);
      assert.deepStrictEqual([errors, String(await new Promise((resolve) => {
        peer.once('message', resolve);
        socket.send('still connected');
      }))], [[], 'still connected']);
      await closed(socket);
      await closed(peer);
    });

    it('empty datagrams count against the receive buffer too', async function () {
      const receiver = ctx.stack.dgram.createSocket('udp4');
      const { port } = await bound(receiver, 0, '127.0.0.1');
      receiver.setRecvBufferSize(8192); // 16 KiB as Linux doubles it
      let received = 0;
      receiver.on('message', () => received++);
      const sender = ctx.stack.dgram.createSocket('udp4');
      await bound(sender, 0, '127.0.0.1');
      for (let i = 0; i < 2000; i++) sender.send(Buffer.alloc(0), port, '127.0.0.1');
      await delay(200);
      assert.ok(received > 0 && received < 2000, `${received} of 2000 empty datagrams held at once`);
      await closed(sender);
      await closed(receiver);
    });

    it('a bind still looking up its address when the stack is destroyed closes quietly', async function () {
      const socket = ctx.stack.dgram.createSocket('udp4');
      const events = [];
      socket.on('close', () => events.push('close'));
      socket.on('error', (e) => events.push(e.code));
      socket.bind(0, 'localhost');
      ctx.stack.destroy();
      await delay(20);
      assert.deepStrictEqual(events, ['close']);
      assert.throws(() => ctx.stack.dgram.createSocket('udp4'), { code: 'ERR_TCPIP_STACK_DESTROYED' });
    });
  });

  describe('lifetime', function () {
    it('destroying the stack closes its sockets: close, no error', async function () {
      const socket = ctx.stack.dgram.createSocket('udp4');
      await bound(socket, 0, '127.0.0.1');
      const events = [];
      socket.on('close', () => events.push('close'));
      socket.on('error', (e) => events.push(e.code));
      ctx.stack.destroy();
      await delay(10);
      assert.deepStrictEqual(events, ['close']);
    });

    it('a bound socket holds the stack\'s handles until closed; unref() lets go', async function () {
      const socket = ctx.stack.dgram.createSocket('udp4');
      await bound(socket, 0, '127.0.0.1');
      assert.ok(ctx.stack._refed.has(socket));
      socket.unref();
      assert.ok(!ctx.stack._refed.has(socket));
      socket.ref();
      assert.ok(ctx.stack._refed.has(socket));
      await closed(socket);
      assert.ok(!ctx.stack._refed.has(socket));
      assert.strictEqual(ctx.stack._handles.size, 0);
    });

    it('an AbortSignal closes the socket', async function () {
      const controller = new AbortController();
      const socket = ctx.stack.dgram.createSocket({ type: 'udp4', signal: controller.signal });
      await bound(socket, 0, '127.0.0.1');
      const close = nextEvent(socket, 'close');
      controller.abort();
      await close;
      assert.throws(() => socket.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    });
  });
});
