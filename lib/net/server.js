'use strict';
// net.Server over a tcpip stack, following Node's lib/net.js semantics.
const {
  EventEmitter, isIP, nextTick, defaultHighWaterMark,
} = require('../platform/node.js');
const errors = require('../errors.js');
const {
  validateFunction, validatePort, validateNumber, validateAbortSignal,
} = require('../validators.js');

const { familyName, normalizeArgs, isPipeName } = require('./socket.js');
const { TcpHandle } = require('./handle.js');
const { KernelServerHandle, isListenableDescriptor } = require('./kernel.js');
const { canonicalAddress, isWildcard } = require('./ports.js');
const diagnostics = require('./diagnostics.js');

const asyncDispose = Symbol.asyncDispose || Symbol.for('nodejs.asyncDispose');
// Node's EventEmitter.captureRejectionSymbol, where the platform's events lack it.
const captureRejection = EventEmitter.captureRejectionSymbol || Symbol.for('nodejs.rejection');

// Node's toNumber for listen()'s backlog: a non-negative number, or false.
function toNumber(value) {
  const number = Number(value);
  return number >= 0 ? number : false;
}

/**
 * The listener handle's onconnection, as Node's: `this` is the handle, and
 * `clientHandle` the accepted connection's, not yet owned by a socket. Node's
 * tests wrap it (and the client handle's setNoDelay/setKeepAlive) to watch
 * what a server applies to each connection.
 */
function onconnection(err, clientHandle) {
  const server = this._owner;
  if (server.maxConnections && server._connections >= server.maxConnections) {
    // As Node: a handle without addresses (a Unix-domain socket's) drops
    // the connection with a bare 'drop'.
    if (typeof clientHandle.getsockname !== 'function') {
      server.emit('drop');
      clientHandle.close();
      return;
    }
    const local = {};
    const remote = {};
    clientHandle.getsockname(local);
    clientHandle.getpeername(remote);
    server.emit('drop', {
      __proto__: null,
      localAddress: local.address,
      localPort: local.port,
      localFamily: local.family,
      remoteAddress: remote.address,
      remotePort: remote.port,
      remoteFamily: remote.family,
    });
    clientHandle.close();
    return;
  }
  const socket = new server._stack.net.Socket({
    allowHalfOpen: server.allowHalfOpen,
    highWaterMark: server.highWaterMark,
    noDelay: server.noDelay,
    keepAlive: server.keepAlive,
    keepAliveInitialDelay: server.keepAliveInitialDelay * 1000,
    stack: server._stack,
  });
  socket._attach(clientHandle);
  // As Node's pauseOnCreate: the handle does not read, so the socket
  // reads nothing (bytesRead stays 0) until it is resumed.
  if (server.pauseOnConnect) socket.readableFlowing = false;
  else socket._startReading();
  if (server.noDelay) clientHandle.setNoDelay(true);
  if (server.keepAlive) clientHandle.setKeepAlive(true, server.keepAliveInitialDelay);
  server._connections++;
  server._sockets.add(socket);
  socket.server = server;
  socket._server = server;
  server.emit('connection', socket);
  diagnostics.publishServerSocket(socket);
}

// The constructor's work, shared with Server._initialize.
function initServer(server, options, connectionListener) {
  if (typeof options === 'function') {
    connectionListener = options;
    options = {};
  } else if (options == null || typeof options === 'object') {
    options = { ...options };
  } else {
    throw errors.invalidArgType('options', 'object', options);
  }
  if (typeof connectionListener === 'function') server.on('connection', connectionListener);
  if (options.keepAliveInitialDelay !== undefined) {
    validateNumber(options.keepAliveInitialDelay, 'options.keepAliveInitialDelay');
    if (options.keepAliveInitialDelay < 0) options.keepAliveInitialDelay = 0;
  }
  if (options.highWaterMark !== undefined) {
    validateNumber(options.highWaterMark, 'options.highWaterMark');
    if (options.highWaterMark < 0) options.highWaterMark = defaultHighWaterMark();
  }
  server._stack = options.stack;
  server._handle = null; // the listener's TcpHandle while open, as Node's
  server._address = null;
  server._connections = 0;
  server._sockets = new Set();
  server._refed = true;
  server._listeningPending = false; // a listen() waits for its host's lookup
  // As Node's: each listen() and close() makes earlier lookups void.
  server._listeningId = 1;
  server._closing = false;
  server._pendingAddress = null;
  server._reservation = null; // the port reserved on the stack while listening
  server._pipeName = undefined; // the last path listened on, as Node keeps it
  // As Node's: plain properties, as the options gave them.
  server.allowHalfOpen = options.allowHalfOpen || false;
  server.pauseOnConnect = Boolean(options.pauseOnConnect);
  server.noDelay = Boolean(options.noDelay);
  server.keepAlive = Boolean(options.keepAlive);
  server.keepAliveInitialDelay = ~~(options.keepAliveInitialDelay / 1000); // seconds
  server.highWaterMark = options.highWaterMark ?? defaultHighWaterMark();
}

