'use strict';
// Node's `net` module over a stack, built in one place for both of its
// faces: stack.net (one stack) and tcpip/polyfill/net (the stack that
// polyfill() chose, looked up at each call).
const platform = require('../platform/node.js');
const { Socket: BaseSocket, normalizeArgs } = require('./socket.js');
const { Server: BaseServer } = require('./server.js');
const diagnostics = require('./diagnostics.js');

// Options with the stack filled in; what is not an options object goes to
// the constructor as it came, which says why it cannot take it.
function withStack(options, stackOf) {
  if (options === undefined || options === null) return { stack: stackOf() };
  if (typeof options === 'object') return { ...options, stack: options.stack || stackOf() };
  return options;
}

/**
 * The `net` module over the stack `stackOf()` returns when a socket or
 * server is made.
 * @param {() => import('../stack.js').Stack} stackOf
 */
function buildNet(stackOf) {
  // net.Socket and net.Server are constructors whose prototype is that of
  // every tcpip socket and server: `instanceof net.Socket` holds for sockets
  // a server accepted, `class X extends net.Socket` works, and so does
  // patching the prototype, as with Node's one net.Socket.
  // `new Socket()` itself makes a BaseSocket directly: constructing with a
  // foreign new.target takes V8's slow path, which halved the connect rate.
  function Socket(options) {
    if (!new.target) return new Socket(options);
    if (new.target === Socket) return new BaseSocket(withStack(options, stackOf));
    return Reflect.construct(BaseSocket, [withStack(options, stackOf)], new.target);
  }
  Object.setPrototypeOf(Socket, BaseSocket);
  Socket.prototype = BaseSocket.prototype;

  function Server(options, connectionListener) {
    if (!new.target) return new Server(options, connectionListener);
    const args = typeof options === 'function'
      ? [{ stack: stackOf() }, options]
      : [withStack(options, stackOf), connectionListener];
    if (new.target === Server) return new BaseServer(...args);
    return Reflect.construct(BaseServer, args, new.target);
  }
  Object.setPrototypeOf(Server, BaseServer);
  Server.prototype = BaseServer.prototype;

  function connect(...args) {
    const [options, cb] = normalizeArgs(args);
    const socket = new Socket(options);
    // As Node's net.connect(), and only it (not Socket#connect).
    diagnostics.publishClientSocket(socket);
    return socket.connect(options, ...(cb ? [cb] : []));
  }

  let autoSelectFamilyAttemptTimeout = 250;

  return {
    Socket,
    Stream: Socket,
    Server,
    createServer: (options, connectionListener) => new Server(options, connectionListener),
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
}

/**
 * stack.net: Node's `net` module bound to one stack.
 * @param {import('../stack.js').Stack} stack
 */
function createNet(stack) {
  return { ...buildNet(() => stack), stack };
}

module.exports = { buildNet, createNet };
