'use strict';
// createNetwork: hosts on a switch, names, partitions, conditions, captures,
// and the toxic proxy's stream-level faults.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { createNetwork, Stack } = require('..');
const { teardown } = require('./helpers/stack.js');

const HOSTS = { db: '10.0.0.2', app: '10.0.0.3', web: '10.0.0.4' };

/** A network per test, destroyed afterwards without uncaught ECONNABORTED. */
function withNetwork() {
  const made = [];
  afterEach(function () {
    for (const network of made.splice(0)) {
      if (network.destroyed) continue;
      for (const name of network.hosts) teardown(network.host(name));
      network.destroy();
    }
  });
  return (options = { hosts: HOSTS }) => {
    const network = createNetwork(options);
    made.push(network);
    return network;
  };
}

/** An echo server on `host` port `port`, listening on its stack. */
async function echoServer(network, host, port = 6379) {
  const server = network.host(host).net.createServer((s) => s.pipe(s));
  server.listen(port);
  await once(server, 'listening');
  return server;
}

/**
 * From `from`, sends `text` to host:port and resolves with the echo, or with
 * 'TIMEOUT' after `timeout` ms, or the error code.
 */
function echo(network, from, target, port, text, timeout = 5000) {
  return new Promise((resolve) => {
    const socket = network.host(from).net.connect(port, target);
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('TIMEOUT');
    }, timeout);
    socket.on('error', (err) => {
      clearTimeout(timer);
      resolve(err.code);
    });
    socket.on('data', (d) => {
      got += d;
      if (got.length >= text.length) socket.end();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.write(text);
  });
}

/** Connects from `from` to target:port and collects what arrives until the end or an error. */
function collect(socket) {
  return new Promise((resolve) => {
    const chunks = [];
    let error = null;
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (err) => {
      error = err;
    });
    socket.on('close', () => resolve({ data: Buffer.concat(chunks), error, at: Date.now() }));
  });
}

