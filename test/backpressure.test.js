'use strict';
// End-to-end back-pressure: a paused reader stops the writer.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { withStack } = require('./helpers/stack.js');
const { runBoth } = require('./helpers/oracle.js');
const { makePair, closePair } = require('./helpers/pair.js');
const { delay, waitFor, within } = require('./helpers/util.js');

const KiB = 1024;
const MiB = 1024 * KiB;

/** Writes `chunk` until write() returns false; bounded by `limit` bytes. */
function fillUntilFalse(socket, chunk, limit) {
  let written = 0;
  while (written < limit) {
    written += chunk.length;
    if (!socket.write(chunk)) return { written, full: true };
  }
  return { written, full: false };
}

describe('back-pressure', function () {
  const t = withStack();

  /**
   * A writer honouring back-pressure against a paused reader: it writes
   * until write() returns false and again on every 'drain', until no
   * 'drain' came for `quietMs` (the pipe is full) or `limit` bytes went.
   */
  function pumpUntilStuck(socket, { chunk, limit, quietMs = 300 }) {
    return new Promise((resolve) => {
      let written = 0;
      let falses = 0;
      let timer = null;
      const stuck = () => {
        socket.removeListener('drain', pump);
        resolve({ written, falses, stuck: true });
      };
      function pump() {
        clearTimeout(timer);
        while (written < limit) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            falses++;
            timer = setTimeout(stuck, quietMs);
            return;
          }
        }
        socket.removeListener('drain', pump);
        resolve({ written, falses, stuck: false });
      }
      socket.on('drain', pump);
      pump();
    });
  }

  it("a paused reader makes write() return false, and 'drain' comes only after resume()", async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
      const pair = await makePair(net, { host, serverOptions: { pauseOnConnect: true } });
      const { client, peer } = pair;
      const chunk = Buffer.alloc(64 * KiB, 1);
      const result = await pumpUntilStuck(client, { chunk, limit: 256 * MiB });
      // Stuck: the last write() returned false and no 'drain' followed.
      let drains = 0;
      client.on('drain', () => drains++);
      await delay(200);
      const drainsWhilePaused = drains;
      let received = 0;
      peer.on('data', (d) => { received += d.length; });
      peer.resume();
      await waitFor(() => drains > 0, 5000, "'drain' after resume");
      await waitFor(() => received === result.written, 5000, 'all bytes received');
      await closePair(pair);
      return {
        stuck: result.stuck,
        sawFalse: result.falses > 0,
        boundedBelow64MiB: result.written < 64 * MiB,
        drainsWhilePaused,
        drainedAfterResume: drains > 0,
        allReceived: received === result.written,
      };
    });
    assert.deepEqual(stack, node);
    assert.deepEqual(stack, {
      stuck: true, sawFalse: true, boundedBelow64MiB: true, drainsWhilePaused: 0, drainedAfterResume: true, allReceived: true,
    });
  });

  // Node's pummel/test-net-write-callbacks: on the wasm engine TCP took
  // bytes inside a later write() of the same turn, and the callback of the
  // write past the budget ran before those of the writes before it.
  it('100,000 writes from one turn call back in order, once each, before end() calls back', async function () {
    this.timeout(60000);
    const { node, stack } = await runBoth(t.stack, ({ net, host }) => new Promise((resolve) => {
      const server = net.createServer((socket) => socket.resume().on('end', () => socket.end()));
      server.listen(0, host, () => {
        const client = net.connect(server.address().port, host, () => {
          const order = [];
          for (let i = 0; i < 100000; i++) client.write('hello world', () => order.push(i));
          client.end(() => {
            const outOfOrder = order.findIndex((value, index) => value !== index);
            client.on('close', () => server.close(() => resolve({ count: order.length, outOfOrder })));
            client.resume();
          });
        });
      });
    }));
    assert.deepEqual(stack, node);
    assert.deepEqual(stack, { count: 100000, outOfOrder: -1 });
  });

  it('write() returns false after a bounded amount when the reader never reads', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net, host }) => {
      const pair = await makePair(net, { host, serverOptions: { pauseOnConnect: true } });
      const { written, full } = fillUntilFalse(pair.client, Buffer.alloc(16 * KiB), 64 * MiB);
      await closePair(pair);
      return { full, bounded: written <= 16 * MiB };
    });
    assert.deepEqual(stack, node);
    assert.deepEqual(stack, { full: true, bounded: true });
  });

  it('bytes buffered on the receiving side stay bounded (< 4 MiB) while a writer keeps pushing', async function () {
    this.timeout(20000);
    const pair = await makePair(t.net, { host: '127.0.0.1', serverOptions: { pauseOnConnect: true } });
    const { client, peer } = pair;
    const chunk = crypto.randomBytes(64 * KiB);
    const hash = crypto.createHash('sha256');
    let pushed = 0;
    // A writer that honours back-pressure pushes for 1.5 s: it writes
    // whenever it may.
    const deadline = Date.now() + 1500;
    const samples = [];
    await new Promise((resolve) => {
      const pump = () => {
        while (Date.now() < deadline) {
          hash.update(chunk);
          pushed += chunk.length;
          if (!client.write(chunk)) {
            client.once('drain', pump);
            return;
          }
        }
        resolve();
      };
      pump();
      const sampler = setInterval(() => {
        samples.push(peer.readableLength + peer.bytesRead);
        if (Date.now() >= deadline) {
          clearInterval(sampler);
          resolve();
        }
      }, 50);
    });
    const received = peer.readableLength + peer.bytesRead;
    const maxBuffered = Math.max(received, ...samples);
    assert.ok(maxBuffered < 4 * MiB, `receiver holds ${maxBuffered} bytes while paused`);
    // The engine took no more than a bounded amount from the writer either.
    const handedToEngine = client.bytesWritten - client.writableLength;
    assert.ok(handedToEngine < 8 * MiB, `${handedToEngine} bytes left the writer while the reader was paused`);
    // And the receive side stopped growing: the window is closed.
    const before = peer.bytesRead;
    await delay(200);
    assert.equal(peer.bytesRead, before, 'bytes kept arriving into a paused reader');

    // Resume: everything the writer produced arrives intact.
    client.removeAllListeners('drain');
    client.end();
    const got = crypto.createHash('sha256');
    let total = 0;
    peer.on('data', (d) => { total += d.length; got.update(d); });
    const ended = new Promise((resolve) => peer.once('end', resolve));
    peer.resume();
    await within(ended, 10000, 'peer end');
    assert.equal(total, pushed);
    assert.equal(got.digest('hex'), hash.digest('hex'));
    await closePair(pair);
  });

  it('a writer that ignores write() === false buffers in its own stream, not in the engine or the receiver', async function () {
    this.timeout(20000);
    const pair = await makePair(t.net, { host: '127.0.0.1', serverOptions: { pauseOnConnect: true } });
    const { client, peer } = pair;
    const chunk = Buffer.alloc(256 * KiB, 3);
    for (let i = 0; i < 64; i++) client.write(chunk); // 16 MiB, regardless of back-pressure
    await delay(500);
    const handedToEngine = client.bytesWritten - client.writableLength;
    const atReceiver = peer.readableLength + peer.bytesRead;
    assert.ok(atReceiver < 4 * MiB, `receiver holds ${atReceiver} bytes`);
    assert.ok(handedToEngine < 8 * MiB, `engine took ${handedToEngine} bytes`);
    assert.ok(client.writableLength > 8 * MiB, `writer buffer ${client.writableLength}`);
    let total = 0;
    peer.on('data', (d) => { total += d.length; });
    peer.resume();
    await waitFor(() => total === 64 * chunk.length, 10000, 'all 16 MiB delivered');
    await waitFor(() => client.writableLength === 0, 5000, 'writer buffer drained');
    await closePair(pair);
  });

  it('pausing and resuming a reader repeatedly neither loses nor duplicates bytes', async function () {
    this.timeout(20000);
    const pair = await makePair(t.net, { host: '127.0.0.1' });
    const { client, peer } = pair;
    const size = 32 * MiB;
    const sent = crypto.createHash('sha256');
    const got = crypto.createHash('sha256');
    let received = 0;
    let pauses = 0;
    peer.on('data', (d) => {
      received += d.length;
      got.update(d);
      if (pauses < 200 && received > pauses * 128 * KiB) {
        pauses++;
        peer.pause();
        setTimeout(() => peer.resume(), 1);
      }
    });
    const ended = new Promise((resolve) => peer.once('end', resolve));
    let written = 0;
    await new Promise((resolve) => {
      const pump = () => {
        while (written < size) {
          const c = crypto.randomBytes(64 * KiB);
          sent.update(c);
          written += c.length;
          if (!client.write(c)) {
            client.once('drain', pump);
            return;
          }
        }
        client.end();
        resolve();
      };
      pump();
    });
    await within(ended, 15000, 'peer end');
    assert.equal(received, size);
    assert.equal(got.digest('hex'), sent.digest('hex'));
    assert.ok(pauses >= 100, `paused ${pauses} times`);
    await closePair(pair);
  });
});
