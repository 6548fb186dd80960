'use strict';
// The diagnostics_channel channels Node's net publishes on, with the same
// messages at the same moments (Node 20's lib/net.js): subscribers to
// node:diagnostics_channel see stack.net's sockets and servers as they see
// node:net's. A browser has no diagnostics_channel: nothing subscribes there.
const { diagnosticsChannel } = require('../platform/node.js');

const silent = { hasSubscribers: false, publish() {} };

function channel(name) {
  return diagnosticsChannel === null ? silent : diagnosticsChannel.channel(name);
}

// A socket net.connect() / net.createConnection() made: { socket }.
const clientSocket = channel('net.client.socket');
// A connection a server accepted, after its 'connection' event: { socket }.
const serverSocket = channel('net.server.socket');
// dc.tracingChannel('net.server.listen') is these channels by name; Node's
// listen() publishes asyncStart ({ server, options }), then asyncEnd
// ({ server }) once bound or error ({ server, error }) when binding failed.
const listenAsyncStart = channel('tracing:net.server.listen:asyncStart');
const listenAsyncEnd = channel('tracing:net.server.listen:asyncEnd');
const listenError = channel('tracing:net.server.listen:error');

function publishClientSocket(socket) {
  if (clientSocket.hasSubscribers) clientSocket.publish({ socket });
}

function publishServerSocket(socket) {
  if (serverSocket.hasSubscribers) serverSocket.publish({ socket });
}

function publishListenStart(server, options) {
  if (listenAsyncStart.hasSubscribers) listenAsyncStart.publish({ server, options });
}

function publishListenEnd(server) {
  if (listenAsyncEnd.hasSubscribers) listenAsyncEnd.publish({ server });
}

function publishListenError(server, error) {
  if (listenError.hasSubscribers) listenError.publish({ server, error });
}

module.exports = {
  publishClientSocket, publishServerSocket, publishListenStart, publishListenEnd, publishListenError,
};