describe('createNetwork', function () {
  this.timeout(30000);
  const network = withNetwork();

  it('joins the hosts on a switch and names them on every stack', async function () {
    const n = network();
    assert.deepEqual(n.hosts, ['db', 'app', 'web']);
    assert.equal(n.address('db'), '10.0.0.2');
    await echoServer(n, 'db');
    assert.equal(await echo(n, 'app', 'db', 6379, 'from app'), 'from app');
    assert.equal(await echo(n, 'web', '10.0.0.2', 6379, 'from web'), 'from web');
    assert.deepEqual(await n.host('web').dns.promises.lookup('db'), { address: '10.0.0.2', family: 4 });
    assert.deepEqual(await n.host('web').dns.promises.lookup('DB', { all: true }), [{ address: '10.0.0.2', family: 4 }]);
    // Unknown names still fail as Node's do.
    assert.equal(await echo(n, 'web', 'cache', 6379, 'x'), 'ENOTFOUND');
    // Code in a host's scope reaches the others by name through node:net.
    const net = require('node:net');
    const text = await n.host('app').run(() => new Promise((resolve, reject) => {
      const s = net.connect(6379, 'db', () => s.end('scoped'));
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('error', reject);
      s.on('close', () => resolve(got));
    }));
    assert.equal(text, 'scoped');
  });

  it('partitions groups apart and heals, keeping connections that wait it out', async function () {
    const n = network();
    await echoServer(n, 'db');
    // A connection opened before the partition: its data waits, then arrives.
    const socket = n.host('app').net.connect(6379, 'db');
    await once(socket, 'connect');
    n.partition(['db'], ['app']);
    // web, named in no group, is a group of its own.
    assert.deepEqual(await Promise.all([echo(n, 'app', 'db', 6379, 'x', 500), echo(n, 'web', 'db', 6379, 'x', 500)]),
      ['TIMEOUT', 'TIMEOUT']);
    socket.write('during the partition');
    const arrived = collect(socket);
    await new Promise((resolve) => setTimeout(resolve, 300));
    n.heal();
    socket.once('data', () => socket.end());
    const { data, error } = await arrived;
    assert.equal(error, null);
    assert.equal(String(data), 'during the partition');
    assert.equal(await echo(n, 'app', 'db', 6379, 'healed'), 'healed');

    // Two hosts on one side still reach each other; a new partition replaces the old.
    n.partition(['db', 'web'], ['app']);
    assert.equal(await echo(n, 'web', 'db', 6379, 'same side'), 'same side');
    assert.equal(await echo(n, 'app', 'db', 6379, 'x', 500), 'TIMEOUT');
    n.partition(['db', 'app'], ['web']);
    assert.equal(await echo(n, 'app', 'db', 6379, 'now together'), 'now together');
    assert.equal(await echo(n, 'web', 'db', 6379, 'x', 500), 'TIMEOUT');
    n.heal().heal();
    assert.equal(await echo(n, 'web', 'db', 6379, 'all'), 'all');
    assert.equal(await echo(n, 'app', 'db', 6379, 'all'), 'all');
  });

  it("degrades a host's link with a link's conditions", async function () {
    const n = network();
    await echoServer(n, 'db');
    n.degrade('db', { latency: 150 });
    assert.equal(n.link('db').conditions.latency, 150);
    const start = Date.now();
    assert.equal(await echo(n, 'app', 'db', 6379, 'slow'), 'slow');
    // The handshake and the echo each cross db's link twice.
    assert.ok(Date.now() - start >= 500, `took ${Date.now() - start} ms`);
    // Conditions survive a partition's relinking.
    n.partition(['db', 'web'], ['app']);
    n.heal();
    assert.equal(n.link('db').conditions.latency, 150);
    assert.throws(() => n.degrade('db', { up: false }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => n.degrade('db', { loss: 2 }), { code: 'ERR_OUT_OF_RANGE' });
  });

  it("captures a host's frames to a pcap file", async function () {
    const n = network();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-net-')), 'db.pcap');
    const capture = n.capture('db', file);
    await echoServer(n, 'db');
    assert.equal(await echo(n, 'app', 'db', 6379, 'captured'), 'captured');
    await capture.stop();
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.readUInt32LE(0), 0xa1b2c3d4);
    assert.ok(bytes.includes(Buffer.from('captured')), 'the payload is in the capture');
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  it('static hosts answer before name servers, by family, and not in resolve()', async function () {
    const stack = new Stack({ hosts: { Db: ['10.9.9.9', 'fd00::9'] }, dns: { servers: ['127.0.0.1'], timeout: 50, tries: 1 } });
    try {
      assert.deepEqual(await stack.dns.promises.lookup('db', { all: true }),
        [{ address: '10.9.9.9', family: 4 }, { address: 'fd00::9', family: 6 }]);
      assert.deepEqual(await stack.dns.promises.lookup('DB', { family: 6 }), { address: 'fd00::9', family: 6 });
      // resolve4 asks the server (none: the stack has no interface), as
      // Node's ignores /etc/hosts.
      await assert.rejects(stack.dns.promises.resolve4('db'), { code: 'ECONNREFUSED', syscall: 'queryA' });
    } finally {
      stack.destroy();
    }
  });

  it('refuses bad use with clear errors', async function () {
    assert.throws(() => createNetwork({ hosts: { db: '10.0.0.2', app: '10.0.0.2' } }),
      { code: 'ERR_INVALID_ARG_VALUE', message: /duplicates the address of db/ });
    assert.throws(() => createNetwork({ hosts: { db: '10.0.0.2', app: '10.0.1.3' } }),
      { code: 'ERR_INVALID_ARG_VALUE', message: /subnet/ });
    assert.throws(() => createNetwork({ hosts: { db: 'fd00::2' } }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => createNetwork({ hosts: { 'not a name': '10.0.0.2' } }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => createNetwork({ hosts: {} }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => createNetwork({}), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => new Stack({ hosts: { db: 'db.example' } }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => new Stack({ hosts: { db: [] } }), { code: 'ERR_INVALID_ARG_VALUE' });
    const n = network();
    assert.throws(() => n.host('cache'), { code: 'ERR_TCPIP_UNKNOWN_HOST', message: /"cache"/ });
    assert.throws(() => n.partition(['db'], ['db']), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => n.partition(['cache']), { code: 'ERR_TCPIP_UNKNOWN_HOST' });
    assert.throws(() => n.partition(), { code: 'ERR_MISSING_ARGS' });
    assert.throws(() => n.degrade('cache', { latency: 1 }), { code: 'ERR_TCPIP_UNKNOWN_HOST' });
    await assert.rejects(n.proxy({ listen: 'cache:7000', upstream: 'db:1' }), { code: 'ERR_TCPIP_UNKNOWN_HOST' });
    await assert.rejects(n.proxy({ listen: 'app', upstream: 'db:1' }), { code: 'ERR_INVALID_ARG_VALUE' });
    await assert.rejects(n.proxy({ listen: 'app:1', upstream: 'db:1', toxics: [{ type: 'bandwidth' }] }),
      { code: 'ERR_INVALID_ARG_VALUE' });
    const stacks = n.hosts.map((name) => n.host(name));
    await n[Symbol.asyncDispose]();
    assert.ok(stacks.every((s) => s.destroyed));
    assert.equal(n.destroyed, true);
    assert.throws(() => n.host('db'), { code: 'ERR_TCPIP_NETWORK_DESTROYED' });
    assert.throws(() => n.heal(), { code: 'ERR_TCPIP_NETWORK_DESTROYED' });
    n.destroy(); // twice is fine
  });
});

describe('network.proxy toxics', function () {
  this.timeout(30000);
  const network = withNetwork();

  /** db serves `handler`; the proxy on app:7000 forwards to it; web is the client. */
  async function setup(handler, toxics) {
    const n = network();
    const server = n.host('db').net.createServer({ allowHalfOpen: true }, handler);
    server.listen(6379);
    await once(server, 'listening');
    const proxy = await n.proxy({ listen: 'app:7000', upstream: 'db:6379', toxics });
    const connect = () => n.host('web').net.connect(7000, 'app');
    return { n, proxy, connect };
  }

  it('passes bytes intact both ways without toxics, and keeps back-pressure', async function () {
    const size = 16 * 1024 * 1024;
    const payload = Buffer.alloc(size, 7);
    let serverSide;
    const { proxy, connect } = await setup((s) => {
      serverSide = s;
      s.end(payload);
    });
    assert.equal(proxy.port, 7000);
    const client = connect();
    client.pause();
    await once(client, 'connect');
    await new Promise((resolve) => setTimeout(resolve, 700));
    // The proxy read no faster than the paused client: most of the 16 MiB
    // still waits in the server's socket.
    assert.ok(serverSide.writableLength > 8 * 1024 * 1024, `server still holds ${serverSide.writableLength} bytes`);
    const result = collect(client);
    client.resume();
    const { data, error } = await result;
    assert.equal(error, null);
    assert.equal(data.length, size);
    assert.ok(data.equals(payload));
  });

  it('latency delays each chunk; add and remove work on open connections', async function () {
    const { proxy, connect } = await setup((s) => s.pipe(s));
    const client = connect();
    await once(client, 'connect');
    const roundTrip = async (text) => {
      const start = Date.now();
      client.write(text);
      const [d] = await once(client, 'data');
      assert.equal(String(d), text);
      return Date.now() - start;
    };
    await roundTrip('warm');
    proxy.add({ type: 'latency', attributes: { latency: 200 } });
    proxy.add({ type: 'latency', stream: 'upstream', attributes: { latency: 100 } });
    assert.deepEqual(proxy.toxics.map((t) => t.name), ['latency_downstream', 'latency_upstream']);
    assert.ok(await roundTrip('slow') >= 290);
    proxy.remove('latency_downstream');
    proxy.remove('latency_upstream');
    assert.throws(() => proxy.remove('latency_upstream'), { code: 'ERR_TCPIP_UNKNOWN_TOXIC' });
    assert.throws(() => proxy.add({ type: 'slicer', name: 'x' }) && proxy.add({ type: 'timeout', name: 'x' }),
      { code: 'ERR_INVALID_ARG_VALUE' });
    proxy.remove('x');
    assert.ok(await roundTrip('fast') < 5000);
    client.end();
    await once(client, 'close');
  });

  it('slicer cuts the stream into small, spaced writes, bytes intact', async function () {
    const payload = Buffer.from('x'.repeat(1000));
    const { connect } = await setup((s) => s.end(payload),
      [{ type: 'slicer', attributes: { average_size: 50, size_variation: 10, delay: 10000 } }]);
    const start = Date.now();
    const client = connect();
    let events = 0;
    client.on('data', () => events++);
    const { data, error } = await collect(client);
    assert.equal(error, null);
    assert.ok(data.equals(payload));
    // About 20 slices 10 ms apart: at least a few arrive apart, and the
    // delays add up.
    assert.ok(events > 2, `${events} data events`);
    assert.ok(Date.now() - start >= 150, `took ${Date.now() - start} ms`);
  });

  it('limit_data closes the connection after so many bytes', async function () {
    const { connect } = await setup((s) => s.end(Buffer.alloc(100000, 1)),
      [{ type: 'limit_data', attributes: { bytes: 1234 } }]);
    const { data, error } = await collect(connect());
    assert.equal(error, null);
    assert.equal(data.length, 1234);
  });

  it('timeout stops the data and closes after its timeout; 0 holds until removed', async function () {
    let received = 0;
    const { proxy, connect } = await setup((s) => s.on('data', (d) => {
      received += d.length;
      s.write(d);
    }), [{ type: 'timeout', stream: 'upstream', attributes: { timeout: 400 } }]);
    const start = Date.now();
    const client = connect();
    client.write('lost');
    const { data, error } = await collect(client);
    assert.equal(error, null);
    assert.equal(data.length, 0);
    assert.equal(received, 0);
    assert.ok(Date.now() - start >= 350, `closed after ${Date.now() - start} ms`);

    proxy.remove('timeout_upstream');
    proxy.add({ type: 'timeout', attributes: { timeout: 0 } });
    const second = connect();
    await once(second, 'connect');
    second.write('dropped');
    // It reaches the server; the answer is dropped.
    for (const deadline = Date.now() + 10000; received < 7;) {
      assert.ok(Date.now() < deadline, 'the data never reached the server');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    let answered = false;
    second.once('data', () => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(answered, false);
    second.removeAllListeners('data');
    proxy.remove('timeout_downstream');
    const answer = once(second, 'data');
    second.write('passes');
    assert.equal(String((await answer)[0]), 'passes');
    second.end();
  });

  it('reset_peer resets both sides after its timeout', async function () {
    let serverError = null;
    const serverClosed = [];
    const { connect } = await setup((s) => {
      s.on('error', (err) => (serverError = err));
      serverClosed.push(new Promise((resolve) => s.on('close', resolve)));
    }, [{ type: 'reset_peer', attributes: { timeout: 200 } }]);
    const start = Date.now();
    const client = connect();
    const { error } = await collect(client);
    assert.equal(error && error.code, 'ECONNRESET');
    assert.ok(Date.now() - start >= 150);
    await serverClosed[0];
    assert.equal(serverError && serverError.code, 'ECONNRESET');
  });

  it('slow_close holds the FIN back', async function () {
    const { connect } = await setup((s) => s.end('bye'), [{ type: 'slow_close', attributes: { delay: 500 } }]);
    const client = connect();
    const start = Date.now();
    let dataAt = 0;
    client.on('data', () => (dataAt = Date.now()));
    client.on('end', () => client.end());
    const { data, error, at } = await collect(client);
    assert.equal(error, null);
    assert.equal(String(data), 'bye');
    assert.ok(at - start >= 450, `closed after ${at - start} ms`);
    assert.ok(dataAt - start < at - start);
  });

  it('an upstream that refuses closes the client; toxicity 0 never applies', async function () {
    const n = network();
    const proxy = await n.proxy({ listen: 'app:0', upstream: 'db:1',
      toxics: [{ type: 'limit_data', toxicity: 0, attributes: { bytes: 0 } }] });
    assert.ok(proxy.port > 0);
    const { data } = await collect(n.host('web').net.connect(proxy.port, 'app'));
    assert.equal(data.length, 0);
    proxy.close();
    assert.throws(() => proxy.add({ type: 'timeout' }), { code: 'ERR_TCPIP_PROXY_CLOSED' });
  });
});
