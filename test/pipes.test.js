'use strict';
// What is not TCP/IP in Node's net: Unix-domain sockets (paths, abstract
// names) and kernel descriptors, served through the kernel and wrapped in
// stack.net's own Socket and Server; compared with node:net.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { withStack } = require('./helpers/stack.js');
const { runBoth, errorShape, thrownShape } = require('./helpers/oracle.js');
const { recordSocket, track, closed } = require('./helpers/events.js');
const { runChild, ROOT } = require('./helpers/child.js');
const {
  closeServer, nextEvent, readAll, within,
} = require('./helpers/util.js');

const isLinux = process.platform === 'linux';

/** The path in an error or a value replaced, to compare two runs on two paths. */
function withoutPath(value, socketPath) {
  if (typeof value === 'string') return value.split(socketPath).join('<path>');
  if (value && typeof value === 'object') {
    const out = {};
    for (const [key, item] of Object.entries(value)) out[key] = withoutPath(item, socketPath);
    return out;
  }
  return value;
}

function listening(server, ...args) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(...args, () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  });
}

describe('Unix-domain sockets and descriptors (through the kernel)', function () {
  const t = withStack();
  let dir;
  let counter = 0;
  // A fresh socket path per call: the node:net run and the stack's each
  // listen on their own.
  const socketPath = (name = 'sock') => path.join(dir, `${name}-${counter++}`);

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-pipes-'));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('listen(path) and connect(path)', function () {
    it('an echo over a path: the same events, addresses and states as node:net', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const where = socketPath();
        const log = [];
        const server = net.createServer((socket) => {
          log.push(['server connection', socket instanceof net.Socket, socket.address(), socket.remoteAddress,
            socket.remotePort, socket.server === server]);
          socket.pipe(socket);
        });
        const returned = server.listen(where);
        log.push(['listen() returned', returned === server, server.listening, server.address() === where]);
        await nextEvent(server, 'listening');
        log.push(['listening', fs.statSync(where).isSocket()]);
        const client = net.connect(where);
        const events = recordSocket(client);
        log.push(['connecting', client.connecting, client.pending, client.readyState]);
        await nextEvent(client, 'connect');
        log.push(['connected', client.connecting, client.pending, client.readyState, client.address(),
          client.remoteAddress, client.localAddress, client.remoteFamily]);
        client.end('ping');
        const echoed = await readAll(client);
        await closed(client);
        log.push(['echoed', String(echoed), client.bytesRead, client.bytesWritten, client.destroyed]);
        log.push(['client events', events.map((e) => e[0])]);
        await closeServer(server);
        log.push(['closed', server.listening, server.address() === where, fs.existsSync(where)]);
        return log;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack[0], ['listen() returned', true, true, true]);
      assert.deepEqual(stack.find((e) => e[0] === 'server connection'),
        ['server connection', true, {}, undefined, undefined, true]);
      assert.deepEqual(stack.find((e) => e[0] === 'closed'), ['closed', false, true, false]);
    });

    it('every overload of connect(path) and listen(path) works, as in Node', async function () {
      const server = t.net.createServer((socket) => socket.end('ok'));
      const where = socketPath();
      await listening(server, { path: where });
      const clients = [
        t.net.connect(where),
        t.net.connect({ path: where }),
        t.net.createConnection(where),
        t.net.createConnection({ path: where }),
        new t.net.Socket().connect(where),
        new t.net.Socket().connect({ path: where }),
      ];
      const replies = await within(Promise.all(clients.map(readAll)), 5000, 'replies');
      assert.deepEqual(replies.map(String), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
      for (const client of clients) assert.ok(client instanceof t.net.Socket);
      await closeServer(server);
      for (const args of [[socketPath()], [{ path: socketPath() }], [socketPath(), 5]]) {
        const other = t.net.createServer();
        await listening(other, ...args);
        assert.equal(other.address(), typeof args[0] === 'string' ? args[0] : args[0].path);
        await closeServer(other);
      }
    });

    it('a path wins over a port in connect(), and a port wins over a path in listen(), as in Node', async function () {
      const where = socketPath();
      const server = t.net.createServer((socket) => socket.end('path'));
      await listening(server, where);
      const client = t.net.connect({ path: where, port: 80 });
      assert.equal(String(await readAll(client)), 'path');
      await closeServer(server);
      const tcp = t.net.createServer();
      await listening(tcp, { path: socketPath(), port: 0 });
      assert.equal(typeof tcp.address(), 'object');
      assert.equal(tcp.address().family, 'IPv6');
      await closeServer(tcp);
    });

    it('connect() to a missing path fails with ENOENT exactly as node:net', async function () {
      const where = path.join(dir, 'missing');
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const client = net.connect(where);
        const events = recordSocket(client);
        const [error] = await nextEvent(client, 'error');
        await closed(client);
        return { error: errorShape(error), events: events.map((e) => e[0]) };
      });
      assert.deepEqual(stack, node);
      assert.equal(stack.error.message, `connect ENOENT ${where}`);
      assert.equal(stack.error.address, where);
    });

    it('connect() to a file that is not a socket fails as node:net does (ECONNREFUSED on Linux)', async function () {
      const file = path.join(dir, 'not-a-socket');
      fs.writeFileSync(file, '');
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const client = net.connect(file);
        return errorShape((await nextEvent(client, 'error'))[0]);
      });
      assert.deepEqual(stack, node);
      assert.ok(['ECONNREFUSED', 'ENOTSOCK'].includes(stack.code));
    });

    it('listen() on a path in use fails with EADDRINUSE, and one in a missing directory with ENOENT, as node:net', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const where = socketPath();
        const first = net.createServer();
        await listening(first, where);
        const second = net.createServer();
        second.listen({ path: where, writableAll: true });
        const state = [second.listening, second.address() === where];
        const inUse = withoutPath(errorShape((await nextEvent(second, 'error'))[0]), where);
        await closeServer(first);
        const missing = path.join(dir, 'no-such-dir', 'sock');
        const third = net.createServer();
        third.listen(missing);
        const notFound = errorShape((await nextEvent(third, 'error'))[0]);
        return { state, inUse, notFound, listening: third.listening };
      });
      assert.deepEqual(stack, node);
      assert.equal(stack.inUse.code, 'EADDRINUSE');
      assert.match(stack.inUse.message, /^listen EADDRINUSE: address already in use <path>$/);
    });

    it('connect({ path }) with a path that is not a string throws ERR_INVALID_ARG_TYPE, as node:net', async function () {
      const { node, stack } = await runBoth(t.stack, ({ net }) => [
        thrownShape(() => net.createConnection({ path: {} })),
        thrownShape(() => net.connect({ path: 5 })),
        thrownShape(() => net.connect({})),
      ]);
      assert.deepEqual(stack, node);
      assert.equal(stack[0].code, 'ERR_INVALID_ARG_TYPE');
      assert.equal(stack[2].code, 'ERR_MISSING_ARGS');
    });

    it('readableAll and writableAll set the socket file\'s mode, as node:net', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const modes = [];
        for (const options of [{}, { readableAll: true }, { writableAll: true }, { readableAll: true, writableAll: true }]) {
          const where = socketPath();
          const server = net.createServer();
          await listening(server, { path: where, ...options });
          modes.push(fs.statSync(where).mode & (fs.constants.S_IROTH | fs.constants.S_IWOTH));
          await closeServer(server);
        }
        return modes;
      });
      assert.deepEqual(stack, node);
      assert.equal(stack[3], fs.constants.S_IROTH | fs.constants.S_IWOTH);
    });

    it('a server over its connection limit drops a connection with a bare "drop", as node:net', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const where = socketPath();
        const server = net.createServer((socket) => socket.resume());
        server.maxConnections = 1;
        await listening(server, where);
        const first = net.connect(where);
        await nextEvent(server, 'connection');
        const dropArgs = new Promise((resolve) => server.once('drop', (...args) => resolve(args)));
        const second = net.connect(where);
        second.on('error', () => {});
        const args = await within(dropArgs, 5000, 'drop');
        await Promise.all([closed(second), new Promise((resolve) => {
          first.destroy();
          first.once('close', resolve);
        })]);
        await closeServer(server);
        return args;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, []);
    });

    it('a half-open connection over a path works as with TCP (allowHalfOpen)', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const where = socketPath();
        const log = [];
        const server = net.createServer({ allowHalfOpen: true }, (socket) => {
          socket.resume();
          socket.on('end', () => {
            log.push(['server end', socket.writable, socket.readable]);
            socket.end('late reply');
          });
        });
        await listening(server, where);
        const client = net.connect({ path: where, allowHalfOpen: true });
        await nextEvent(client, 'connect');
        client.end('request');
        log.push(['client after end', client.writable]);
        log.push(['reply', String(await readAll(client))]);
        await closed(client);
        await closeServer(server);
        return log;
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack[2], ['reply', 'late reply']);
    });

    it('4 MiB through a path, with a paused reader, arrives whole and in order', async function () {
      const where = socketPath();
      const size = 4 * 1024 * 1024;
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >> 12)) & 0xff;
      const server = t.net.createServer((socket) => socket.end(data));
      await listening(server, where);
      const client = t.net.connect(where);
      client.pause();
      await nextEvent(client, 'connect');
      // A reader that stays paused stops the writer through the kernel.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(client.readableLength < size, `paused reader buffered ${client.readableLength} bytes`);
      client.resume();
      const received = await within(readAll(client), 15000, '4 MiB');
      assert.equal(received.length, size);
      assert.ok(received.equals(data));
      await closeServer(server);
    });

    it('writev() over a path sends corked writes at once, as node:net', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const where = socketPath();
        let writevCalls = 0;
        const server = net.createServer((socket) => {
          const writev = socket._writev.bind(socket);
          socket._writev = (chunks, cb) => {
            writevCalls++;
            writev(chunks, cb);
          };
          socket.cork();
          socket.write('pi');
          socket.write('ng');
          socket.end();
        });
        await listening(server, where);
        const reply = String(await readAll(net.connect(where)));
        await closeServer(server);
        return { reply, writevCalls };
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, { reply: 'ping', writevCalls: 1 });
    });

    it('resetAndDestroy() on a Unix-domain socket throws ERR_INVALID_HANDLE_TYPE, as node:net', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const where = socketPath();
        const server = net.createServer((socket) => socket.resume());
        await listening(server, where);
        const client = net.connect(where);
        await nextEvent(client, 'connect');
        const shape = thrownShape(() => client.resetAndDestroy());
        client.destroy();
        await closed(client);
        await closeServer(server);
        return shape;
      });
      assert.deepEqual(stack, node);
      assert.equal(stack.code, 'ERR_INVALID_HANDLE_TYPE');
    });

    it('stack.destroy() ends the stack\'s Unix-domain servers and sockets too', async function () {
      const stackOfItsOwn = t.createStack();
      const where = socketPath();
      const server = stackOfItsOwn.net.createServer((socket) => socket.resume());
      await listening(server, where);
      const client = track(stackOfItsOwn.net.connect(where));
      await nextEvent(client, 'connect');
      const serverClosed = nextEvent(server, 'close');
      const clientClosed = closed(client);
      stackOfItsOwn.destroy();
      await within(Promise.all([serverClosed, clientClosed]), 5000, 'close');
      assert.equal(server.listening, false);
      assert.equal(fs.existsSync(where), false);
    });

    it('an unref()ed Unix-domain server does not keep the process alive; a ref()ed one does', async function () {
      const where = socketPath();
      const script = (unref) => `
        const { Stack } = require('.');
        const stack = new Stack();
        stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
        const server = stack.net.createServer().listen(${JSON.stringify(where)}, () => console.log('listening'));
        ${unref ? 'server.unref();' : 'setTimeout(() => { console.log("closing"); server.close(); }, 300);'}
      `;
      const unrefed = await runChild(script(true));
      assert.equal(unrefed.code, 0, unrefed.stderr);
      assert.equal(unrefed.stdout, 'listening\n');
      const refed = await runChild(script(false));
      assert.equal(refed.code, 0, refed.stderr);
      assert.equal(refed.stdout, 'listening\nclosing\n');
    });
  });

  describe('abstract sockets (Linux)', function () {
    before(function () {
      if (!isLinux) this.skip();
    });

    it('listen() and connect() on an abstract name, with no file, as node:net', async function () {
      const { node, stack } = await runBoth(t.stack, async ({ net, kind }) => {
        const name = `\0tcpip-test-${process.pid}-${kind}-${counter++}`;
        const server = net.createServer((socket) => socket.end('abstract'));
        await listening(server, name);
        const address = server.address() === name;
        const reply = String(await readAll(net.connect(name)));
        await closeServer(server);
        return { address, reply };
      });
      assert.deepEqual(stack, node);
      assert.deepEqual(stack, { address: true, reply: 'abstract' });
    });

    it('readableAll or writableAll on an abstract name throws what node:net throws', async function () {
      const { node, stack } = await runBoth(t.stack, ({ net }) => [
        thrownShape(() => net.createServer().listen({ path: '\0abstract', readableAll: true })),
        thrownShape(() => net.createServer().listen({ path: '\0abstract', writableAll: true })),
      ]);
      assert.deepEqual(stack, node);
      assert.equal(stack[0].code, 'ERR_INVALID_ARG_VALUE');
      assert.match(stack[0].message, /can not set readableAll or writableAllt to true when path is abstract unix socket/);
    });
  });

  describe('descriptors and handles', function () {
    it('listen({ fd }) and new Socket({ fd }) refuse what is no stream, with node:net\'s errors', async function () {
      const file = path.join(dir, 'plain-file');
      fs.writeFileSync(file, 'x');
      const fd = fs.openSync(file, 'r');
      try {
        const { node, stack } = await runBoth(t.stack, async ({ net }) => {
          const thrown = [
            thrownShape(() => new net.Socket({ fd })),
            thrownShape(() => new net.Socket(fd)),
            thrownShape(() => new net.Socket({ fd: -1 })),
            thrownShape(() => new net.Socket({ fd: 'x' })),
            thrownShape(() => new net.Socket({ fd: 2 ** 31 - 1 })),
            // A handle that is not there is no handle: a plain socket.
            thrownShape(() => new net.Socket({ handle: null }).destroy()),
          ];
          const server = net.createServer();
          server.listen({ fd });
          const emitted = errorShape((await nextEvent(server, 'error'))[0]);
          return { thrown, emitted, listening: server.listening };
        });
        assert.deepEqual(stack, node);
        assert.equal(stack.thrown[0].message, 'Unsupported fd type: FILE');
        assert.equal(stack.thrown[5], 'no throw');
        assert.equal(stack.emitted.message, 'listen EINVAL: invalid argument');
        assert.equal(fs.fstatSync(fd).isFile(), true, 'the refused descriptor is still open');
      } finally {
        fs.closeSync(fd);
      }
    });

    it('a kernel TCP socket is no stack socket: refused as Node refuses a descriptor it cannot use', async function () {
      const { nodeNet } = require('./helpers/oracle.js');
      const kernelServer = nodeNet.createServer();
      await listening(kernelServer, 0, '127.0.0.1');
      try {
        const server = t.net.createServer();
        server.listen(kernelServer);
        const [error] = await nextEvent(server, 'error');
        assert.deepEqual(errorShape(error), errorShape(Object.assign(new Error('listen EINVAL: invalid argument'), {
          code: 'EINVAL', errno: -os.constants.errno.EINVAL, syscall: 'listen', address: null,
        })));
        assert.equal(server.listening, false);
        const { fd } = kernelServer._handle;
        assert.throws(() => new t.net.Socket({ fd }), { code: 'ERR_INVALID_FD_TYPE', message: 'Unsupported fd type: TCP' });
        assert.equal(kernelServer.listening, true, 'the kernel server is untouched');
      } finally {
        await closeServer(kernelServer);
      }
    });

    it('listen(server) takes over a listening Unix-domain socket, as listen({ fd }) does', async function () {
      if (!isLinux) this.skip();
      // The descriptor goes to a child whose stack listens on it; the parent
      // closes its own and connects: the child's stack.net server answers.
      const { nodeNet } = require('./helpers/oracle.js');
      const name = `\0tcpip-fd-${process.pid}-${counter++}`;
      const origin = nodeNet.createServer();
      await listening(origin, name);
      const child = spawn(process.execPath, ['-e', `
        const { Stack } = require('.');
        const stack = new Stack();
        const server = stack.net.createServer((socket) => {
          socket.end('served by the stack: ' + (socket instanceof stack.net.Socket));
          server.close();
          server.on('close', () => stack.destroy());
        });
        server.listen({ fd: 3 }, () => console.log(JSON.stringify({ listening: server.listening, address: server.address() })));
      `], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', origin._handle.fd] });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const [line] = await within(nextEvent(child.stdout, 'data'), 10000, 'the child listening');
      assert.deepEqual(JSON.parse(String(line)), { listening: true, address: null });
      await closeServer(origin);
      const reply = String(await within(readAll(nodeNet.connect(name)), 5000, 'reply'));
      assert.equal(reply, 'served by the stack: true');
      assert.equal(await within(exited, 10000, 'child exit'), 0);
    });

    it('new Socket({ fd }) over a Unix-domain socket descriptor reads and writes it, as node:net', async function () {
      // A child's stdin and stdout made by Node are Unix-domain socket pairs.
      const code = (kind) => `
        const { Stack } = require('.');
        const stack = new Stack();
        const net = ${kind === 'node' ? "require('node:net')" : 'stack.net'};
        const input = new net.Socket({ fd: 0, readable: true, writable: false });
        const output = new net.Socket({ fd: 1, readable: false, writable: true });
        const state = [input.connecting, input.pending, input.readyState, output.readyState];
        let text = '';
        input.setEncoding('utf8');
        input.on('data', (d) => { text += d; });
        input.on('end', () => {
          output.end(JSON.stringify({ state, text, instance: input instanceof net.Socket }));
          output.on('close', () => stack.destroy());
        });
      `;
      const results = {};
      for (const kind of ['node', 'stack']) {
        const child = spawn(process.execPath, ['-e', code(kind)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
        child.stdin.end('through a descriptor');
        results[kind] = JSON.parse(String(await within(readAll(child.stdout), 10000, `${kind} child`)));
      }
      assert.deepEqual(results.stack, results.node);
      assert.equal(results.stack.text, 'through a descriptor');
    });

    it('new Socket(fd), the legacy number form, opens the descriptor as { fd } does, as node:net', async function () {
      const code = (kind) => `
        const { Stack } = require('.');
        const stack = new Stack();
        const net = ${kind === 'node' ? "require('node:net')" : 'stack.net'};
        const socket = new net.Socket(3);
        const state = [socket.readable, socket.writable, socket.readyState, socket instanceof net.Socket];
        socket.end('through fd 3', () => {
          socket.destroy();
          stack.destroy();
          console.log(JSON.stringify(state));
        });
      `;
      const results = {};
      for (const kind of ['node', 'stack']) {
        const child = spawn(process.execPath, ['-e', code(kind)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
        const [state, written] = await within(Promise.all([readAll(child.stdout), readAll(child.stdio[3])]), 10000, `${kind} child`);
        results[kind] = { state: JSON.parse(String(state)), written: String(written) };
      }
      assert.deepEqual(results.stack, results.node);
      assert.deepEqual(results.stack, { state: [true, true, 'open', true], written: 'through fd 3' });
    });
  });
});
