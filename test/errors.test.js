'use strict';
// Errors are Node's errors: system errors from connect/lookup and argument
// validation, compared with node:net directly.
const assert = require('node:assert/strict');
const { withStack } = require('./helpers/stack.js');
const { runBoth, errorShape, nodeNet, thrownShape } = require('./helpers/oracle.js');
const { track, closed } = require('./helpers/events.js');
const { listen, closeServer, nextEvent, readAll, within } = require('./helpers/util.js');

/** A port on which nothing listens: listen on an ephemeral one, close it. */
async function closedPort(net, host) {
  const server = await listen(net.createServer(), 0, host);
  const { port } = server.address();
  await closeServer(server);
  return port;
}

function normalizePort(shape, port) {
  const out = { ...shape };
  if (out.port === port) out.port = '<port>';
  if (typeof out.message === 'string') out.message = out.message.split(`:${port}`).join(':<port>');
  return out;
}

describe('errors', function () {
  const t = withStack();

  describe('ECONNREFUSED', function () {
    for (const host of ['127.0.0.1', '::1']) {
      it(`connecting to a closed port on ${host} fails like Node: code, errno, syscall, address, port, message`, async function () {
        const { node, stack } = await runBoth(t.stack, async ({ net }) => {
          const port = await closedPort(net, host);
          const socket = track(net.connect(port, host));
          const events = [];
          socket.on('connect', () => events.push('connect'));
          socket.on('close', (hadError) => events.push(`close:${hadError}`));
          const [err] = await nextEvent(socket, 'error', 5000);
          await within(closed(socket), 5000, 'close');
          return {
            error: normalizePort(errorShape(err), port),
            events,
            destroyed: socket.destroyed,
            connecting: socket.connecting,
          };
        }, { host });
        assert.deepEqual(stack, node);
        assert.equal(stack.error.code, 'ECONNREFUSED');
        assert.equal(stack.error.errno, -111);
        assert.equal(stack.error.syscall, 'connect');
        assert.equal(stack.error.address, host);
        assert.equal(stack.error.message, `connect ECONNREFUSED ${host}:<port>`);
      });
    }

    it('the exact shape on port 80 of a stack', async function () {
      const socket = t.net.connect(80, '127.0.0.1');
      const [err] = await nextEvent(socket, 'error', 5000);
      assert.ok(err instanceof Error);
      assert.equal(err.message, 'connect ECONNREFUSED 127.0.0.1:80');
      assert.equal(err.code, 'ECONNREFUSED');
      assert.equal(err.errno, -111);
      assert.equal(err.syscall, 'connect');
      assert.equal(err.address, '127.0.0.1');
      assert.equal(err.port, 80);
    });
  });

  describe('name resolution', function () {
    it('an unknown host name without a lookup option fails with getaddrinfo ENOTFOUND', async function () {
      const socket = track(t.net.connect(80, 'no-such-host.invalid'));
      let lookupArgs = null;
      socket.on('lookup', (...args) => { lookupArgs = args; });
      const [err] = await nextEvent(socket, 'error', 5000);
      const [hadError] = await within(closed(socket), 5000, 'close');
      assert.ok(err instanceof Error);
      // Node's getaddrinfo error (lib/internal/errors.js DNSException).
      assert.equal(err.message, 'getaddrinfo ENOTFOUND no-such-host.invalid');
      assert.equal(err.code, 'ENOTFOUND');
      assert.equal(err.errno, -3008);
      assert.equal(err.syscall, 'getaddrinfo');
      assert.equal(err.hostname, 'no-such-host.invalid');
      assert.equal(hadError, true);
      assert.ok(lookupArgs, "'lookup' emitted");
      assert.equal(lookupArgs[0], err);
      assert.equal(lookupArgs[3], 'no-such-host.invalid');
    });

    it('a custom lookup option is used, and its answer is connected to', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = await listen(net.createServer((s) => s.end('via lookup')), 0, host);
        const calls = [];
        const lookup = (hostname, options, callback) => {
          calls.push([hostname, { family: options.family, hints: options.hints }]);
          setImmediate(() => (options.all
            ? callback(null, [{ address: host, family: 4 }])
            : callback(null, host, 4)));
        };
        const socket = net.connect({ port: server.address().port, host: 'db.internal.test', family: 4, lookup });
        let lookupEvent = null;
        let remote = null;
        socket.on('lookup', (...args) => { lookupEvent = args; });
        socket.on('connect', () => { remote = socket.remoteAddress; });
        const text = String(await readAll(socket));
        await closeServer(server);
        return { calls, lookupEvent, text, remote };
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack.lookupEvent, [null, '127.0.0.1', 4, 'db.internal.test']);
      assert.equal(stack.text, 'via lookup');
    });

    it('an error from a custom lookup is the socket error', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const failure = Object.assign(new Error('no such name here'), { code: 'ECUSTOM' });
        const socket = track(net.connect({
          port: 80,
          host: 'nowhere.test',
          family: 4,
          lookup: (h, o, cb) => setImmediate(() => cb(failure)),
        }));
        const [err] = await nextEvent(socket, 'error', 5000);
        const [hadError] = await within(closed(socket), 5000, 'close');
        return { same: err === failure, hadError };
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, { same: true, hadError: true });
    });

    it('a custom lookup answering something that is not an IP fails with ERR_INVALID_IP_ADDRESS', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const socket = track(net.connect({
          port: 80,
          host: 'weird.test',
          family: 4,
          lookup: (h, o, cb) => setImmediate(() => cb(null, 'not-an-ip', 4)),
        }));
        const [err] = await nextEvent(socket, 'error', 5000);
        await within(closed(socket), 5000, 'close');
        return errorShape(err, ['name', 'code', 'message']);
      });
      assert.deepEqual(stack, node);
      assert.equal(stack.code, 'ERR_INVALID_IP_ADDRESS');
    });
  });

  describe('bad arguments throw what node:net throws', function () {
    const cases = {
      'connect()': (net) => net.connect(),
      'connect({})': (net) => net.connect({}),
      'connect(-1)': (net) => net.connect(-1),
      'connect(65536)': (net) => net.connect(65536),
      'connect({ port: 1.5 })': (net) => net.connect({ port: 1.5 }),
      'connect({ port: true })': (net) => net.connect({ port: true }),
      'connect({ port: null })': (net) => net.connect({ port: null }),
      'connect({ port, host: 5 })': (net) => net.connect({ port: 80, host: 5 }),
      "connect({ port, localAddress: 'nope' })": (net) => net.connect({ port: 80, localAddress: 'nope' }),
      'connect({ port, family: 5 })': (net) => net.connect({ port: 80, family: 5 }),
      'connect({ port, lookup: 5 })': (net) => net.connect({ port: 80, host: 'x.test', lookup: 5 }),
      "connect({ port, hints: 'x' })": (net) => net.connect({ port: 80, hints: 'x' }),
      "connect({ port, localPort: 'x' })": (net) => net.connect({ port: 80, localPort: 'x' }),
      "connect({ port, timeout: 'x' })": (net) => net.connect({ port: 80, timeout: 'x' }),
      "socket.setTimeout('x')": (net) => new net.Socket().setTimeout('x'),
      'socket.setTimeout(-1)': (net) => new net.Socket().setTimeout(-1),
      "socket.setTimeout(1, 'x')": (net) => new net.Socket().setTimeout(1, 'x'),
      "createServer('x')": (net) => net.createServer('x'),
      'listen(-1)': (net) => net.createServer().listen(-1),
      'listen(65536)': (net) => net.createServer().listen(65536),
      "listen({ port: 'abc' })": (net) => net.createServer().listen({ port: 'abc' }),
      'listen({ port: true })': (net) => net.createServer().listen({ port: true }),
      "server.getConnections('x')": (net) => net.createServer().getConnections('x'),
    };
    for (const [label, call] of Object.entries(cases)) {
      it(label, function () {
        const node = thrownShape(() => call(nodeNet), { release: true });
        const ours = thrownShape(() => call(t.net), { release: true });
        assert.notEqual(node, 'no throw', 'node:net itself throws here');
        assert.deepEqual(ours, node);
      });
    }
  });
});
