'use strict';
// Unmodified Node code on a stack: stack.run()/stack.scope() redirect
// node:net, node:http, node:https, node:tls and global fetch; stack.http,
// stack.https and stack.fetch are bound to one stack without a scope.
// Traffic goes only over stacks and the kernel's loopback.
const assert = require('node:assert/strict');
const net = require('node:net');
const http = require('node:http');
const https = require('node:https');
const tls = require('node:tls');
const crypto = require('node:crypto');
// Loaded before any scope began: it must still follow the scope.
const WebSocket = require('ws');
const { link } = require('..');
const scopeModule = require('../lib/scope.js');
const { withStack } = require('./helpers/stack.js');
const { selfSigned } = require('./helpers/cert.js');
const { runChild } = require('./helpers/child.js');
const { listen, closeServer, within, readAll, delay } = require('./helpers/util.js');

const { key, cert } = selfSigned();
const NodeSocket = net.Socket;

/** Reads a whole http(s) response: { status, body, socket }. */
function get(mod, url, options = {}) {
  return new Promise((resolve, reject) => {
    const req = mod.get(url, options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), socket: req.socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * An http(s).Server (Node's own) fed by a TCP server made with `tcpNet`
 * (a stack's net, or node:net in a scope); answers `${name} ${url}`.
 */
async function serve(tcpNet, port, name, { secure = false } = {}) {
  const handler = (req, res) => res.end(`${name} ${req.url}`);
  const app = secure ? https.createServer({ key, cert }, handler) : http.createServer(handler);
  const sockets = new Set();
  // allowHalfOpen as Node's own http(s) servers listen: without it a
  // client's FIN ends the stack socket under the TLS layer early.
  const tcp = tcpNet.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    app.emit('connection', socket);
  });
  await listen(tcp, port);
  return {
    app,
    tcp,
    port: tcp.address().port,
    async close() {
      app.closeAllConnections();
      for (const s of sockets) s.destroy();
      await within(closeServer(tcp), 5000, `${name} close`);
    },
  };
}

/** A kernel loopback http server answering `kernel ${url}`. */
async function kernelHttp() {
  const server = http.createServer((req, res) => res.end(`kernel ${req.url}`));
  await listen(server, 0, '127.0.0.1');
  return {
    server,
    port: server.address().port,
    async close() {
      server.closeAllConnections();
      await within(closeServer(server), 5000, 'kernel close');
    },
  };
}

/** A TCP server (stack or kernel) that writes `text` and ends. */
async function greeter(netModule, port, text, host) {
  const server = netModule.createServer((s) => s.end(text));
  await listen(server, port, host);
  return server;
}

/** Connects with net.connect (whatever it is here) and reads to the end. */
async function readFrom(port, host = '127.0.0.1') {
  const socket = net.connect(port, host);
  const data = await within(readAll(socket), 5000, `read from ${host}:${port}`);
  return { text: data.toString(), socket };
}

function stackSocketsIn(agent) {
  const all = [...Object.values(agent.sockets), ...Object.values(agent.freeSockets)].flat();
  return all.filter((s) => !(s instanceof NodeSocket));
}

describe('scopes: unmodified Node networking on a stack', function () {
  const t = withStack();
  const kernelServers = [];

  // The suites after this one find Node's modules as they were.
  after(function () {
    scopeModule.uninstall();
    assert.equal(net.Socket, NodeSocket);
  });

  afterEach(async function () {
    for (const k of kernelServers.splice(0)) await k.close();
  });

  async function kernelGreeter(text) {
    const server = await greeter(net, 0, text, '127.0.0.1');
    kernelServers.push({ close: () => closeServer(server) });
    return server.address().port;
  }

  it('net.connect, net.createServer and new net.Socket().connect go through the stack; outside, the kernel', async function () {
    const port = await kernelGreeter('kernel');
    await t.stack.run(async () => {
      const server = await greeter(net, port, 'stack');
      // A server made by node:net in a scope is the stack's.
      assert.ok(server instanceof t.stack.net.Server);
      assert.ok(!(server instanceof net.Server));
      assert.ok(new net.Server() instanceof t.stack.net.Server);
      const { text, socket } = await readFrom(port);
      assert.equal(text, 'stack');
      assert.ok(!(socket instanceof NodeSocket));
      // The constructor form, and the legacy call without `new`.
      const viaCtor = new net.Socket();
      const done = within(readAll(viaCtor), 5000, 'new net.Socket()');
      viaCtor.connect(port, '127.0.0.1');
      assert.equal((await done).toString(), 'stack');
      assert.ok(!(viaCtor instanceof NodeSocket));
      // After an await and in a timer, still the stack.
      await delay(1);
      const fromTimer = await new Promise((resolve, reject) => {
        setTimeout(() => readFrom(port).then(resolve, reject), 1);
      });
      assert.equal(fromTimer.text, 'stack');
      await closeServer(server);
    });
    // The same test, out of the scope: the kernel's loopback.
    const outside = await readFrom(port);
    assert.equal(outside.text, 'kernel');
    assert.ok(outside.socket instanceof NodeSocket);
    assert.ok(new net.Socket() instanceof NodeSocket);
  });

  it('http.createServer, https.createServer and ws\'s WebSocket.Server({ port }) listen on the stack in a scope', async function () {
    // The kernel holds the same port meanwhile: no EADDRINUSE, no mix-up.
    const kernel = await kernelHttp();
    kernelServers.push(kernel);
    const port = kernel.port;
    await t.stack.run(async () => {
      const app = http.createServer((req, res) => res.end(`app ${req.url}`));
      await listen(app, port, '127.0.0.1');
      assert.equal(app.listening, true);
      assert.deepEqual(app.address(), { address: '127.0.0.1', family: 'IPv4', port });
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/x`)).text(), 'app /x');
      const secure = https.createServer({ key, cert }, (req, res) => res.end(`secure ${req.url}`));
      await listen(secure, 443);
      assert.equal((await get(https, 'https://localhost/y', { ca: cert })).body, 'secure /y');
      const wss = new WebSocket.Server({ port: 8080 });
      await within(new Promise((resolve) => wss.once('listening', resolve)), 5000, 'wss listening');
      wss.on('connection', (ws) => ws.send('welcome'));
      const client = new WebSocket('ws://127.0.0.1:8080/');
      const message = await within(new Promise((resolve, reject) => {
        client.once('message', (m) => resolve(String(m)));
        client.once('error', reject);
      }), 5000, 'ws message');
      assert.equal(message, 'welcome');
      client.terminate();
      await within(new Promise((resolve) => wss.close(resolve)), 5000, 'wss close');
      // close() calls back once the stack server is closed; the port is free again.
      const closed = await within(new Promise((resolve) => app.close(resolve)), 5000, 'app close');
      assert.equal(closed, undefined);
      assert.equal(app.listening, false);
      assert.equal(app.address(), null);
      const again = await greeter(net, port, 'again', '127.0.0.1');
      assert.equal((await readFrom(port)).text, 'again');
      await closeServer(again);
      secure.closeAllConnections();
      await within(closeServer(secure), 5000, 'secure close');
    });
    assert.equal((await get(http, `http://127.0.0.1:${port}/k`)).body, 'kernel /k');
    // Out of the scope, a server listens on the kernel as before.
    const plain = http.createServer((req, res) => res.end('outside'));
    await listen(plain, 0, '127.0.0.1');
    assert.equal((await get(http, `http://127.0.0.1:${plain.address().port}/`)).body, 'outside');
    plain.closeAllConnections();
    await closeServer(plain);
  });

  it('events of sockets and servers made in a scope run in it: a handler that connects, a reconnect on close', async function () {
    const port = await kernelGreeter('kernel');
    const backend = await greeter(t.stack.net, port, 'backend');
    const results = await t.stack.run(async () => {
      // A proxy: its 'connection' handler connects onwards with node:net.
      const proxy = net.createServer((socket) => {
        const upstream = net.connect(port, '127.0.0.1');
        upstream.pipe(socket);
      });
      await listen(proxy, 9000);
      const viaProxy = await readFrom(9000);
      // A client that connects again from its 'close' listener, as
      // reconnecting libraries do.
      const again = await new Promise((resolve, reject) => {
        const first = net.connect(port, '127.0.0.1');
        first.resume();
        first.once('close', () => readFrom(port).then(resolve, reject));
      });
      await closeServer(proxy);
      return [viaProxy.text, again.text];
    });
    assert.deepEqual(results, ['backend', 'backend']);
    await closeServer(backend);
  });

  it('any AsyncLocalStorage store reaches a stack socket\'s callbacks, as a kernel socket\'s', async function () {
    const { AsyncLocalStorage } = require('node:async_hooks');
    const als = new AsyncLocalStorage();
    const server = await greeter(t.stack.net, 7, 'x');
    const seen = await als.run('mine', () => new Promise((resolve) => {
      const socket = t.stack.net.connect(7, '127.0.0.1');
      const stores = [];
      socket.on('connect', () => stores.push(als.getStore()));
      socket.on('data', () => stores.push(als.getStore()));
      socket.on('close', () => resolve([...stores, als.getStore()]));
    }));
    assert.deepEqual(seen, ['mine', 'mine', 'mine']);
    assert.equal(als.getStore(), undefined);
    await closeServer(server);
  });

  it('run() returns what fn returns, sync or a promise, with the arguments given', async function () {
    assert.equal(t.stack.run((a, b) => a + b, 2, 3), 5);
    assert.equal(await t.stack.run(async (a) => a * 2, 21), 42);
    assert.throws(() => t.stack.run('nope'), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('http.get and http.request with the default agent reach a server on the stack', async function () {
    const kernel = await kernelHttp();
    kernelServers.push(kernel);
    await t.stack.run(async () => {
      const server = await serve(net, kernel.port, 'stack');
      const first = await get(http, `http://127.0.0.1:${kernel.port}/a`);
      assert.deepEqual([first.status, first.body], [200, 'stack /a']);
      assert.equal(first.socket.remoteAddress, '127.0.0.1');
      const posted = await new Promise((resolve, reject) => {
        const req = http.request({ host: 'localhost', port: kernel.port, method: 'POST', path: '/p' }, (res) => {
          readAll(res).then((b) => resolve(b.toString()), reject);
        });
        req.on('error', reject);
        req.end('body');
      });
      assert.equal(posted, 'stack /p');
      await server.close();
    });
    const outside = await get(http, `http://127.0.0.1:${kernel.port}/b`);
    assert.equal(outside.body, 'kernel /b');
  });

  it('https.request with a self-signed certificate runs TLS over a stack socket', async function () {
    await t.stack.run(async () => {
      const server = await serve(net, 8443, 'secure', { secure: true });
      const body = await new Promise((resolve, reject) => {
        const req = https.request({ host: 'localhost', port: 8443, path: '/s', ca: cert }, (res) => {
          assert.equal(res.socket.encrypted, true);
          assert.equal(res.socket.getPeerCertificate().subject.CN, 'localhost');
          readAll(res).then((b) => resolve(b.toString()), reject);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, 'secure /s');
      // The certificate is still checked: without its CA, Node refuses it.
      await assert.rejects(get(https, 'https://localhost:8443/'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      // tls.connect itself, and a refused TCP connection under it.
      const socket = tls.connect(8443, '127.0.0.1', { ca: cert, servername: 'localhost' });
      await within(new Promise((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      }), 5000, 'secureConnect');
      assert.equal(socket.authorized, true);
      socket.destroy();
      const refused = tls.connect(8444, '127.0.0.1', { ca: cert });
      const err = await within(new Promise((resolve) => refused.once('error', resolve)), 5000, 'refused');
      assert.equal(err.code, 'ECONNREFUSED');
      await server.close();
    });
  });

  it('global fetch goes through the scope\'s stack, plain and with TLS', async function () {
    const kernel = await kernelHttp();
    kernelServers.push(kernel);
    await t.stack.run(async () => {
      const server = await serve(net, kernel.port, 'fetched');
      const res = await fetch(`http://127.0.0.1:${kernel.port}/f?x=1`);
      assert.equal(res.status, 200);
      assert.ok(res instanceof Response);
      assert.equal(await res.text(), 'fetched /f?x=1');
      // A dispatcher given by the caller wins: this one trusts the certificate.
      const secure = await serve(net, 443, 'tls', { secure: true });
      const dispatcher = t.stack.createDispatcher({ connect: { ca: cert } });
      assert.equal(await (await fetch('https://localhost/t', { dispatcher })).text(), 'tls /t');
      await server.close();
      await secure.close();
    });
    assert.equal(await (await fetch(`http://127.0.0.1:${kernel.port}/k`)).text(), 'kernel /k');
  });

  it('ws (loaded before the scope) connects to a WebSocket server on the stack', async function () {
    const wss = new WebSocket.Server({ noServer: true });
    await t.stack.run(async () => {
      const server = await serve(net, 8080, 'ws');
      server.app.on('upgrade', (req, socket, head) => {
        wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo ${m}`)));
      });
      const client = new WebSocket('ws://127.0.0.1:8080/chat');
      await within(new Promise((resolve, reject) => {
        client.once('open', resolve);
        client.once('error', reject);
      }), 5000, 'ws open');
      assert.ok(!(client._socket instanceof NodeSocket));
      const reply = new Promise((resolve) => client.once('message', (m) => resolve(String(m))));
      client.send('hi');
      assert.equal(await within(reply, 5000, 'ws reply'), 'echo hi');
      client.close();
      await within(new Promise((resolve) => client.once('close', resolve)), 5000, 'ws close');
      await server.close();
    });
    wss.close();
  });

  it('a client on stack A reaches a server on stack B over a link', async function () {
    const a = t.createStack([]);
    const b = t.createStack([]);
    const l = link(a.createTunInterface({ ipAddress: '10.0.0.1/24' }), b.createTunInterface({ ipAddress: '10.0.0.2/24' }));
    const server = await serve(b.net, 80, 'b');
    const answer = await a.run(() => get(http, 'http://10.0.0.2/over'));
    assert.equal(answer.body, 'b /over');
    assert.equal(answer.socket.localAddress, '10.0.0.1');
    await server.close();
    l.destroy();
  });

  it('nested scopes: the innermost wins; the outer one comes back', async function () {
    const inner = t.createStack();
    const port = await kernelGreeter('kernel');
    const outerServer = await greeter(t.stack.net, port, 'outer');
    const innerServer = await greeter(inner.net, port, 'inner');
    const seen = await t.stack.run(async () => {
      const before = (await readFrom(port)).text;
      const during = await inner.run(async () => {
        await delay(1);
        return (await readFrom(port)).text;
      });
      const after = (await readFrom(port)).text;
      return [before, during, after];
    });
    assert.deepEqual(seen, ['outer', 'inner', 'outer']);
    assert.equal((await readFrom(port)).text, 'kernel');
    await closeServer(outerServer);
    await closeServer(innerServer);
  });

  it('concurrent scopes on two stacks do not mix', async function () {
    const other = t.createStack();
    const one = await serve(t.stack.net, 8080, 'one');
    const two = await serve(other.net, 8080, 'two');
    const ask = (stack, name) => stack.run(async () => {
      const bodies = [];
      for (let i = 0; i < 5; i++) {
        bodies.push((await get(http, `http://127.0.0.1:8080/${name}${i}`)).body);
        bodies.push(await (await fetch(`http://127.0.0.1:8080/f${name}${i}`)).text());
        await delay(i);
      }
      return bodies;
    });
    const [fromOne, fromTwo] = await Promise.all([ask(t.stack, 'x'), ask(other, 'y')]);
    const expect = (name, who) => [0, 1, 2, 3, 4].flatMap((i) => [`${who} /${name}${i}`, `${who} /f${name}${i}`]);
    assert.deepEqual(fromOne, expect('x', 'one'));
    assert.deepEqual(fromTwo, expect('y', 'two'));
    await one.close();
    await two.close();
  });

  it('an error thrown in a scope leaves nothing redirected', async function () {
    const port = await kernelGreeter('kernel');
    const server = await greeter(t.stack.net, port, 'stack');
    assert.throws(() => t.stack.run(() => {
      throw new Error('sync boom');
    }), /sync boom/);
    assert.equal((await readFrom(port)).text, 'kernel');
    await assert.rejects(t.stack.run(async () => {
      assert.equal((await readFrom(port)).text, 'stack');
      throw new Error('async boom');
    }), /async boom/);
    assert.equal((await readFrom(port)).text, 'kernel');
    assert.equal(scopeModule.currentStack(), null);
    await closeServer(server);
  });

  it('scope() redirects until disposed, also in what it started', async function () {
    const port = await kernelGreeter('kernel');
    const server = await greeter(t.stack.net, port, 'stack');
    const dispose = Symbol.dispose || Symbol.for('nodejs.dispose');
    let later;
    await (async () => {
      const scope = t.stack.scope();
      try {
        assert.equal(scope.stack, t.stack);
        assert.equal((await readFrom(port)).text, 'stack');
        // A timer started in the scope that fires after it was disposed.
        later = new Promise((resolve, reject) => {
          setTimeout(() => readFrom(port).then((r) => resolve(r.text), reject), 50);
        });
      } finally {
        scope[dispose]();
      }
      assert.equal(scope.closed, true);
      assert.equal((await readFrom(port)).text, 'kernel');
    })();
    assert.equal(await within(later, 5000, 'timer'), 'kernel');
    assert.equal((await readFrom(port)).text, 'kernel');
    await closeServer(server);
  });

  it('the http default agent never hands a pooled stack socket to kernel code', async function () {
    const kernel = await kernelHttp();
    kernelServers.push(kernel);
    const server = await serve(t.stack.net, kernel.port, 'stack');
    const url = `http://127.0.0.1:${kernel.port}/`;
    const inScope = await t.stack.run(() => get(http, url));
    assert.equal(inScope.body, 'stack /');
    // Node's default agent keeps connections alive: the stack socket is now free in its pool.
    await within((async () => {
      while (!stackSocketsIn(http.globalAgent).includes(inScope.socket)) await delay(5);
    })(), 5000, 'the stack socket in the pool');
    const outside = await get(http, url);
    assert.equal(outside.body, 'kernel /');
    assert.ok(outside.socket instanceof NodeSocket);
    assert.notEqual(outside.socket, inScope.socket);
    // And back in the scope, the pooled stack socket is reused.
    const again = await t.stack.run(() => get(http, url));
    assert.equal(again.body, 'stack /');
    assert.equal(again.socket, inScope.socket);
    await server.close();
    // Closed stack sockets leave the pool.
    await within((async () => {
      while (stackSocketsIn(http.globalAgent).length > 0) await delay(5);
    })(), 5000, 'the pool without stack sockets');
  });

  it('requests queued behind an agent\'s maxSockets keep the stack they were made on', async function () {
    const kernel = await kernelHttp();
    kernelServers.push(kernel);
    const server = await serve(t.stack.net, kernel.port, 'stack');
    const agent = new http.Agent({ maxSockets: 1 });
    const url = (n) => `http://127.0.0.1:${kernel.port}/${n}`;
    // Three requests wait for one socket in the scope, three outside for another.
    const inScope = t.stack.run(() => Promise.all([1, 2, 3].map((n) => get(http, url(n), { agent }))));
    const outside = Promise.all([4, 5, 6].map((n) => get(http, url(n), { agent })));
    const [a, b] = await within(Promise.all([inScope, outside]), 10000, 'queued requests');
    assert.deepEqual(a.map((r) => r.body), ['stack /1', 'stack /2', 'stack /3']);
    assert.deepEqual(b.map((r) => r.body), ['kernel /4', 'kernel /5', 'kernel /6']);
    agent.destroy();
    await server.close();
  });

  it('a stack server fed to a tls.Server with allowHalfOpen delivers an answer sent after the client ended', async function () {
    // The pitfall the README names: the TLS layer is told of the client's
    // end, and a half-open stack socket still carries what it answers.
    const app = tls.createServer({ key, cert, allowHalfOpen: true }, (socket) => {
      let text = '';
      socket.on('data', (d) => { text += d; });
      socket.on('end', () => setTimeout(() => socket.end(`late ${text}`), 20));
    });
    const tcp = t.stack.net.createServer({ allowHalfOpen: true }, (socket) => app.emit('connection', socket));
    await listen(tcp, 853);
    const reply = await t.stack.run(() => new Promise((resolve, reject) => {
      const client = tls.connect(853, 'localhost', { ca: cert, allowHalfOpen: true }, () => client.end('ping'));
      readAll(client).then((b) => resolve(b.toString()), reject);
    }));
    assert.equal(reply, 'late ping');
    await closeServer(tcp);
  });

  it('kernel descriptors stay the kernel\'s in a scope: stdout and child processes', async function () {
    const { code, stdout, stderr } = await runChild(`
      const { Stack } = require('.');
      const stack = new Stack();
      stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      stack.run(() => {
        console.log('printed in a scope');
        require('node:child_process').execFile(process.execPath, ['-e', 'process.stdout.write("child ok")'], (err, out) => {
          console.log(err ? err.code : out);
          stack.destroy();
        });
      });`, { killAfter: 20000 });
    assert.equal(stderr, '');
    assert.equal(stdout, 'printed in a scope\nchild ok\n');
    assert.equal(code, 0);
  });

  it('a destroyed stack\'s scope and clients fail with ERR_TCPIP_STACK_DESTROYED', async function () {
    const doomed = t.createStack();
    const { fetch: boundFetch } = doomed;
    doomed.destroy();
    const expected = { code: 'ERR_TCPIP_STACK_DESTROYED', message: /destroyed stack/ };
    assert.throws(() => doomed.run(() => 1), expected);
    assert.throws(() => doomed.scope(), expected);
    assert.throws(() => doomed.createDispatcher(), { code: 'ERR_TCPIP_STACK_DESTROYED' });
    await assert.rejects(boundFetch('http://127.0.0.1/'), { code: 'ERR_TCPIP_STACK_DESTROYED' });
    assert.throws(() => doomed.http, { code: 'ERR_TCPIP_STACK_DESTROYED' });
  });

  it('outside every scope the wrappers behave as Node\'s own', async function () {
    t.stack.run(() => {}); // the wrappers are in from here on
    assert.equal(scopeModule.isInstalled(), true);
    const port = await kernelGreeter('kernel');
    const socket = net.createConnection({ port, host: '127.0.0.1' });
    assert.ok(socket instanceof NodeSocket);
    assert.equal((await within(readAll(socket), 5000, 'read')).toString(), 'kernel');
    // Node's own constructors, subclasses and descriptors stay Node's.
    class Sub extends net.Socket {}
    assert.ok(new Sub() instanceof NodeSocket);
    assert.ok(t.stack.run(() => new Sub()) instanceof NodeSocket);
    // An old-style subclass initializes itself through net.Socket.call().
    const legacy = Object.create(NodeSocket.prototype);
    net.Socket.call(legacy, { allowHalfOpen: true });
    assert.equal(legacy.allowHalfOpen, true);
    assert.equal(legacy.connecting, false);
    assert.equal(net.Stream, net.Socket);
    const server = net.createServer();
    assert.ok(server instanceof net.Server);
    assert.equal(Object.getPrototypeOf(server), net.Server.prototype);
  });

  it('uninstall() puts Node\'s functions back', function () {
    t.stack.run(() => {});
    const wrapped = net.connect;
    scopeModule.uninstall();
    try {
      assert.notEqual(net.connect, wrapped);
      assert.equal(net.connect.name, 'connect');
      assert.equal(scopeModule.isInstalled(), false);
      // A new scope installs them again.
      assert.equal(t.stack.run(() => net.connect !== wrapped && scopeModule.isInstalled()), true);
    } finally {
      scopeModule.install();
    }
  });
});

describe('stack.http, stack.https, stack.fetch: bound without a scope', function () {
  const t = withStack();

  // createServer() puts the listen() wrapper in: take it off for the suites after.
  after(function () {
    scopeModule.uninstall();
  });

  it('need no scope: Node\'s modules stay untouched', function () {
    assert.equal(typeof t.stack.http.request, 'function');
    assert.equal(typeof t.stack.https.get, 'function');
    assert.equal(typeof t.stack.fetch, 'function');
    assert.equal(scopeModule.isInstalled(), false);
  });

  it('stack.http.get, stack.https.request and stack.fetch reach stack servers; node:http stays on the kernel', async function () {
    const kernel = await kernelHttp();
    try {
      const plain = await serve(t.stack.net, kernel.port, 'bound');
      const secure = await serve(t.stack.net, 443, 'bound-tls', { secure: true });
      const viaHttp = await get(t.stack.http, `http://127.0.0.1:${kernel.port}/h`);
      assert.equal(viaHttp.body, 'bound /h');
      assert.ok(!(viaHttp.socket instanceof NodeSocket));
      assert.ok(t.stack.http.globalAgent instanceof http.Agent);
      const viaHttps = await get(t.stack.https, 'https://localhost/s', { ca: cert });
      assert.equal(viaHttps.body, 'bound-tls /s');
      const viaFetch = await t.stack.fetch(`http://127.0.0.1:${kernel.port}/f`);
      assert.equal(await viaFetch.text(), 'bound /f');
      // agent: false is a fresh agent of the stack, as in Node.
      assert.equal((await get(t.stack.http, `http://127.0.0.1:${kernel.port}/n`, { agent: false })).body, 'bound /n');
      // Nothing else moved to the stack.
      assert.equal((await get(http, `http://127.0.0.1:${kernel.port}/k`)).body, 'kernel /k');
      assert.equal(await (await fetch(`http://127.0.0.1:${kernel.port}/k`)).text(), 'kernel /k');
      await plain.close();
      await secure.close();
    } finally {
      await kernel.close();
    }
  });

  it('stack.http.createServer and stack.https.createServer listen on the stack without a scope', async function () {
    const kernel = await kernelHttp();
    try {
      const app = t.stack.http.createServer((req, res) => res.end(`bound ${req.url}`));
      assert.ok(app instanceof http.Server);
      await listen(app, kernel.port);
      assert.deepEqual(app.address(), { address: '::', family: 'IPv6', port: kernel.port });
      const secure = t.stack.https.createServer({ key, cert }, (req, res) => res.end(`tls ${req.url}`));
      await listen(secure, 443, '127.0.0.1');
      assert.equal((await get(t.stack.http, `http://127.0.0.1:${kernel.port}/a`)).body, 'bound /a');
      assert.equal((await get(t.stack.https, 'https://localhost/b', { ca: cert })).body, 'tls /b');
      assert.equal((await get(http, `http://127.0.0.1:${kernel.port}/k`)).body, 'kernel /k');
      app.closeAllConnections();
      secure.closeAllConnections();
      await within(closeServer(app), 5000, 'app close');
      await within(closeServer(secure), 5000, 'secure close');
      assert.equal(app.listening, false);
    } finally {
      await kernel.close();
    }
  });

  it('the certificate is checked as Node checks it', async function () {
    const secure = await serve(t.stack.net, 443, 'x', { secure: true });
    await assert.rejects(get(t.stack.https, 'https://localhost/'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    await assert.rejects(t.stack.fetch('https://localhost/'), (err) => err.cause && err.cause.code === 'DEPTH_ZERO_SELF_SIGNED_CERT');
    const x509 = new crypto.X509Certificate(cert);
    assert.equal(x509.checkHost('localhost'), 'localhost');
    await secure.close();
  });
});
