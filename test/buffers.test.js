'use strict';
// Buffers handed to the engine: what it holds of written and injected
// bytes is bounded, and given back on every path (TCP took them, the socket
// was destroyed or reset, the stack was destroyed).
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const crypto = require('node:crypto');
const { once } = require('node:events');
const { createNetwork } = require('..');
const { withStack, teardown, DEFAULT_BACKEND, DEFAULT_THREAD } = require('./helpers/stack.js');
const { makePair, closePair } = require('./helpers/pair.js');
const { delay, waitFor, nextEvent } = require('./helpers/util.js');
const { loadAddon } = require('../lib/backend/native.js');

const KiB = 1024;
const MiB = 1024 * KiB;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/** The process's C heap (native addon), or NaN where it cannot be told. */
function nativeHeap() {
  const bytes = loadAddon().heapBytesInUse();
  return typeof bytes === 'number' && bytes > 0 ? bytes : NaN;
}

/**
 * Writes `count` distinct buffers of `size` bytes into `socket` and
 * returns a function that resolves once every one of them was collected.
 */
function writeCollectable(socket, count, size) {
  let collected = 0;
  const registry = new FinalizationRegistry(() => { collected++; });
  for (let i = 0; i < count; i++) {
    const chunk = Buffer.alloc(size, i);
    registry.register(chunk, i, socket);
    socket.write(chunk);
  }
  return async (label) => {
    await waitFor(() => {
      gc();
      return collected === count;
    }, 10000, `${label}: ${count} written buffers collected`, 20).catch((error) => {
      error.message += ` (${collected} were)`;
      throw error;
    });
    registry.unregister(socket); // keeps the registry alive until here
  };
}

