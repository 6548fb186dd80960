'use strict';
// What only the wasm backend has: choosing it, falling back to it, its
// timers (no fixed tick), its flat memory, and instances that stay apart.
// The rest of the suite runs against it as a whole (npm run test:wasm).
const assert = require('node:assert/strict');
const path = require('node:path');
const { runChild, ROOT } = require('./helpers/child.js');
const { Stack, init } = require('..');
const { assertTransfer } = require('./helpers/transfer.js');
const { RandomStream } = require('./helpers/random.js');
const { hashStream } = require('./helpers/hash.js');
const { listen, closeServer, connect, delay, within } = require('./helpers/util.js');

const MiB = 1024 * 1024;

// The children choose their backend themselves: TCPIP_BACKEND is removed.
function runNode(code, env = {}, flags = []) {
  return runChild(code, { env: { TCPIP_BACKEND: undefined, ...env }, flags, killAfter: 20000 });
}

describe('wasm backend', function () {
  function wasmStack(addresses = ['127.0.0.1/8', '::1/128']) {
    const stack = new Stack({ backend: 'wasm' });
    stack.createLoopbackInterface({ ipAddress: addresses });
    return stack;
  }

  it("new Stack({ backend: 'wasm' }) runs on wasm; init() resolves; unknown backends are refused", async function () {
    await init();
    const stack = wasmStack();
    try {
      assert.equal(stack.backend, 'wasm');
      assert.throws(() => new Stack({ backend: 'java' }), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' });
    } finally {
      stack.destroy();
    }
  });

  it('without the addon, Node falls back to wasm with one warning line, and the stack works', async function () {
    const result = await runNode(`
      const { Stack } = require('.');
      const a = new Stack();
      const b = new Stack();
      a.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      const server = a.net.createServer((s) => s.end('hello from ' + a.backend));
      server.listen(80, () => {
        let reply = '';
        a.net.connect(80, '127.0.0.1').on('data', (d) => { reply += d; }).on('close', () => {
          console.log(JSON.stringify({ a: a.backend, b: b.backend, reply }));
          server.close(); a.destroy(); b.destroy();
        });
      });
    `, { TCPIP_ADDON_PATH: path.join(ROOT, 'no-such-addon.node') });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { a: 'wasm', b: 'wasm', reply: 'hello from wasm' });
    const warnings = result.stderr.split('\n').filter((line) => line.includes('TCPIP_WASM_FALLBACK'));
    assert.equal(warnings.length, 1, result.stderr);
    assert.match(warnings[0], /the native addon is not available .*; using the wasm backend/);
  });

  it("asking for 'native' without the addon is an error, not a silent fallback", async function () {
    const result = await runNode(`
      const { Stack } = require('.');
      try { new Stack({ backend: 'native' }); console.log('created'); }
      catch (e) { console.log(e.code); }
    `, { TCPIP_ADDON_PATH: path.join(ROOT, 'no-such-addon.node') });
    assert.equal(result.stdout.trim(), 'ERR_TCPIP_NO_ADDON', result.stderr);
  });

  it("an idle stack sleeps until lwIP's next timeout (1 s), with no polling tick", async function () {
    this.timeout(15000);
    const stack = wasmStack();
    try {
      const server = stack.net.createServer((s) => s.end('bye'));
      await listen(server, 80);
      const client = await connect(stack.net, 80, '127.0.0.1');
      client.resume();
      await new Promise((resolve) => client.on('close', resolve));
      // Connections in TIME_WAIT need TCP's 50 ms timer for 2 s; wait it out.
      await delay(2500);
      const backend = stack._backend;
      let wakeUps = 0;
      const run = backend._run;
      backend._run = function countedRun() {
        wakeUps++;
        return run.call(this);
      };
      await delay(3000);
      backend._run = run;
      // lwIP's cyclic timers (ARP, ND, reassembly) are due once a second;
      // tcpip.js's fixed 100 ms tick would wake 30 times here.
      assert.ok(wakeUps >= 1 && wakeUps <= 6, `${wakeUps} wake-ups in 3 s of idleness`);
      // Sleeping never delays an answer.
      const again = await connect(stack.net, 80, '127.0.0.1');
      again.destroy();
      await closeServer(server);
    } finally {
      stack.destroy();
    }
  });

  it('1 GiB through one stack leaves its memory where the first 64 MiB put it, and its C heap where it was', async function () {
    this.timeout(120000);
    const stack = wasmStack();
    try {
      const server = stack.net.createServer();
      const hashes = [];
      let warmingUp = true;
      server.on('connection', (socket) => {
        hashes.push(hashStream(socket));
        if (!warmingUp) return;
        // The warm-up meets the most a connection holds: a reader that
        // waits (here, or for the turn after 'connection') lets the sender
        // fill the window, TCP's send buffer and the write-ahead at once.
        socket.pause();
        setTimeout(() => socket.resume(), 300);
      });
      await listen(server, 80);
      const send = async (size) => {
        const source = new RandomStream(size);
        const client = await connect(stack.net, 80, '127.0.0.1');
        source.pipe(client);
        await within(new Promise((resolve) => client.on('close', resolve)), 100000, 'transfer');
        const result = await hashes.shift();
        assert.equal(result.bytes, size);
        assert.equal(result.hash, source.digest());
      };
      await send(64 * MiB);
      warmingUp = false;
      const memoryAfterWarmUp = stack._backend.memoryBytes();
      // Closed connections wait out TIME_WAIT (2 s) before their memory goes.
      await delay(2500);
      const heapAfterWarmUp = stack._backend.heapBytesInUse();
      for (let i = 0; i < 4; i++) await send(256 * MiB);
      const memoryAfter = stack._backend.memoryBytes();
      console.log(`      wasm memory: ${(memoryAfterWarmUp / MiB).toFixed(1)} MiB after 64 MiB, ${(memoryAfter / MiB).toFixed(1)} MiB after 1 GiB more`);
      assert.equal(memoryAfter, memoryAfterWarmUp);
      await delay(2500);
      const heapAfter = stack._backend.heapBytesInUse();
      console.log(`      C heap in use: ${heapAfterWarmUp} bytes before, ${heapAfter} bytes after`);
      assert.ok(Math.abs(heapAfter - heapAfterWarmUp) < 16 * 1024, `C heap went from ${heapAfterWarmUp} to ${heapAfter} bytes`);
      await closeServer(server);
    } finally {
      stack.destroy();
    }
  });

  it('one 32 MiB write() to a peer that does not read costs linear memory of about a window, not 32 MiB', async function () {
    this.timeout(60000);
    const stack = wasmStack();
    try {
      let accepted;
      const server = stack.net.createServer((socket) => {
        socket.pause();
        accepted = socket;
      });
      await listen(server, 80);
      const client = await connect(stack.net, 80, '127.0.0.1');
      const memoryBefore = stack._backend.memoryBytes();
      const payload = require('node:crypto').randomBytes(32 * MiB);
      const written = new Promise((resolve, reject) => client.write(payload, (error) => (error ? reject(error) : resolve())));
      client.end();
      // The peer's window and TCP's send buffer fill; the rest waits as the caller's bytes.
      await delay(500);
      const memoryWhileStalled = stack._backend.memoryBytes();
      const received = hashStream(accepted);
      accepted.resume();
      await within(written, 30000, 'the write');
      const result = await within(received, 30000, 'the read');
      assert.equal(result.bytes, payload.length);
      assert.equal(result.hash, require('node:crypto').createHash('sha256').update(payload).digest('hex'));
      const growth = memoryWhileStalled - memoryBefore;
      console.log(`      linear memory grew ${(growth / MiB).toFixed(1)} MiB while 32 MiB waited`);
      assert.ok(growth <= 8 * MiB, `linear memory grew by ${growth} bytes`);
      await closeServer(server);
    } finally {
      stack.destroy();
    }
  });

  it('each stack is its own instance: same addresses and ports, separate sockets', async function () {
    const a = wasmStack();
    const b = wasmStack();
    try {
      assert.notEqual(a._backend._memory, b._backend._memory);
      const servers = [];
      for (const [stack, name] of [[a, 'a'], [b, 'b']]) {
        const server = stack.net.createServer((s) => s.end(name));
        await listen(server, 80, '127.0.0.1');
        servers.push(server);
      }
      for (const [stack, name] of [[a, 'a'], [b, 'b']]) {
        const socket = await connect(stack.net, 80, '127.0.0.1');
        const reply = await new Promise((resolve) => {
          let text = '';
          socket.on('data', (d) => { text += d; });
          socket.on('end', () => resolve(text));
        });
        assert.equal(reply, name);
      }
      for (const server of servers) await closeServer(server);
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('init() takes the module as bytes or as a fetch Response (compileStreaming)', async function () {
    for (const how of ['bytes', 'response']) {
      const result = await runNode(`
        const fs = require('fs');
        const { init, Stack } = require('.');
        const bytes = fs.readFileSync('dist/wasm/tcpip.wasm');
        const wasm = ${JSON.stringify(how)} === 'bytes'
          ? bytes : new Response(bytes, { headers: { 'content-type': 'application/wasm' } });
        init({ wasm }).then(() => {
          const stack = new Stack({ backend: 'wasm' });
          stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
          const server = stack.net.createServer((s) => s.end('ok')).listen(80, () => {
            let reply = '';
            stack.net.connect(80, '127.0.0.1').on('data', (d) => { reply += d; }).on('close', () => {
              console.log(reply);
              server.close();
              stack.destroy();
            });
          });
        });
      `, { TCPIP_WASM_PATH: path.join(ROOT, 'no-such-module.wasm') });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), 'ok', how);
    }
  });

  it('an exception in a handler is an uncaught exception, and the events after it still arrive', async function () {
    const result = await runNode(`
      const { Stack } = require('.');
      const stack = new Stack({ backend: 'wasm' });
      stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      const caught = [];
      process.on('uncaughtException', (error) => caught.push(error.message));
      const server = stack.net.createServer((s) => {
        s.end('reply');
        throw new Error('thrown in the connection handler');
      }).listen(80, () => {
        let reply = '';
        stack.net.connect(80, '127.0.0.1').on('data', (d) => { reply += d; }).on('close', () => {
          console.log(JSON.stringify({ caught, reply }));
          server.close();
          stack.destroy();
        });
      });
    `);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { caught: ['thrown in the connection handler'], reply: 'reply' });
  });

  it('destroy() from inside a data handler stops delivery at once; the process exits', async function () {
    const result = await runNode(`
      const { Stack } = require('.');
      const stack = new Stack({ backend: 'wasm' });
      stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      let after = 0;
      const events = [];
      stack.net.createServer((s) => s.on('error', () => {}).end(Buffer.alloc(4 << 20))).listen(80, () => {
        const c = stack.net.connect(80, '127.0.0.1');
        c.on('error', (e) => events.push(e.code));
        c.on('data', () => {
          if (stack.destroyed) after++;
          else stack.destroy();
        });
        c.on('close', () => events.push('close'));
      });
      process.on('exit', () => console.log(JSON.stringify({ after, events })));
    `);
    assert.equal(result.code, 0, result.stderr);
    const { after, events } = JSON.parse(result.stdout);
    assert.equal(after, 0, 'no data after destroy()');
    assert.deepEqual(events, ['ECONNABORTED', 'close']);
  });

  it('fake timers installed after require() do not stop TCP or link latency', async function () {
    const result = await runNode(`
      const { Stack, link } = require('.');
      // What sinon's fake timers do to the globals: time stands still.
      const frozen = Date.now();
      Date.now = () => frozen;
      performance.now = () => 0;
      globalThis.setTimeout = () => 0;
      globalThis.setInterval = () => 0;
      globalThis.setImmediate = () => 0;
      globalThis.clearTimeout = () => {};
      const a = new Stack({ backend: 'wasm' });
      const b = new Stack({ backend: 'wasm' });
      const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24' });
      const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24' });
      link(ia, ib, { latency: 20 });
      const server = b.net.createServer((s) => s.end('through the link')).listen(80, () => {
        let reply = '';
        a.net.connect(80, '10.0.0.2').on('data', (d) => { reply += d; }).on('close', () => {
          console.log(reply);
          server.close();
          a.destroy();
          b.destroy();
        });
      });
    `);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'through the link');
  });

  it('a stack nobody holds is garbage once nothing is open on it; one with a listening server, even unref()ed, is not', async function () {
    const result = await runNode(`
      const { Stack } = require('.');
      const collected = [];
      const registry = new FinalizationRegistry((name) => collected.push(name));
      function make(name) {
        const stack = new Stack({ backend: 'wasm' });
        stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
        registry.register(stack, name);
        return stack;
      }
      function exchangeAndDrop() {
        const stack = make('finished');
        return new Promise((resolve) => {
          const server = stack.net.createServer((c) => c.end('x')).listen(80, () => {
            stack.net.connect(80, '127.0.0.1').resume().on('close', () => server.close(resolve));
          });
        });
      }
      const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      (async () => {
        await exchangeAndDrop();
        make('listening').net.createServer().listen(80);
        make('unref').net.createServer().listen(80).unref();
        // TIME_WAIT timers still run on the dropped stack for 2 s: it goes anyway.
        for (let i = 0; i < 50 && !collected.includes('finished'); i++) {
          await pause(100);
          global.gc();
        }
        await pause(100);
        global.gc();
        await pause(100);
        console.log(JSON.stringify(collected));
        process.exit(0);
      })();
    `, {}, ['--expose-gc']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), ['finished']);
  });

  it('two wasm stacks joined by TUN hooks in JS carry 32 MiB byte-exact', async function () {
    this.timeout(60000);
    const wa = new Stack({ backend: 'wasm' });
    const wb = new Stack({ backend: 'wasm' });
    try {
      const ia = wa.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 65535 });
      const ib = wb.createTunInterface({ ipAddress: '10.0.0.2/24', mtu: 65535 });
      ia.on('packet', (packet) => ib.send(packet));
      ib.on('packet', (packet) => ia.send(packet));
      await assertTransfer(wa, wb, '10.0.0.2', 32 * MiB);
    } finally {
      wa.destroy();
      wb.destroy();
    }
  });
});
