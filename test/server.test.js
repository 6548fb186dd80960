'use strict';
// net.Server over a stack, against node:net over the kernel loopback.
const assert = require('node:assert/strict');
const { withStack } = require('./helpers/stack.js');
const { inspect } = require('node:util');
const events = require('node:events');
const { Stack } = require('..');
const { runBoth, errorShape, thrownShape, nodeNet } = require('./helpers/oracle.js');
const {
  listen, connect, closeServer, nextEvent, readAll, waitFor, delay, within,
} = require('./helpers/util.js');

const asyncDispose = Symbol.asyncDispose || Symbol.for('nodejs.asyncDispose');

function getConnections(server) {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** The port part of an error message replaced, to compare kernel and stack. */
function withoutPort(shape, port) {
  const out = { ...shape };
  if (out.port === port) out.port = '<port>';
  if (typeof out.message === 'string') out.message = out.message.split(`:${port}`).join(':<port>');
  return out;
}

describe('net.Server', function () {
  const t = withStack();

  describe('listen() overloads', function () {
    it('listen(port, host, backlog, cb) binds exactly there and calls cb on listening', async function () {
      const server = t.net.createServer();
      const returned = await new Promise((resolve) => {
        const r = server.listen(80, '127.0.0.1', 5, () => resolve(r));
      });
      assert.equal(returned, server);
      assert.equal(server.listening, true);
      assert.deepEqual(server.address(), { address: '127.0.0.1', family: 'IPv4', port: 80 });
      await closeServer(server);
    });

    it('listen(port, cb) listens on :: (dual stack), like Node', async function () {
      const server = t.net.createServer((s) => s.end(s.remoteAddress));
      await listen(server, 80);
      assert.deepEqual(server.address(), { address: '::', family: 'IPv6', port: 80 });
      const c4 = await connect(t.net, 80, '127.0.0.1');
      assert.equal(String(await readAll(c4)), '::ffff:127.0.0.1');
      const c6 = await connect(t.net, 80, '::1');
      assert.equal(String(await readAll(c6)), '::1');
      await closeServer(server);
    });

    it('listen(port, host, cb) with an IPv6 host', async function () {
      const server = t.net.createServer((s) => s.end('six'));
      await listen(server, 8080, '::1');
      assert.deepEqual(server.address(), { address: '::1', family: 'IPv6', port: 8080 });
      const c = await connect(t.net, 8080, '::1');
      assert.equal(String(await readAll(c)), 'six');
      await closeServer(server);
    });

    it('listen(port, backlog, cb) accepts a backlog without a host', async function () {
      const server = t.net.createServer();
      await listen(server, 81, 10);
      assert.deepEqual(server.address(), { address: '::', family: 'IPv6', port: 81 });
      await closeServer(server);
    });

    it('listen(options, cb) with port, host and backlog', async function () {
      const server = t.net.createServer();
      await listen(server, { port: 443, host: '127.0.0.1', backlog: 8 });
      assert.deepEqual(server.address(), { address: '127.0.0.1', family: 'IPv4', port: 443 });
      await closeServer(server);
    });

    it('listen({ host: "localhost" }) resolves the name on the stack', async function () {
      const server = t.net.createServer((s) => s.end('hi'));
      await listen(server, { port: 8000, host: 'localhost' });
      const { address } = server.address();
      assert.ok(['127.0.0.1', '::1'].includes(address), address);
      const c = await connect(t.net, 8000, address);
      assert.equal(String(await readAll(c)), 'hi');
      await closeServer(server);
    });

    it('listen(0), listen() and listen({ port: 0 }) pick distinct ephemeral ports', async function () {
      const a = await listen(t.net.createServer(), 0);
      const b = await listen(t.net.createServer());
      const c = await listen(t.net.createServer(), { port: 0 });
      const ports = [a, b, c].map((s) => s.address().port);
      for (const port of ports) assert.ok(Number.isInteger(port) && port > 0 && port < 65536, `port ${port}`);
      assert.equal(new Set(ports).size, 3, `ports ${ports}`);
      // The ephemeral port really is the one accepting.
      a.on('connection', (s) => s.end('a'));
      const sock = await connect(t.net, ports[0], '127.0.0.1');
      assert.equal(String(await readAll(sock)), 'a');
      await Promise.all([a, b, c].map(closeServer));
    });

    it('listen(options) without port or path throws ERR_INVALID_ARG_VALUE like Node', function () {
      const ours = thrownShape(() => t.net.createServer().listen({ host: '127.0.0.1' }));
      const node = thrownShape(() => nodeNet.createServer().listen({ host: '127.0.0.1' }));
      assert.equal(ours.code, 'ERR_INVALID_ARG_VALUE');
      assert.deepEqual(ours, node);
    });

    it('bad ports throw ERR_SOCKET_BAD_PORT with Node\'s message', function () {
      for (const bad of [65536, -1, 1.5, { port: 70000 }, { port: -5 }]) {
        const args = typeof bad === 'object' ? [bad] : [bad];
        const ours = thrownShape(() => t.net.createServer().listen(...args));
        const node = thrownShape(() => nodeNet.createServer().listen(...args));
        assert.equal(ours.code, 'ERR_SOCKET_BAD_PORT', `listen(${JSON.stringify(bad)})`);
        assert.deepEqual(ours, node, `listen(${JSON.stringify(bad)})`);
      }
    });

    it('every listen() overload Node refuses throws Node\'s error and message, in Node\'s order', function () {
      const cases = [
        [false], [true], [{ port: false }], [{ port: true }], [{ fd: -1 }], [{ path: -1 }], [{}],
        [{ host: 'localhost' }], [{ host: 'localhost:3000' }], [{ host: { port: 3000 } }], [{ exclusive: true }],
        [NaN], [Infinity], [-Infinity], [123.456], ['65536'], [{ port: '' }], [{ port: ' ' }],
        [-1 >>> 0, '0.0.0.0'], [{ port: -1, path: '/tmp/x.sock' }], [{ port: 0, host: 123 }], [{ port: 0, host: {} }],
        [{ port: 0, signal: 'INVALID_SIGNAL' }], [{ port: -1, signal: 'INVALID_SIGNAL' }], [{ host: 'x'.repeat(200) }],
      ];
      for (const args of cases) {
        const label = `listen(${inspect(args).slice(0, 60)})`;
        const ours = thrownShape(() => t.net.createServer().listen(...args));
        const node = thrownShape(() => nodeNet.createServer().listen(...args));
        assert.notEqual(ours, 'no throw', label);
        assert.deepEqual(ours, node, label);
      }
    });

    it('listen() sets _connectionKey as Node does: family, address as given, port as asked', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const keys = [];
        for (const args of [[0], [0, '127.0.0.1'], [0, '::1'], [{ port: 0, host: '0:0:0:0:0:0:0:1' }]]) {
          const server = await listen(net.createServer(), ...args);
          keys.push(server._connectionKey);
          await closeServer(server);
        }
        return keys;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, ['6::::0', '4:127.0.0.1:0', '6:::1:0', '6:0:0:0:0:0:0:0:1:0']);
    });

    it('a second listen() while the first looks its host up wins, as in Node (no ERR_SERVER_ALREADY_LISTEN)', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const server = net.createServer();
        const events = [];
        server.on('listening', () => events.push(['listening', server.address().address]));
        server.on('error', (err) => events.push(['error', err.code]));
        server.listen(0, 'localhost');
        const thrown = thrownShape(() => server.listen(0, '127.0.0.1'));
        await delay(100);
        await closeServer(server);
        return { thrown, events };
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, { thrown: 'no throw', events: [['listening', '127.0.0.1']] });
    });

    it('close() while listen() looks its host up: no listening, close(cb) gets ERR_SERVER_NOT_RUNNING, as in Node', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const server = net.createServer();
        const events = [];
        server.on('listening', () => events.push('listening'));
        server.listen(0, '127.0.0.1');
        const closed = new Promise((resolve) => server.close((err) => resolve(err && err.code)));
        events.push(['close cb', await closed]);
        await delay(50);
        events.push(['listening', server.listening]);
        return events;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, [['close cb', 'ERR_SERVER_NOT_RUNNING'], ['listening', false]]);
    });

    it('listen({ ipv6Only: true }) on :: refuses IPv4 peers and leaves 0.0.0.0 free, as on Linux', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const server = net.createServer((s) => s.end('six'));
        await listen(server, { host: '::', port: 0, ipv6Only: true });
        const { port } = server.address();
        const refused = net.connect(port, '127.0.0.1');
        const [err] = await nextEvent(refused, 'error');
        const six = await connect(net, port, '::1');
        const reply = String(await readAll(six));
        // The IPv4 wildcard on the same port is another binding.
        const four = await listen(net.createServer(), port, '0.0.0.0');
        await closeServer(four);
        await closeServer(server);
        return [err.code, reply];
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, ['ECONNREFUSED', 'six']);
    });

    it('ipv6Only counts only when it is true, as in Node', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = net.createServer((s) => s.end('dual'));
        await listen(server, { host: '::', port: 0, ipv6Only: 'yes' });
        const client = await connect(net, server.address().port, host);
        const reply = String(await readAll(client));
        await closeServer(server);
        return reply;
      });
      assert.deepEqual(stack, node);
      assert.equal(stack, 'dual');
    });
  });

  describe('state', function () {
    it('listening and address() follow Node through listen and close', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const log = [];
        const server = net.createServer();
        log.push(['created', server.listening, server.address()]);
        server.listen(0, host);
        log.push(['listen() returned', server.listening, server.address()]);
        await nextEvent(server, 'listening');
        const addr = server.address();
        log.push(['listening', server.listening, typeof addr.port === 'number' && addr.port > 0, addr.address, addr.family]);
        const closed = nextEvent(server, 'close');
        server.close();
        log.push(['close() returned', server.listening, server.address()]);
        await closed;
        log.push(['closed', server.listening, server.address()]);
        return log;
      });
      assert.deepEqual(stack, node);
    });

    it('listen(0) without a host binds before it returns, as in Node: the port is real and a client reaches it at once', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = net.createServer((socket) => socket.end('bound'));
        server.listen(0);
        const { address, family, port } = server.address();
        const atOnce = [server.listening, address, family, Number.isInteger(port) && port > 0];
        // Before 'listening': the bind is done, so the port takes connections.
        const client = net.connect(port, host);
        const listening = nextEvent(server, 'listening');
        const reply = await readAll(client);
        await listening;
        const after = server.address().port === port;
        await closeServer(server);
        return [atOnce, String(reply), after];
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, [[true, '::', 'IPv6', true], 'bound', true]);
    });

    it('listen(0) twice without a host: two servers, two ports, both known at once', function () {
      const a = t.net.createServer().listen(0);
      const b = t.net.createServer().listen(0);
      try {
        assert.notEqual(a.address().port, b.address().port);
      } finally {
        a.close();
        b.close();
      }
    });

    it('a port in use: no listening, and EADDRINUSE on a later tick, as in Node', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const first = net.createServer().listen(0);
        const { port } = first.address();
        const second = net.createServer();
        const events = [];
        second.on('listening', () => events.push('listening'));
        const error = nextEvent(second, 'error');
        second.listen(port);
        events.push(['returned', second.listening, second.address()]);
        const [err] = await error;
        events.push([err.code, err.syscall, err.address, err.port === port, second.listening]);
        await closeServer(first);
        return events;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, [['returned', false, null], ['EADDRINUSE', 'listen', '::', true, false]]);
    });

    it("'listening' is emitted asynchronously, once", async function () {
      const server = t.net.createServer();
      let count = 0;
      server.on('listening', () => count++);
      server.listen(80);
      assert.equal(count, 0);
      await waitFor(() => count === 1, 2000, 'listening');
      await delay(20);
      assert.equal(count, 1);
      await closeServer(server);
    });

    it('can listen again after close', async function () {
      const server = t.net.createServer((s) => s.end('again'));
      await listen(server, 80);
      await closeServer(server);
      await listen(server, 80);
      const c = await connect(t.net, 80, '127.0.0.1');
      assert.equal(String(await readAll(c)), 'again');
      await closeServer(server);
    });
  });

  describe('errors', function () {
    it('EADDRINUSE has Node\'s shape: code, errno, syscall, address, port, message (explicit host)', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const first = await listen(net.createServer(), 0, host);
        const { port } = first.address();
        const second = net.createServer();
        const errored = nextEvent(second, 'error');
        second.listen(port, host);
        const [err] = await errored;
        const shape = withoutPort(errorShape(err), port);
        shape.listening = second.listening;
        await closeServer(first);
        return shape;
      });
      assert.equal(stack.code, 'EADDRINUSE');
      assert.deepEqual(stack, node);
    });

    it('EADDRINUSE on the default host reads "listen EADDRINUSE: address already in use :::80"', async function () {
      const first = await listen(t.net.createServer(), 80);
      const second = t.net.createServer();
      const errored = nextEvent(second, 'error');
      second.listen(80);
      const [err] = await errored;
      assert.ok(err instanceof Error);
      assert.equal(err.message, 'listen EADDRINUSE: address already in use :::80');
      assert.equal(err.code, 'EADDRINUSE');
      assert.equal(err.errno, -98);
      assert.equal(err.syscall, 'listen');
      assert.equal(err.address, '::');
      assert.equal(err.port, 80);
      assert.equal(second.listening, false);
      assert.equal(second.address(), null);
      // The failed server can still listen elsewhere.
      await listen(second, 81);
      await Promise.all([closeServer(first), closeServer(second)]);
    });

    for (const [firstHost, secondHost] of [['127.0.0.1', undefined], [undefined, '127.0.0.1'], ['::1', '::']]) {
      it(`a listener on ${firstHost || 'the default host'} conflicts with one on ${secondHost || 'the default host'} (same port), as on Linux`, async function () {
        const { node, stack } = await runBoth(t.stack, async ({ net }) => {
          const first = await listen(net.createServer(), 0, firstHost);
          const { port } = first.address();
          const second = net.createServer();
          const outcome = new Promise((resolve) => {
            second.once('error', (err) => resolve(withoutPort(errorShape(err), port)));
            second.once('listening', () => resolve('listening'));
          });
          second.listen(port, secondHost);
          const result = await outcome;
          await closeServer(second);
          await closeServer(first);
          return result;
        });
        assert.equal(stack.code, 'EADDRINUSE');
        assert.deepEqual(stack, node);
      });
    }

    it('listening twice throws ERR_SERVER_ALREADY_LISTEN', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = await listen(net.createServer(), 0, host);
        const thrown = thrownShape(() => server.listen(0, host));
        await closeServer(server);
        return { thrown, listening: server.listening };
      });
      assert.equal(stack.thrown.code, 'ERR_SERVER_ALREADY_LISTEN');
      assert.deepEqual(stack, node);
    });

    it('close(cb) on a server that is not running calls cb with ERR_SERVER_NOT_RUNNING', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const results = [];
        const fresh = net.createServer();
        let closeEvents = 0;
        fresh.on('close', () => closeEvents++);
        const [err1] = await new Promise((resolve) => fresh.close((...a) => resolve(a)));
        results.push(errorShape(err1));
        const server = await listen(net.createServer(), 0, host);
        await new Promise((resolve) => server.close(resolve));
        const [err2] = await new Promise((resolve) => server.close((...a) => resolve(a)));
        results.push(errorShape(err2));
        results.push(closeEvents);
        return results;
      });
      assert.equal(stack[0].code, 'ERR_SERVER_NOT_RUNNING');
      assert.deepEqual(stack, node);
    });

    it('listening on an address the stack does not have fails with EADDRNOTAVAIL', async function () {
      const other = t.net.createServer();
      const errored = nextEvent(other, 'error');
      other.listen(80, 'fd00::1');
      const [err] = await errored;
      assert.ok(err instanceof Error);
      assert.equal(err.code, 'EADDRNOTAVAIL');
      assert.equal(err.syscall, 'listen');
      assert.equal(err.address, 'fd00::1');
      assert.equal(err.port, 80);
      assert.equal(err.errno, -99);
      assert.equal(err.message, 'listen EADDRNOTAVAIL: address not available fd00::1:80');
      assert.equal(other.listening, false);
      assert.equal(t.stack._handles.size, 0);
    });
  });

  describe('connections', function () {
    it("the 'connection' socket belongs to the server and is open", async function () {
      const server = t.net.createServer();
      const accepted = nextEvent(server, 'connection');
      await listen(server, 80);
      const client = await connect(t.net, 80, '127.0.0.1');
      const [sock] = await accepted;
      assert.ok(sock instanceof t.net.Socket);
      assert.equal(sock.server, server);
      assert.equal(sock.readyState, 'open');
      assert.equal(sock.remotePort, client.localPort);
      assert.equal(sock.localPort, 80);
      client.destroy();
      await nextEvent(sock, 'close');
      await closeServer(server);
    });

    it('getConnections() counts open connections as they come and go', async function () {
      const server = t.net.createServer((s) => s.resume());
      await listen(server, 80);
      assert.equal(await getConnections(server), 0);
      const clients = [];
      for (let i = 0; i < 4; i++) clients.push(await connect(t.net, 80, '127.0.0.1'));
      await waitFor(async () => (await getConnections(server)) === 4, 2000, '4 connections');
      clients[0].end();
      clients[1].destroy();
      await waitFor(async () => (await getConnections(server)) === 2, 2000, '2 connections');
      clients[2].end();
      clients[3].end();
      await waitFor(async () => (await getConnections(server)) === 0, 2000, '0 connections');
      await closeServer(server);
    });

    it('getConnections() validates its callback like Node', function () {
      const ours = thrownShape(() => t.net.createServer().getConnections());
      const node = thrownShape(() => nodeNet.createServer().getConnections());
      assert.equal(ours.code, 'ERR_INVALID_ARG_TYPE');
      assert.deepEqual(ours, node);
    });

    it('close(cb) stops accepting at once but waits for open connections to end', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const log = [];
        const sockets = [];
        const server = net.createServer((s) => { sockets.push(s); s.resume(); s.on('end', () => s.end()); });
        await listen(server, 0, host);
        const { port } = server.address();
        const a = await connect(net, port, host);
        const b = await connect(net, port, host);
        await waitFor(() => sockets.length === 2, 2000, 'accepted');
        let closed = false;
        const closedP = new Promise((resolve) => server.close(() => { closed = true; log.push('server closed'); resolve(); }));
        log.push(['listening after close()', server.listening]);
        // New connections are refused now.
        const refused = net.connect(port, host);
        const [err] = await nextEvent(refused, 'error');
        log.push(['new connection', err.code]);
        await delay(50);
        log.push(['closed while 2 open', closed]);
        a.end();
        await nextEvent(a, 'close');
        await delay(50);
        log.push(['closed while 1 open', closed]);
        b.end();
        await within(closedP, 3000, 'server close');
        log.push(['closed when none open', closed]);
        return log;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack.at(-1), ['closed when none open', true]);
    });

    it('maxConnections drops connections beyond the limit, like Node', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const log = [];
        const server = net.createServer((s) => { s.write('welcome'); });
        server.maxConnections = 1;
        const drops = [];
        server.on('drop', (data) => drops.push(data));
        await listen(server, 0, host);
        const { port } = server.address();
        const first = await connect(net, port, host);
        const got = await new Promise((resolve) => first.once('data', (d) => resolve(String(d))));
        log.push(['first', got]);
        const second = net.connect(port, host);
        const events = [];
        for (const name of ['connect', 'data', 'end', 'close']) second.on(name, () => events.push(name));
        second.on('error', (e) => events.push(`error:${e.code}`));
        await nextEvent(second, 'close');
        log.push(['second', events.filter((e) => e !== 'error:ECONNRESET').join(',')]);
        await waitFor(() => drops.length === 1, 2000, 'drop event');
        log.push(['drop', Object.keys(drops[0]).sort(), drops[0].localPort === port, typeof drops[0].remotePort === 'number' && drops[0].remotePort > 0]);
        log.push(['connections', await getConnections(server)]);
        first.destroy();
        await closeServer(server);
        return log;
      });
      assert.deepEqual(stack, node);
    });
  });

  describe('accepted connections', function () {
    it('the listener handle\'s onconnection applies noDelay and keepAlive to the client handle, as Node\'s does', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const log = [];
        const server = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 1500 });
        log.push(['keepAliveInitialDelay', server.keepAliveInitialDelay]);
        const accepted = new Promise((resolve) => server.once('connection', resolve));
        server.listen(0);
        const { onconnection } = server._handle;
        server._handle.onconnection = function (err, clientHandle) {
          log.push(['onconnection', err, typeof clientHandle]);
          for (const name of ['setNoDelay', 'setKeepAlive']) {
            const original = clientHandle[name];
            clientHandle[name] = function (...args) {
              log.push([`client handle ${name}`, ...args]);
              return original.apply(this, args);
            };
          }
          return onconnection.call(this, err, clientHandle);
        };
        const client = net.connect(server.address().port, host);
        const socket = await accepted;
        const calls = [];
        for (const name of ['setNoDelay', 'setKeepAlive']) {
          const original = socket._handle[name];
          socket._handle[name] = function (...args) {
            calls.push([name, ...args]);
            return original.apply(this, args);
          };
        }
        // Only changes reach the handle; the delay goes in whole seconds.
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 1000);
        socket.setKeepAlive(true, 1999);
        socket.setKeepAlive(true, 2500);
        socket.setKeepAlive(false, 2500);
        socket.setNoDelay(false);
        socket.setNoDelay();
        log.push(['socket calls', calls]);
        client.destroy();
        socket.destroy();
        await closeServer(server);
        return log;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack.at(-1), ['socket calls', [
        ['setKeepAlive', true, 2], ['setKeepAlive', false, 2], ['setNoDelay', false], ['setNoDelay', true]]]);
    });

    it('keepAliveInitialDelay is kept in whole seconds and validated, as in Node', function () {
      for (const delayMs of [0, 999, 1000, 2500, -3000, undefined]) {
        const options = delayMs === undefined ? {} : { keepAliveInitialDelay: delayMs };
        assert.equal(t.net.createServer(options).keepAliveInitialDelay, nodeNet.createServer(options).keepAliveInitialDelay, `${delayMs}`);
      }
      const ours = thrownShape(() => t.net.createServer({ keepAliveInitialDelay: '1000' }));
      const node = thrownShape(() => nodeNet.createServer({ keepAliveInitialDelay: '1000' }));
      assert.equal(ours.code, 'ERR_INVALID_ARG_TYPE');
      assert.deepEqual(ours, node);
    });

    it('pauseOnConnect: the socket reads nothing (bytesRead 0) until resumed, as in Node', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const log = [];
        const server = net.createServer({ pauseOnConnect: true });
        const accepted = new Promise((resolve) => server.once('connection', resolve));
        await listen(server, 0, host);
        const client = net.connect(server.address().port, host);
        client.end('hello');
        const socket = await accepted;
        socket.on('pause', () => log.push('pause event'));
        await delay(100);
        log.push(['paused', socket.isPaused(), socket.readableFlowing, socket.bytesRead, socket.readableLength]);
        const ended = nextEvent(socket, 'end');
        const data = [];
        socket.on('data', (d) => data.push(String(d)));
        socket.resume();
        await ended;
        log.push(['resumed', data.join(''), socket.bytesRead]);
        socket.end();
        await closeServer(server);
        return log;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, [['paused', true, false, 0, 0], ['resumed', 'hello', 5]]);
    });

    it('maxConnections is no own property until set, reads back what is set, and drop data has no prototype, as in Node', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = net.createServer();
        const log = [Object.prototype.hasOwnProperty.call(server, 'maxConnections'), server.maxConnections];
        server.maxConnections = 0;
        log.push(server.maxConnections);
        await listen(server, 0, host);
        server.maxConnections = 1;
        const first = await connect(net, server.address().port, host);
        await waitFor(async () => (await getConnections(server)) === 1, 2000, 'first accepted');
        const dropped = nextEvent(server, 'drop');
        const second = net.connect(server.address().port, host);
        second.on('error', () => {});
        const [data] = await dropped;
        log.push(Object.getPrototypeOf(data), data.localPort === server.address().port, data.remoteFamily);
        second.destroy();
        first.destroy();
        await closeServer(server);
        return log;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, [false, undefined, 0, null, true, 'IPv4']);
    });

    describe('with events.captureRejections', function () {
      beforeEach(function () {
        events.captureRejections = true;
      });
      afterEach(function () {
        events.captureRejections = false;
      });

      it('a rejected async \'connection\' listener destroys that socket with the reason; other events\' become the server\'s errors', async function () {
        const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
          const log = [];
          const kaboom = new Error('kaboom');
          const server = net.createServer(async (socket) => {
            socket.on('error', (err) => log.push(['socket error', err === kaboom]));
            socket.on('close', () => log.push('socket close'));
            throw kaboom;
          });
          const serverError = nextEvent(server, 'error');
          server.on('listening', async () => {
            throw new Error('listening rejected');
          });
          await listen(server, 0, host);
          const [err] = await serverError;
          log.push(['server error', err.message]);
          const client = net.connect(server.address().port, host);
          client.on('error', () => {});
          await nextEvent(client, 'close');
          await delay(20);
          await closeServer(server);
          return log;
        });
        assert.deepEqual(stack, node);
        assert.deepEqual(stack, [['server error', 'listening rejected'], ['socket error', true], 'socket close']);
      });
    });
  });

  describe('ports and addresses', function () {
    it('listen(0) starts from a random port on each stack, as Linux does', function () {
      const ports = [];
      for (let i = 0; i < 3; i++) {
        const stack = new Stack();
        try {
          stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8'] });
          const server = stack.net.createServer().listen(0);
          ports.push(server.address().port);
          server.close();
        } finally {
          stack.destroy();
        }
      }
      for (const port of ports) assert.ok(port >= 32768 && port <= 60999, `port ${port}`);
      assert.ok(new Set(ports).size > 1, `ports ${ports}`);
    });

    it('a connection to 0.0.0.0 or :: reaches the host itself; a refusal names the address as given, as on Linux', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const server = net.createServer((s) => s.end(s.remoteAddress));
        await listen(server, 0);
        const { port } = server.address();
        const replies = [];
        for (const host of ['0.0.0.0', '::']) {
          const client = await connect(net, port, host);
          replies.push([host, client.remoteAddress, String(await readAll(client))]);
        }
        await closeServer(server);
        const refused = net.connect(port, '0.0.0.0');
        const [err] = await nextEvent(refused, 'error');
        replies.push(withoutPort(errorShape(err), port));
        return replies;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack.slice(0, 2), [['0.0.0.0', '127.0.0.1', '::ffff:127.0.0.1'], ['::', '::1', '::1']]);
    });

    it('IPv6 addresses read as Node prints them (RFC 5952: the longest run of zeros is "::", the first of equal runs)', async function () {
      const written = ['fd42:0:0:7:0:0:0:1', '1:0:0:2:0:0:3:0', '1:0:0:2:0:0:3:4', '1:2:3:4:5:6:7:0',
        '1:0:2:3:4:5:6:7', 'FE80:0:0:0:1:0:0:1', 'A:B:0:0:0:0:0:C', '1:0:0:0:0:0:0:0', '2001:db8:0:0:1:0:0:1'];
      for (let i = 0; i < written.length; i += 3) {
        t.stack.createTunInterface({ ipAddress: written.slice(i, i + 3).map((a) => `${a}/128`) });
      }
      const shown = [];
      for (const address of written) {
        const server = t.stack.net.createServer();
        await listen(server, 0, address);
        shown.push(server.address().address);
        await closeServer(server);
      }
      assert.deepEqual(shown, written.map((address) => new nodeNet.SocketAddress({ address, family: 'ipv6' }).address));
      assert.deepEqual(shown.slice(0, 3), ['fd42:0:0:7::1', '1::2:0:0:3:0', '1::2:0:0:3:4']);
    });
  });

  describe('ref/unref and disposal', function () {
    it('ref() and unref() return the server and toggle what keeps the stack alive', async function () {
      const server = t.net.createServer();
      assert.equal(server.unref(), server);
      assert.equal(server.ref(), server);
      await listen(server, 80);
      assert.equal(t.stack._refed.has(server), true);
      server.unref();
      assert.equal(t.stack._refed.has(server), false);
      server.ref();
      assert.equal(t.stack._refed.has(server), true);
      await closeServer(server);
      assert.equal(t.stack._refed.has(server), false);
    });

    it('Symbol.asyncDispose closes the server and resolves once it is closed', async function () {
      const server = t.net.createServer();
      await listen(server, 80);
      assert.equal(typeof server[asyncDispose], 'function');
      let closeEvents = 0;
      server.on('close', () => closeEvents++);
      await within(server[asyncDispose](), 2000, 'asyncDispose');
      assert.equal(server.listening, false);
      assert.equal(closeEvents, 1);
      const refused = t.net.connect(80, '127.0.0.1');
      const [err] = await nextEvent(refused, 'error');
      assert.equal(err.code, 'ECONNREFUSED');
      // Disposing a closed server is a no-op, as in Node.
      await within(server[asyncDispose](), 2000, 'second asyncDispose');
    });

    it('listen({ signal }): the signal no longer closes the server once it closed and listens again, as in Node', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const ac = new AbortController();
        const server = net.createServer();
        await listen(server, { port: 0, host, signal: ac.signal });
        await closeServer(server);
        await listen(server, 0, host);
        ac.abort();
        await delay(20);
        const listening = server.listening;
        await closeServer(server);
        return listening;
      });
      assert.deepEqual(stack, node);
      assert.equal(stack, true);
    });

    it('listen({ signal }) with an aborted signal closes the server on the next tick, with no listening, as in Node', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const log = [];
        const server = net.createServer();
        server.on('listening', () => log.push('listening'));
        server.on('close', () => log.push('close'));
        server.listen({ port: 0, signal: AbortSignal.abort() });
        log.push(['returned', server.listening]);
        await delay(50);
        log.push(['later', server.listening]);
        return log;
      });
      assert.deepEqual(stack, node);
    });

    it('listen({ signal }) aborted while the host is looked up: no listening, one close, as in Node', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const log = [];
        const ac = new AbortController();
        const server = net.createServer();
        server.on('listening', () => log.push('listening'));
        server.on('close', () => log.push('close'));
        server.on('error', (err) => log.push(['error', err.name, err.code]));
        server.listen({ port: 0, host, signal: ac.signal });
        ac.abort();
        log.push(['aborted', server.listening]);
        await delay(50);
        log.push(['later', server.listening]);
        return log;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, [['aborted', false], 'close', ['later', false]]);
    });

    it('listen({ signal }) closes the server when the signal aborts', async function () {
      const ac = new AbortController();
      const server = t.net.createServer();
      await listen(server, { port: 80, signal: ac.signal });
      const closed = nextEvent(server, 'close', 2000);
      ac.abort();
      await closed;
      assert.equal(server.listening, false);
    });
  });
});
