'use strict';
// The WebSocket gateway (issue 11: switch, DHCP, DNS, client; NAT has
// test/gateway-nat.test.js). Everything on loopback: the gateway listens on 127.0.0.1
// port 0, its DNS forwards to a responder this suite runs on 127.0.0.1, and
// the clients are stacks in this process, one native and one wasm.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');
const { getEventListeners } = require('node:events');
const { Stack, createGateway, connectTunnel } = require('..');
const { DEFAULT_BACKEND } = require('./helpers/stack.js');
const { spawn } = require('node:child_process');
const { recordingWebSocket, gatewayFixture, withGatewayCommand, CLI } = require('./helpers/gateway.js');
const { TRANSPORTS, rawServer, responseTo } = require('./helpers/dns.js');
const { within, waitFor, delay, listen, closeServer, readAll, abortErrorOf } = require('./helpers/util.js');
const { hashStream } = require('./helpers/hash.js');
const { RandomStream } = require('./helpers/random.js');
const {
  ethernetFrame, icmpEchoRequest, ipv4Packet, udp, icmpv6Packet, addressBytes,
} = require('./helpers/packets.js');
const dhcpMessage = require('../lib/dhcp/message.js');
const { readPcap } = require('./helpers/pcap.js');

const TOKEN = 'gateway-test-token';
const ROUTER = '10.0.2.2';
const SERVICE_NAME = 'service.gateway.test';
const SERVICE_ADDRESS = '192.0.2.80';
const BROKEN_NAME = 'broken.gateway.test';
const MiB = 1024 * 1024;

// The status with which the gateway answers an upgrade, or 101.
function upgradeStatus(url, headers = {}) {
  return within(new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (req, res) => {
      resolve(res.statusCode);
      req.destroy();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => {});
  }), 10000, 'upgrade');
}

