'use strict';
// Node's `net` module, bound to one stack: stack.net.
const platform = require('../platform/node.js');
const { Socket, normalizeArgs } = require('./socket.js');
const { Server } = require('./server.js');

/**
 * @param {import('../stack.js').Stack} stack
 */
function createNet(stack) {
  class StackSocket extends Socket {
    constructor(options) {
      if (typeof options === 'object' && options !== null) super({ ...options, stack });
      else if (options === undefined || options === null) super({ stack });
      else super(options);
    }
  }
  class StackServer extends Server {
    constructor(options, connectionListener) {
      if (typeof options === 'function' || options === undefined || options === null) {
        super({ stack }, typeof options === 'function' ? options : connectionListener);
      } else {
        super(typeof options === 'object' ? { ...options, stack } : options, connectionListener);
      }
    }
  }
  Object.defineProperty(StackSocket, 'name', { value: 'Socket' });
  Object.defineProperty(StackServer, 'name', { value: 'Server' });

  function connect(...args) {
    const [options, cb] = normalizeArgs(args);
    const socket = new StackSocket(options);
    return socket.connect(options, ...(cb ? [cb] : []));
  }

  function createServer(options, connectionListener) {
    return new StackServer(options, connectionListener);
  }

  return {
    Socket: StackSocket,
    Stream: StackSocket,
    Server: StackServer,
    connect,
    createConnection: connect,
    createServer,
    isIP: platform.isIP,
    isIPv4: platform.isIPv4,
    isIPv6: platform.isIPv6,
    BlockList: platform.BlockList,
    SocketAddress: platform.SocketAddress,
    getDefaultAutoSelectFamily: () => false,
    setDefaultAutoSelectFamily: () => {},
    stack,
  };
}

module.exports = { createNet };