describe('buffers handed to the engine', function () {
  this.timeout(30000);
  const t = withStack();

  function nativeOnly(test) {
    if (DEFAULT_BACKEND !== 'native') test.skip(); // the wasm backend copies into its own heap
  }

  it('a 32 MiB write to a peer that does not read is not copied into native memory', async function () {
    nativeOnly(this);
    if (Number.isNaN(nativeHeap())) this.skip(); // no mallinfo2 (a sanitizer's allocator, or not glibc)
    const pair = await makePair(t.net, { serverOptions: { pauseOnConnect: true } });
    const big = Buffer.alloc(32 * MiB, 7);
    const before = nativeHeap();
    let callbackCalled = false;
    pair.client.write(big, () => { callbackCalled = true; });
    // TCP and the peer's window hold a few MiB at most; the rest stays in
    // the caller's buffer.
    await waitFor(() => pair.client.bytesWritten > 0, 5000, 'write started');
    await delay(300);
    const growth = nativeHeap() - before;
    assert.ok(growth < 16 * MiB, `native heap grew by ${(growth / MiB).toFixed(1)} MiB for a 32 MiB write`);
    assert.equal(callbackCalled, false, 'the write callback waits while the peer does not read');
    // The peer reads: every byte arrives, and the callback comes.
    let received = 0;
    pair.peer.on('data', (d) => {
      for (let i = 0; i < d.length; i += 4096) assert.equal(d[i], 7);
      received += d.length;
    });
    pair.peer.resume();
    await waitFor(() => received === big.length && callbackCalled, 20000, 'all 32 MiB received');
    await closePair(pair);
  });

  it('destroying a socket gives back the buffers it still held for a peer that does not read', async function () {
    const pair = await makePair(t.net, { serverOptions: { pauseOnConnect: true } });
    const collectedAll = writeCollectable(pair.client, 24, 1 * MiB);
    await waitFor(() => pair.client.bytesWritten > 0, 5000, 'writes started');
    await delay(100);
    pair.client.destroy();
    await collectedAll('socket.destroy()');
    await closePair(pair);
  });

  it('resetting a socket gives back the buffers it still held', async function () {
    const pair = await makePair(t.net, { serverOptions: { pauseOnConnect: true } });
    const collectedAll = writeCollectable(pair.client, 24, 512 * KiB);
    const peerError = nextEvent(pair.peer, 'error');
    await delay(100);
    pair.client.resetAndDestroy();
    assert.equal((await peerError)[0].code, 'ECONNRESET');
    await collectedAll('socket.resetAndDestroy()');
    await closePair(pair);
  });

  it('destroying the stack gives back the buffers every socket still held', async function () {
    const pairs = [
      await makePair(t.net, { serverOptions: { pauseOnConnect: true } }),
      await makePair(t.net, { serverOptions: { pauseOnConnect: true } }),
    ];
    const waits = pairs.map((pair) => {
      for (const socket of [pair.client, pair.peer]) socket.on('error', () => {});
      return writeCollectable(pair.client, 16, 1 * MiB);
    });
    await delay(100);
    t.stack.destroy();
    for (const wait of waits) await wait('stack.destroy()');
  });

  it('writes of every size, single and batched, arrive in order with the bytes they had when written', async function () {
    const pair = await makePair(t.net);
    const sizes = [1, 100, 256 * KiB - 1, 256 * KiB, 256 * KiB + 1, 64 * KiB, 1 * MiB, 3, 200 * KiB];
    const chunks = sizes.map((size, i) => {
      const chunk = Buffer.alloc(size);
      for (let j = 0; j < size; j++) chunk[j] = (i * 31 + j) & 0xff;
      return chunk;
    });
    const expected = Buffer.concat([...chunks, ...chunks]);
    const received = [];
    pair.peer.on('data', (d) => received.push(d));
    for (const chunk of chunks) pair.client.write(chunk);
    // Corked writes reach the engine as one writev() of mixed sizes.
    pair.client.cork();
    for (const chunk of chunks) pair.client.write(chunk);
    pair.client.uncork();
    pair.client.end();
    await new Promise((resolve) => pair.peer.once('end', resolve));
    assert.ok(Buffer.concat(received).equals(expected), 'the stream differs from what was written');
    await closePair(pair);
  });

  it('small chunks received on two connections keep their bytes while later ones arrive and while the other reader scribbles on its own', async function () {
    // Small payloads may share memory (a pool, as Buffer.allocUnsafe's):
    // each received chunk must still be its own bytes.
    const pairs = [await makePair(t.net), await makePair(t.net)];
    const rounds = 600;
    const kept = [[], []];
    const expected = [[], []];
    const chunkFor = (which, i) => Buffer.alloc(1 + ((i * 7 + which * 13) % 900), (i + which * 101) & 0xff);
    for (const [which, pair] of pairs.entries()) {
      pair.client.setNoDelay(true);
      pair.peer.on('data', (d) => {
        kept[which].push(d);
        if (which === 1) d.fill(0xee); // the second reader reuses its chunks
        pair.peer.write('k'); // one chunk per round: the next waits for this
      });
    }
    await Promise.all(pairs.map(async (pair, which) => {
      const acks = pair.client;
      for (let i = 0; i < rounds; i++) {
        const chunk = chunkFor(which, i);
        expected[which].push(which === 1 ? Buffer.alloc(chunk.length, 0xee) : chunk);
        const acked = new Promise((resolve) => acks.once('data', resolve));
        pair.client.write(chunk);
        await acked;
      }
    }));
    for (const which of [0, 1]) {
      assert.ok(Buffer.concat(kept[which]).equals(Buffer.concat(expected[which])), `connection ${which}'s chunks changed`);
    }
    for (const pair of pairs) await closePair(pair);
  });

  it("a bulk flow's segments reach 'data' a batch at a time, up to 64 KiB a chunk, not a segment each, byte-exact", async function () {
    // Two hosts on a switch: TAP links at MTU 1500, so 1460-byte segments,
    // each a DATA event from the core.
    const network = createNetwork({ hosts: { a: '10.0.0.2', b: '10.0.0.3' } });
    try {
      const server = network.host('b').net.createServer();
      server.listen(7000);
      await once(server, 'listening');
      const chunks = [];
      const received = new Promise((resolve, reject) => {
        server.once('connection', (peer) => {
          peer.on('data', (chunk) => chunks.push(chunk));
          peer.on('error', reject);
          peer.on('end', () => { peer.end(); resolve(); });
        });
      });
      const sent = crypto.randomBytes(4 * MiB);
      const client = network.host('a').net.connect(7000, '10.0.0.3');
      client.end(sent);
      client.resume();
      await received;
      await once(client, 'close');
      server.close();

      assert.ok(Buffer.concat(chunks).equals(sent), 'the bytes changed');
      const largest = Math.max(...chunks.map((chunk) => chunk.length));
      assert.ok(largest <= 64 * KiB, `a chunk of ${largest} bytes`);
      const segments = Math.ceil(sent.length / 1460);
      // On the JS thread a batch holds what one poll of the core found: a
      // window's segments. A worker's batches are as large as the JS thread
      // is slow to take them, so there only the bound is certain.
      if (DEFAULT_THREAD === 'js') {
        assert.ok(chunks.length < segments / 8, `${chunks.length} chunks for ${segments} segments`);
      }
    } finally {
      for (const name of network.hosts) teardown(network.host(name));
      network.destroy();
    }
  });

  it('buffers under 256 KiB changed in their write callbacks were sent as written: taken by TCP at once, partly taken, or waiting whole', async function () {
    const pair = await makePair(t.net, { serverOptions: { pauseOnConnect: true } });
    try {
      const received = [];
      pair.peer.on('data', (d) => received.push(d));
      // The first writes find TCP's send buffer empty, later ones part of it
      // or none of it (the peer is paused); Node lets a caller reuse a
      // buffer once its write called back.
      const expected = [];
      const calledBack = [];
      let calledBackBytes = 0;
      for (let i = 0; i < 48; i++) {
        const chunk = Buffer.alloc(200 * KiB - i, 0x41 + (i % 26));
        expected.push(Buffer.from(chunk));
        calledBack.push(new Promise((resolve) => pair.client.write(chunk, () => {
          calledBackBytes += chunk.length;
          chunk.fill(0x7e);
          resolve();
        })));
      }
      pair.client.end();
      // Past the peer's window and TCP's send buffer (1 MiB each): TCP was
      // full while writes went on.
      await waitFor(() => calledBackBytes > 512 * KiB, 10000, 'writes past the room TCP had');
      await delay(20);
      const ended = nextEvent(pair.peer, 'end', 20000);
      pair.peer.resume();
      await Promise.all(calledBack);
      await ended;
      const all = Buffer.concat(received);
      assert.equal(all.indexOf(0x7e), -1, 'bytes changed after their write called back were sent');
      assert.ok(all.equals(Buffer.concat(expected)));
    } finally {
      await closePair(pair);
    }
  });

  it('a buffer changed in its write callback was sent as it was when written, behind a full window', async function () {
    const pair = await makePair(t.net, { serverOptions: { pauseOnConnect: true } });
    try {
      // Ahead of it, more than the peer's window, TCP's send buffer and the
      // socket's budget together: the buffer waits at the tail, unread.
      const ahead = Buffer.alloc(4 * MiB, 0x61);
      pair.client.write(ahead);
      const reused = Buffer.alloc(1 * MiB, 0x62);
      const calledBack = new Promise((resolve) => pair.client.write(reused, () => {
        reused.fill(0x63); // Node lets a caller reuse a buffer once its write called back
        resolve();
      }));
      pair.client.end();
      const received = [];
      pair.peer.on('data', (chunk) => received.push(chunk));
      const ended = nextEvent(pair.peer, 'end', 20000);
      pair.peer.resume();
      await calledBack;
      await ended;
      const all = Buffer.concat(received);
      assert.equal(all.length, ahead.length + reused.length);
      assert.ok(all.subarray(0, ahead.length).equals(ahead), 'the bytes ahead');
      const tail = all.subarray(ahead.length);
      assert.equal(tail.indexOf(0x63), -1, 'the buffer changed after its callback was sent changed');
      assert.ok(tail.equals(Buffer.alloc(1 * MiB, 0x62)));
    } finally {
      await closePair(pair);
    }
  });

  it('injected packets wait within a bounded queue while the JS thread floods an interface', function () {
    nativeOnly(this);
    if (Number.isNaN(nativeHeap())) this.skip(); // no mallinfo2 (a sanitizer's allocator, or not glibc)
    const tun = t.stack.createTunInterface({ ipAddress: '10.9.0.1/24', mtu: 65535 });
    // Well-formed IPv4 headers to nobody: each is admitted and routed nowhere.
    const packet = Buffer.alloc(60 * KiB);
    packet[0] = 0x45;
    packet.writeUInt16BE(packet.length, 2);
    packet[8] = 64;
    packet[9] = 17;
    packet.set([10, 9, 0, 2], 12);
    packet.set([10, 9, 1, 9], 16);
    const before = nativeHeap();
    let peak = 0;
    let accepted = 0;
    // 96 MiB in one synchronous burst: the worker cannot keep up with all of
    // it, and the queue must not grow past its bound.
    for (let i = 0; i < 1600; i++) {
      if (tun.send(packet)) accepted++;
      if (i % 32 === 0) peak = Math.max(peak, nativeHeap() - before);
    }
    assert.ok(accepted > 0, 'no packet was accepted');
    assert.ok(peak < 12 * MiB, `native heap grew by ${(peak / MiB).toFixed(1)} MiB while injecting`);
  });
});