describe('WebSocket gateway', function () {
  this.timeout(30000);
  let upstream;
  const fixture = gatewayFixture(TOKEN);
  const { joinClient, stacks } = fixture;

  before(async function () {
    // The host resolver the gateway forwards to: one name, NXDOMAIN else.
    upstream = await rawServer(await TRANSPORTS[0].create(), (query, raw, rinfo, reply) => {
      const [question] = query.questions;
      if (question.name === SERVICE_NAME && question.type === 'A') {
        reply(responseTo(query, { answers: [{ type: 'A', name: SERVICE_NAME, ttl: 60, data: SERVICE_ADDRESS }] }));
      } else if (question.name === SERVICE_NAME && question.type === 'ANY') {
        reply(responseTo(query, { answers: [
          { type: 'A', name: SERVICE_NAME, ttl: 60, data: SERVICE_ADDRESS },
          { type: 'MX', name: SERVICE_NAME, ttl: 60, data: { preference: 10, exchange: `mail.${SERVICE_NAME}` } },
          { type: 'TXT', name: SERVICE_NAME, ttl: 60, data: ['v=1', 'two'] },
        ] }));
      } else if (question.name === SERVICE_NAME) {
        reply(responseTo(query, { answers: [] }));
      } else if (question.name === BROKEN_NAME) {
        reply(responseTo(query, { rcode: 'SERVFAIL' }));
      } else {
        reply(responseTo(query, { rcode: 'NXDOMAIN' }));
      }
    });
  });

  after(async function () {
    if (upstream) await upstream.close();
  });

  // Gateways whose DNS forwards to `upstream`.
  function startGateway(options = {}) {
    return fixture.startGateway({ dns: { servers: [`127.0.0.1:${upstream.port}`], timeout: 1000, tries: 1 }, ...options });
  }

  async function fetchText(gateway, pathname) {
    const response = await within(fetch(`http://127.0.0.1:${gateway.address().port}${pathname}`), 10000, pathname);
    return { status: response.status, text: await response.text() };
  }

  it('gives a native and a wasm client leases by DHCP; both ping the router and resolve names through it', async function () {
    const gateway = await startGateway();
    const connections = [];
    gateway.on('connection', (client) => connections.push(client));
    const [native, wasm] = await Promise.all([joinClient(gateway, 'native'), joinClient(gateway, 'wasm')]);
    assert.equal(connections.length, 2);
    for (const { stack, lease } of [native, wasm]) {
      assert.match(lease.address, /^10\.0\.2\.(1[5-9]|[2-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);
      assert.equal(lease.prefix, 24);
      assert.equal(lease.router, ROUTER);
      assert.deepEqual(lease.dns, [ROUTER]);
      const [probe] = await stack.ping(ROUTER, { timeout: 3000 });
      assert.equal(probe.address, ROUTER, `ping from ${stack.backend}: ${probe.error}`);
      assert.notEqual(probe.time, null);
      assert.deepEqual(await within(stack.dns.promises.resolve4(SERVICE_NAME), 10000, 'resolve4'), [SERVICE_ADDRESS]);
      await assert.rejects(within(stack.dns.promises.resolve4('missing.gateway.test'), 10000, 'resolve4'), { code: 'ENOTFOUND' });
      await assert.rejects(within(stack.dns.promises.resolve4(BROKEN_NAME), 10000, 'resolve4'), { code: 'ESERVFAIL' });
      // The name is there, without an AAAA record: NODATA passes through.
      await assert.rejects(within(stack.dns.promises.resolve6(SERVICE_NAME), 10000, 'resolve6'), { code: 'ENODATA' });
      // ANY is forwarded too: the upstream's records of every type, as Node's resolveAny gives them.
      assert.deepEqual(await within(stack.dns.promises.resolveAny(SERVICE_NAME), 10000, 'resolveAny'), [
        { address: SERVICE_ADDRESS, ttl: 60, type: 'A' },
        { exchange: `mail.${SERVICE_NAME}`, priority: 10, type: 'MX' },
        { entries: ['v=1', 'two'], type: 'TXT' },
      ]);
    }
    assert.notEqual(native.lease.address, wasm.lease.address);
    // The answers came from the upstream, by way of the gateway.
    assert.ok(upstream.queries.some(({ query }) => query.questions[0].name === SERVICE_NAME));
    const metrics = gateway.metrics();
    assert.equal(metrics.clients, 2);
    assert.equal(metrics.leases, 2);
    assert.deepEqual(gateway.clients().map((c) => c.address).sort(), [native.lease.address, wasm.lease.address].sort());
    assert.deepEqual(metrics.drops, {});
  });

  it('refuses a client\'s DNS questions past maxDnsInFlight with REFUSED, counted and logged once', async function () {
    const held = [];
    const gateway = await startGateway({
      maxDnsInFlight: 2,
      dns: {
        resolve: (name) => (name.startsWith('held')
          ? new Promise((resolve) => held.push(() => resolve([{ type: 'A', data: '192.0.2.7' }])))
          : [{ type: 'A', data: '192.0.2.8' }]),
      },
    });
    const { stack } = await joinClient(gateway);
    const resolver = new stack.dns.promises.Resolver({ timeout: 5000, tries: 1 });
    resolver.setServers([ROUTER]);
    const first = resolver.resolve4('held1.test');
    const second = resolver.resolve4('held2.test');
    await waitFor(() => held.length === 2, 10000, 'two questions at the upstream');
    for (const name of ['third.test', 'fourth.test']) {
      await assert.rejects(within(resolver.resolve4(name), 10000, name), { code: 'EREFUSED' });
    }
    assert.equal(held.length, 2);
    for (const release of held) release();
    assert.deepEqual(await within(first, 10000, 'first'), ['192.0.2.7']);
    assert.deepEqual(await within(second, 10000, 'second'), ['192.0.2.7']);
    // Answered, they no longer count: the client may ask again.
    assert.deepEqual(await within(resolver.resolve4('fifth.test'), 10000, 'fifth'), ['192.0.2.8']);
    assert.deepEqual(gateway.metrics().refusals, { 'dns-in-flight': 2 });
    assert.equal(gateway.logged.filter((line) => line.includes('dns-in-flight')).length, 1);
  });

  it('moves 4 MiB byte-exact from each client to a service on the gateway stack', async function () {
    const gateway = await startGateway();
    const clients = await Promise.all([joinClient(gateway, 'native'), joinClient(gateway, 'wasm')]);
    const server = gateway.stack.net.createServer();
    const received = [];
    server.on('connection', (socket) => received.push(hashStream(socket)));
    await listen(server, 7000, ROUTER);
    for (const { stack } of clients) {
      const source = new RandomStream(4 * MiB);
      const before = received.length;
      const socket = stack.net.connect(7000, ROUTER);
      source.pipe(socket);
      await waitFor(() => received.length > before, 10000, 'connection');
      const result = await within(received[before], 20000, `transfer from ${stack.backend}`);
      assert.equal(result.bytes, 4 * MiB);
      assert.equal(result.hash, source.digest());
      socket.destroy();
    }
    await closeServer(server);
    assert.ok(gateway.metrics().in.bytes > 8 * MiB);
  });

  // A WebSocket shaped as a browser's (the WHATWG constructor: a URL and
  // subprotocols, no headers), over ws: connectTunnel treats it as a page's.
  function pageWebSocket() {
    const made = [];
    class PageWebSocket extends WebSocket {
      static Server = undefined;
      static WebSocketServer = undefined;
      constructor(url, protocols) {
        super(url, protocols);
        made.push(this);
      }
    }
    return { PageWebSocket, made };
  }

  it('batches frames into messages for a page\'s WebSocket, which asks for it: 4 MiB each way byte-exact', async function () {
    const gateway = await startGateway();
    // Half-open: the client's end comes before the server's bytes are all out.
    const server = gateway.stack.net.createServer({ allowHalfOpen: true });
    const received = [];
    const sources = [];
    server.on('connection', (socket) => {
      // Its end waits for the client's: the client ends with it otherwise.
      const hashed = hashStream(socket);
      received.push(hashed);
      const source = new RandomStream(4 * MiB);
      sources.push(source);
      source.pipe(socket, { end: false });
      Promise.all([hashed, new Promise((resolve) => source.once('end', resolve))]).then(() => socket.end(), () => {});
    });
    await listen(server, 7000, ROUTER);
    for (const backend of ['native', 'wasm']) {
      const { PageWebSocket, made } = pageWebSocket();
      const { stack, tunnel } = await joinClient(gateway, backend, { WebSocket: PageWebSocket });
      assert.equal(made.length, 1);
      assert.equal(made[0].protocol, 'tcpip.batch.v1');
      const before = received.length;
      const upload = new RandomStream(4 * MiB);
      const socket = stack.net.connect(7000, ROUTER);
      const download = hashStream(socket);
      upload.pipe(socket);
      await waitFor(() => received.length > before, 10000, 'connection');
      const [up, down] = await within(Promise.all([received[before], download]), 30000, `transfer with ${backend}`);
      assert.equal(up.bytes, 4 * MiB);
      assert.equal(up.hash, upload.digest());
      assert.equal(down.bytes, 4 * MiB);
      assert.equal(down.hash, sources[before].digest());
      const { stats } = tunnel;
      assert.ok(stats.framesIn > 4 * MiB / 1514 && stats.framesOut > 4 * MiB / 1514, JSON.stringify(stats));
      // Frames of a batch share a message, each way.
      assert.ok(stats.messagesIn * 4 < stats.framesIn, JSON.stringify(stats));
      assert.ok(stats.messagesOut * 4 < stats.framesOut, JSON.stringify(stats));
    }
    await closeServer(server);
    // A window's worth in one batch may pass maxBufferedBytes: those frames
    // are dropped (TCP sends them again); nothing else is.
    assert.deepEqual(Object.keys(gateway.metrics().drops).filter((reason) => reason !== 'backpressure'), []);
  });

  it('keeps one frame per message for a client that does not ask, and for a server that does not answer', async function () {
    // The gateway and a ws client: no subprotocol, one frame a message.
    const gateway = await startGateway();
    const { tunnel } = await joinClient(gateway, DEFAULT_BACKEND);
    assert.ok(tunnel.stats.framesIn > 0);
    assert.equal(tunnel.stats.messagesIn, tunnel.stats.framesIn);
    assert.equal(tunnel.stats.messagesOut, tunnel.stats.framesOut);
    // A page's WebSocket at a server that picks the first subprotocol
    // offered (ws's default): a frame a message, both ways.
    const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1' });
    await within(new Promise((resolve) => wss.once('listening', resolve)), 10000, 'listening');
    try {
      const messages = [];
      const peer = new Promise((resolve) => wss.once('connection', resolve));
      wss.on('connection', (ws) => ws.on('message', (data) => messages.push(data)));
      const stack = new Stack({ backend: DEFAULT_BACKEND });
      stacks.push(stack);
      const tap = stack.createTapInterface({ ipAddress: '10.9.0.2/24' });
      const { PageWebSocket, made } = pageWebSocket();
      const plain = await within(connectTunnel(tap, `ws://127.0.0.1:${wss.address().port}/`, { WebSocket: PageWebSocket }), 10000, 'open');
      const ws = await peer;
      assert.equal(made[0].protocol, 'tcpip.frame.v1');
      // An ARP request for the peer, one message; and one frame from the
      // peer, as it is, reaches the stack.
      stack.ping('10.9.0.1', { timeout: 200 }).catch(() => {});
      await waitFor(() => messages.length > 0, 10000, 'a frame from the stack');
      const [frame] = messages;
      assert.equal(frame.subarray(0, 6).toString('hex'), 'ffffffffffff');
      assert.equal(frame.readUInt16BE(12), 0x0806);
      assert.equal(frame.subarray(6, 12).toString('hex'), tap.macAddress.replace(/:/g, ''));
      ws.send(Buffer.alloc(60));
      await waitFor(() => plain.stats.framesIn === 1, 10000, 'the frame from the peer');
      assert.equal(plain.stats.messagesIn, 1);
      assert.equal(plain.stats.messagesOut, plain.stats.framesOut);
      await plain.close();
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it("takes websockify's subprotocol 'binary' as one frame per message: a client offering only it gets a lease and pings", async function () {
    const gateway = await startGateway();
    // A page's WebSocket (noVNC-style, websockify's clients) that offers 'binary' only.
    const made = [];
    class BinaryOnly extends WebSocket {
      static Server = undefined;
      static WebSocketServer = undefined;
      constructor(url) {
        super(url, ['binary']);
        made.push(this);
      }
    }
    const { stack, tunnel, lease } = await joinClient(gateway, DEFAULT_BACKEND, { WebSocket: BinaryOnly });
    assert.equal(made[0].protocol, 'binary');
    assert.equal(lease.router, ROUTER);
    assert.notEqual((await stack.ping(ROUTER, { timeout: 3000 }))[0].time, null);
    assert.equal(tunnel.stats.messagesIn, tunnel.stats.framesIn);
    assert.equal(tunnel.stats.messagesOut, tunnel.stats.framesOut);
    assert.equal(gateway.metrics().in.frames, tunnel.stats.framesOut);
  });

  it('drops a batch\'s frames past a length that overruns it, counted, and keeps the client', async function () {
    const gateway = await startGateway({ token: undefined });
    const ws = new WebSocket(gateway.url, ['tcpip.frame.v1', 'tcpip.batch.v1']);
    await within(new Promise((resolve) => ws.once('open', resolve)), 10000, 'open');
    assert.equal(ws.protocol, 'tcpip.batch.v1');
    // A 5-byte frame (too short for Ethernet), then a length of 100 with 3 bytes.
    ws.send(Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0, 100, 1, 2, 3]));
    // Three bytes: not even a length.
    ws.send(Buffer.from([0, 0, 0]));
    await waitFor(() => gateway.metrics().drops.malformed === 3, 10000, 'the drops');
    assert.equal(gateway.metrics().in.frames, 1);
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(gateway.metrics().clients, 1);
    ws.close();
  });

  it('refuses a wrong or missing token at the upgrade with 401, a foreign Origin with 403, counting each', async function () {
    const gateway = await startGateway({ origin: 'https://app.example' });
    const refused = [];
    gateway.on('refused', (refusal) => refused.push(refusal.reason));
    const origin = { origin: 'https://app.example' };
    assert.equal(await upgradeStatus(gateway.url, { ...origin, authorization: 'Bearer wrong' }), 401);
    assert.equal(await upgradeStatus(gateway.url, origin), 401);
    assert.equal(await upgradeStatus(`${gateway.url}?token=wrong`, origin), 401);
    assert.equal(await upgradeStatus(gateway.url, { origin: 'https://evil.example', authorization: `Bearer ${TOKEN}` }), 403);
    // The right token, as a header or in the query (browsers), with the Origin: in.
    assert.equal(await upgradeStatus(gateway.url, { ...origin, authorization: `Bearer ${TOKEN}` }), 101);
    assert.equal(await upgradeStatus(`${gateway.url}?token=${TOKEN}`, origin), 101);
    // connectTunnel fails for good on a refusal, without retrying: here
    // for its Origin (it sends none), below for its token.
    const stack = new Stack({ backend: 'wasm' });
    stacks.push(stack);
    const tap = stack.createTapInterface({});
    await assert.rejects(within(connectTunnel(tap, gateway.url, { token: 'wrong' }), 10000, 'refusal'),
      { code: 'ERR_TCPIP_TUNNEL_REFUSED', status: 403 });
    assert.deepEqual(refused, ['token', 'token', 'token', 'origin', 'origin']);
    assert.deepEqual(gateway.metrics().refusals, { token: 3, origin: 2 });
    // Logged once per remote address and reason; counted every time.
    assert.deepEqual(gateway.logged.filter((line) => line.startsWith('refused')),
      ['refused 127.0.0.1: token', 'refused 127.0.0.1: origin']);
    const open = await startGateway();
    const other = stack.createTapInterface({});
    await assert.rejects(within(connectTunnel(other, open.url, { token: 'wrong' }), 10000, 'refusal'),
      { code: 'ERR_TCPIP_TUNNEL_REFUSED', status: 401 });
    await waitFor(() => gateway.metrics().clients === 0, 5000, 'no clients');
  });

  it('refuses clients past maxClients (503) and those verifyClient rejects (401)', async function () {
    const gateway = await startGateway({
      token: undefined, maxClients: 1, verifyClient: async (req) => req.headers['x-client'] === 'yes',
    });
    assert.equal(await upgradeStatus(gateway.url, { 'x-client': 'no' }), 401);
    const first = new WebSocket(gateway.url, { headers: { 'x-client': 'yes' } });
    await within(new Promise((resolve) => first.once('open', resolve)), 10000, 'first client');
    assert.equal(await upgradeStatus(gateway.url, { 'x-client': 'yes' }), 503);
    first.close();
    await waitFor(() => gateway.metrics().clients === 0, 5000, 'first client gone');
    assert.deepEqual(gateway.metrics().refusals, { 'verify-client': 1, 'max-clients': 1 });
  });

  it('connectTunnel: a wrong path (404) is final; past maxClients (503) and nothing listening it retries until its signal aborts', async function () {
    const gateway = await startGateway({ path: '/tunnel', maxClients: 1 });
    const base = `ws://127.0.0.1:${gateway.address().port}`;
    const stack = new Stack({ backend: 'wasm' });
    stacks.push(stack);
    // A wrong path never fixes itself: refused once, not retried.
    const lost = stack.createTapInterface({});
    await assert.rejects(within(connectTunnel(lost, `${base}/`, { token: TOKEN, backoff: { initial: 10, max: 20 } }), 10000, '404'),
      { code: 'ERR_TCPIP_TUNNEL_REFUSED', status: 404 });
    assert.deepEqual(gateway.metrics().refusals, { path: 1 });
    assert.equal(lost.listenerCount('frame'), 0);
    gateway.url = `${base}/tunnel`;
    await joinClient(gateway, 'wasm');
    // Past maxClients: retried, until the signal aborts.
    const full = stack.createTapInterface({});
    const controller = new AbortController();
    const waiting = connectTunnel(full, gateway.url, { token: TOKEN, backoff: { initial: 10, max: 20 }, signal: controller.signal });
    await waitFor(() => gateway.metrics().refusals['max-clients'] >= 2, 10000, 'retries past maxClients');
    const reason = new Error('enough');
    controller.abort(reason);
    await assert.rejects(within(waiting, 10000, 'the abort'), (error) => {
      assert.equal(error.name, 'AbortError');
      assert.equal(error.code, 'ABORT_ERR');
      assert.equal(error.cause, reason);
      return true;
    });
    // The tunnel let go of its interface: no timer, no listener left.
    assert.equal(full.listenerCount('frame'), 0);
    // Nothing listening: retried, until a timeout's signal ends it.
    const nowhere = stack.createTapInterface({});
    await assert.rejects(within(connectTunnel(nowhere, 'ws://127.0.0.1:1/', {
      backoff: { initial: 10, max: 20 }, signal: AbortSignal.timeout(200),
    }), 10000, 'the timeout'), (error) => error.code === 'ABORT_ERR' && error.cause.name === 'TimeoutError');
    assert.equal(nowhere.listenerCount('frame'), 0);
    // An aborted signal: rejected at once, the interface untouched.
    const early = stack.createTapInterface({});
    await assert.rejects(connectTunnel(early, gateway.url, { signal: AbortSignal.abort('no') }), abortErrorOf('no'));
    assert.equal(early.listenerCount('frame'), 0);
    assert.throws(() => connectTunnel(early, gateway.url, { signal: {} }), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it("connectTunnel: its signal bounds the wait for the first open only, as events.once()'s: an abort after it leaves the tunnel joined", async function () {
    const gateway = await startGateway();
    const controller = new AbortController();
    const { stack, tunnel } = await joinClient(gateway, DEFAULT_BACKEND, { signal: controller.signal });
    const states = [];
    tunnel.on('state', (state) => states.push(state));
    // Nothing listens to the signal any more (AbortSignal.timeout() may bound a connect).
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    controller.abort();
    const [probe] = await stack.ping(ROUTER, { timeout: 3000 });
    assert.equal(probe.address, ROUTER, `ping after the abort: ${probe.error}`);
    assert.equal(tunnel.state, 'open');
    assert.deepEqual(states, []);
    assert.equal(gateway.metrics().clients, 1);
  });

  it('answers a request line no URL parser takes with 400, and keeps serving', async function () {
    const gateway = await startGateway();
    const net = require('node:net');
    const reply = await within(new Promise((resolve, reject) => {
      const socket = net.connect(gateway.address().port, '127.0.0.1', () => socket.end('GET // HTTP/1.1\r\nHost: x\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => { text += d; });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    }), 10000, 'the reply');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.equal((await fetchText(gateway, '/healthz')).status, 200);
  });

  it('refuses an upgrade whose verifyClient does not settle in verifyTimeout, and close() does not wait for one', async function () {
    const hanging = await startGateway({ token: undefined, verifyClient: () => new Promise(() => {}), verifyTimeout: 200 });
    assert.equal(await upgradeStatus(hanging.url), 401);
    assert.deepEqual(hanging.metrics().refusals, { 'verify-timeout': 1 });
    const slow = await startGateway({ token: undefined, verifyClient: () => new Promise(() => {}), verifyTimeout: 60000 });
    const waiting = new WebSocket(slow.url);
    waiting.on('error', () => {});
    await waitFor(() => slow._pending.size === 1, 5000, 'the upgrade under verification');
    await within(slow.close(), 5000, 'close() with an upgrade under verification');
  });

  it("a client's DHCP messages speak for its own MAC only: another's chaddr or client identifier is dropped, and the victim keeps its lease", async function () {
    const gateway = await startGateway();
    const victim = await joinClient(gateway, 'native');
    const { Recording, made } = recordingWebSocket();
    const attacker = await joinClient(gateway, 'wasm', { WebSocket: Recording });
    const ws = made.at(-1);
    const seen = [];
    ws.on('message', (data) => seen.push(Buffer.from(data)));
    const release = (fields) => ethernetFrame({
      destination: gateway.router.macAddress, source: attacker.tap.macAddress, type: 0x0800,
      payload: ipv4Packet({
        source: attacker.lease.address, destination: ROUTER, protocol: 17,
        payload: udp(68, 67, dhcpMessage.encode({
          op: dhcpMessage.OP.REQUEST, xid: 7, type: dhcpMessage.TYPES.RELEASE,
          options: [[dhcpMessage.OPTIONS.SERVER_ID, [10, 0, 2, 2]]], ...fields,
        })),
      }),
    });
    const victimId = [1, ...victim.tap.macAddress.split(':').map((h) => parseInt(h, 16))];
    ws.send(release({ chaddr: victim.tap.macAddress, ciaddr: victim.lease.address }));
    ws.send(release({ chaddr: attacker.tap.macAddress, ciaddr: victim.lease.address,
      options: [[dhcpMessage.OPTIONS.SERVER_ID, [10, 0, 2, 2]], [dhcpMessage.OPTIONS.CLIENT_ID, victimId]] }));
    await waitFor(() => gateway.metrics().drops['spoofed-dhcp'] === 2, 5000, 'both releases dropped');
    assert.ok(gateway.dhcp.leases().some((l) => l.address === victim.lease.address), 'the victim lost its lease');
    assert.notEqual((await victim.stack.ping(ROUTER, { timeout: 3000 }))[0].time, null);
    // Isolated, the attacker hears no DHCP reply meant for the victim, when
    // it asks for a lease again from scratch.
    victim.tap.dhcpStop();
    await waitFor(() => !gateway.dhcp.leases().some((l) => l.mac === victim.tap.macAddress), 5000, 'the release');
    await within(victim.tap.dhcp(), 10000, 'the victim\'s new lease');
    const dhcpReplies = seen.filter((frame) => frame.length > 42 && frame.readUInt16BE(12) === 0x0800 && frame[23] === 17
      && frame.readUInt16BE(34) === 67 && frame.readUInt16BE(36) === 68);
    assert.deepEqual(dhcpReplies, []);
  });

  it('isolates clients by default: what one sends another is refused on the wire (RST, ICMP prohibited), counted, logged once', async function () {
    const gateway = await startGateway();
    const refused = [];
    gateway.on('refused', (refusal) => refused.push(refusal));
    const recordA = recordingWebSocket();
    const recordB = recordingWebSocket();
    // Both lease over the isolated switch, and form SLAAC addresses.
    const [a, b] = await Promise.all([
      joinClient(gateway, 'native', { WebSocket: recordA.Recording, ipAddress: ['dhcp', 'slaac'] }),
      joinClient(gateway, 'wasm', { WebSocket: recordB.Recording, ipAddress: ['dhcp', 'slaac'] }),
    ]);
    assert.notEqual(a.lease.address, b.lease.address);
    const [a6, b6] = await within(Promise.all([a.tap.slaac(), b.tap.slaac()]), 10000, 'SLAAC');
    const wsA = recordA.made.at(-1);
    const toA = [];
    const toB = [];
    wsA.on('message', (data) => toA.push(Buffer.from(data)));
    recordB.made.at(-1).on('message', (data) => toB.push(Buffer.from(data)));
    // B serves TCP and UDP, in both families.
    const accepted = [];
    const server = b.stack.net.createServer((socket) => accepted.push(socket));
    await listen(server, 9000);
    const heard = [];
    const udpB = b.stack.dgram.createSocket('udp6');
    udpB.on('message', (message) => heard.push(message));
    await new Promise((resolve) => udpB.bind(9001, resolve));
    assert.notEqual((await a.stack.ping(ROUTER, { timeout: 3000 }))[0].time, null);

    // TCP to B: the switch answers A's ARP (and neighbour solicitation)
    // for B's address with the router's MAC, the NAT refuses the SYN with
    // an RST: ECONNREFUSED, where before the SYN went nowhere until lwIP
    // gave up.
    for (const host of [b.lease.address, b6.address]) {
      const error = await within(new Promise((resolve, reject) => {
        const socket = a.stack.net.connect(9000, host);
        socket.once('connect', () => reject(new Error(`connected to ${host}`)));
        socket.once('error', resolve);
      }), 10000, `the refusal of ${host}`);
      assert.equal(error.code, 'ECONNREFUSED', host);
    }
    // UDP to B: ICMP destination unreachable, administratively prohibited
    // (the stack surfaces port unreachable only, as the denied-UDP test has it).
    const icmp = () => toA.flatMap((frame) => {
      if (frame.length > 36 && frame.readUInt16BE(12) === 0x0800 && frame[23] === 1 && frame[34] === 3) return [`4:${frame[35]}`];
      if (frame.length > 62 && frame.readUInt16BE(12) === 0x86dd && frame[20] === 58 && frame[54] === 1) return [`6:${frame[55]}`];
      return [];
    });
    const udpA = a.stack.dgram.createSocket('udp4');
    udpA.send('to b', 9001, b.lease.address);
    await waitFor(() => icmp().length === 1, 10000, 'ICMP prohibited');
    const udpA6 = a.stack.dgram.createSocket('udp6');
    udpA6.send('to b', 9001, b6.address);
    await waitFor(() => icmp().length === 2, 10000, 'ICMPv6 prohibited');
    assert.deepEqual(icmp(), ['4:13', '6:1']);

    // Counted and evented by reason, logged once.
    assert.deepEqual(gateway.metrics().refusals, { isolated: 4 });
    const idA = gateway.clients().find((c) => c.mac === a.tap.macAddress).id;
    assert.deepEqual(refused.map((r) => [r.reason, r.client, r.destination.address, r.destination.protocol]), [
      ['isolated', idA, b.lease.address, 'tcp'], ['isolated', idA, b6.address, 'tcp'],
      ['isolated', idA, b.lease.address, 'udp'], ['isolated', idA, b6.address, 'udp'],
    ]);
    assert.deepEqual(gateway.logged.filter((line) => line.includes('refusing: ')),
      [`client ${idA} (127.0.0.1): refusing: isolated (${b.lease.address}:9000)`]);
    assert.match((await fetchText(gateway, '/metrics')).text, /^tcpip_gateway_refusals_total\{reason="isolated"\} 4$/m);
    assert.deepEqual(gateway.metrics().drops, {});

    // Probes are not proxied: an ARP probe (from 0.0.0.0), a gratuitous
    // ARP and a DAD solicitation (from ::) go unanswered; a request from
    // A's address, sent after them, is answered with the router's MAC.
    const arp = (sender, target) => {
      const payload = Buffer.alloc(28);
      payload.writeUInt16BE(1, 0);
      payload.writeUInt16BE(0x0800, 2);
      payload[4] = 6;
      payload[5] = 4;
      payload.writeUInt16BE(1, 6);
      Buffer.from(a.tap.macAddress.split(':').map((h) => parseInt(h, 16))).copy(payload, 8);
      Buffer.from(sender.split('.').map(Number)).copy(payload, 14);
      Buffer.from(target.split('.').map(Number)).copy(payload, 24);
      return ethernetFrame({ destination: 'ff:ff:ff:ff:ff:ff', source: a.tap.macAddress, type: 0x0806, payload });
    };
    const solicitation = (source, target) => {
      const body = Buffer.alloc(20);
      addressBytes(target).copy(body, 4);
      const group = addressBytes(target);
      const payload = icmpv6Packet({
        source, destination: `ff02::1:ff${group.toString('hex', 13, 14)}:${group.toString('hex', 14, 16)}`,
        type: 135, hopLimit: 255, body,
      });
      return ethernetFrame({ destination: `33:33:ff:${[...group.subarray(13)].map((x) => x.toString(16).padStart(2, '0')).join(':')}`,
        source: a.tap.macAddress, type: 0x86dd, payload });
    };
    const replies = () => toA.filter((frame) => frame.readUInt16BE(12) === 0x0806 && frame.readUInt16BE(20) === 2);
    const advertisements = () => toA.filter((frame) => frame.readUInt16BE(12) === 0x86dd && frame[20] === 58 && frame[54] === 136);
    const seenReplies = replies().length;
    const seenAdvertisements = advertisements().length;
    wsA.send(arp('0.0.0.0', b.lease.address));
    wsA.send(arp(a.lease.address, a.lease.address));
    wsA.send(solicitation('::', b6.address));
    wsA.send(arp(a.lease.address, '10.0.2.99'));
    // (ARP replies: their sender address and MAC.)
    const answers = () => replies().slice(seenReplies).map((frame) => [frame.subarray(28, 32).join('.'),
      [...frame.subarray(22, 28)].map((x) => x.toString(16).padStart(2, '0')).join(':')]);
    await waitFor(() => answers().some(([address]) => address === '10.0.2.99'), 5000, 'the proxied ARP reply');
    assert.deepEqual(answers(), [['10.0.2.99', gateway.router.macAddress]]);
    assert.equal(advertisements().length, seenAdvertisements);

    // B saw none of it: no connection, no datagram, no frame of A's.
    assert.deepEqual([accepted.length, heard.length], [0, 0]);
    const macA = Buffer.from(a.tap.macAddress.split(':').map((h) => parseInt(h, 16)));
    assert.deepEqual(toB.filter((frame) => frame.includes(macA)
      || frame.includes(addressBytes(a.lease.address)) || frame.includes(addressBytes(a6.address))), []);
    // And leasing still works: A leases again.
    a.tap.dhcpStop();
    await waitFor(() => !gateway.dhcp.leases().some((l) => l.mac === a.tap.macAddress), 5000, 'the release');
    assert.equal((await within(a.tap.dhcp(), 10000, 'a new lease')).address, a.lease.address);
    for (const socket of [udpA, udpA6, udpB]) socket.close();
    await closeServer(server);
  });

  it('switches between clients with isolate: false', async function () {
    const gateway = await startGateway({ isolate: false });
    const [a, b] = await Promise.all([joinClient(gateway, 'native'), joinClient(gateway, 'wasm')]);
    const [probe] = await a.stack.ping(b.lease.address, { timeout: 3000 });
    assert.equal(probe.address, b.lease.address, `ping: ${probe.error}`);
    assert.notEqual(probe.time, null);
    const [back] = await b.stack.ping(a.lease.address, { timeout: 3000 });
    assert.notEqual(back.time, null);
    // TCP straight from one to the other, the router not in between.
    const server = b.stack.net.createServer((socket) => socket.end(`hello ${socket.remoteAddress}`));
    await listen(server, 9000);
    const text = await within(new Promise((resolve, reject) => {
      let data = '';
      const socket = a.stack.net.connect(9000, b.lease.address);
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => { data += chunk; });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    }), 10000, 'the exchange');
    assert.equal(text, `hello ::ffff:${a.lease.address}`);
    assert.deepEqual(gateway.metrics().refusals, {});
    await closeServer(server);
  });

  it('drops and counts frames with a spoofed source MAC or IP address', async function () {
    const gateway = await startGateway();
    const { Recording, made } = recordingWebSocket();
    const { stack, tap, lease } = await joinClient(gateway, DEFAULT_BACKEND, { WebSocket: Recording });
    assert.notEqual((await stack.ping(ROUTER, { timeout: 3000 }))[0].time, null);
    const ws = made.at(-1);
    const seen = [];
    ws.on('message', (data) => seen.push(Buffer.from(data)));
    const echo = (source, mac, marker) => ethernetFrame({
      destination: gateway.router.macAddress, source: mac, type: 0x0800,
      payload: icmpEchoRequest(source, ROUTER, Buffer.from(marker)),
    });
    const answered = (marker) => seen.some((frame) => frame.includes(Buffer.from(marker)));
    // The control: an echo request the test writes, from the client's own
    // MAC and address, is answered.
    ws.send(echo(lease.address, tap.macAddress, 'control-echo'));
    await waitFor(() => answered('control-echo'), 5000, 'the control echo reply');
    ws.send(echo('10.0.2.99', tap.macAddress, 'spoofed-ip-echo'));
    ws.send(echo(lease.address, '02:00:00:00:00:99', 'spoofed-mac-echo'));
    await waitFor(() => gateway.metrics().drops['spoofed-mac'] === 1 && gateway.metrics().drops['spoofed-ip'] === 1,
      5000, 'both drops counted');
    // One more echo from the real address, answered after the spoofed ones
    // would have been: they never reached the router.
    ws.send(echo(lease.address, tap.macAddress, 'second-control'));
    await waitFor(() => answered('second-control'), 5000, 'the second control reply');
    assert.equal(answered('spoofed-ip-echo'), false);
    assert.equal(answered('spoofed-mac-echo'), false);
    // ARP for the spoofed address would have come if the router had heard it.
    assert.equal(seen.some((frame) => frame.readUInt16BE(12) === 0x0806 && frame.subarray(38, 42).equals(Buffer.from([10, 0, 2, 99]))), false);
    assert.deepEqual(gateway.clients()[0].drops, { 'spoofed-ip': 1, 'spoofed-mac': 1 });
    assert.equal(gateway.logged.filter((line) => line.includes('spoofed')).length, 2);
  });

  it('leaves no port behind when a client\'s WebSocket is killed mid-transfer', async function () {
    const gateway = await startGateway();
    const { Recording, made } = recordingWebSocket();
    const { stack, tunnel } = await joinClient(gateway, DEFAULT_BACKEND, { WebSocket: Recording });
    const server = gateway.stack.net.createServer();
    let bytes = 0;
    const accepted = [];
    server.on('connection', (socket) => {
      accepted.push(socket);
      socket.on('data', (chunk) => { bytes += chunk.length; });
      socket.on('error', () => {});
    });
    await listen(server, 7001, ROUTER);
    const socket = stack.net.connect(7001, ROUTER);
    socket.on('error', () => {});
    new RandomStream(64 * MiB).pipe(socket);
    await waitFor(() => bytes > MiB, 10000, 'the transfer under way');
    const disconnected = within(new Promise((resolve) => gateway.once('disconnect', resolve)), 5000, 'disconnect');
    made.at(-1).terminate();
    await tunnel.close();
    await disconnected;
    assert.ok(bytes < 64 * MiB);
    assert.equal(gateway.metrics().clients, 0);
    assert.deepEqual(gateway.clients(), []);
    assert.equal(gateway._switch.ports.length, 0);
    const { text } = await fetchText(gateway, '/metrics');
    assert.match(text, /^tcpip_gateway_clients 0$/m);
    // The gateway stack's end of this connection (to a service of the
    // gateway's own stack, not a NAT flow) is the test's to end: its peer is
    // gone for good.
    socket.destroy();
    for (const peer of accepted) peer.destroy();
    await within(closeServer(server), 5000, 'server close');
  });

  it('drops frames to a client that does not read, rather than buffering them', async function () {
    const gateway = await startGateway({ token: undefined, maxBufferedBytes: 64 * 1024 });
    const ws = new WebSocket(gateway.url);
    await within(new Promise((resolve) => ws.once('open', resolve)), 10000, 'open');
    let received = 0;
    ws.on('message', (data) => { received += data.length; });
    ws._socket.pause();
    // 28 MB of broadcasts from the router: more than the kernel's loopback
    // buffers and the 64 KiB bound hold together.
    const sender = gateway.stack.dgram.createSocket('udp4');
    await new Promise((resolve) => sender.bind(0, ROUTER, resolve));
    sender.setBroadcast(true);
    const payload = Buffer.alloc(1400);
    for (let i = 0; i < 20000; i++) {
      sender.send(payload, 9, '10.0.2.255');
      if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => (gateway.metrics().drops.backpressure || 0) > 0, 10000, 'backpressure drops');
    const { out } = gateway.metrics();
    assert.ok(out.bytes < 20000 * 1400, `${out.bytes} bytes went out`);
    ws._socket.resume();
    // What was not dropped arrives, whole (the router may still be sending).
    await waitFor(() => received === gateway.metrics().out.bytes, 10000, 'the frames sent');
    sender.close();
    ws.close();
  });

  it('closes a client that stops answering pings (a half-open connection), freeing its port and MAC', async function () {
    const gateway = await startGateway({ heartbeat: 100 });
    const { Recording, made } = recordingWebSocket();
    const { tap } = await joinClient(gateway, DEFAULT_BACKEND, { WebSocket: Recording });
    assert.equal(gateway.metrics().clients, 1);
    // Answering pings (ws does it by itself), the client stays past a few beats.
    await delay(350);
    assert.equal(gateway.metrics().clients, 1);
    const disconnected = new Promise((resolve) => gateway.once('disconnect', resolve));
    // It reads nothing more: no pong comes back, as from a peer gone silent.
    made.at(-1)._socket.pause();
    const client = await within(disconnected, 5000, 'the silent client closed');
    made.at(-1)._socket.resume(); // and the tunnel sees its socket end
    assert.equal(client.mac, tap.macAddress);
    assert.equal(gateway.metrics().clients, 0);
    assert.ok(gateway.logged.some((line) => line.includes('did not answer a ping')));
  });

  it('closes an idle client with 4000 \'idle\' (not a refusal), and drops text messages', async function () {
    const gateway = await startGateway({ token: undefined, idleTimeout: 300 });
    const ws = new WebSocket(gateway.url);
    const closed = within(new Promise((resolve) => ws.once('close', (code, reason) => resolve([code, String(reason)]))),
      5000, 'idle close');
    await within(new Promise((resolve) => ws.once('open', resolve)), 10000, 'open');
    ws.send('not a frame');
    assert.deepEqual(await closed, [4000, 'idle']);
    assert.deepEqual(gateway.metrics().drops, { text: 1 });
    await waitFor(() => gateway.metrics().clients === 0, 5000, 'no clients');
  });

  it('reconnects after the gateway drops the client, and the client keeps its lease', async function () {
    const gateway = await startGateway();
    const { stack, tap, tunnel, lease } = await joinClient(gateway, DEFAULT_BACKEND, { backoff: { initial: 20, max: 200 } });
    const states = [];
    const whys = [];
    tunnel.on('state', (state, why) => {
      states.push(state);
      whys.push(why);
    });
    assert.equal(tunnel.state, 'open');
    const [{ id }] = gateway.clients();
    assert.equal(gateway.disconnect(id, 1001, 'test'), true);
    await waitFor(() => states.at(-1) === 'open', 10000, 'open again');
    assert.deepEqual(states, ['reconnecting', 'connecting', 'open']);
    assert.deepEqual(whys[0], { code: 1001, reason: 'test' });
    assert.equal(gateway.metrics().connections, 2);
    // The new port knows the client's address from its lease: its traffic passes.
    const [probe] = await stack.ping(ROUTER, { timeout: 3000 });
    assert.notEqual(probe.time, null, `ping: ${probe.error}`);
    const [client] = gateway.clients();
    assert.notEqual(client.id, id);
    assert.equal(client.mac, tap.macAddress);
    assert.equal(client.address, lease.address);
    assert.equal(tap.lease.address, lease.address);
    assert.deepEqual(gateway.dhcp.leases().map((l) => l.address), [lease.address]);
    await tunnel.close();
    assert.equal(states.at(-1), 'closed');
  });

  it("ends the tunnel of a leased interface when the client's stack is destroyed, open or reconnecting: no WebSocket, timer or descriptor left", async function () {
    const descriptors = () => fs.readdirSync('/proc/self/fd').length;
    for (const when of ['open', 'reconnecting']) {
      const gateway = await startGateway();
      const descriptorsBefore = descriptors();
      const { Recording, made } = recordingWebSocket();
      const { stack, tap, tunnel } = await joinClient(gateway, DEFAULT_BACKEND, { WebSocket: Recording, backoff: { initial: 20, max: 50 } });
      assert.notEqual(tap.lease, null);
      let disconnected = null;
      if (when === 'open') {
        disconnected = within(new Promise((resolve) => gateway.once('disconnect', resolve)), 10000, 'disconnect');
      } else {
        await gateway.close();
        await waitFor(() => tunnel.state !== 'open', 10000, 'the tunnel reconnecting');
      }
      const events = [];
      tap.on('close', () => events.push('interface close'));
      tunnel.on('state', (state) => events.push(state));
      tunnel.on('close', () => events.push('tunnel close'));
      stack.destroy();
      // The tunnel listened first: it ends on its interface's 'close'.
      assert.deepEqual(events, ['closed', 'tunnel close', 'interface close'], when);
      assert.equal(tunnel._timer, null, 'no reconnection pending');
      await within(tunnel.close(), 10000, 'the WebSocket closed');
      await waitFor(() => made.every((ws) => ws.readyState === WebSocket.CLOSED), 10000, 'every WebSocket closed');
      if (disconnected) {
        await disconnected;
        assert.deepEqual(gateway.clients(), []);
      }
      const connections = made.length;
      await waitFor(() => descriptors() <= descriptorsBefore, 5000, 'descriptors back').catch(() => {});
      assert.ok(descriptors() <= descriptorsBefore, `${when}: ${descriptors()} descriptors open, ${descriptorsBefore} before the client`);
      assert.equal(made.length, connections, 'no WebSocket opened after the destroy');
    }
  });

  it('rests an idle tunnel and brings it back when its stack sends: the held SYN goes at the open, once, same MAC and lease', async function () {
    // A rest longer than leaseGrace: the lease of a client that rests is not
    // a gone client's (its DHCP client renews it, waking the tunnel).
    const gateway = await startGateway({ idleTimeout: 300, heartbeat: 100, leaseGrace: 50 });
    const server = gateway.stack.net.createServer((socket) => socket.end('hello\n'));
    await listen(server, 7000, ROUTER);
    try {
      const { stack, tap, tunnel, lease } = await joinClient(gateway, DEFAULT_BACKEND);
      const states = [];
      const errors = [];
      tunnel.on('state', (state, why) => states.push([state, why]));
      tunnel.on('error', (error) => errors.push(error));
      await waitFor(() => tunnel.state === 'idle', 10000, 'the tunnel idle');
      assert.deepEqual(states, [['idle', { code: 4000, reason: 'idle' }]]);
      assert.equal(gateway.metrics().connections, 1);
      await delay(300);
      assert.equal(gateway.metrics().leases, 1, 'the resting client kept its lease past leaseGrace');
      // Every SYN the stack sends from here on.
      const syns = [];
      tap.on('frame', (frame) => {
        const ihl = (frame[14] & 0x0f) * 4;
        if (frame.readUInt16BE(12) === 0x0800 && frame[14 + 9] === 6 && (frame[14 + ihl + 13] & 0x12) === 0x02) {
          syns.push(frame.readUInt16BE(14 + ihl));
        }
      });
      const { dropped } = tunnel.stats;
      const socket = stack.net.connect(7000, ROUTER);
      const text = await within(readAll(socket), 10000, 'the greeting after idleness');
      assert.equal(String(text), 'hello\n');
      // What woke the tunnel (the SYN, or an ARP request before it) was
      // held while it connected, not lost and resent: one SYN.
      assert.deepEqual(syns, [socket.localPort]);
      assert.ok(tunnel.stats.held >= 1, `held ${tunnel.stats.held}`);
      assert.equal(tunnel.stats.dropped, dropped);
      assert.deepEqual(states.slice(1), [['connecting', undefined], ['open', undefined]]);
      assert.equal(gateway.metrics().connections, 2);
      assert.deepEqual(errors, []);
      // The same MAC, and the lease the gateway kept for it.
      await waitFor(() => gateway.clients().length === 1, 5000, 'one client');
      assert.equal(gateway.clients()[0].mac, tap.macAddress);
      assert.equal(gateway.clients()[0].address, lease.address);
    } finally {
      await closeServer(server);
    }
  });

  it('holds what the stack sends while the tunnel connects, within 32 frames and 64 KiB, the oldest dropped', async function () {
    const waiting = [];
    const wss = new WebSocket.WebSocketServer({
      port: 0, host: '127.0.0.1', verifyClient: (info, done) => waiting.push(done),
    });
    await within(new Promise((resolve) => wss.once('listening', resolve)), 10000, 'listening');
    const received = [];
    wss.on('connection', (ws) => ws.on('message', (data) => received.push(data)));
    // A TAP interface's shape, whose frames the test makes.
    const tap = new (require('node:events'))();
    Object.assign(tap, { type: 'tap', send: () => true, _dhcpRediscover: () => {} });
    try {
      const opened = connectTunnel(tap, `ws://127.0.0.1:${wss.address().port}/`);
      await waitFor(() => waiting.length === 1, 10000, 'the upgrade');
      const frame = (i, size) => Buffer.alloc(size, i);
      for (let i = 0; i < 100; i++) tap.emit('frame', frame(i, 100));
      waiting[0](true);
      const tunnel = await within(opened, 10000, 'open');
      await waitFor(() => received.length === 32, 10000, 'the held frames');
      assert.deepEqual(received.map((data) => data[0]), Array.from({ length: 32 }, (_, i) => 68 + i));
      assert.equal(tunnel.stats.held, 32);
      assert.equal(tunnel.stats.dropped, 68);
      // Bounded in bytes too: 4000-byte frames, 16 of them fit in 64 KiB.
      const dropped = new Promise((resolve) => wss.once('connection', (ws) => resolve(ws)));
      for (const ws of wss.clients) ws.close(1001);
      await waitFor(() => tunnel.state === 'reconnecting', 10000, 'reconnecting');
      for (let i = 0; i < 20; i++) tap.emit('frame', frame(i, 4000));
      await waitFor(() => waiting.length === 2, 10000, 'the second upgrade');
      waiting[1](true);
      await within(dropped, 10000, 'the second connection');
      await waitFor(() => received.length === 32 + 16, 10000, 'the held large frames');
      assert.deepEqual(received.slice(32).map((data) => [data[0], data.length]), Array.from({ length: 16 }, (_, i) => [4 + i, 4000]));
      assert.equal(tunnel.stats.held, 32 + 16);
      assert.equal(tunnel.stats.dropped, 68 + 4);
      await tunnel.close();
    } finally {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it('takes a close with 1008 (policy violation) as final: no reconnect, and the state says why', async function () {
    const gateway = await startGateway();
    const { tunnel } = await joinClient(gateway, DEFAULT_BACKEND, { backoff: { initial: 10, max: 20 } });
    const states = [];
    tunnel.on('state', (state, why) => states.push([state, why]));
    const failed = within(new Promise((resolve) => tunnel.once('error', resolve)), 10000, 'the tunnel error');
    const [{ id }] = gateway.clients();
    assert.equal(gateway.disconnect(id, 1008, 'banned'), true);
    const error = await failed;
    assert.equal(error.code, 'ERR_TCPIP_TUNNEL_REFUSED');
    assert.equal(error.closeCode, 1008);
    assert.equal(error.reason, 'banned');
    assert.deepEqual(states, [['closed', { code: 1008, reason: 'banned' }]]);
    assert.equal(tunnel.state, 'closed');
    // Many times the backoff later, still one connection ever.
    await delay(300);
    assert.equal(gateway.metrics().connections, 1);
    assert.equal(gateway.metrics().clients, 0);
  });

  it("releases a gone client's lease after leaseGrace, for the next client to take", async function () {
    const gateway = await startGateway({ leaseGrace: 100 });
    const released = [];
    gateway.dhcp.on('release', (lease) => released.push(lease));
    const first = await joinClient(gateway);
    await first.tunnel.close();
    await waitFor(() => released.length === 1, 10000, 'the lease released');
    assert.equal(released[0].address, first.lease.address);
    assert.equal(released[0].mac, first.tap.macAddress);
    assert.deepEqual(gateway.dhcp.leases(), []);
    assert.equal(gateway.metrics().leases, 0);
    // The range's first address again, for a client with another MAC.
    const second = await joinClient(gateway, 'wasm');
    assert.notEqual(second.tap.macAddress, first.tap.macAddress);
    assert.equal(second.lease.address, first.lease.address);
  });

  it('after a gateway restart, a client that comes back renews its old lease there and is heard again', async function () {
    const first = await startGateway({ leaseTime: 2 });
    const { port } = first.address();
    const { stack, tap, tunnel, lease } = await joinClient(first, DEFAULT_BACKEND, { backoff: { initial: 20, max: 100 } });
    const routerMac = first.router.macAddress;
    const leases = [];
    tap.on('lease', (next) => leases.push(next && next.address));
    await within(first.close(), 10000, 'first gateway close');
    const second = await startGateway({ port, leaseTime: 2 });
    // The same router MAC: the client's ARP entry for the router still holds.
    assert.equal(second.router.macAddress, routerMac);
    await waitFor(() => tunnel.state === 'open', 10000, 'the tunnel open again');
    // Its renewal, from the old address, is let through to the new DHCP server.
    await waitFor(() => second.dhcp.leases().some((l) => l.address === lease.address && l.mac === tap.macAddress),
      10000, 'the lease renewed at the new gateway');
    const [probe] = await stack.ping(ROUTER, { timeout: 3000 });
    assert.notEqual(probe.time, null, `ping: ${probe.error}`);
    assert.equal(tap.lease.address, lease.address);
    assert.equal(second.clients()[0].address, lease.address);
    // A renewal (a REQUEST from the address), not a lease lost and taken
    // anew: the new server made no offer, and the client never lost it.
    assert.equal(second.dhcp.stats().offers, 0);
    assert.ok(second.dhcp.stats().acks >= 1);
    assert.ok(leases.length > 0 && leases.every((address) => address === lease.address), `leases: ${leases}`);
  });

  it('answers /healthz and /metrics, captures the router, and closes every client with 1001', async function () {
    const gateway = await startGateway();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-gateway-')), 'router.pcap');
    const capture = gateway.capture(file);
    const { stack, tunnel, lease } = await joinClient(gateway, 'wasm');
    assert.notEqual((await stack.ping(ROUTER, { timeout: 3000 }))[0].time, null);
    await within(capture.stop(), 5000, 'capture stop');
    const { linktype, records } = readPcap(file);
    assert.equal(linktype, 1); // Ethernet
    // The echo request, from the lease's address to the router, is in it.
    const echo = records.find(({ bytes }) => bytes.readUInt16BE(12) === 0x0800 && bytes[14 + 9] === 1
      && bytes[14 + 20] === 8 && bytes.subarray(26, 30).equals(Buffer.from(lease.address.split('.').map(Number))));
    assert.ok(echo, `no echo request among ${records.length} frames`);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    assert.deepEqual(await fetchText(gateway, '/healthz'), { status: 200, text: 'ok\n' });
    const { status, text } = await fetchText(gateway, '/metrics');
    assert.equal(status, 200);
    assert.match(text, /^tcpip_gateway_clients 1$/m);
    assert.match(text, /^tcpip_gateway_leases 1$/m);
    assert.match(text, /^tcpip_gateway_frames_total\{direction="in"\} [1-9]\d*$/m);
    assert.match(text, /^tcpip_gateway_bytes_total\{direction="out"\} [1-9]\d*$/m);
    const codes = [];
    gateway.on('disconnect', (client, { code }) => codes.push(code));
    const states = [];
    tunnel.on('state', (state) => states.push(state));
    await within(gateway.close(), 10000, 'close');
    assert.deepEqual(codes, [1001]);
    assert.equal(gateway.stack.destroyed, true);
    // The client lost its gateway and tries again, as it should.
    await waitFor(() => states.includes('reconnecting'), 5000, 'reconnecting');
  });

  it('attaches to an HTTP server of the caller, taking its upgrades and leaving its requests', async function () {
    const server = http.createServer((req, res) => res.end('the app\n'));
    await listen(server, 0, '127.0.0.1');
    try {
      const gateway = await startGateway({ server });
      gateway.url = `ws://127.0.0.1:${server.address().port}/`;
      const { stack } = await joinClient(gateway, 'wasm');
      assert.notEqual((await stack.ping(ROUTER, { timeout: 3000 }))[0].time, null);
      assert.deepEqual(await fetchText(gateway, '/healthz'), { status: 200, text: 'the app\n' });
      await gateway.close();
      assert.equal(server.listening, true);
    } finally {
      server.closeAllConnections();
      await closeServer(server);
    }
  });

  it('takes a client over a Unix-domain socket: connectTunnel passes a ws+unix:// URL to ws', async function () {
    // A caller's server on a socket file: how a gateway in another network
    // namespace is reached (test/helpers/namespace.js).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-gw-unix-'));
    const socketPath = path.join(dir, 'gateway.sock');
    const server = http.createServer((req, res) => res.end('the app\n'));
    await within(new Promise((resolve) => server.listen(socketPath, resolve)), 10000, 'listen on the socket file');
    try {
      const gateway = await startGateway({ server, path: '/gw' });
      gateway.url = `ws+unix://${socketPath}:/gw`;
      const { stack, tunnel, lease } = await joinClient(gateway, 'wasm');
      assert.equal(tunnel.url, gateway.url);
      assert.equal(lease.router, ROUTER);
      assert.notEqual((await stack.ping(ROUTER, { timeout: 3000 }))[0].time, null);
      assert.equal(gateway.clients().length, 1);
      assert.equal(gateway.metrics().connections, 1);
      await gateway.close();
    } finally {
      server.closeAllConnections();
      await closeServer(server);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes upgrades at its path only: 404 elsewhere on its own server, the caller\'s other upgrades left alone', async function () {
    const own = await startGateway({ path: '/tunnel' });
    const base = `ws://127.0.0.1:${own.address().port}`;
    assert.equal(await upgradeStatus(`${base}/`, { authorization: `Bearer ${TOKEN}` }), 404);
    assert.equal(await upgradeStatus(`${base}/tunnel?x=1`, { authorization: `Bearer ${TOKEN}` }), 101);
    assert.equal(own.metrics().refusals.path, 1);
    own.url = `${base}/tunnel`;
    const { stack } = await joinClient(own);
    assert.notEqual((await stack.ping(ROUTER, { timeout: 3000 }))[0].time, null);

    // A caller's server with another WebSocket service on /chat.
    const server = http.createServer();
    const chat = new WebSocket.WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/chat') chat.handleUpgrade(req, socket, head, (ws) => ws.send('chat'));
    });
    await listen(server, 0, '127.0.0.1');
    try {
      const gateway = await startGateway({ server, path: '/gw' });
      const url = `ws://127.0.0.1:${server.address().port}`;
      const ws = new WebSocket(`${url}/chat`);
      const [message] = await within(new Promise((resolve) => ws.once('message', (...args) => resolve(args))), 10000, 'chat');
      assert.equal(String(message), 'chat');
      ws.close();
      gateway.url = `${url}/gw`;
      const client = await joinClient(gateway, 'wasm');
      assert.notEqual((await client.stack.ping(ROUTER, { timeout: 3000 }))[0].time, null);
      assert.deepEqual(gateway.metrics().refusals, {});
      await gateway.close();
    } finally {
      server.closeAllConnections();
      chat.close();
      await closeServer(server);
    }
  });

  it('runs as a command: listens, refuses a wrong token, stops on SIGTERM; takes the idle, heartbeat, lease, MTU and DNS flags', async function () {
    // Bad values exit with 2 and say which option: each flag reaches its option.
    const children = [];
    const bad = (args) => new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr.on('data', (chunk) => { stderr += chunk; });
      child.once('exit', (code) => resolve([code, stderr.split('\n')[0]]));
    });
    let refused;
    try {
      refused = await within(Promise.all([
        ['--port', ''], ['--mtu', '100'], ['--idle-timeout', ''], ['--heartbeat', 'x'], ['--lease-grace', 'x'],
        ['--connect-timeout', '0'], ['--no-dns', '--dns-server', '127.0.0.1'],
      ].map(bad)), 20000, 'the bad commands exiting');
    } finally {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    assert.deepEqual(refused.map(([code]) => code), [2, 2, 2, 2, 2, 2, 2]);
    const said = refused.map(([, line]) => line);
    assert.match(said[0], /invalid port: ''/);
    assert.match(said[1], /options\.mtu/);
    assert.match(said[2], /invalid idle-timeout: ''/);
    assert.match(said[3], /options\.heartbeat/);
    assert.match(said[4], /options\.leaseGrace/);
    assert.match(said[5], /options\.connectTimeout/);
    assert.match(said[6], /--no-dns and --dns-server/);

    const args = ['--port', '0', '--path', '/gw', '--token', 'cli-token', '--no-dns', '--idle-timeout', '300',
      '--heartbeat', '100', '--lease-grace', '5000', '--connect-timeout', '5000', '--mtu', '1400'];
    const { code, signal, stdout } = await withGatewayCommand(args, async (port) => {
      const response = await within(fetch(`http://127.0.0.1:${port}/healthz`), 5000, 'healthz');
      assert.equal(response.status, 200);
      assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/gw`, { authorization: 'Bearer wrong' }), 401);
      assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/`, { authorization: 'Bearer cli-token' }), 404);
      assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/gw`, { authorization: 'Bearer cli-token' }), 101);
      // --no-dns: the lease names no DNS server; --idle-timeout 300: the tunnel rests.
      const { tunnel, lease } = await joinClient({ url: `ws://127.0.0.1:${port}/gw` }, DEFAULT_BACKEND, { token: 'cli-token' });
      assert.deepEqual(lease.dns, []);
      await waitFor(() => tunnel.state === 'idle', 10000, 'the tunnel idle');
    });
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    assert.match(stdout, /closed/);
  });

  it('checks its arguments', function () {
    assert.throws(() => createGateway({ subnet: '10.0.2.0' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => createGateway({ router: '10.0.3.1' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => createGateway({ token: 5 }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => createGateway({ token: '' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => createGateway({ maxClients: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => createGateway({ leaseTime: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    // refused before a stack is made for them (one would keep the process up)
    assert.throws(() => createGateway({ port: 70000 }), { code: 'ERR_SOCKET_BAD_PORT' });
    assert.throws(() => createGateway({ dns: { servers: ['bogus'] } }), { code: 'ERR_INVALID_IP_ADDRESS' });
    assert.throws(() => createGateway({ verifyTimeout: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => createGateway({ path: 'gw' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => createGateway({ leaseGrace: -1 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => createGateway({ maxDnsInFlight: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    const stack = new Stack({ backend: 'wasm' });
    stacks.push(stack);
    const tap = stack.createTapInterface({});
    assert.throws(() => connectTunnel(tap, 'http://127.0.0.1:1/'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => connectTunnel(tap, 'wss+unix:///tmp/x.sock:/'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => connectTunnel({}, 'ws://127.0.0.1:1/'), { code: 'ERR_INVALID_ARG_TYPE' });
    // delays that shrink would make a reconnect loop
    assert.throws(() => connectTunnel(tap, 'ws://127.0.0.1:1/', { backoff: { factor: 0.5 } }), { code: 'ERR_OUT_OF_RANGE' });
    return delay(0);
  });
});
