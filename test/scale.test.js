'use strict';
// Many connections on one stack: lwIP finds a segment's connection, and a
// free port, through hash tables beside its pcb lists (deps/patches/0027).
const assert = require('node:assert/strict');
const { withStack } = require('./helpers/stack.js');
const { listen, connect, closeServer, waitFor, within } = require('./helpers/util.js');

const COUNT = 5000;
// Below the stack's listen backlog (255): a SYN past it waits for a resend.
const WAVE = 200;
const FIRST_PORT = 20000;

function echoServer(net) {
  const server = net.createServer((socket) => {
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
  });
  return server;
}

/** Connections from FIRST_PORT + from .. FIRST_PORT + to - 1, WAVE at a time. */
async function openAll(net, host, port, from = 0, to = COUNT) {
  const clients = [];
  for (let i = from; i < to; i += WAVE) {
    const wave = [];
    for (let j = i; j < Math.min(to, i + WAVE); j++) {
      wave.push(connect(net, { port, host, localAddress: host, localPort: FIRST_PORT + j }));
    }
    clients.push(...(await Promise.all(wave)));
  }
  return clients;
}

async function echo(socket, text) {
  const got = new Promise((resolve) => {
    let data = '';
    const onData = (d) => {
      data += d;
      if (data.length < text.length) return;
      socket.off('data', onData);
      resolve(data);
    };
    socket.on('data', onData);
  });
  socket.write(text);
  assert.equal(await within(got, 5000, `echo of ${text}`), text);
}

/** Each client ends first (so it is the one in TIME_WAIT), then closes. */
async function endAll(clients) {
  await Promise.all(clients.map((c) => new Promise((resolve, reject) => {
    c.once('error', reject);
    c.once('close', resolve);
    c.resume();
    c.end();
  })));
}

function connectError(net, options) {
  return new Promise((resolve, reject) => {
    const c = net.connect(options);
    c.once('connect', () => {
      c.destroy();
      reject(new Error('connected'));
    });
    c.once('error', resolve);
  });
}

describe('many connections on one stack', function () {
  const t = withStack();
  this.timeout(120000);

  for (const [family, host] of [['IPv4', '127.0.0.1'], ['IPv6', '::1']]) {
    it(`${family}: ${COUNT} connections carry bytes on the first and the last, close, wait in TIME_WAIT, and reopen on the same ports`, async function () {
      const server = await listen(echoServer(t.net), 80, host);
      const started = Date.now();
      let clients = await openAll(t.net, host, 80);
      assert.equal(clients.length, COUNT);
      assert.equal(clients[COUNT - 1].localPort, FIRST_PORT + COUNT - 1);
      await echo(clients[0], 'first');
      await echo(clients[COUNT - 1], 'last');
      await endAll(clients);

      // The newest client pcbs wait in TIME_WAIT, and their ports with them.
      const last = { port: 80, host, localAddress: host, localPort: FIRST_PORT + COUNT - 1 };
      const err = await connectError(t.net, last);
      assert.equal(err.code, 'EADDRINUSE');
      // At most 4096 wait (the stack's cap, as Linux's tcp_max_tw_buckets):
      // the oldest were dropped, and the first port is free at once.
      const oldest = await connect(t.net, { ...last, localPort: FIRST_PORT });
      // TIME_WAIT ends (2 s) and the same ports open again.
      let newest = null;
      await waitFor(async () => {
        try {
          newest = await connect(t.net, last);
          return true;
        } catch (e) {
          if (e.code !== 'EADDRINUSE') throw e;
          return false;
        }
      }, 10000, 'the end of TIME_WAIT', 100);
      clients = [oldest, ...(await openAll(t.net, host, 80, 1, COUNT - 1)), newest];
      await echo(clients[COUNT - 1], 'last again');
      await echo(clients[0], 'first again');
      for (const c of clients) c.destroy();
      await closeServer(server);
      // Bounded: the walk this replaces made these minutes at 50,000.
      assert.ok(Date.now() - started < 60000, `took ${Date.now() - started} ms`);
    });
  }

  it('listeners on one port pick by address and family: exact addresses, IPv4 any beside IPv6-only any', async function () {
    t.stack.createLoopbackInterface({ ipAddress: ['10.9.0.1/24', 'fd00::1/64'] });
    const servers = [];
    const named = async (name, options) => {
      const server = t.net.createServer((s) => s.end(name));
      servers.push(await listen(server, options));
    };
    // Port 80: four exact addresses. Port 81: IPv4 any and IPv6-only any.
    // Port 82: an exact IPv4 address and IPv6-only any. Port 83: an exact
    // IPv6 address and IPv4 any.
    await named('v4 lo', { port: 80, host: '127.0.0.1' });
    await named('v4 other', { port: 80, host: '10.9.0.1' });
    await named('v6 lo', { port: 80, host: '::1' });
    await named('v6 other', { port: 80, host: 'fd00::1' });
    await named('v4 any', { port: 81, host: '0.0.0.0' });
    await named('v6 any', { port: 81, host: '::', ipv6Only: true });
    await named('v4 exact', { port: 82, host: '10.9.0.1' });
    await named('v6 any only', { port: 82, host: '::', ipv6Only: true });
    await named('v6 exact', { port: 83, host: 'fd00::1' });
    await named('v4 any 83', { port: 83, host: '0.0.0.0' });
    // More listeners than the smallest table has buckets.
    for (let port = 1000; port < 1200; port++) await named(`port ${port}`, { port, host: '::' });

    const read = async (port, host) => {
      const c = await connect(t.net, port, host);
      let data = '';
      c.on('data', (d) => { data += d; });
      await within(new Promise((resolve) => c.once('end', resolve)), 5000, `reply on ${host}:${port}`);
      c.destroy();
      return data;
    };
    assert.equal(await read(80, '127.0.0.1'), 'v4 lo');
    assert.equal(await read(80, '10.9.0.1'), 'v4 other');
    assert.equal(await read(80, '::1'), 'v6 lo');
    assert.equal(await read(80, 'fd00::1'), 'v6 other');
    assert.equal(await read(81, '127.0.0.1'), 'v4 any');
    assert.equal(await read(81, '10.9.0.1'), 'v4 any');
    assert.equal(await read(81, '::1'), 'v6 any');
    assert.equal(await read(81, 'fd00::1'), 'v6 any');
    assert.equal(await read(82, '10.9.0.1'), 'v4 exact');
    assert.equal(await read(82, 'fd00::1'), 'v6 any only');
    await assert.rejects(read(82, '127.0.0.1'), { code: 'ECONNREFUSED' });
    assert.equal(await read(83, 'fd00::1'), 'v6 exact');
    assert.equal(await read(83, '127.0.0.1'), 'v4 any 83');
    await assert.rejects(read(83, '::1'), { code: 'ECONNREFUSED' });
    for (const port of [1000, 1099, 1199]) {
      assert.equal(await read(port, '127.0.0.1'), `port ${port}`);
      assert.equal(await read(port, '::1'), `port ${port}`);
    }
    // A closed listener leaves its port; its neighbours stay.
    await closeServer(servers.find((s) => s.address().port === 1099));
    await assert.rejects(read(1099, '::1'), { code: 'ECONNREFUSED' });
    assert.equal(await read(1100, '::1'), 'port 1100');
    for (const s of servers) await closeServer(s);
  });
});
