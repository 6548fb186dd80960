'use strict';
// A connected client/server socket pair on any `net` (node:net or a stack's).
const { listen, nextEvent, closeServer, within } = require('./util.js');
const { track } = require('./events.js');

/**
 * Resolves { server, client, peer, port } once the client is connected and
 * the server has accepted. `onConnection` runs synchronously in the
 * server's 'connection' handler (before any data), `beforeConnect` on the
 * client right after net.connect().
 */
async function makePair(net, {
  host = '127.0.0.1',
  listenHost,
  serverOptions = {},
  clientOptions = {},
  onConnection,
  beforeConnect,
} = {}) {
  const server = net.createServer(serverOptions);
  let peerResolve;
  const peerP = new Promise((resolve) => { peerResolve = resolve; });
  server.on('connection', (sock) => {
    track(sock);
    if (onConnection) onConnection(sock);
    peerResolve(sock);
  });
  await listen(server, 0, listenHost === undefined ? host : listenHost);
  const { port } = server.address();
  const client = track(net.connect({ port, host, ...clientOptions }));
  if (beforeConnect) beforeConnect(client);
  const connected = nextEvent(client, 'connect', 5000);
  const errored = new Promise((_, reject) => client.once('error', reject));
  await Promise.race([connected, errored]);
  const peer = await within(peerP, 5000, 'accept');
  return { server, client, peer, port };
}

/** Destroys both sockets and closes the server. */
async function closePair({ server, client, peer }) {
  if (client && !client.destroyed) client.destroy();
  if (peer && !peer.destroyed) peer.destroy();
  await within(closeServer(server), 5000, 'server close');
}

module.exports = { makePair, closePair };