class Server extends EventEmitter {
  /**
   * @param {object|function} [options]
   * @param {function} [connectionListener]
   */
  constructor(options, connectionListener) {
    super();
    initServer(this, options, connectionListener);
  }

  /**
   * Initializes `server` as the constructor does, for `net.Server.call(this)`
   * (a constructor function inheriting from net.Server).
   * @internal
   */
  static _initialize(server, options, connectionListener) {
    EventEmitter.call(server);
    initServer(server, options, connectionListener);
  }

  get listening() {
    return this._handle !== null && (this._address !== null || this._handle instanceof KernelServerHandle);
  }

  /**
   * listen([port[, host[, backlog]]][, callback]) | listen(options[, callback])
   * Arguments are read in Node's order, with Node's errors.
   */
  listen(...args) {
    const [normalized, cb] = normalizeArgs(args);
    if (this._handle !== null) {
      throw errors.simple(Error, 'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.');
    }
    diagnostics.publishListenStart(this, normalized);
    this._stack._assertAlive();
    if (cb !== null) this.once('listening', cb);
    // (port, backlog) or (port, host, backlog)
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
    const options = normalized._handle || normalized.handle || normalized;
    const ipv6Only = options.ipv6Only === true;
    this._listeningId++;
    this._listeningPending = false;
    this._closeOnAbort(options.signal);
    // (handle[, backlog]): a server, a socket or an object with an fd.
    if (typeof options.fd === 'number' && options.fd >= 0) {
      this._listenDescriptor(options.fd, backlogFromArgs);
      return this;
    }
    if (options !== normalized) {
      throw errors.invalidArgValue('options', options, 'handles and file descriptors are not supported by tcpip servers');
    }
    if (options.foreignInterface !== undefined) {
      this._listenForeign(options.foreignInterface);
      return this;
    }
    // listen(), listen(cb), listen(null) and { port: undefined | null }: any free port
    if (args.length === 0 || typeof args[0] === 'function' ||
        (options.port === undefined && 'port' in options) || options.port === null) {
      options.port = 0;
    }
    if (typeof options.port === 'number' || typeof options.port === 'string') {
      const port = validatePort(options.port, 'options.port') | 0;
      const backlog = options.backlog || backlogFromArgs;
      // As in Node, a listener without a host binds at once: address() and
      // listening are right when listen() returns; 'listening' or 'error'
      // follows on the next tick.
      if (options.host) this._lookupAndBind(options.host, port, backlog, ipv6Only);
      else this._bind('', port, backlog, ipv6Only);
      return this;
    }
    if (options.path && isPipeName(options.path)) {
      this._listenPath(options, options.backlog || backlogFromArgs);
      return this;
    }
    if (!('port' in options || 'path' in options)) {
      throw errors.invalidArgValue('options', options, 'must have the property "port" or "path"');
    }
    throw errors.invalidArgValue('options', options);
  }

