'use strict';
// Stack isolation, destroy() and the process lifetime (ref/unref).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { Stack } = require('..');
const { createStack, teardown } = require('./helpers/stack.js');
const { listen, connect, readAll, nextEvent, closeServer, waitFor, within } = require('./helpers/util.js');

const { runChild, ROOT } = require('./helpers/child.js');

const PRELUDE = `
  const { Stack } = require(${JSON.stringify(ROOT)});
  const stack = new Stack();
  stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
`;

function threadCount() {
  return fs.readdirSync('/proc/self/task').length;
}

describe('Stack', function () {
  const stacks = [];
  function make(addresses) {
    const s = createStack(addresses);
    stacks.push(s);
    return s;
  }
  afterEach(function () {
    while (stacks.length) teardown(stacks.pop());
  });

  describe('isolation', function () {
    it('two stacks both listen on 127.0.0.1:80 and each client reaches its own server', async function () {
      const a = make();
      const b = make();
      const seenA = [];
      const seenB = [];
      const serverA = a.net.createServer((s) => { seenA.push(s.remotePort); s.end('A'); });
      const serverB = b.net.createServer((s) => { seenB.push(s.remotePort); s.end('B'); });
      await listen(serverA, 80, '127.0.0.1');
      await listen(serverB, 80, '127.0.0.1');
      assert.deepEqual(serverA.address(), { address: '127.0.0.1', family: 'IPv4', port: 80 });
      assert.deepEqual(serverB.address(), { address: '127.0.0.1', family: 'IPv4', port: 80 });

      for (let i = 0; i < 3; i++) {
        const ca = await connect(a.net, 80, '127.0.0.1');
        const cb = await connect(b.net, 80, '127.0.0.1');
        assert.equal(String(await readAll(ca)), 'A');
        assert.equal(String(await readAll(cb)), 'B');
      }
      assert.equal(seenA.length, 3);
      assert.equal(seenB.length, 3);
      await closeServer(serverA);
      await closeServer(serverB);
    });

    it('a stack without a listener refuses, even while another stack listens on the same address', async function () {
      const a = make();
      const b = make();
      let accepted = 0;
      const serverA = a.net.createServer((s) => { accepted++; s.destroy(); });
      await listen(serverA, 80, '127.0.0.1');
      const client = b.net.connect(80, '127.0.0.1');
      const [err] = await nextEvent(client, 'error');
      assert.equal(err.code, 'ECONNREFUSED');
      assert.equal(accepted, 0);
      await closeServer(serverA);
    });

    it('closing one stack\'s server or destroying a stack leaves the other working', async function () {
      const a = make();
      const b = make();
      const serverA = a.net.createServer((s) => s.end('A'));
      const serverB = b.net.createServer((s) => s.end('B'));
      await listen(serverA, 80);
      await listen(serverB, 80);
      a.destroy();
      const cb = await connect(b.net, 80, '::1');
      assert.equal(String(await readAll(cb)), 'B');
      await closeServer(serverB);
    });

    it('the same port numbers are handed out independently (ephemeral ports do not collide across stacks)', async function () {
      const a = make();
      const b = make();
      const sa = a.net.createServer((s) => s.end(String(s.remotePort)));
      const sb = b.net.createServer((s) => s.end(String(s.remotePort)));
      await listen(sa, 0);
      await listen(sb, sa.address().port, '::');
      // b listens on the port a chose: isolation means no EADDRINUSE.
      assert.equal(sb.address().port, sa.address().port);
      const ca = await connect(a.net, sa.address().port, '127.0.0.1');
      const cb = await connect(b.net, sb.address().port, '127.0.0.1');
      assert.equal(String(await readAll(ca)), String(ca.localPort));
      assert.equal(String(await readAll(cb)), String(cb.localPort));
      await closeServer(sa);
      await closeServer(sb);
    });
  });

  describe('construction', function () {
    it('validates its options', function () {
      assert.throws(() => new Stack('native'), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
      assert.throws(() => new Stack({ backend: 'nope' }), { code: 'ERR_INVALID_ARG_VALUE' });
    });

    it('createLoopbackInterface validates addresses and reports the interface', function () {
      const s = new Stack();
      stacks.push(s);
      assert.throws(() => s.createLoopbackInterface({ ipAddress: '300.1.1.1/8' }), { code: 'ERR_INVALID_IP_ADDRESS' });
      assert.throws(() => s.createLoopbackInterface({ ipAddress: '127.0.0.1/33' }), { code: 'ERR_INVALID_ARG_VALUE' });
      assert.throws(() => s.createLoopbackInterface({ ipAddress: 5 }), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => s.createLoopbackInterface(), { code: 'ERR_INVALID_ARG_TYPE' });
      const iface = s.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1'] });
      assert.equal(iface.type, 'loopback');
      assert.deepEqual([...iface.ipAddresses], ['127.0.0.1/8', '::1/128']);
      assert.equal(s.interfaces.length, 1);
    });
  });

  describe('destroy()', function () {
    it('ends servers and connections on both sides, empties the handle table, and is idempotent', async function () {
      const s = make();
      const server = s.net.createServer();
      const accepted = [];
      server.on('connection', (sock) => { accepted.push(sock); sock.on('error', () => {}); });
      await listen(server, 80);
      const clients = [];
      for (let i = 0; i < 5; i++) {
        const c = await connect(s.net, 80, '127.0.0.1');
        c.on('error', () => {});
        clients.push(c);
      }
      await waitFor(() => accepted.length === 5, 2000, 'all accepted');
      assert.ok(s._handles.size >= 11, `handles before destroy: ${s._handles.size}`);
      const closes = [...clients, ...accepted].map((sock) => nextEvent(sock, 'close', 3000));
      const serverClosed = nextEvent(server, 'close', 3000);
      s.destroy();
      assert.equal(s.destroyed, true);
      assert.equal(s._handles.size, 0);
      await Promise.all(closes);
      await serverClosed;
      for (const sock of [...clients, ...accepted]) assert.equal(sock.destroyed, true);
      assert.equal(server.listening, false);
      s.destroy(); // a second call is harmless
    });

    it('rejects use afterwards with a clear error', function () {
      const s = make();
      s.destroy();
      assert.throws(() => s.createLoopbackInterface({ ipAddress: '10.0.0.1/8' }), { code: 'ERR_TCPIP_STACK_DESTROYED' });
    });

    it('a connect() issued after destroy() fails instead of hanging', async function () {
      const s = make();
      s.destroy();
      let socket;
      try {
        socket = s.net.connect(80, '127.0.0.1');
      } catch (err) {
        // Throwing synchronously is acceptable too.
        assert.ok(err instanceof Error);
        return;
      }
      const errored = nextEvent(socket, 'error', 3000);
      const closed = nextEvent(socket, 'close', 3000);
      const [err] = await errored;
      assert.ok(err instanceof Error);
      assert.deepEqual(await closed, [true]);
    });

    it('joins the worker thread: 20 stacks created and destroyed leave no threads behind', async function () {
      const before = threadCount();
      for (let i = 0; i < 20; i++) {
        const s = createStack();
        const server = s.net.createServer((sock) => sock.end('x'));
        await listen(server, 80);
        const c = await connect(s.net, 80, '127.0.0.1');
        assert.equal(String(await readAll(c)), 'x');
        s.destroy();
      }
      // Threads are joined in destroy(); allow libuv's pool no part in this.
      await waitFor(() => threadCount() <= before, 3000, `thread count back to ${before} (now ${threadCount()})`);
    });
  });

  describe('process lifetime', function () {
    this.timeout(20000);

    it('the process exits by itself after a full exchange without destroy()', async function () {
      const r = await runChild(`${PRELUDE}
        const server = stack.net.createServer((s) => s.pipe(s)).listen(80, () => {
          const c = stack.net.connect(80, '127.0.0.1', () => c.end('ping'));
          let got = '';
          c.on('data', (d) => { got += d; });
          c.on('close', () => { server.close(() => console.log('done:' + got)); });
        });
      `);
      assert.equal(r.stderr, '');
      assert.equal(r.signal, null, `child killed; stdout=${r.stdout}`);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), 'done:ping');
      assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    });

    it('an idle stack (no servers, no sockets) does not keep the process alive', async function () {
      const r = await runChild(`${PRELUDE} console.log('ok');`);
      assert.equal(r.signal, null);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), 'ok');
      assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    });

    it('a listening server keeps the process alive until it is closed', async function () {
      const r = await runChild(`${PRELUDE}
        const server = stack.net.createServer().listen(80, () => console.log('listening'));
        setTimeout(() => { console.log('closing'); server.close(() => console.log('closed')); }, 700).unref();
      `);
      assert.equal(r.signal, null);
      assert.equal(r.code, 0);
      assert.deepEqual(r.stdout.trim().split('\n'), ['listening', 'closing', 'closed']);
      assert.ok(r.ms >= 600, `exited after ${r.ms} ms, before the server was closed`);
      assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    });

    it('an unref()ed listening server does not keep the process alive; ref() restores it', async function () {
      const r = await runChild(`${PRELUDE}
        const server = stack.net.createServer().listen(80, () => { console.log('listening'); server.unref(); });
        setTimeout(() => console.log('still alive'), 3000).unref();
      `);
      assert.equal(r.signal, null);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), 'listening');
      // (A process held open would have printed 'still alive' at 3 s.)

      const r2 = await runChild(`${PRELUDE}
        const server = stack.net.createServer().listen(80, () => { server.unref(); server.ref(); });
        setTimeout(() => { console.log('timer'); server.close(); }, 700).unref();
      `);
      assert.equal(r2.code, 0);
      assert.equal(r2.stdout.trim(), 'timer');
    });

    it('an open connection keeps the process alive; unref()ed sockets do not', async function () {
      const r = await runChild(`${PRELUDE}
        const server = stack.net.createServer((s) => {
          server.close();
          s.on('end', () => { console.log('server saw end'); s.end(); });
        }).listen(80, () => {
          server.unref();
          const c = stack.net.connect(80, '127.0.0.1');
          c.resume();
          setTimeout(() => { console.log('ending'); c.end(); }, 700).unref();
        });
      `);
      assert.equal(r.signal, null);
      assert.equal(r.code, 0);
      assert.deepEqual(r.stdout.trim().split('\n'), ['ending', 'server saw end']);

      const r2 = await runChild(`${PRELUDE}
        const server = stack.net.createServer((s) => { s.unref(); console.log('accepted'); }).listen(80, () => {
          server.unref();
          const c = stack.net.connect(80, '127.0.0.1', () => c.unref());
          setTimeout(() => console.log('still alive'), 3000).unref();
        });
      `);
      assert.equal(r2.signal, null);
      assert.equal(r2.code, 0);
      assert.equal(r2.stdout.trim(), 'accepted');
      // (A process held open would have printed 'still alive' at 3 s.)
    });

    it('a pending connect keeps the process alive until it settles', async function () {
      const r = await runChild(`${PRELUDE}
        const c = stack.net.connect(81, '127.0.0.1');
        c.on('error', (e) => console.log(e.code));
      `);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), 'ECONNREFUSED');
    });

    it('stack.destroy() with everything open lets the process exit at once', async function () {
      const r = await runChild(`${PRELUDE}
        const server = stack.net.createServer((s) => s.on('error', () => {})).listen(80, () => {
          const c = stack.net.connect(80, '127.0.0.1', () => {
            c.on('error', () => {});
            c.write('x');
            setImmediate(() => { stack.destroy(); console.log('destroyed'); });
          });
        });
      `);
      assert.equal(r.stderr, '');
      assert.equal(r.signal, null);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), 'destroyed');
      assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    });
  });

  it('the test process itself has no stack keeping it busy (sanity for exit:false)', async function () {
    const s = make();
    const server = s.net.createServer();
    await listen(server, 80);
    await within(closeServer(server), 2000, 'server close');
    assert.equal(s._refed.size, 0);
  });
});
