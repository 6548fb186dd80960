'use strict';
// The gateway's NAT (issue 11): a client's TCP connection to an outside
// address ends in the gateway's stack (a catch-all listener, lwIP patch
// 0035) and is re-originated from the host. Traffic stays on loopback: a
// client stack treats 127.0.0.0/8 as itself, so the test's clients connect
// to TEST-NET addresses that the gateway's `redirect` maps to kernel servers
// on 127.0.0.1, and the egress policy judges the 127.0.0.1 it would reach.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const http = require('node:http');
const dgram = require('node:dgram');
const { spawn } = require('node:child_process');
const { createGateway } = require('..');
const { EgressPolicy, parseCidr } = require('../lib/gateway/policy.js');
const { DEFAULT_BACKEND, DEFAULT_THREAD } = require('./helpers/stack.js');
const { recordingWebSocket, gatewayFixture, withGatewayCommand, CLI } = require('./helpers/gateway.js');
const { performance } = require('node:perf_hooks');
const { within, waitFor, delay, listen, closeServer, readAll } = require('./helpers/util.js');
const { hashStream, sha256 } = require('./helpers/hash.js');
const { namespaceMissing, startNamespaceGateway } = require('./helpers/namespace.js');
const { pattern } = require('./fixtures/browser/common.js');
const { RandomStream } = require('./helpers/random.js');
const { ethernetFrame, tcpPacket, TCP, garbage } = require('./helpers/packets.js');

const TOKEN = 'nat-test-token';
const MiB = 1024 * 1024;
// Where the clients connect: documentation addresses, redirected to loopback.
const SERVICE = '198.51.100.1';
const ALLOW_LOOPBACK = ['127.0.0.0/8'];

// A kernel server on 127.0.0.1 (or `host`) that counts what reached it.
async function kernelServer(onConnection, host = '127.0.0.1') {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    server.accepted.push(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  server.accepted = [];
  await listen(server, 0, host);
  server.port = server.address().port;
  return server;
}

// The error a client socket ends with, and how long it took.
function failure(socket) {
  const started = Date.now();
  return within(new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected')));
    socket.once('error', (error) => resolve({ code: error.code, ms: Date.now() - started }));
  }), 10000, 'the refusal');
}

