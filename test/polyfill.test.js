'use strict';
// polyfill(stack) and tcpip/polyfill/net, in Node (the browser test runs
// them in Chromium): Node's `net` surface over the polyfilled stack.
const assert = require('node:assert/strict');
const nodeNet = require('node:net');
const { polyfill, Stack } = require('..');
const net = require('tcpip/polyfill/net');
const { teardown } = require('./helpers/stack.js');
const { listen, closeServer, within } = require('./helpers/util.js');

describe('polyfill and tcpip/polyfill/net', function () {
  let stack = null;

  afterEach(function () {
    polyfill(null);
    teardown(stack);
    stack = null;
  });

  it("has Node's net surface", function () {
    for (const name of Object.keys(nodeNet)) {
      assert.ok(name in net, `net.${name} missing`);
      assert.equal(typeof net[name], typeof nodeNet[name], `net.${name}`);
    }
    assert.equal(net.Stream, net.Socket);
    assert.equal(net.createConnection, net.connect);
    assert.equal(net.isIP('::1'), 6);
    assert.equal(net.isIPv4('127.0.0.1'), true);
    assert.equal(net.getDefaultAutoSelectFamily(), nodeNet.getDefaultAutoSelectFamily());
    assert.deepEqual(net._normalizeArgs([80, 'localhost']), nodeNet._normalizeArgs([80, 'localhost']));
  });

  it('throws ERR_TCPIP_NO_POLYFILL until polyfill(stack)', function () {
    for (const use of [() => net.createServer(), () => net.connect(80), () => new net.Socket(), () => net.Server()]) {
      assert.throws(use, { code: 'ERR_TCPIP_NO_POLYFILL', message: /call polyfill\(stack\)/ });
    }
  });

  it('rejects what is not a stack', function () {
    for (const value of [{}, 1, 'stack', { net: {} }]) {
      assert.throws(() => polyfill(value), { code: 'ERR_INVALID_ARG_TYPE' });
    }
  });

  it('serves the given stack: a server and a client written against net talk over it', async function () {
    stack = new Stack();
    stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
    assert.equal(polyfill(stack), stack);
    const server = net.createServer((socket) => socket.pipe(socket));
    assert.ok(server instanceof net.Server);
    await listen(server, 0, '127.0.0.1');
    // Nothing listens on the kernel's loopback here: the stack's port is its own.
    const { port } = server.address();
    const socket = net.connect(port, '127.0.0.1');
    assert.ok(socket instanceof net.Socket);
    const accepted = await within(new Promise((resolve) => server.once('connection', resolve)), 5000, 'accept');
    assert.ok(accepted instanceof net.Socket, 'an accepted socket is a net.Socket');
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.end('hello');
    await within(new Promise((resolve) => socket.on('close', resolve)), 5000, 'close');
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    await closeServer(server);
  });

  it('net.Socket and net.Server construct (with or without new) and subclass on the stack', async function () {
    stack = polyfill();
    assert.ok(stack instanceof Stack);
    assert.deepEqual(stack.interfaces[0].ipAddresses, ['127.0.0.1/8', '::1/128']);
    class Echo extends net.Server {
      constructor() {
        super((socket) => socket.pipe(socket));
        this.kind = 'echo';
      }
    }
    class Client extends net.Socket {
      greet() { return this.end('hi'); }
    }
    const server = new Echo();
    assert.ok(server instanceof Echo && server instanceof net.Server);
    assert.ok(net.Server() instanceof net.Server);
    await listen(server, 7, '::1');
    const client = new Client({ allowHalfOpen: false });
    assert.ok(client instanceof Client && client instanceof net.Socket);
    const received = [];
    client.on('data', (chunk) => received.push(chunk));
    client.connect(7, '::1', () => client.greet());
    await within(new Promise((resolve) => client.on('close', resolve)), 5000, 'close');
    assert.equal(Buffer.concat(received).toString(), 'hi');
    assert.equal(client.remoteAddress, '::1');
    await closeServer(server);
  });

  it('polyfill(null) takes the stack away', function () {
    stack = polyfill();
    assert.equal(polyfill(null), null);
    assert.throws(() => net.createServer(), { code: 'ERR_TCPIP_NO_POLYFILL' });
  });
});