  // As Node: an aborted signal closes the server (on the next tick if it
  // came aborted); the listener goes when the server closes.
  _closeOnAbort(signal) {
    if (signal === undefined) return;
    validateAbortSignal(signal, 'options.signal');
    const onAbort = () => this.close();
    if (signal.aborted) {
      nextTick(onAbort);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.once('close', () => signal.removeEventListener('abort', onAbort));
  }

  // listen(path) or listen({ path }): a Unix-domain socket, through the
  // kernel (lib/net/kernel.js). Bound when listen() returns, as in Node.
  _listenPath(options, backlog) {
    const { path } = options;
    // Node checks this itself, naming the caller's options.
    if (path[0] === '\0' && (options.readableAll || options.writableAll)) {
      throw errors.invalidArgValue('options', options,
        'can not set readableAll or writableAllt to true when path is abstract unix socket');
    }
    this._pipeName = path;
    this._listenKernel({
      path, backlog, readableAll: options.readableAll, writableAll: options.writableAll,
    });
  }

  // listen({ fd }) or listen(handle): Node listens on whatever the kernel
  // descriptor is. A Unix-domain socket (or pipe) goes to the kernel as a
  // path does; a TCP descriptor is the kernel's TCP, not the stack's, and
  // fails as Node fails for a descriptor it cannot listen on: EINVAL.
  _listenDescriptor(fd, backlog) {
    if (isListenableDescriptor(fd)) {
      this._listenKernel({ fd, backlog });
      return;
    }
    const error = errors.uvError('EINVAL', 'listen');
    // Node names the address it had: none, for a descriptor.
    error.address = null;
    diagnostics.publishListenError(this, error);
    nextTick(() => this.emit('error', error));
  }

  _listenKernel(kernelOptions) {
    const stack = this._stack;
    const handle = new KernelServerHandle(stack, this);
    handle.onconnection = onconnection;
    let listening;
    try {
      listening = handle.listen(kernelOptions);
    } catch (error) {
      handle._forget();
      throw error;
    }
    // A bind that failed comes as the handle's error on the next tick.
    if (!listening) return;
    this._handle = handle;
    if (this._refed) stack._refHandle(this);
    diagnostics.publishListenEnd(this);
  }

  // node:net's 'listening', on the tick Node's own comes.
  _onKernelListening(handle) {
    if (this._handle === handle) this.emit('listening');
  }

  // An error of the kernel's listening socket: a failed bind or listen
  // (the server is not listening), or a failed accept (it still is).
  _onKernelError(handle, error) {
    if (!handle.listening) {
      handle._forget();
      if (this._handle === handle) {
        this._handle = null;
        this._stack._unrefHandle(this);
      }
      diagnostics.publishListenError(this, error);
    }
    this.emit('error', error);
  }

  // Node looks the host up even when it is an address, so the bind comes a
  // tick later at least; a later listen() or close() voids the lookup.
  _lookupAndBind(host, port, backlog, ipv6Only) {
    if (typeof host !== 'string') throw errors.invalidArgType('hostname', 'string', host);
    const stack = this._stack;
    const listeningId = this._listeningId;
    this._listeningPending = true;
    // A listen() waiting for its lookup keeps the process alive, and a
    // stack destroyed meanwhile must find this server.
    if (this._refed) stack._refHandle(this);
    const done = (err, ip) => {
      if (listeningId !== this._listeningId || stack.destroyed) return;
      this._listeningPending = false;
      if (err) {
        stack._unrefHandle(this);
        this.emit('error', err);
        return;
      }
      this._bind(ip, port, backlog, ipv6Only);
    };
    if (isIP(host)) nextTick(done, null, host);
    else nextTick(() => stack._lookup(host, { family: 0 }, done));
  }

  // Binds on the JS thread (the stack's port table) and tells the engine,
  // which binds the same port in order with every later command. `address`
  // is '' without a host: the server listens on '::', both families.
  _bind(address, port, backlog, ipv6Only) {
    const stack = this._stack;
    const family = isIP(address);
    // Node names the address as it was given (or looked up) in errors and
    // in _connectionKey; address() shows the stack's canonical form.
    const given = address === '' ? '::' : address;
    this._pendingAddress = { address: given, port };
    const reservation = isWildcard(address) || stack._isLocalAddress(canonicalAddress(address, family), family)
      ? stack._listenPorts.reserve(port, address, family, ipv6Only)
      : { error: 'EADDRNOTAVAIL' };
    if (reservation.error) {
      stack._unrefHandle(this);
      const error = errors.uvError(reservation.error, 'listen', given, port);
      diagnostics.publishListenError(this, error);
      nextTick(() => this.emit('error', error));
      return;
    }
    this._reservation = reservation;
    const shown = canonicalAddress(given, isIP(given));
    this._address = { address: shown, family: familyName(shown), port: reservation.port };
    const handle = new TcpHandle(stack, this);
    handle.onconnection = onconnection;
    handle._local = { address: shown, port: reservation.port }; // its getsockname()
    this._handle = handle;
    if (this._refed) stack._refHandle(this);
    handle.listen(address, reservation.port, (backlog || 511) | 0, ipv6Only);
    diagnostics.publishListenEnd(this);
    this._connectionKey = `${address === '' ? 6 : family}:${given}:${port}`;
    nextTick(() => {
      if (this._handle === handle) this.emit('listening');
    });
  }

  // listen({ foreignInterface }): a catch-all on a TAP or TUN interface of
  // this stack, for a router that terminates every client's TCP (the
  // gateway's NAT). Each 'connection' is a SYN to a foreign address, the
  // socket's localAddress and localPort its original destination; the
  // SYN waits for socket._acceptSyn(), and destroying the socket refuses
  // it with an RST. IPv4 only; one per interface.
  _listenForeign(iface) {
    const stack = this._stack;
    if (iface === null || typeof iface !== 'object' || iface._stack !== stack || !Number.isInteger(iface._id)) {
      throw errors.invalidArgType('options.foreignInterface', 'an interface of this stack', iface);
    }
    this._pendingAddress = { address: '0.0.0.0', port: 0 };
    this._address = { address: '0.0.0.0', family: 'IPv4', port: 0 };
    const handle = new TcpHandle(stack, this);
    handle.onconnection = onconnection;
    handle._local = { address: '0.0.0.0', port: 0 };
    this._handle = handle;
    if (this._refed) stack._refHandle(this);
    handle.listenForeign(iface._id);
    diagnostics.publishListenEnd(this);
    this._connectionKey = `4:0.0.0.0:0:${iface._id}`;
    nextTick(() => {
      if (this._handle === handle) this.emit('listening');
    });
  }

  _releasePort() {
    if (this._reservation === null) return;
    this._stack._listenPorts.release(this._reservation);
    this._reservation = null;
  }

  // The engine bound what listen() reserved: its own word on the address.
  _onListening(local) {
    this._address = { address: local.address, family: familyName(local.address), port: local.port };
    if (this._handle !== null) this._handle._local = { address: local.address, port: local.port };
  }

  // The engine accepted a connection: the listener handle's onconnection
  // decides, as in Node (maxConnections: 0 or unset means no limit).
  _onAccepted(id, local, remote) {
    this._handle.onconnection(0, TcpHandle.accepted(this._stack, id, local, remote));
  }

  _onStackDestroy() {
    if (this._handle !== null || this._listeningPending) this.close();
  }

  _onError(code) {
    this._handle._forget();
    this._handle = null;
    this._address = null;
    this._releasePort();
    this._stack._unrefHandle(this);
    this._listeningPending = false;
    const target = this._pendingAddress || {};
    const error = errors.uvError(code, 'listen', target.address, target.port);
    diagnostics.publishListenError(this, error);
    this.emit('error', error);
  }

  _connectionClosed(socket) {
    if (!this._sockets.delete(socket)) return;
    this._connections--;
    this._emitCloseIfDrained();
  }

  _emitCloseIfDrained() {
    if (this._handle !== null || this._connections > 0 || !this._closing) return;
    this._closing = false;
    nextTick(() => this.emit('close'));
  }

  close(cb) {
    this._listeningId++;
    if (typeof cb === 'function') {
      if (this._handle === null) {
        this.once('close', function close() {
          cb(errors.simple(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.'));
        });
      } else {
        this.once('close', cb);
      }
    }
    const stack = this._stack;
    if (this._handle !== null) {
      this._handle.close();
      this._handle = null;
    }
    this._releasePort();
    stack._unrefHandle(this);
    this._listeningPending = false;
    this._address = null;
    this._closing = true;
    this._emitCloseIfDrained();
    return this;
  }

  address() {
    if (this._handle instanceof KernelServerHandle) return this._handle.address();
    // As Node: the handle's own word, and its failure thrown.
    if (this._handle !== null && typeof this._handle.getsockname === 'function') {
      const out = {};
      const err = this._handle.getsockname(out);
      if (err) throw errors.errnoException(err, 'address');
      return out;
    }
    // As Node: a server that listened on a path still names it.
    return this._pipeName !== undefined ? this._pipeName : null;
  }

  getConnections(cb) {
    validateFunction(cb, 'callback');
    nextTick(cb, null, this._connections);
    return this;
  }

  ref() {
    this._refed = true;
    if (this._handle !== null) this._stack._refHandle(this);
    return this;
  }

  unref() {
    this._refed = false;
    this._stack._unrefHandle(this);
    return this;
  }

  [asyncDispose]() {
    if (this._handle === null) return Promise.resolve();
    return new Promise((resolve, reject) => this.close((err) => (err ? reject(err) : resolve())));
  }

  // events.captureRejections: an async 'connection' listener that rejects
  // destroys that socket with the reason; other events' rejections are
  // the server's errors. As Node's Server.
  [captureRejection](err, event, socket) {
    if (event === 'connection') socket.destroy(err);
    else this.emit('error', err);
  }
}

module.exports = { Server };
