'use strict';
// A kernel server whose every connection is piped to another address: what
// cannot open a socket file (a page's WebSocket) reaches one through a TCP
// port, and a socket file reaches a TCP port only a namespace can.
const net = require('node:net');

/**
 * Listens on `listenOptions` (as server.listen() takes them) and pipes each
 * connection to `connectOptions` (as net.connect() takes them), both ways;
 * either side's close closes the other. Resolves { server, address, close() },
 * close() ending the listener and every piped connection.
 * @param {object} listenOptions
 * @param {object} connectOptions
 */
function pipeServer(listenOptions, connectOptions) {
  const sockets = new Set();
  const server = net.createServer((downstream) => {
    const upstream = net.connect(connectOptions);
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  const close = () => new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOptions, () => {
      server.off('error', reject);
      resolve({ server, address: server.address(), close });
    });
  });
}

module.exports = { pipeServer };
