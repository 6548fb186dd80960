'use strict';
// Native stacks whose core runs on the JS thread ({ thread: 'js' }):
// linked to each other and to worker stacks, many on one thread with their
// own lwIP state each, destroyed while busy, and a process that an
// unreferenced stack does not keep alive. Native-only: skipped on the
// suite's wasm run.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { link, Stack } = require('..');
const { teardown, DEFAULT_BACKEND } = require('./helpers/stack.js');
const { assertTransfer } = require('./helpers/transfer.js');
const { runChild, ROOT } = require('./helpers/child.js');
const { listen, closeServer, within } = require('./helpers/util.js');

const MiB = 1024 * 1024;

(DEFAULT_BACKEND === 'native' ? describe : describe.skip)(`native stacks on the JS thread${DEFAULT_BACKEND === 'native' ? '' : ' (native-only: skipped, the suite runs on the wasm backend)'}`, function () {
  let stacks = [];
  function stack(thread = 'js') {
    const s = new Stack({ backend: 'native', thread });
    stacks.push(s);
    return s;
  }
  afterEach(function () {
    for (const s of stacks) teardown(s);
    stacks = [];
  });

  function linkedPair(threadA, threadB) {
    const a = stack(threadA);
    const b = stack(threadB);
    const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 65535 });
    const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24', mtu: 65535 });
    const l = link(ia, ib);
    assert.equal(l._engineType, 'native');
    return { a, b, l };
  }

  it('the option and its default: thread is reported, and bad values are refused', function () {
    assert.equal(stack('js').thread, 'js');
    assert.equal(stack('worker').thread, 'worker');
    assert.throws(() => new Stack({ backend: 'native', thread: 'main' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.equal(new Stack({ backend: 'wasm', thread: 'worker' }).thread, 'js');
  });

  it('without the option a native stack runs on the JS thread (Linux), or where TCPIP_NATIVE_THREAD says', async function () {
    const code = "const { Stack } = require('.'); const s = new Stack({ backend: 'native' }); console.log(s.thread); s.destroy();";
    const unset = await runChild(code, { env: { TCPIP_NATIVE_THREAD: undefined } });
    assert.equal(unset.code, 0, unset.stderr);
    assert.equal(unset.stdout.trim(), process.platform === 'linux' ? 'js' : 'worker');
    const worker = await runChild(code, { env: { TCPIP_NATIVE_THREAD: 'worker' } });
    assert.equal(worker.stdout.trim(), 'worker', worker.stderr);
  });

  it('two JS-thread stacks over a native link carry 64 MiB byte-exact each way', async function () {
    this.timeout(120000);
    const { a, b } = linkedPair('js', 'js');
    await assertTransfer(a, b, '10.0.0.2', 64 * MiB);
    await assertTransfer(b, a, '10.0.0.1', 64 * MiB);
  });

  it('a JS-thread stack and a worker stack over a native link carry 16 MiB each way', async function () {
    this.timeout(60000);
    const { a, b } = linkedPair('js', 'worker');
    await assertTransfer(a, b, '10.0.0.2', 16 * MiB);
    await assertTransfer(b, a, '10.0.0.1', 16 * MiB);
  });

  it('packets a JS-thread stack hands to another over a native link are taken in the same loop iteration', async function () {
    // Each request/response crosses the link twice; the receiving stack's
    // turn runs right after the sending one's, not on the next iteration
    // of the event loop. Counted with a setImmediate chain: one per
    // iteration.
    const { a, b } = linkedPair('js', 'js');
    const server = b.net.createServer((peer) => {
      peer.setNoDelay(true);
      peer.on('data', (d) => peer.write(d));
    });
    await listen(server, 80);
    const client = a.net.connect(80, '10.0.0.2');
    client.setNoDelay(true);
    await new Promise((resolve) => client.once('connect', resolve));
    const roundTrips = 200;
    let iterations = 0;
    let counting = true;
    const count = () => {
      iterations++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    await new Promise((resolve) => {
      let left = roundTrips;
      client.on('data', () => {
        if (--left === 0) resolve();
        else client.write('x');
      });
      client.write('x');
    });
    counting = false;
    client.destroy();
    await closeServer(server);
    assert.ok(iterations < roundTrips / 2, `${iterations} loop iterations for ${roundTrips} round trips`);
  });

  it('eight JS-thread stacks, each its own lwIP: the same port on each, interleaved echo traffic, every byte intact', async function () {
    this.timeout(60000);
    const count = 8;
    const all = [];
    for (let i = 0; i < count; i++) {
      const s = stack('js');
      s.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      // Each server answers with its own stack's number: a mix-up shows.
      const server = s.net.createServer((peer) => {
        peer.on('data', (d) => peer.write(Buffer.concat([Buffer.from([i]), d])));
        peer.on('end', () => peer.end());
      });
      await listen(server, 80);
      all.push({ s, server });
    }
    const rounds = 50;
    const results = await Promise.all(all.map(({ s }, i) => new Promise((resolve, reject) => {
      const client = s.net.connect(80, '127.0.0.1');
      const expected = crypto.createHash('sha256');
      const got = crypto.createHash('sha256');
      let round = 0;
      let buffered = Buffer.alloc(0);
      const send = () => {
        const payload = crypto.randomBytes(1 + (round * 97) % 3000);
        expected.update(Buffer.from([i]));
        expected.update(payload);
        client.write(payload);
        return payload.length + 1;
      };
      let want = 0;
      client.on('connect', () => { want = send(); });
      client.on('data', (d) => {
        buffered = Buffer.concat([buffered, d]);
        while (buffered.length >= want && want !== 0) {
          got.update(buffered.subarray(0, want));
          buffered = buffered.subarray(want);
          round++;
          if (round === rounds) {
            want = 0;
            client.end();
          } else {
            want = send();
          }
        }
      });
      client.on('error', reject);
      client.on('close', () => resolve({ rounds: round, ok: got.digest('hex') === expected.digest('hex') }));
    })));
    for (const [i, result] of results.entries()) {
      assert.equal(result.rounds, rounds, `stack ${i}`);
      assert.ok(result.ok, `stack ${i}: bytes intact`);
    }
    for (const { server } of all) await closeServer(server);
  });

  it('destroying a JS-thread stack mid-transfer ends its sockets, and its peer goes on', async function () {
    this.timeout(30000);
    const { a, b } = linkedPair('js', 'js');
    const peers = [];
    const server = b.net.createServer((peer) => {
      peers.push(peer);
      peer.on('error', () => {});
      peer.resume();
    });
    await listen(server, 80);
    const client = a.net.connect(80, '10.0.0.2');
    const errored = new Promise((resolve) => client.on('error', resolve));
    const chunk = Buffer.alloc(65536, 7);
    let sent = 0;
    await new Promise((resolve) => {
      const pump = () => {
        while (sent < 8 * MiB && client.write(chunk)) sent += chunk.length;
        if (sent >= 8 * MiB) resolve();
      };
      client.on('drain', pump);
      client.on('connect', pump);
    });
    a.destroy();
    const error = await within(errored, 5000, 'client error');
    assert.equal(error.code, 'ECONNABORTED');
    // The other stack still serves: a new stack linked to it gets through.
    const c = stack('js');
    const ic = c.createTunInterface({ ipAddress: '10.0.1.3/24', mtu: 65535 });
    const ib2 = b.createTunInterface({ ipAddress: '10.0.1.2/24', mtu: 65535 });
    link(ic, ib2);
    // Its peer of the destroyed stack never hears of it, as over a cable.
    for (const peer of peers) peer.destroy();
    await closeServer(server);
    await assertTransfer(c, b, '10.0.1.2', MiB);
  });

  // Kernel devices on JS-thread stacks, with real devices in network
  // namespaces: test/kernel-devices.test.js (on this thread in the
  // TCPIP_NATIVE_THREAD=js run, and a flooded device's removal on both).
  it('a device descriptor the event loop cannot watch is refused and closed, and no interface is left', function () {
    const s = stack('js');
    const file = path.join(os.tmpdir(), `tcpip-not-a-device-${process.pid}`);
    const fd = fs.openSync(file, 'w');
    try {
      // epoll refuses regular files: EPERM.
      assert.throws(() => s.createTapInterface({ ipAddress: '10.9.0.1/24', fd }),
        (error) => error.code === 'EPERM' && error.syscall === 'uv_poll_init');
      assert.equal(s.interfaces.length, 0);
      assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' });
      // The stack still serves.
      s.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
    } finally {
      try { fs.closeSync(fd); } catch { /* closed by the stack */ }
      fs.rmSync(file, { force: true });
    }
  });

  it('a process whose JS-thread stacks are unreferenced exits by itself; a listening one stays until closed', async function () {
    const code = `
      const { Stack } = require(${JSON.stringify(ROOT)});
      const a = new Stack({ backend: 'native', thread: 'js' });
      const b = new Stack({ backend: 'native', thread: 'js' });
      a.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      b.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
      const server = a.net.createServer((s) => s.end('hi')).listen(80, () => {
        const c = a.net.connect(80, '127.0.0.1');
        c.on('data', (d) => console.log(String(d)));
        c.on('close', () => setTimeout(() => server.close(), 200));
      });
      const idle = b.net.createServer().listen(81, () => idle.unref());
    `;
    const result = await runChild(code);
    assert.equal(result.signal, null, `killed, so the process did not exit by itself: ${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'hi');
  });
});
