'use strict';
// A node:test example: the npm `ws` client and server, unmodified, on a
// virtual network. The client keeps its connection alive with pings, and
// the test partitions the network under it: the client sees the heartbeat
// fail, its reconnects time out while the partition lasts, and after heal()
// it reconnects and its messages get through again.
//
//   node --test examples/ws-partition.test.js
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { createNetwork } = require('tcpip');

/**
 * A client that reconnects: a ping every 100 ms, a connection that misses a
 * pong for 400 ms is terminated, a handshake that takes over 400 ms fails,
 * and each failure retries after 100 ms. `log` records what ws reported.
 */
function reconnectingClient(url, log) {
  const client = { socket: null, stopped: false, onOpen: null };
  const connect = () => {
    const socket = new WebSocket(url, { handshakeTimeout: 400 });
    client.socket = socket;
    let alive = true;
    let heartbeat = null;
    socket.on('open', () => {
      log.push('open');
      heartbeat = setInterval(() => {
        if (!alive) {
          log.push('heartbeat missed');
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      }, 200);
      if (client.onOpen) client.onOpen(socket);
    });
    socket.on('pong', () => (alive = true));
    socket.on('error', (err) => log.push(`error: ${err.message}`));
    socket.on('close', () => {
      clearInterval(heartbeat);
      log.push('close');
      if (!client.stopped) setTimeout(connect, 100);
    });
  };
  connect();
  return client;
}

/** Resolves with the next open socket of `client`. */
function nextOpen(client) {
  return new Promise((resolve) => {
    client.onOpen = (socket) => {
      client.onOpen = null;
      resolve(socket);
    };
  });
}

/** Sends `text` and resolves with the echo. */
function roundTrip(socket, text) {
  return new Promise((resolve) => {
    socket.once('message', (data) => resolve(String(data)));
    socket.send(text);
  });
}

test('a ws client survives a partition and reconnects after heal', async (t) => {
  const network = createNetwork({ hosts: { server: '10.0.0.2', client: '10.0.0.3' } });
  t.after(() => network.destroy());

  // The server host runs an echo server on its stack: ws listens through node:net.
  const wss = await network.host('server').run(() => new Promise((resolve) => {
    const server = new WebSocket.Server({ port: 8080 }, () => resolve(server));
    server.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo ${data}`)));
  }));
  t.after(() => wss.close());

  // The client host runs the client; it finds the server by name.
  const log = [];
  const client = network.host('client').run(() => reconnectingClient('ws://server:8080', log));
  t.after(() => {
    client.stopped = true;
    client.socket.terminate();
  });
  const first = await nextOpen(client);
  assert.equal(await roundTrip(first, 'before'), 'echo before');

  network.partition(['server'], ['client']);
  // The heartbeat notices, and reconnects time out while the partition lasts.
  const deadline = Date.now() + 8000;
  while (!log.includes('heartbeat missed') || !log.some((e) => e.includes('handshake has timed out'))) {
    assert.ok(Date.now() < deadline, `ws did not notice the partition: ${log.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(first.readyState, WebSocket.CLOSED);

  const reopened = nextOpen(client);
  network.heal();
  const second = await reopened;
  assert.equal(await roundTrip(second, 'after'), 'echo after');
  assert.deepEqual(log.filter((e) => e === 'open'), ['open', 'open']);
  assert.ok(log.indexOf('heartbeat missed') < log.lastIndexOf('open'));
});
