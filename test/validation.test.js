'use strict';
// Constructors, properties, option checks and the module's exports, as
// node:net has them: what throws, with which code and message, and what a
// caller may read and assign.
const assert = require('node:assert/strict');
const util = require('node:util');
const { withStack } = require('./helpers/stack.js');
const { runBoth, errorShape, nodeNet, thrownShape } = require('./helpers/oracle.js');
const { runChild } = require('./helpers/child.js');
const { track, closed } = require('./helpers/events.js');
const {
  listen, connect, closeServer, nextEvent, readAll, within,
} = require('./helpers/util.js');

/** Compares what `call(net)` throws with node:net and with the stack's net. */
function throwsLikeNode(t, label, call) {
  it(label, function () {
    const node = thrownShape(() => call(nodeNet), { release: true });
    const ours = thrownShape(() => call(t.net), { release: true });
    assert.notEqual(node, 'no throw', 'node:net itself throws here');
    assert.deepEqual(ours, node);
  });
}

describe('net: constructors, properties and validation', function () {
  const t = withStack();

  describe('exports', function () {
    it("stack.net has node:net's exports, in Node's order, and its own `stack`", function () {
      assert.deepEqual(Object.keys(t.net), [...Object.keys(nodeNet), 'stack']);
    });

    it('BlockList, SocketAddress and isIP* are the ones of node:net', function () {
      assert.equal(t.net.BlockList, nodeNet.BlockList);
      assert.equal(t.net.SocketAddress, nodeNet.SocketAddress);
      for (const name of ['isIP', 'isIPv4', 'isIPv6']) assert.equal(t.net[name], nodeNet[name]);
      const list = new t.net.BlockList();
      list.addAddress('127.0.0.1');
      assert.equal(list.check('127.0.0.1'), true);
      assert.equal(new t.net.SocketAddress({ address: '::1', family: 'ipv6' }).address, '::1');
    });

    it('_normalizeArgs() returns what node:net returns, with its symbol', function () {
      const forms = [[], [80], ['80', 'h.test'], [{ port: 1 }, assert.fail], ['pipe-name'], [80, () => {}]];
      for (const args of forms) {
        const ours = t.net._normalizeArgs(args);
        const node = nodeNet._normalizeArgs(args);
        assert.deepEqual(ours, node);
        assert.deepEqual(Object.getOwnPropertySymbols(ours), Object.getOwnPropertySymbols(node));
      }
    });

    it('socket.connect() takes an array node:net._normalizeArgs() made, and refuses a plain one', async function () {
      const server = await listen(t.net.createServer((s) => s.end('ok')), 0, '127.0.0.1');
      const { port } = server.address();
      assert.throws(() => new t.net.Socket().connect([{ port, host: '127.0.0.1' }]), { code: 'ERR_MISSING_ARGS' });
      const socket = new t.net.Socket();
      const connected = nextEvent(socket, 'connect');
      socket.connect(nodeNet._normalizeArgs([{ port, host: '127.0.0.1' }]));
      await connected;
      assert.equal(String(await readAll(socket)), 'ok');
      await closeServer(server);
    });

    it('_setSimultaneousAccepts() warns DEP0121 once per process, as Node', async function () {
      const warnings = [];
      const onWarning = (w) => warnings.push(w);
      process.on('warning', onWarning);
      try {
        t.net._setSimultaneousAccepts();
        t.net._setSimultaneousAccepts();
        t.createStack().net._setSimultaneousAccepts();
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
      }
      // Another test file may have warned first: at most one, and that one Node's.
      assert.ok(warnings.length <= 1);
      for (const w of warnings) {
        assert.equal(w.name, 'DeprecationWarning');
        assert.equal(w.code, 'DEP0121');
        assert.equal(w.message, 'net._setSimultaneousAccepts() is deprecated and will be removed.');
      }
    });

    it('_createServerHandle() refuses as Node does what it cannot listen on: UV_EINVAL', function () {
      assert.equal(util.getSystemErrorName(t.net._createServerHandle('127.0.0.1', 0, 4)), 'EINVAL');
    });
  });

  describe('constructors', function () {
    it('Socket() and Server() without new construct, as in Node', async function () {
      const socket = t.net.Socket();
      assert.ok(socket instanceof t.net.Socket);
      const server = t.net.Server((s) => s.end('made without new'));
      assert.ok(server instanceof t.net.Server);
      await listen(server, 0, '127.0.0.1');
      const client = await connect(t.net, server.address().port, '127.0.0.1');
      assert.equal(String(await readAll(client)), 'made without new');
      await closeServer(server);
      socket.destroy();
    });

    it('old-style subclasses (util.inherits, Socket.call(this)) are initialized sockets and servers', async function () {
      const { net } = t;
      function MySocket(options) {
        net.Socket.call(this, options);
        this.mine = true;
      }
      util.inherits(MySocket, net.Socket);
      function MyServer(listener) {
        net.Server.call(this, listener);
      }
      util.inherits(MyServer, net.Server);
      const server = new MyServer((s) => s.end('old style'));
      assert.ok(server instanceof net.Server);
      await listen(server, 0, '127.0.0.1');
      const socket = new MySocket({ allowHalfOpen: false });
      assert.ok(socket instanceof net.Socket);
      assert.equal(socket.mine, true);
      socket.connect(server.address().port, '127.0.0.1');
      assert.equal(String(await readAll(socket)), 'old style');
      await closeServer(server);
    });

    it('class subclasses construct, with their own prototype', async function () {
      class Tagged extends t.net.Socket {
        tag() { return 'tagged'; }
      }
      const server = await listen(t.net.createServer((s) => s.end('x')), 0, '127.0.0.1');
      const socket = new Tagged().connect(server.address().port, '127.0.0.1');
      assert.equal(socket.tag(), 'tagged');
      assert.equal(String(await readAll(socket)), 'x');
      await closeServer(server);
    });

    for (const key of ['objectMode', 'readableObjectMode', 'writableObjectMode']) {
      throwsLikeNode(t, `new Socket({ ${key}: true }) throws ERR_INVALID_ARG_VALUE`, (net) => new net.Socket({ [key]: true }));
      throwsLikeNode(t, `connect({ port, ${key}: true }) throws ERR_INVALID_ARG_VALUE`, (net) => net.connect({ port: 9, [key]: true }));
    }
    throwsLikeNode(t, "new Socket({ keepAliveInitialDelay: 'x' })", (net) => new net.Socket({ keepAliveInitialDelay: 'x' }));
    throwsLikeNode(t, 'new Socket({ fd: -1 })', (net) => new net.Socket({ fd: -1 }));
    throwsLikeNode(t, "new Socket({ fd: 'foo' })", (net) => new net.Socket({ fd: 'foo' }));
    throwsLikeNode(t, "new Server({ keepAliveInitialDelay: 'x' })", (net) => new net.Server({ keepAliveInitialDelay: 'x' }));
    throwsLikeNode(t, "new Server({ highWaterMark: 'x' })", (net) => new net.Server({ highWaterMark: 'x' }));
    throwsLikeNode(t, 'new Server(5)', (net) => new net.Server(5));

    it("a server's options become the properties Node gives them", function () {
      const shape = (net) => {
        const server = new net.Server({
          allowHalfOpen: 1, pauseOnConnect: 'yes', noDelay: 1, keepAlive: 1, keepAliveInitialDelay: 2500,
        });
        const bare = new net.Server();
        const negative = new net.Server({ keepAliveInitialDelay: -5, highWaterMark: -1 });
        const pick = (s) => ({
          allowHalfOpen: s.allowHalfOpen,
          pauseOnConnect: s.pauseOnConnect,
          noDelay: s.noDelay,
          keepAlive: s.keepAlive,
          keepAliveInitialDelay: s.keepAliveInitialDelay,
          highWaterMark: s.highWaterMark,
        });
        return [pick(server), pick(bare), pick(negative)];
      };
      assert.deepEqual(shape(t.net), shape(nodeNet));
    });
  });

  describe('properties', function () {
    it('socket.timeout is a plain property: setTimeout() sets it, and it may be assigned', function () {
      const shape = (net) => {
        const socket = new net.Socket();
        const before = socket.timeout;
        socket.setTimeout(1234);
        const after = socket.timeout;
        socket.timeout = 0;
        const assigned = socket.timeout;
        let thrownCode = null;
        try {
          socket.setTimeout('x');
        } catch (err) {
          thrownCode = err.code;
        }
        const afterBad = socket.timeout;
        socket.destroy();
        return {
          before, after, assigned, thrownCode, afterBad,
        };
      };
      assert.deepEqual(shape(t.net), shape(nodeNet));
    });

    it('assigning socket.timeout does not change the idle timer (as in Node)', async function () {
      const server = await listen(t.net.createServer(), 0, '127.0.0.1');
      const client = await connect(t.net, server.address().port, '127.0.0.1');
      client.setTimeout(50);
      client.timeout = 0;
      await within(nextEvent(client, 'timeout'), 2000, "'timeout'");
      client.destroy();
      await closeServer(server);
    });

    it('socket._handle may be assigned; a write after that fails with ERR_SOCKET_CLOSED', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = await listen(net.createServer(), 0, host);
        const client = track(await connect(net, server.address().port, host));
        client._handle.close();
        client._handle = null;
        const assigned = client._handle;
        const failed = nextEvent(client, 'error');
        client.write('foo');
        const [err] = await failed;
        await within(closed(client), 5000, 'close');
        await closeServer(server);
        return { assigned, error: errorShape(err, ['name', 'code', 'message']) };
      });
      assert.deepEqual(stack, node);
      assert.equal(stack.error.code, 'ERR_SOCKET_CLOSED');
    });

    it('server.address() reports what the handle says, and throws its failure as Node does', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = await listen(net.createServer(), 0, host);
        const address = server.address();
        server._handle.getsockname = () => -1;
        const error = errorShape((() => {
          try {
            server.address();
          } catch (err) {
            return err;
          }
          return null;
        })(), ['name', 'code', 'errno', 'syscall', 'message']);
        await closeServer(server);
        return { keys: Object.keys(address), family: address.family, error };
      });
      assert.deepEqual(stack, node);
      assert.equal(stack.error.message, 'address EPERM');
    });
  });

  describe('setNoDelay() and setKeepAlive()', function () {
    it('setNoDelay(value) tells the handle only of changes, as Boolean(value) with undefined as true', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = await listen(net.createServer(), 0, host);
        const client = await connect(net, server.address().port, host);
        const calls = [];
        const original = client._handle.setNoDelay;
        client._handle.setNoDelay = function (enable) {
          calls.push(enable);
          return original.call(this, enable);
        };
        for (const value of [undefined, true, 1, 'x', false, 0, '', {}, [], null]) {
          assert.equal(client.setNoDelay(value), client);
        }
        client.destroy();
        await closeServer(server);
        return calls;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, [true, false, true, false]);
    });

    it('connect({ keepAlive, keepAliveInitialDelay }) hands the handle whole seconds once connected, and 0 for a delay that is not positive', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = await listen(net.createServer((socket) => socket.end()), 0, host);
        const calls = [];
        for (const delay of [123, 456123, -123000, undefined]) {
          const client = net.connect({ port: server.address().port, host, keepAlive: true, keepAliveInitialDelay: delay });
          client._handle.setKeepAlive = (enable, seconds) => calls.push([enable, seconds]);
          await new Promise((resolve) => client.on('close', resolve).resume());
        }
        await closeServer(server);
        return calls;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, [[true, 0], [true, 456], [true, 0], [true, 0]]);
    });

    it('setKeepAlive(enable, delay) hands the handle whole seconds, and only changes', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = await listen(net.createServer(), 0, host);
        const client = await connect(net, server.address().port, host);
        const calls = [];
        const original = client._handle.setKeepAlive;
        client._handle.setKeepAlive = function (enable, delay) {
          calls.push([enable, delay]);
          return original.call(this, enable, delay);
        };
        client.setKeepAlive(true, 1000);
        client.setKeepAlive(true, 1999); // the same second
        client.setKeepAlive(1, 2500);
        client.setKeepAlive(false, 2500);
        client.setKeepAlive(0);
        client.setKeepAlive('yes', -1500);
        client.destroy();
        await closeServer(server);
        return calls;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, [[true, 1], [true, 2], [false, 2], [true, -1]]);
    });

    it('a socket made with { handle } uses that handle, as Node', function () {
      const calls = [];
      const socket = new t.net.Socket({ handle: { setNoDelay: (v) => calls.push(v), readStart() {} } });
      socket.setNoDelay();
      socket.setNoDelay(true);
      socket.setNoDelay(false);
      assert.deepEqual(calls, [true, false]);
    });
  });

  describe('write()', function () {
    it("a string with the encoding 'buffer' throws Node's ERR_INVALID_ARG_TYPE", async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
        const server = await listen(net.createServer(), 0, host);
        const client = await connect(net, server.address().port, host);
        const error = thrownShape(() => { client.write('broken', 'buffer'); }, { release: true });
        client.destroy();
        await closeServer(server);
        return error;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, {
        name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: 'Second argument must be a buffer', isError: true,
      });
    });
  });

  describe('connect() options', function () {
    for (const port of [true, false, null, [], {}]) {
      throwsLikeNode(t, `connect({ port: ${util.inspect(port)} })`, (net) => net.connect({ port, family: 4 }));
    }
    for (const port of ['', ' ', '0x', '-0x1', NaN, Infinity, -1, 65536]) {
      const shown = util.inspect(port);
      throwsLikeNode(t, `connect({ port: ${shown} })`, (net) => net.connect({ port, family: 4 }));
      throwsLikeNode(t, `connect({ port: ${shown}, host: 'localhost' })`, (net) => net.connect({ port, host: 'localhost' }));
      if (typeof port === 'number') {
        throwsLikeNode(t, `connect(${shown})`, (net) => net.connect(port));
        throwsLikeNode(t, `new Socket().connect(${shown}, 'localhost')`, (net) => new net.Socket().connect(port, 'localhost'));
      }
    }
    throwsLikeNode(t, 'connect({ port, hints: invalid flags })', (net) => net.connect({ port: 42, hints: 32 + 8 + 16 + 42 }));
    throwsLikeNode(t, "connect({ port, host: 'localhost', family: 5 })", (net) => net.connect({ port: 42, host: 'localhost', family: 5 }));
    for (const lookup of ['foobar', 1, {}, []]) {
      throwsLikeNode(t, `connect({ port, lookup: ${util.inspect(lookup)} })`, (net) => net.connect({ host: 'localhost', port: 0, lookup }));
    }
    throwsLikeNode(t, "connect({ port, autoSelectFamily: 'INVALID' })", (net) => net.connect({ port: 8080, autoSelectFamily: 'INVALID' }));
    for (const timeout of [-10, 0, 1.5, 'x']) {
      throwsLikeNode(t, `connect({ port, autoSelectFamilyAttemptTimeout: ${util.inspect(timeout)} })`,
        (net) => net.connect({ port: 8080, autoSelectFamily: true, autoSelectFamilyAttemptTimeout: timeout }));
    }

    it('with an IP host, family, hints and lookup go unchecked, as in Node', function () {
      const options = { port: 9, host: '127.0.0.1', family: 5, hints: -1, lookup: 'not a function' };
      assert.equal(thrownShape(() => nodeNet.connect(options), { release: true }), 'no throw');
      assert.equal(thrownShape(() => t.net.connect(options), { release: true }), 'no throw');
    });

    it('the timeout option is net.connect()\'s, not socket.connect()\'s', function () {
      const shape = (net) => {
        const viaConnect = net.connect({ port: 9, host: '127.0.0.1', timeout: 1234 });
        const viaSocket = new net.Socket().connect({ port: 9, host: '127.0.0.1', timeout: 1234 });
        const result = [viaConnect.timeout, viaSocket.timeout];
        for (const s of [viaConnect, viaSocket]) {
          s.on('error', () => {});
          s.destroy();
        }
        return result;
      };
      assert.deepEqual(shape(t.net), shape(nodeNet));
      assert.deepEqual(shape(t.net), [1234, undefined]);
    });

    it('a lookup is called at once with the options Node gives it', function () {
      const shape = (net) => {
        const seen = [];
        const lookup = (host, options) => seen.push([host, { ...options }]);
        for (const options of [
          { port: 9, host: 'a.test', lookup, autoSelectFamily: true },
          { port: 9, host: 'b.test', lookup, autoSelectFamily: false },
          { port: 9, host: 'c.test', lookup, family: 4 },
          { port: 9, host: 'd.test', lookup, family: 'IPv6', hints: 8 },
          { port: 9, host: 'e.test', lookup, autoSelectFamily: false, hints: 16 },
        ]) {
          const socket = net.connect(options);
          socket.destroy();
        }
        return seen;
      };
      assert.deepEqual(shape(t.net), shape(nodeNet));
    });

    it('a lookup answering family 100 fails with ERR_INVALID_ADDRESS_FAMILY, naming host and port', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const results = [];
        for (const autoSelectFamily of [true, false]) {
          const socket = net.connect({
            host: 'localhost',
            port: 0,
            autoSelectFamily,
            lookup: (host, options, cb) => (options.all
              ? cb(null, [{ address: '127.0.0.1', family: 100 }])
              : cb(null, '127.0.0.1', 100)),
          });
          const [err] = await nextEvent(socket, 'error');
          results.push({ ...errorShape(err, ['name', 'code', 'message']), host: err.host, port: err.port });
        }
        return results;
      });
      assert.deepEqual(stack, node);
      assert.equal(stack[0].message, 'Invalid address family: 100 localhost:0');
    });

    it('a lookup that never answers does not hold the process', async function () {
      const { code, stdout } = await runChild(`
        const { Stack } = require(${JSON.stringify(require.resolve('..'))});
        const stack = new Stack();
        stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8'] });
        stack.net.connect({ host: 'never.test', port: 80, lookup: () => {} });
        process.on('exit', () => console.log('exited'));
      `);
      assert.equal(code, 0);
      assert.match(stdout, /exited/);
    });
  });

  describe('autoSelectFamily defaults', function () {
    let saved;
    beforeEach(function () {
      saved = [t.net.getDefaultAutoSelectFamily(), t.net.getDefaultAutoSelectFamilyAttemptTimeout()];
    });
    afterEach(function () {
      t.net.setDefaultAutoSelectFamily(saved[0]);
      t.net.setDefaultAutoSelectFamilyAttemptTimeout(saved[1]);
    });

    it("start as node:net's", function () {
      assert.equal(t.net.getDefaultAutoSelectFamily(), nodeNet.getDefaultAutoSelectFamily());
      assert.equal(t.net.getDefaultAutoSelectFamilyAttemptTimeout(), nodeNet.getDefaultAutoSelectFamilyAttemptTimeout());
    });

    for (const value of [-10, 0, 1.5, '100', undefined]) {
      throwsLikeNode(t, `setDefaultAutoSelectFamilyAttemptTimeout(${util.inspect(value)})`,
        (net) => net.setDefaultAutoSelectFamilyAttemptTimeout(value));
    }
    for (const value of ['yes', 1, undefined]) {
      throwsLikeNode(t, `setDefaultAutoSelectFamily(${util.inspect(value)})`, (net) => net.setDefaultAutoSelectFamily(value));
    }

    it('an attempt timeout under 10 ms is 10 ms', function () {
      for (const value of [1, 9]) {
        t.net.setDefaultAutoSelectFamilyAttemptTimeout(value);
        assert.equal(t.net.getDefaultAutoSelectFamilyAttemptTimeout(), 10);
      }
      t.net.setDefaultAutoSelectFamilyAttemptTimeout(123);
      assert.equal(t.net.getDefaultAutoSelectFamilyAttemptTimeout(), 123);
    });

    it('are the process\'s: one stack\'s setting holds for every stack\'s net', function () {
      const other = t.createStack();
      t.net.setDefaultAutoSelectFamily(!saved[0]);
      assert.equal(other.net.getDefaultAutoSelectFamily(), !saved[0]);
    });

    it('follow the command line flags, as Node', async function () {
      const { code, stdout } = await runChild(`
        const { Stack } = require(${JSON.stringify(require.resolve('..'))});
        const stack = new Stack();
        console.log(JSON.stringify([stack.net.getDefaultAutoSelectFamily(), stack.net.getDefaultAutoSelectFamilyAttemptTimeout()]));
        stack.destroy();
      `, { flags: ['--no-network-family-autoselection', '--network-family-autoselection-attempt-timeout=123'] });
      assert.equal(code, 0);
      assert.deepEqual(JSON.parse(stdout), [false, 123]);
    });
  });
});
