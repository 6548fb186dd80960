'use strict';
// Node's `net` module over a stack, built in one place for both of its
// faces: stack.net (one stack) and tcpip/polyfill/net (the stack that
// polyfill() chose, looked up at each call).
const platform = require('../platform/node.js');
const { Socket: BaseSocket, normalizeArgs } = require('./socket.js');
const { Server: BaseServer } = require('./server.js');
const diagnostics = require('./diagnostics.js');
const { defaults } = require('./defaults.js');
const errors = require('../errors.js');
const { validateBoolean, validateInt32 } = require('../validators.js');

// Options with the stack filled in; what is not an options object goes to
// the constructor as it came, which says why it cannot take it.
function withStack(options, stackOf) {
  if (options === undefined || options === null) return { stack: stackOf() };
  if (typeof options === 'object') return { ...options, stack: options.stack || stackOf() };
  return options;
}

// net._setSimultaneousAccepts() warns once per process, as in Node.
let simultaneousAcceptsWarned = false;

// Node's net._setSimultaneousAccepts(): deprecated (DEP0121), and a no-op
// except on Windows; a stack has no such setting at all.
function setSimultaneousAccepts() {
  if (simultaneousAcceptsWarned) return;
  simultaneousAcceptsWarned = true;
  platform.emitWarning('net._setSimultaneousAccepts() is deprecated and will be removed.',
    'DeprecationWarning', 'DEP0121');
}

// Node's net._createServerHandle(), cluster's way to a listening kernel
// handle: a stack's listeners come from listen() only, so it answers as
// Node does for what it cannot listen on, with UV_EINVAL.
function createServerHandle() {
  return errors.errnoOf('EINVAL');
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
  // Called without `new`, they construct, as Node's do; called on an object
  // that inherits from them (`net.Socket.call(this)` in an old-style
  // subclass), they initialize that object.
  function Socket(options) {
    // As Node: a number is a file descriptor (the legacy form of new Socket({ fd })).
    if (typeof options === 'number') options = { fd: options };
    if (!new.target) {
      if (this instanceof Socket) {
        BaseSocket._initialize(this, withStack(options, stackOf));
        return undefined;
      }
      return new Socket(options);
    }
    if (new.target === Socket) return new BaseSocket(withStack(options, stackOf));
    return Reflect.construct(BaseSocket, [withStack(options, stackOf)], new.target);
  }
  Object.setPrototypeOf(Socket, BaseSocket);
  Socket.prototype = BaseSocket.prototype;

  function Server(options, connectionListener) {
    const args = typeof options === 'function'
      ? [{ stack: stackOf() }, options]
      : [withStack(options, stackOf), connectionListener];
    if (!new.target) {
      if (this instanceof Server) {
        BaseServer._initialize(this, ...args);
        return undefined;
      }
      return new Server(options, connectionListener);
    }
    if (new.target === Server) return new BaseServer(...args);
    return Reflect.construct(BaseServer, args, new.target);
  }
  Object.setPrototypeOf(Server, BaseServer);
  Server.prototype = BaseServer.prototype;

  function connect(...args) {
    const normalized = normalizeArgs(args);
    const [options] = normalized;
    const socket = new Socket(options);
    // As Node's net.connect(), and only it (not Socket#connect).
    diagnostics.publishClientSocket(socket);
    // As Node: the timeout option is net.connect()'s, not Socket#connect()'s.
    if (options.timeout) socket.setTimeout(options.timeout);
    return socket.connect(normalized);
  }

  // Node's exports, in Node's order.
  return {
    _createServerHandle: createServerHandle,
    _normalizeArgs: normalizeArgs,
    _setSimultaneousAccepts: setSimultaneousAccepts,
    // Node's own in Node; undefined in a browser.
    BlockList: platform.BlockList,
    SocketAddress: platform.SocketAddress,
    connect,
    createConnection: connect,
    createServer: (options, connectionListener) => new Server(options, connectionListener),
    isIP: platform.isIP,
    isIPv4: platform.isIPv4,
    isIPv6: platform.isIPv6,
    Server,
    Socket,
    Stream: Socket,
    getDefaultAutoSelectFamily: () => defaults.autoSelectFamily,
    setDefaultAutoSelectFamily(value) {
      validateBoolean(value, 'value');
      defaults.autoSelectFamily = value;
    },
    getDefaultAutoSelectFamilyAttemptTimeout: () => defaults.attemptTimeout,
    setDefaultAutoSelectFamilyAttemptTimeout(value) {
      validateInt32(value, 'value', 1);
      defaults.attemptTimeout = Math.max(value, 10);
    },
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
