'use strict';
// Node's `net` module over the stack given to polyfill(stack) (from 'tcpip').
// Point a bundler's `net` here (webpack 5: resolve.fallback.net; esbuild and
// Vite: an alias) and code written against Node's `net` runs unmodified on
// the stack. The stack is looked up at each call, so modules may import `net`
// before polyfill() runs; using net before that throws ERR_TCPIP_NO_POLYFILL.
const { polyfilledStack } = require('../lib/polyfill.js');
const { Socket: BaseSocket, normalizeArgs } = require('../lib/net/socket.js');
const { Server: BaseServer } = require('../lib/net/server.js');
const platform = require('../lib/platform/node.js');

// net.Socket and net.Server are constructors whose prototype is that of every
// tcpip socket and server: `instanceof net.Socket` holds for sockets a server
// accepted, `class X extends net.Socket` works, and so does patching the
// prototype, as with Node's one net.Socket.
function Socket(options) {
  if (!new.target) return new Socket(options);
  const stack = polyfilledStack();
  let args;
  if (typeof options === 'object' && options !== null) args = [{ ...options, stack: options.stack || stack }];
  else if (options === undefined || options === null) args = [{ stack }];
  else args = [options];
  return Reflect.construct(BaseSocket, args, new.target);
}
Object.setPrototypeOf(Socket, BaseSocket);
Socket.prototype = BaseSocket.prototype;

function Server(options, connectionListener) {
  if (!new.target) return new Server(options, connectionListener);
  const stack = polyfilledStack();
  let args;
  if (typeof options === 'function' || options === undefined || options === null) {
    args = [{ stack }, typeof options === 'function' ? options : connectionListener];
  } else if (typeof options === 'object') {
    args = [{ ...options, stack: options.stack || stack }, connectionListener];
  } else {
    args = [options, connectionListener];
  }
  return Reflect.construct(BaseServer, args, new.target);
}
Object.setPrototypeOf(Server, BaseServer);
Server.prototype = BaseServer.prototype;

function createServer(options, connectionListener) {
  return polyfilledStack().net.createServer(options, connectionListener);
}

function connect(...args) {
  return polyfilledStack().net.connect(...args);
}

let autoSelectFamilyAttemptTimeout = 250;

module.exports = {
  Socket,
  Stream: Socket,
  Server,
  createServer,
  connect,
  createConnection: connect,
  isIP: platform.isIP,
  isIPv4: platform.isIPv4,
  isIPv6: platform.isIPv6,
  // Node's own in Node; undefined in a browser.
  BlockList: platform.BlockList,
  SocketAddress: platform.SocketAddress,
  // The stack connects to one address at a time (no happy eyeballs).
  getDefaultAutoSelectFamily: () => false,
  setDefaultAutoSelectFamily: () => {},
  getDefaultAutoSelectFamilyAttemptTimeout: () => autoSelectFamilyAttemptTimeout,
  setDefaultAutoSelectFamilyAttemptTimeout: (value) => { autoSelectFamilyAttemptTimeout = Math.max(10, value); },
  _normalizeArgs: (args) => normalizeArgs(args),
};