describe('gateway NAT', function () {
  this.timeout(60000);
  const fixture = gatewayFixture(TOKEN);
  const { joinClient } = fixture;
  const servers = [];

  afterEach(async function () {
    for (const server of servers.splice(0)) {
      for (const socket of server.accepted) socket.destroy();
      if (server.closeServer) await new Promise((resolve) => server.close(resolve));
      else await closeServer(server);
    }
  });

  // A gateway whose clients reach 127.0.0.1:port at SERVICE:port.
  async function startGateway(options = {}) {
    const redirects = [];
    const gateway = await fixture.startGateway({
      dns: false,
      redirect: ({ address, port }) => {
        redirects.push(`${address}:${port}`);
        return address === SERVICE ? { address: '127.0.0.1', port } : null;
      },
      ...options,
    });
    gateway.redirects = redirects;
    return gateway;
  }

  async function track(server) {
    servers.push(server);
    return server;
  }

  async function metricsText(gateway) {
    const response = await within(fetch(`http://127.0.0.1:${gateway.address().port}/metrics`), 10000, 'metrics');
    return response.text();
  }

  it('fetches and uploads 8 MiB byte-exact between a native and a wasm client and a kernel server on 127.0.0.1', async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK });
    const uploads = [];
    const downloads = new Map();
    const server = await track(await kernelServer((socket) => {
      uploads.push(hashStream(socket));
      const source = new RandomStream(8 * MiB);
      downloads.set(socket.remotePort, source);
      source.pipe(socket);
    }));
    const clients = await Promise.all([joinClient(gateway, 'native'), joinClient(gateway, 'wasm')]);
    for (const { stack, lease } of clients) {
      // Half-open: whichever direction finishes first, the other goes on
      // (without it the client ends its side when the download ends).
      const socket = stack.net.connect({ port: server.port, host: SERVICE, allowHalfOpen: true });
      await within(new Promise((resolve) => socket.once('connect', resolve)), 10000, 'connect');
      // The client sees the destination it asked for, from its own address.
      assert.equal(socket.remoteAddress, SERVICE);
      assert.equal(socket.localAddress, lease.address);
      const upload = new RandomStream(8 * MiB);
      const received = hashStream(socket);
      const closed = new Promise((resolve) => socket.once('close', resolve));
      upload.pipe(socket);
      const download = await within(received, 30000, `download to ${stack.backend}`);
      const source = downloads.get(server.accepted.at(-1).remotePort);
      assert.equal(download.bytes, 8 * MiB);
      assert.equal(download.hash, source.digest());
      const uploaded = await within(uploads.at(-1), 30000, `upload from ${stack.backend}`);
      assert.equal(uploaded.bytes, 8 * MiB);
      assert.equal(uploaded.hash, upload.digest());
      await within(closed, 10000, 'close');
    }
    assert.equal(server.accepted.length, 2);
    await waitFor(() => gateway.metrics().flows.open === 0, 10000, 'flows closed');
    assert.equal(gateway.metrics().flows.total, 2);
    assert.deepEqual(gateway.metrics().refusals, {});
    assert.deepEqual(gateway.redirects, [`${SERVICE}:${server.port}`, `${SERVICE}:${server.port}`]);
  });

  it("leaves the router's own addresses to its own listeners: a wildcard listener does not take foreign flows", async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK });
    const server = await track(await kernelServer((socket) => socket.end('from the host')));
    // The gateway's stack listens on every address, on the kernel server's port.
    const own = gateway.stack.net.createServer((socket) => socket.end('from the router'));
    await listen(own, server.port);
    try {
      const { stack } = await joinClient(gateway);
      const outside = stack.net.connect(server.port, SERVICE);
      assert.equal(String(await within(readAll(outside), 10000, 'through the NAT')), 'from the host');
      const inside = stack.net.connect(server.port, gateway.router.addresses[0].address);
      assert.equal(String(await within(readAll(inside), 10000, 'from the router')), 'from the router');
      // A closed port of the router is the router's to refuse, not a flow.
      const closed = await failure(stack.net.connect(server.port + 1 === 65536 ? 1 : server.port + 1,
        gateway.router.addresses[0].address));
      assert.equal(closed.code, 'ECONNREFUSED');
      assert.equal(gateway.metrics().flows.total, 1);
      assert.equal(server.accepted.length, 1);
    } finally {
      await closeServer(own);
    }
  });

  it('carries half-close both ways', async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK });
    let mode = 'client-first';
    const server = await track(await kernelServer((socket) => {
      if (mode === 'client-first') {
        // Reads to the client's FIN, then answers and ends.
        readAll(socket).then((data) => socket.end(`got ${data}`));
      } else {
        // Ends at once, and still reads what the client sends after.
        socket.end('bye');
        readAll(socket).then((data) => {
          server.afterEnd = String(data);
        });
      }
    }));
    const { stack } = await joinClient(gateway);
    const first = stack.net.connect({ port: server.port, host: SERVICE, allowHalfOpen: true });
    first.end('question');
    assert.equal(String(await within(readAll(first), 10000, 'the answer after our FIN')), 'got question');

    mode = 'server-first';
    const second = stack.net.connect({ port: server.port, host: SERVICE, allowHalfOpen: true });
    assert.equal(String(await within(readAll(second), 10000, "the server's FIN")), 'bye');
    // Past the server's FIN our side still writes, and the server reads it.
    second.end('still here');
    await waitFor(() => server.afterEnd !== undefined, 10000, 'the server reads after its FIN');
    assert.equal(server.afterEnd, 'still here');
    await waitFor(() => gateway.metrics().flows.open === 0, 10000, 'flows closed');
  });

  it('answers a refused port with ECONNREFUSED: the client sees the destination\'s own answer', async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK });
    // A port nothing listens on: bound and closed again.
    const probe = await track(await kernelServer(() => {}));
    const closedPort = probe.port;
    await closeServer(probe);
    servers.pop();
    const { stack } = await joinClient(gateway);
    const socket = stack.net.connect(closedPort, SERVICE);
    const { code } = await failure(socket);
    assert.equal(code, 'ECONNREFUSED');
    assert.deepEqual(gateway.metrics().flows.failures, { ECONNREFUSED: 1 });
    await waitFor(() => gateway.metrics().flows.open === 0, 10000, 'flow freed');
    assert.match(await metricsText(gateway), /^tcpip_gateway_flow_failures_total\{reason="ECONNREFUSED"\} 1$/m);
  });

  it('denies loopback without allow, and private addresses, with an RST before the host is asked', async function () {
    const gateway = await startGateway(); // no allow: loopback is denied
    const server = await track(await kernelServer(() => {}));
    const refusals = [];
    gateway.on('refused', (refusal) => refusals.push(refusal));
    const { stack, lease } = await joinClient(gateway);
    // (Not a link-local address: the client looks for those on its own link.)
    for (const address of [SERVICE, SERVICE, '10.9.9.9', '192.168.1.1', '100.64.0.1', '198.18.0.1']) {
      const result = await failure(stack.net.connect(server.port, address));
      assert.equal(result.code, 'ECONNREFUSED', address);
      assert.ok(result.ms < 5000, `refused in ${result.ms} ms`);
    }
    assert.equal(server.accepted.length, 0);
    assert.deepEqual(gateway.metrics().refusals,
      { 'egress-loopback': 2, 'egress-private': 2, 'egress-shared': 1, 'egress-reserved': 1 });
    assert.equal(gateway.metrics().flows.total, 0);
    assert.deepEqual(refusals.map((r) => r.destination.address),
      [SERVICE, SERVICE, '10.9.9.9', '192.168.1.1', '100.64.0.1', '198.18.0.1']);
    assert.equal(refusals[0].client, gateway.clients()[0].id);
    assert.equal(gateway.clients()[0].address, lease.address);
    // Logged once per client and reason.
    const lines = gateway.logged.filter((line) => line.includes('refusing: '));
    assert.equal(lines.length, 4);
    assert.equal(lines.filter((line) => line.includes('egress-loopback')).length, 1);
    const text = await metricsText(gateway);
    assert.match(text, /^tcpip_gateway_refusals_total\{reason="egress-loopback"\} 2$/m);
    assert.match(text, /^tcpip_gateway_flows\{protocol="tcp"\} 0$/m);
  });

  it('applies port allow and deny lists', async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK, ports: { deny: ['1-1023'] } });
    const server = await track(await kernelServer((socket) => socket.end('ok')));
    const { stack } = await joinClient(gateway);
    assert.equal((await failure(stack.net.connect(80, SERVICE))).code, 'ECONNREFUSED');
    assert.equal(String(await within(readAll(stack.net.connect(server.port, SERVICE)), 10000, 'allowed')), 'ok');
    assert.deepEqual(gateway.metrics().refusals, { 'egress-port': 1 });

    const only = await startGateway({ allow: ALLOW_LOOPBACK, ports: { allow: [server.port + 1] } });
    const other = await joinClient(only);
    assert.equal((await failure(other.stack.net.connect(server.port, SERVICE))).code, 'ECONNREFUSED');
    assert.deepEqual(only.metrics().refusals, { 'egress-port': 1 });
    assert.equal(server.accepted.length, 1);
  });

  it('frees every flow when the client\'s WebSocket dies mid-transfer: no descriptor or NAT socket left', async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK });
    const closed = [];
    const server = await track(await kernelServer((socket) => {
      socket.on('close', () => closed.push(socket));
      new RandomStream(256 * MiB).pipe(socket);
    }));
    // What the client and its flows hold in this process: descriptors (its
    // WebSocket, the host sockets) and the router stack's NAT sockets.
    const descriptors = () => fs.readdirSync('/proc/self/fd').length;
    const descriptorsBefore = descriptors();
    const routerHandlesBefore = gateway.stack._handles.size;
    const { Recording, made } = recordingWebSocket();
    const { stack, tunnel } = await joinClient(gateway, DEFAULT_BACKEND, { WebSocket: Recording });
    const sockets = [0, 1, 2].map(() => {
      const socket = stack.net.connect(server.port, SERVICE);
      socket.on('error', () => {});
      return socket;
    });
    let received = 0;
    sockets[0].on('data', (chunk) => { received += chunk.length; });
    await waitFor(() => received > MiB && server.accepted.length === 3, 10000, 'transfers under way');
    assert.equal(gateway.metrics().flows.open, 3);
    const disconnected = within(new Promise((resolve) => gateway.once('disconnect', resolve)), 5000, 'disconnect');
    made.at(-1).terminate();
    await tunnel.close();
    await disconnected;
    await waitFor(() => gateway.metrics().flows.open === 0, 10000, 'flows freed');
    await waitFor(() => closed.length === 3, 10000, 'the kernel sockets closed');
    assert.equal(gateway.stack._handles.size, routerHandlesBefore, "the router stack's NAT sockets are gone");
    for (const socket of sockets) socket.destroy();
    stack.destroy();
    await waitFor(() => descriptors() <= descriptorsBefore, 5000, 'descriptors back').catch(() => {});
    assert.ok(descriptors() <= descriptorsBefore, `${descriptors()} descriptors open, ${descriptorsBefore} before the client`);
  });

  it('refuses flows past maxFlows with an RST, counted, and takes new ones once flows end', async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK, maxFlows: 2 });
    // Ends its side once the client has ended its own.
    const server = await track(await kernelServer((socket) => socket.resume().on('end', () => socket.end())));
    const { stack } = await joinClient(gateway);
    const open = [];
    for (let i = 0; i < 2; i++) {
      const socket = stack.net.connect(server.port, SERVICE);
      await within(new Promise((resolve) => socket.once('connect', resolve)), 10000, 'connect');
      open.push(socket);
    }
    assert.equal((await failure(stack.net.connect(server.port, SERVICE))).code, 'ECONNREFUSED');
    assert.deepEqual(gateway.metrics().refusals, { 'max-flows': 1 });
    assert.equal(server.accepted.length, 2);
    open.shift().destroy();
    await waitFor(() => gateway.metrics().flows.open === 1, 10000, 'a flow ended');
    const again = stack.net.connect(server.port, SERVICE);
    await within(new Promise((resolve) => again.once('connect', resolve)), 10000, 'connect again');
    again.destroy();
    for (const socket of open) socket.destroy();
  });

  it('holds a client to bytesPerSecond both ways by back-pressure, the bytes intact and nothing dropped', async function () {
    const RATE = 256 * 1024;
    const SIZE = 768 * 1024;
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK, bytesPerSecond: RATE });
    let upload;
    let source;
    const server = await track(await kernelServer((socket) => {
      upload = hashStream(socket);
      source = new RandomStream(SIZE);
      source.pipe(socket);
    }));
    const { stack } = await joinClient(gateway);
    const started = performance.now();
    const socket = stack.net.connect(server.port, SERVICE);
    const sent = new RandomStream(SIZE);
    const received = hashStream(socket);
    sent.pipe(socket);
    const download = await within(received, 30000, 'download');
    const downloadMs = performance.now() - started;
    const uploaded = await within(upload, 30000, 'upload');
    const uploadMs = performance.now() - started;
    assert.equal(download.bytes, SIZE);
    assert.equal(download.hash, source.digest());
    assert.equal(uploaded.bytes, SIZE);
    assert.equal(uploaded.hash, sent.digest());
    // A lower bound only: a second's burst, then the rate. A slow machine
    // only makes it longer.
    const least = ((SIZE - RATE) / RATE) * 1000;
    assert.ok(downloadMs >= least * 0.9, `download in ${downloadMs} ms, under ${least}`);
    assert.ok(uploadMs >= least * 0.9, `upload in ${uploadMs} ms, under ${least}`);
    const metrics = gateway.metrics();
    assert.ok(metrics.throttled.in > 0 && metrics.throttled.out > 0, JSON.stringify(metrics.throttled));
    // Held back, not dropped: no frame lost at the gateway.
    assert.deepEqual(metrics.drops, {});
    assert.deepEqual(metrics.refusals, {});
    assert.match(await metricsText(gateway), /^tcpip_gateway_throttled_total\{direction="out"\} [1-9]\d*$/m);
  });

  it('resets a TCP flow idle for tcpIdleTimeout both ways, counted and logged once; a busy flow stays', async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK, tcpIdleTimeout: 1500 });
    const kernelErrors = [];
    const server = await track(await kernelServer((socket) => {
      socket.on('error', (error) => kernelErrors.push(error.code));
      socket.on('data', (chunk) => socket.write(chunk));
    }));
    const { stack } = await joinClient(gateway);
    const connect = async () => {
      const socket = stack.net.connect(server.port, SERVICE);
      await within(new Promise((resolve) => socket.once('connect', resolve)), 10000, 'connect');
      return socket;
    };
    const idle = await connect();
    const busy = await connect();
    const idleError = within(new Promise((resolve) => idle.once('error', resolve)), 10000, 'the idle flow reset');
    idle.write('once');
    // The busy flow echoes a line every 250 ms, for longer than the timeout.
    let echoes = 0;
    busy.on('data', () => { echoes++; });
    for (let i = 0; i < 12; i++) {
      busy.write('tick');
      await delay(250);
    }
    assert.equal((await idleError).code, 'ECONNRESET');
    await waitFor(() => kernelErrors.includes('ECONNRESET'), 10000, 'the kernel side reset');
    assert.equal(busy.destroyed, false);
    await waitFor(() => echoes > 0, 10000, 'echoes');
    assert.deepEqual(gateway.metrics().closures, { 'tcp-idle': 1 });
    assert.equal(gateway.logged.filter((line) => line.includes('tcp-idle')).length, 1);
    assert.match(await metricsText(gateway), /^tcpip_gateway_closures_total\{reason="tcp-idle"\} 1$/m);
    busy.destroy();
    await waitFor(() => gateway.metrics().flows.open === 0, 10000, 'flows closed');
  });

  it('keeps a client with a quiet TCP or UDP flow past idleTimeout; without flows it idles out (4000) and comes back on demand', async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK, idleTimeout: 400, heartbeat: 100 });
    const server = await track(await kernelServer((socket) => {
      socket.on('data', (chunk) => socket.write(chunk));
      socket.on('end', () => socket.end());
    }));
    const echo = await udpEcho();
    const closes = new Map(); // client id -> { code, reason }
    gateway.on('disconnect', (client, why) => closes.set(client.id, why));
    // A: a TCP flow, then quiet (an SSH session). C: a UDP flow, then quiet.
    const a = await joinClient(gateway);
    const aId = gateway.clients().find((c) => c.mac === a.tap.macAddress).id;
    const session = a.stack.net.connect(server.port, SERVICE);
    await within(new Promise((resolve) => session.once('connect', resolve)), 10000, 'connect');
    const c = await joinClient(gateway);
    const cId = gateway.clients().find((client) => client.mac === c.tap.macAddress).id;
    const udp = c.stack.dgram.createSocket('udp4');
    const answered = new Promise((resolve) => udp.once('message', resolve));
    udp.send('ping', echo.address().port, SERVICE);
    await within(answered, 10000, 'the UDP echo');
    // B, without flows, sends its last frame after A's and C's: once it is
    // closed as idle, A and C have been quiet longer than idleTimeout.
    const b = await joinClient(gateway);
    const bId = gateway.clients().find((client) => client.mac === b.tap.macAddress).id;
    assert.notEqual((await b.stack.ping('10.0.2.2', { timeout: 3000 }))[0].time, null);
    await waitFor(() => closes.has(bId), 10000, 'B closed as idle');
    assert.deepEqual(closes.get(bId), { code: 4000, reason: 'idle' });
    await waitFor(() => b.tunnel.state === 'idle', 5000, "B's tunnel idle");
    assert.deepEqual(gateway.clients().map((client) => client.id).sort(), [aId, cId].sort());
    assert.equal(a.tunnel.state, 'open');
    assert.equal(c.tunnel.state, 'open');
    assert.deepEqual(gateway.metrics().closures, {});
    // The quiet session still carries bytes.
    const back = new Promise((resolve) => session.once('data', resolve));
    session.write('still there?');
    assert.equal(String(await within(back, 10000, 'the echo')), 'still there?');
    // Its flow gone, A idles out too, and its next connect brings it back,
    // with its address.
    const states = [];
    a.tunnel.on('state', (state, why) => states.push([state, why]));
    session.destroy();
    await waitFor(() => closes.has(aId), 10000, 'A closed as idle');
    assert.deepEqual(closes.get(aId), { code: 4000, reason: 'idle' });
    await waitFor(() => a.tunnel.state === 'idle', 5000, "A's tunnel idle");
    const again = a.stack.net.connect(server.port, SERVICE);
    await within(new Promise((resolve) => again.once('connect', resolve)), 10000, 'connect after idleness');
    assert.deepEqual(states, [['idle', { code: 4000, reason: 'idle' }], ['connecting', undefined], ['open', undefined]]);
    assert.ok(a.tunnel.stats.held >= 1);
    assert.equal(gateway.clients().find((client) => client.mac === a.tap.macAddress).address, a.lease.address);
    again.destroy();
    udp.close();
  });

  it('holds a flooding client to its limits while a second client moves 4 MiB intact beside it', async function () {
    const MAX_FLOWS = 8;
    const CONNECTS = 40;
    const SYNS = 200;
    const GARBAGE = 1000;
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK, maxFlows: MAX_FLOWS, bytesPerSecond: 64 * MiB });
    const refusals = [];
    gateway.on('refused', (refusal) => refusals.push(refusal));
    // The flooder's flows are held open; the good client's gets 4 MiB.
    const holding = await track(await kernelServer((socket) => socket.resume()));
    let upload;
    let source;
    const service = await track(await kernelServer((socket) => {
      upload = hashStream(socket);
      source = new RandomStream(4 * MiB);
      source.pipe(socket);
    }));
    const { Recording, made } = recordingWebSocket();
    const flooder = await joinClient(gateway, DEFAULT_BACKEND, { WebSocket: Recording });
    const flooderWs = made.at(-1);
    const good = await joinClient(gateway);
    const [flooderId, goodId] = [flooder.tap.macAddress, good.tap.macAddress]
      .map((mac) => gateway.clients().find((c) => c.mac === mac).id);

    // SYNs from its stack: past maxFlows each is refused with an RST.
    const outcomes = await Promise.all(Array.from({ length: CONNECTS }, () => within(new Promise((resolve) => {
      const socket = flooder.stack.net.connect(holding.port, SERVICE);
      socket.once('connect', () => resolve('connected'));
      socket.once('error', (error) => resolve(error.code));
    }), 20000, 'a flooding connect')));
    assert.equal(outcomes.filter((o) => o === 'connected').length, MAX_FLOWS);
    assert.equal(outcomes.filter((o) => o === 'ECONNREFUSED').length, CONNECTS - MAX_FLOWS);

    // The good client's transfer runs through the rest of the flood, both
    // ways at once: half-open, so that a download done first does not end
    // the upload (as Node's net does without allowHalfOpen: writes after the
    // peer's FIN fail).
    const socket = good.stack.net.connect({ port: service.port, host: SERVICE, allowHalfOpen: true });
    const sent = new RandomStream(4 * MiB);
    const received = hashStream(socket);
    sent.pipe(socket);

    // Raw SYNs to as many private addresses and ports (outside the clients'
    // 10.0.2.0/24, where they would be refused as isolated), then garbage:
    // random frames, and mutated ones from its own MAC to the router.
    const routerMac = gateway.router.macAddress;
    const ownMac = Buffer.from(flooder.tap.macAddress.split(':').map((h) => parseInt(h, 16)));
    for (let i = 0; i < SYNS; i++) {
      const destination = `10.${1 + ((i >> 8) & 127)}.${i & 255}.${1 + (i % 200)}`;
      flooderWs.send(ethernetFrame({
        destination: routerMac, source: flooder.tap.macAddress, type: 0x0800,
        payload: tcpPacket({
          source: flooder.lease.address, destination, sourcePort: 20000 + i, destinationPort: 1 + i, flags: TCP.SYN, seq: i,
        }),
      }));
      if (i % 50 === 49) await delay(10);
    }
    for (let i = 0; i < GARBAGE; i++) {
      const frame = Buffer.from(garbage(2));
      if (i % 2 === 1 && frame.length >= 14) {
        Buffer.from(routerMac.split(':').map((h) => parseInt(h, 16))).copy(frame, 0);
        ownMac.copy(frame, 6);
      }
      flooderWs.send(frame);
      if (i % 100 === 99) await delay(10);
    }
    flooderWs.send('not a frame');

    const download = await within(received, 30000, 'the good download');
    assert.equal(download.bytes, 4 * MiB);
    assert.equal(download.hash, source.digest());
    const uploaded = await within(upload, 30000, 'the good upload');
    assert.equal(uploaded.hash, sent.digest());
    await waitFor(() => refusals.filter((r) => r.reason === 'egress-private').length === SYNS, 10000, 'every SYN refused');
    // Its last message, text, after all the garbage: once it is dropped, all is in.
    await waitFor(() => gateway.clients().find((c) => c.id === flooderId).drops.text === 1, 10000, 'the text message dropped');

    // Every refusal was the flooder's; the good client's flow had none.
    assert.deepEqual([...new Set(refusals.map((r) => r.client))], [flooderId]);
    const metrics = gateway.metrics();
    assert.equal(metrics.refusals['egress-private'], SYNS);
    assert.ok(metrics.refusals['max-flows'] >= CONNECTS - MAX_FLOWS, JSON.stringify(metrics.refusals));
    assert.ok(Object.keys(metrics.drops).length > 0, 'garbage dropped and counted');
    const goodDrops = Object.keys(gateway.clients().find((c) => c.id === goodId).drops);
    assert.ok(goodDrops.every((reason) => reason === 'backpressure'), `the good client's drops: ${goodDrops}`);
    // Logged once per client and reason, however many there were.
    const lines = gateway.logged.filter((line) => line.startsWith(`client ${flooderId} `));
    const reasons = lines.map((line) => /: (?:refusing|dropping frames): ([\w-]+)/.exec(line)).filter(Boolean).map((m) => m[1]);
    assert.ok(reasons.includes('max-flows') && reasons.includes('egress-private'), `logged: ${reasons}`);
    assert.equal(reasons.length, new Set(reasons).size, `logged: ${reasons}`);
    assert.equal(gateway.logged.filter((line) => line.startsWith(`client ${goodId} `) && !line.includes('backpressure')).length, 0);
    await new Promise((resolve) => socket.end(resolve));
  });

  // A kernel UDP echo server on 127.0.0.1 that prefixes each answer.
  async function udpEcho() {
    const socket = dgram.createSocket('udp4');
    socket.received = [];
    socket.on('message', (message, rinfo) => {
      socket.received.push(rinfo);
      socket.send(Buffer.concat([Buffer.from('echo:'), message]), rinfo.port, rinfo.address);
    });
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
    servers.push({ accepted: [], close: (cb) => socket.close(cb), closeServer: true });
    return socket;
  }

  it('relays UDP both ways for a native and a wasm client, the replies from the original destination', async function () {
    const gateway = await startGateway({ allow: ALLOW_LOOPBACK });
    const echo = await udpEcho();
    const clients = await Promise.all([joinClient(gateway, 'native'), joinClient(gateway, 'wasm')]);
    for (const { stack } of clients) {
      const socket = stack.dgram.createSocket('udp4');
      const replies = [];
      socket.on('message', (message, rinfo) => replies.push({ message, rinfo }));
      const big = Buffer.alloc(1400, 7);
      for (const payload of [Buffer.from('one'), Buffer.from('two'), big]) socket.send(payload, echo.address().port, SERVICE);
      await waitFor(() => replies.length === 3, 10000, `replies to ${stack.backend}`);
      const texts = replies.map((r) => r.message);
      assert.ok(texts.some((m) => m.equals(Buffer.from('echo:one'))));
      assert.ok(texts.some((m) => m.equals(Buffer.concat([Buffer.from('echo:'), big]))));
      for (const { rinfo } of replies) {
        assert.equal(rinfo.address, SERVICE);
        assert.equal(rinfo.port, echo.address().port);
      }
      socket.close();
    }
    // One flow per client socket: the three datagrams shared one host socket.
    assert.equal(new Set(echo.received.map((r) => r.port)).size, 2);
    assert.equal(gateway.metrics().flows.udp.total, 2);
  });

  it('answers UDP to a closed port with port unreachable, a denied one with prohibited; flows idle out and die with the client', async function () {
    const gateway = await startGateway({ allow: ['127.0.0.0/8'], udpIdleTimeout: 500 });
    const echo = await udpEcho();
    const { Recording, made } = recordingWebSocket();
    const { stack, tunnel } = await joinClient(gateway, DEFAULT_BACKEND, { WebSocket: Recording });
    const icmp = [];
    made.at(-1).on('message', (data) => {
      const frame = Buffer.from(data);
      // IPv4 ICMP destination unreachable: its code.
      if (frame.length > 36 && frame.readUInt16BE(12) === 0x0800 && frame[23] === 1 && frame[34] === 3) icmp.push(frame[35]);
    });
    // A port nothing listens on.
    const probe = dgram.createSocket('udp4');
    await new Promise((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const closedPort = probe.address().port;
    await new Promise((resolve) => probe.close(resolve));
    const refused = stack.dgram.createSocket('udp4');
    const error = new Promise((resolve) => refused.once('error', resolve));
    refused.connect(closedPort, SERVICE, () => refused.send('anyone?'));
    assert.equal((await within(error, 10000, 'ECONNREFUSED')).code, 'ECONNREFUSED');
    assert.deepEqual(icmp, [3]);
    const denied = stack.dgram.createSocket('udp4');
    denied.send('x', 53, '10.9.9.9');
    await waitFor(() => icmp.length === 2, 10000, 'prohibited');
    assert.deepEqual(icmp, [3, 13]);
    assert.equal(gateway.metrics().refusals['egress-private'], 1);
    // Idle flows go, counted.
    await waitFor(() => gateway.metrics().flows.udp.open === 0, 10000, 'idle flows gone');
    assert.deepEqual(gateway.metrics().closures, { 'udp-idle': 1 });
    // A live flow goes with its client.
    const live = stack.dgram.createSocket('udp4');
    const answered = new Promise((resolve) => live.once('message', resolve));
    live.send('ping', echo.address().port, SERVICE);
    await within(answered, 10000, 'echo');
    assert.equal(gateway.metrics().flows.udp.open, 1);
    await tunnel.close();
    await waitFor(() => gateway.metrics().clients === 0, 10000, 'client gone');
    assert.equal(gateway.metrics().flows.udp.open, 0);
    for (const socket of [refused, denied, live]) socket.close();
  });

  it('NATs IPv6: a client with a SLAAC address reaches TCP and UDP servers on ::1 that allow permits; denials answer', async function () {
    const SERVICE6 = '2001:db8::1';
    const gateway = await startGateway({
      allow: ['::1/128'],
      redirect: ({ address, port }) => (address === SERVICE6 ? { address: '::1', port } : null),
    });
    let source;
    const server = await track(await kernelServer((socket) => {
      server.peer = socket.remoteAddress;
      server.uploads = hashStream(socket);
      source = new RandomStream(MiB);
      source.pipe(socket);
    }, '::1'));
    const echo = dgram.createSocket('udp6');
    echo.on('message', (message, rinfo) => echo.send(Buffer.concat([Buffer.from('echo:'), message]), rinfo.port, rinfo.address));
    await new Promise((resolve) => echo.bind(0, '::1', resolve));
    servers.push({ accepted: [], close: (cb) => echo.close(cb), closeServer: true });
    const { Recording, made } = recordingWebSocket();
    const { stack, tap } = await joinClient(gateway, DEFAULT_BACKEND, { WebSocket: Recording, ipAddress: ['dhcp', 'slaac'] });
    const icmp6 = [];
    made.at(-1).on('message', (data) => {
      const frame = Buffer.from(data);
      // ICMPv6 destination unreachable: its code.
      if (frame.length > 62 && frame.readUInt16BE(12) === 0x86dd && frame[20] === 58 && frame[54] === 1) icmp6.push(frame[55]);
    });
    // The router advertised its prefix: the client formed an address in it.
    const { address } = await within(tap.slaac(), 10000, 'SLAAC');
    assert.ok(address.startsWith('fd0a::2:'), address);

    const socket = stack.net.connect({ port: server.port, host: SERVICE6 });
    await within(new Promise((resolve) => socket.once('connect', resolve)), 10000, 'connect');
    assert.equal(socket.remoteAddress, SERVICE6);
    assert.equal(socket.localAddress, address);
    assert.ok(gateway.clients()[0].ipv6.includes(address), String(gateway.clients()[0].ipv6));
    const sent = new RandomStream(MiB);
    const received = hashStream(socket);
    sent.pipe(socket);
    const download = await within(received, 30000, 'download');
    assert.equal(download.bytes, MiB);
    assert.equal(download.hash, source.digest());
    assert.equal((await within(server.uploads, 30000, 'upload')).hash, sent.digest());
    assert.equal(server.peer, '::1');

    // UDP both ways, the replies from the destination the client asked for.
    const udp = stack.dgram.createSocket('udp6');
    const reply = new Promise((resolve) => udp.once('message', (message, rinfo) => resolve({ message, rinfo })));
    udp.send('six', echo.address().port, SERVICE6);
    const { message, rinfo } = await within(reply, 10000, 'the UDP echo');
    assert.equal(String(message), 'echo:six');
    assert.deepEqual([rinfo.address, rinfo.port], [SERVICE6, echo.address().port]);

    // A closed port: ICMPv6 port unreachable, ECONNREFUSED on a connected socket.
    const probe = dgram.createSocket('udp6');
    await new Promise((resolve) => probe.bind(0, '::1', resolve));
    const closedPort = probe.address().port;
    await new Promise((resolve) => probe.close(resolve));
    const refused = stack.dgram.createSocket('udp6');
    const refusedError = new Promise((resolve) => refused.once('error', resolve));
    refused.connect(closedPort, SERVICE6, () => refused.send('anyone?'));
    assert.equal((await within(refusedError, 10000, 'ECONNREFUSED')).code, 'ECONNREFUSED');
    assert.deepEqual(icmp6, [4]);

    // Unique-local destinations are denied: an RST, and ICMPv6 prohibited.
    assert.equal((await failure(stack.net.connect(80, 'fd12::1'))).code, 'ECONNREFUSED');
    const denied = stack.dgram.createSocket('udp6');
    denied.send('x', 53, 'fd12::1');
    await waitFor(() => icmp6.length === 2, 10000, 'prohibited');
    assert.deepEqual(icmp6, [4, 1]);
    assert.deepEqual(gateway.metrics().refusals, { 'egress-unique-local': 2 });

    // A source address outside the prefix is dropped as spoofed.
    made.at(-1).send(ethernetFrame({
      destination: gateway.router.macAddress, source: tap.macAddress, type: 0x86dd,
      payload: tcpPacket({ source: '2001:db8::99', destination: SERVICE6, sourcePort: 1234, destinationPort: server.port, flags: TCP.SYN }),
    }));
    await waitFor(() => gateway.metrics().drops['spoofed-ip'] === 1, 10000, 'the spoofed frame dropped');
    assert.equal(server.accepted.length, 1);
    for (const each of [udp, refused, denied]) each.close();
    socket.destroy();
  });

  it('runs as a command with --allow, --deny-port, --max-flows and the limits\' flags, and refuses bad values', async function () {
    const bad = spawn(process.execPath, [CLI, '--port', '0', '--allow', '10.0.0.0/33'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    bad.stderr.on('data', (chunk) => { stderr += chunk; });
    const badExit = await within(new Promise((resolve) => bad.once('exit', resolve)), 10000, 'the bad command exiting');
    assert.equal(badExit, 2);
    assert.match(stderr, /options\.allow\[0\]/);
    const slow = spawn(process.execPath, [CLI, '--port', '0', '--bytes-per-second', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let slowErr = '';
    slow.stderr.on('data', (chunk) => { slowErr += chunk; });
    assert.equal(await within(new Promise((resolve) => slow.once('exit', resolve)), 10000, 'the slow command exiting'), 2);
    assert.match(slowErr, /options\.bytesPerSecond/);
    const six = spawn(process.execPath, [CLI, '--port', '0', '--ipv6', 'fe80::/64'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let sixErr = '';
    six.stderr.on('data', (chunk) => { sixErr += chunk; });
    assert.equal(await within(new Promise((resolve) => six.once('exit', resolve)), 10000, 'the link-local prefix refused'), 2);
    assert.match(sixErr, /options\.ipv6/);

    const args = ['--port', '0', '--token', TOKEN, '--allow', '127.0.0.0/8', '--deny-port', '80', '--max-flows', '4', '--no-isolate',
      '--bytes-per-second', '10000000', '--tcp-idle-timeout', '60000', '--udp-idle-timeout', '60000', '--max-dns-in-flight', '8',
      '--ipv6', '2001:db8:aa::/64'];
    const { code, signal } = await withGatewayCommand(args, async (port) => {
      const { stack, tap } = await joinClient({ url: `ws://127.0.0.1:${port}/` }, DEFAULT_BACKEND, { ipAddress: ['dhcp', 'slaac'] });
      // The prefix the command was given, advertised.
      assert.ok((await within(tap.slaac(), 10000, 'SLAAC')).address.startsWith('2001:db8:aa:0:'));
      // Refused by the port list and by the address, before any host connection.
      assert.equal((await failure(stack.net.connect(80, SERVICE))).code, 'ECONNREFUSED');
      assert.equal((await failure(stack.net.connect(8080, '10.9.9.9'))).code, 'ECONNREFUSED');
      const response = await within(fetch(`http://127.0.0.1:${port}/metrics`), 10000, 'metrics');
      const text = await response.text();
      assert.match(text, /^tcpip_gateway_refusals_total\{reason="egress-port"\} 1$/m);
      assert.match(text, /^tcpip_gateway_refusals_total\{reason="egress-private"\} 1$/m);
    });
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
  });

  it('refuses a flow whose redirect throws or names no address, and goes on', async function () {
    const gateway = await startGateway({
      allow: ALLOW_LOOPBACK,
      redirect: ({ address, port }) => {
        if (address === '203.0.113.1') throw new Error('a bug in the redirect');
        if (address === '203.0.113.2') return { address: 'not an address', port };
        return { address: '127.0.0.1', port };
      },
    });
    const server = await track(await kernelServer((socket) => socket.end('ok')));
    const { stack } = await joinClient(gateway);
    assert.equal((await failure(stack.net.connect(server.port, '203.0.113.1'))).code, 'ECONNREFUSED');
    assert.equal((await failure(stack.net.connect(server.port, '203.0.113.2'))).code, 'ECONNREFUSED');
    const udp = stack.dgram.createSocket('udp4');
    udp.send('x', server.port, '203.0.113.1');
    await waitFor(() => gateway.metrics().refusals['egress-bad-address'] === 3, 10000, 'the UDP refusal');
    udp.close();
    assert.equal(String(await within(readAll(stack.net.connect(server.port, SERVICE)), 10000, 'a good flow')), 'ok');
  });

  it('checks its options', function () {
    assert.throws(() => createGateway({ allow: ['10.0.0.0/33'] }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => createGateway({ allow: '10.0.0.0/8' }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => createGateway({ ports: { deny: ['70000'] } }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => createGateway({ maxFlows: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => createGateway({ redirect: 'x' }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => createGateway({ bytesPerSecond: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => createGateway({ tcpIdleTimeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
    for (const ipv6 of ['fe80::/64', 'ff02::/64', 'fd00::/48', '::/64', 'nonsense', true]) {
      assert.throws(() => createGateway({ ipv6 }), { code: 'ERR_INVALID_ARG_VALUE' }, String(ipv6));
    }
  });
});

describe('gateway NAT to a kernel server in a network namespace', function () {
  // The gateway and the server share a namespace the test makes (only a
  // process inside reaches its addresses); the clients stay in this process
  // and reach the gateway through a socket file (ws+unix://). The server's
  // addresses (198.18.0.0/15) are denied by default: `allow` lists one.
  this.timeout(120000);
  const SIZE = 16 * MiB;
  const SEED = 0x5eed11;
  const fixture = gatewayFixture(TOKEN);
  const { joinClient } = fixture;
  const children = [];

  before(async function () {
    const missing = await namespaceMissing();
    if (missing) {
      console.log(`      skipped: gateway NAT in a namespace: ${missing}`);
      this.skip();
    }
  });

  afterEach(async function () {
    await Promise.all(children.splice(0).map((child) => child.stop()));
  });

  async function start() {
    const child = await startNamespaceGateway({ token: TOKEN, backend: DEFAULT_BACKEND, thread: DEFAULT_THREAD, size: SIZE, seed: SEED });
    children.push(child);
    return child;
  }

  // Node's own HTTP client over the stack's socket: the status, the
  // declared length, what the body hashed to, and the socket's ends. (No
  // `agent: false`: Node would make a fresh Agent, which ignores
  // createConnection and asks the host's kernel.)
  function get(stack, host, port, pathname = '/') {
    return new Promise((resolve, reject) => {
      const req = http.get({ host, port, path: pathname, createConnection: () => stack.net.connect(port, host) }, (res) => {
        const ends = { remoteAddress: req.socket.remoteAddress, localAddress: req.socket.localAddress };
        hashStream(res).then(({ hash, bytes }) => resolve({
          status: res.statusCode, contentLength: Number(res.headers['content-length']), hash, bytes, ...ends,
        }), reject);
      });
      req.on('error', reject);
    });
  }

  async function flowsClosed(child) {
    await waitFor(async () => /^tcpip_gateway_flows\{protocol="tcp"\} 0$/m.test(await child.metricsText()), 10000, 'flows closed');
  }

  it('a native and a wasm client each GET 16 MiB byte-exact from a kernel HTTP server in the namespace that allow permits, counted as flows', async function () {
    const child = await start();
    assert.equal(child.backend, DEFAULT_BACKEND);
    const clients = await Promise.all([joinClient(child, 'native'), joinClient(child, 'wasm')]);
    const results = await Promise.all(clients.map(({ stack }) => within(get(stack, child.allowed, child.port), 90000, `the GET from ${stack.backend}`)));
    const expected = sha256(pattern(SIZE, SEED));
    for (const [i, result] of results.entries()) {
      const { stack, lease } = clients[i];
      assert.deepEqual([result.status, result.contentLength, result.bytes], [200, SIZE, SIZE], stack.backend);
      assert.equal(result.hash, expected, `the body ${stack.backend} read`);
      // The client saw the server's own address, from its lease's.
      assert.equal(result.remoteAddress, child.allowed);
      assert.equal(result.localAddress, lease.address);
    }
    await waitFor(() => child.served.length === 2, 10000, 'both responses sent');
    assert.deepEqual(child.served.map(({ local, method, url, bytes }) => [local, method, url, bytes]),
      [[child.allowed, 'GET', '/', SIZE], [child.allowed, 'GET', '/', SIZE]]);
    assert.deepEqual(child.connections.map(({ local }) => local), [child.allowed, child.allowed]);
    await flowsClosed(child);
    const text = await child.metricsText();
    assert.match(text, /^tcpip_gateway_flows_total\{protocol="tcp"\} 2$/m);
    assert.match(text, /^tcpip_gateway_clients 2$/m);
    assert.doesNotMatch(text, /^tcpip_gateway_refusals_total\{/m);
    assert.doesNotMatch(text, /^tcpip_gateway_flow_failures_total\{/m);
  });

  it('refuses a flow to an address in the namespace that allow does not list with ECONNREFUSED (an RST), counted; the server there never asked', async function () {
    const child = await start();
    // Both addresses answer the kernel's own client inside the namespace:
    // what refuses the flow is the gateway's policy.
    assert.deepEqual(child.checked, [
      { address: child.allowed, status: 200, bytes: 16 }, { address: child.denied, status: 200, bytes: 16 },
    ]);
    const { stack } = await joinClient(child);
    const refused = await failure(stack.net.connect(child.port, child.denied));
    assert.equal(refused.code, 'ECONNREFUSED');
    assert.ok(refused.ms < 5000, `refused in ${refused.ms} ms`);
    // The same client goes on to the allowed address.
    const small = await within(get(stack, child.allowed, child.port, '/4096'), 30000, 'the allowed GET');
    assert.deepEqual([small.status, small.bytes, small.hash], [200, 4096, sha256(pattern(4096, SEED))]);
    await flowsClosed(child);
    const text = await child.metricsText();
    assert.match(text, /^tcpip_gateway_refusals_total\{reason="egress-reserved"\} 1$/m);
    assert.match(text, /^tcpip_gateway_flows_total\{protocol="tcp"\} 1$/m);
    assert.deepEqual(child.connections.map(({ local }) => local), [child.allowed]);
    assert.equal(child.logged.filter((line) => line.includes('refusing: ') && line.includes('egress-reserved')).length, 1);
  });
});

describe('gateway egress policy', function () {
  const none = { hostAddresses: [] };

  it('denies the special IPv4 ranges by default, each with its reason', function () {
    const policy = new EgressPolicy(none);
    const cases = {
      '0.1.2.3': 'this-network', '10.0.0.1': 'private', '10.255.255.255': 'private', '100.64.0.0': 'shared',
      '100.127.255.255': 'shared', '127.0.0.1': 'loopback', '127.255.0.9': 'loopback', '169.254.169.254': 'link-local',
      '172.16.0.1': 'private', '172.31.255.255': 'private', '192.168.0.1': 'private', '224.0.0.251': 'multicast',
      '239.255.255.250': 'multicast', '255.255.255.255': 'reserved', '240.0.0.1': 'reserved',
    };
    for (const [address, reason] of Object.entries(cases)) assert.equal(policy.check(address, 80), reason, address);
    for (const address of ['100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '11.0.0.1', '1.1.1.1',
      '192.169.0.1', '223.255.255.255']) {
      assert.equal(policy.check(address, 80), null, address);
    }
  });

  it('denies IPv6 loopback, unique-local, link-local and multicast, and judges mapped IPv4 as IPv4', function () {
    const policy = new EgressPolicy(none);
    const cases = {
      '::1': 'loopback', '::': 'this-network', 'fc00::1': 'unique-local', 'fdff:ffff::1': 'unique-local',
      'fe80::1': 'link-local', 'fe80::1%eth0': 'link-local', 'febf::1': 'link-local', 'ff02::1': 'multicast',
      '::ffff:127.0.0.1': 'loopback', '::ffff:10.1.2.3': 'private', '::ffff:7f00:1': 'loopback',
    };
    for (const [address, reason] of Object.entries(cases)) assert.equal(policy.check(address, 443), reason, address);
    for (const address of ['2001:db8::1', '2606:4700::1111', 'fbff::1', 'fec0::1'.replace('fec0', 'fe00'), '::ffff:8.8.8.8']) {
      assert.equal(policy.check(address, 443), null, address);
    }
  });

  it('lets allow override the defaults and the host\'s own addresses, by CIDR', function () {
    const host = new EgressPolicy({ hostAddresses: ['203.0.113.5', '2001:db8::5'] });
    assert.equal(host.check('203.0.113.5', 80), 'host-address');
    assert.equal(host.check('2001:db8::5', 80), 'host-address');
    assert.equal(host.check('::ffff:203.0.113.5', 80), 'host-address');
    assert.equal(host.check('203.0.113.6', 80), null);
    const allowed = new EgressPolicy({
      hostAddresses: ['203.0.113.5'], allow: ['127.0.0.0/8', '10.1.0.0/16', '203.0.113.5', 'fd00::/8', '::ffff:192.168.0.0/112'],
    });
    assert.equal(allowed.check('127.1.2.3', 80), null);
    assert.equal(allowed.check('10.1.255.1', 80), null);
    assert.equal(allowed.check('10.2.0.1', 80), 'private');
    assert.equal(allowed.check('203.0.113.5', 80), null);
    assert.equal(allowed.check('fd12::1', 80), null);
    assert.equal(allowed.check('fc12::1', 80), 'unique-local');
    assert.equal(allowed.check('192.168.7.7', 80), null);
    assert.equal(allowed.check('192.169.7.7', 80), null);
    assert.equal(allowed.check('::1', 80), 'loopback');
    // By default, the host's addresses are its interfaces'.
    assert.equal(new EgressPolicy({ allow: [] }).check('127.0.0.1', 80), 'loopback');
  });

  it('applies port lists and ranges, and refuses port 0', function () {
    const deny = new EgressPolicy({ ...none, ports: { deny: [25, '6000-6010'] } });
    assert.equal(deny.check('1.1.1.1', 25), 'port');
    assert.equal(deny.check('1.1.1.1', 6005), 'port');
    assert.equal(deny.check('1.1.1.1', 6011), null);
    assert.equal(deny.check('1.1.1.1', 0), 'port');
    const allow = new EgressPolicy({ ...none, ports: { allow: [80, '443'], deny: [443] } });
    assert.equal(allow.check('1.1.1.1', 80), null);
    assert.equal(allow.check('1.1.1.1', 443), 'port');
    assert.equal(allow.check('1.1.1.1', 8080), 'port');
    assert.equal(allow.check('not an address', 80), 'bad-address');
  });

  it('parses CIDRs strictly', function () {
    assert.deepEqual(parseCidr('10.0.0.0/8').family, 4);
    assert.equal(parseCidr('fe80::/10').mask >> 118n, 0x3ffn);
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fe80::/129', '10.0.0.0/', '10.0.0.0/-1', 'x/8', '::ffff:1.2.3.4/95']) {
      assert.throws(() => parseCidr(bad), { code: 'ERR_INVALID_ARG_VALUE' }, bad);
    }
    assert.throws(() => parseCidr(8), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});
