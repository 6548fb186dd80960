'use strict';
// Byte-exact bulk transfers, verified by SHA-256 on both ends.
const assert = require('node:assert/strict');
const { withStack } = require('./helpers/stack.js');
const { randomStream } = require('./helpers/random.js');
const { hashStream } = require('./helpers/hash.js');
const { listen, closeServer, within } = require('./helpers/util.js');

const MiB = 1024 * 1024;

/**
 * Makes `socket` hash what it reads; if `pauseEvery` is set, the reader
 * pauses for `pauseMs` each time that many more bytes arrived.
 */
function receive(socket, { pauseEvery = 0, pauseMs = 5 } = {}) {
  if (pauseEvery) {
    let next = pauseEvery;
    let received = 0;
    let pauses = 0;
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (received >= next) {
        next += pauseEvery;
        pauses++;
        socket.pause();
        setTimeout(() => socket.resume(), pauseMs);
      }
    });
    return hashStream(socket).then((r) => ({ ...r, pauses }));
  }
  return hashStream(socket);
}

/** Sends `size` random bytes; resolves with their hash once all are written. */
function send(socket, size) {
  const source = randomStream(size);
  source.pipe(socket);
  return new Promise((resolve, reject) => {
    socket.once('finish', () => resolve({ hash: source.digest(), bytes: size }));
    socket.once('error', reject);
  });
}

/**
 * One full-duplex transfer: client and server each send `size` random bytes
 * and hash what they receive.
 */
async function duplexTransfer(net, port, host, size, receiveOptions) {
  const serverSide = new Promise((resolve, reject) => {
    net.server.once('connection', (sock) => {
      sock.on('error', reject);
      Promise.all([send(sock, size), receive(sock, receiveOptions)]).then(resolve, reject);
    });
  });
  const client = net.connect({ port, host, allowHalfOpen: true });
  client.on('error', () => {});
  const clientSide = Promise.all([send(client, size), receive(client, receiveOptions)]);
  const [[serverSent, serverGot], [clientSent, clientGot]] = await Promise.all([serverSide, clientSide]);
  return { serverSent, serverGot, clientSent, clientGot };
}

describe('data integrity', function () {
  const t = withStack();

  async function bigTransfer(receiveOptions) {
    const server = t.net.createServer({ allowHalfOpen: true });
    await listen(server, 80);
    const size = 256 * MiB;
    const started = Date.now();
    const r = await within(
      duplexTransfer({ connect: t.net.connect, server }, 80, '127.0.0.1', size, receiveOptions),
      55000,
      '256 MiB each way',
    );
    const elapsed = Date.now() - started;
    assert.equal(r.serverGot.bytes, size);
    assert.equal(r.clientGot.bytes, size);
    assert.equal(r.serverGot.hash, r.clientSent.hash, 'client -> server bytes differ');
    assert.equal(r.clientGot.hash, r.serverSent.hash, 'server -> client bytes differ');
    assert.notEqual(r.clientSent.hash, r.serverSent.hash);
    await within(closeServer(server), 5000, 'server close');
    return { r, elapsed };
  }

  it('256 MiB of random bytes each way through one connection arrive byte-exact', async function () {
    this.timeout(60000);
    await bigTransfer();
  });

  it('200 concurrent connections of 256 KiB each way arrive byte-exact', async function () {
    this.timeout(60000);
    const COUNT = 200;
    // Enough for every window to fill and reopen many times over; 1 MiB
    // took 20 s of the wasm pass and showed nothing more.
    const size = MiB / 4;
    const serverResults = [];
    const server = t.net.createServer({ allowHalfOpen: true }, (sock) => {
      sock.on('error', () => {});
      // The client's first 8 bytes name the connection (its index).
      serverResults.push(Promise.all([send(sock, size), receive(sock)]));
    });
    await listen(server, 80);
    const clients = [];
    for (let i = 0; i < COUNT; i++) {
      const c = t.net.connect({ port: 80, host: i % 2 ? '127.0.0.1' : '::1', allowHalfOpen: true });
      c.on('error', () => {});
      clients.push(Promise.all([send(c, size), receive(c)]));
    }
    const clientResults = await within(Promise.all(clients), 50000, 'clients');
    const serverDone = await within(Promise.all(serverResults), 10000, 'servers');
    assert.equal(serverDone.length, COUNT);
    // Every hash a client sent was received by exactly one server socket,
    // and the other way round.
    const sentByClients = clientResults.map(([sent]) => sent.hash).sort();
    const gotByServers = serverDone.map(([, got]) => got.hash).sort();
    const sentByServers = serverDone.map(([sent]) => sent.hash).sort();
    const gotByClients = clientResults.map(([, got]) => got.hash).sort();
    assert.deepEqual(gotByServers, sentByClients);
    assert.deepEqual(gotByClients, sentByServers);
    for (const [, got] of [...clientResults, ...serverDone]) assert.equal(got.bytes, size);
    assert.equal(new Set(sentByClients).size, COUNT);
    await within(closeServer(server), 5000, 'server close');
  });

  it('256 MiB each way stay byte-exact while the readers pause every 4 MiB', async function () {
    this.timeout(60000);
    const { r } = await bigTransfer({ pauseEvery: 4 * MiB, pauseMs: 5 });
    assert.ok(r.serverGot.pauses >= 60 && r.clientGot.pauses >= 60, `pauses: ${r.serverGot.pauses}/${r.clientGot.pauses}`);
  });
});
