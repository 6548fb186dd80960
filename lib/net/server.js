'use strict';
// net.Server over a tcpip stack, following Node's lib/net.js semantics.
const {
  EventEmitter, inspect, isIP, nextTick,
} = require('../platform/node.js');
const errors = require('../errors.js');
const {
  validateFunction, validateObject, validatePort, validateNumber, validateAbortSignal,
} = require('../validators.js');

const { familyName } = require('./socket.js');
const { TcpHandle, refuseAccepted } = require('./handle.js');
const { canonicalAddress } = require('./ports.js');

const asyncDispose = Symbol.asyncDispose || Symbol.for('nodejs.asyncDispose');

class Server extends EventEmitter {
  /**
   * @param {object|function} [options]
   * @param {function} [connectionListener]
   */
  constructor(options, connectionListener) {
    super();
    if (typeof options === 'function') {
      connectionListener = options;
      options = {};
    } else if (options == null) {
      options = {};
    } else {
      validateObject(options, 'options');
    }
    if (typeof connectionListener === 'function') this.on('connection', connectionListener);
    if (options.highWaterMark !== undefined) validateNumber(options.highWaterMark, 'options.highWaterMark');
    this._stack = options.stack;
    this._handle = null; // the listener's TcpHandle while open, as Node's
    this._address = null;
    this._connections = 0;
    this._sockets = new Set();
    this._refed = true;
    this._listeningPending = false;
    this._closing = false;
    this._pendingAddress = null;
    this._reservation = null; // the port reserved on the stack while listening
    this.allowHalfOpen = Boolean(options.allowHalfOpen);
    this.pauseOnConnect = Boolean(options.pauseOnConnect);
    this.noDelay = Boolean(options.noDelay);
    this.keepAlive = Boolean(options.keepAlive);
    this.keepAliveInitialDelay = options.keepAliveInitialDelay || 0;
    this.highWaterMark = options.highWaterMark;
    this.maxConnections = undefined;
  }

  get listening() {
    return this._address !== null && this._handle !== null;
  }

  /**
   * listen([port[, host[, backlog]]][, callback]) | listen(options[, callback])
   */
  listen(...args) {
    const cb = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    let options;
    if (args.length > 0 && typeof args[0] === 'object' && args[0] !== null) {
      options = args[0];
      if (options.handle !== undefined || options.fd !== undefined) {
        throw errors.invalidArgValue('options', options, 'handles and file descriptors are not supported by tcpip servers');
      }
      if (!('port' in options) && options.path === undefined) {
        throw errors.simple(TypeError, 'ERR_INVALID_ARG_VALUE',
          `The argument 'options' must have the property "port" or "path". Received ${inspect(options)}`);
      }
      if (options.path !== undefined) {
        throw errors.invalidArgValue('options.path', options.path, 'is not supported by tcpip servers');
      }
    } else {
      options = {};
      if (args.length > 0 && args[0] !== undefined && args[0] !== null) options.port = args[0];
      if (typeof args[1] === 'string') options.host = args[1];
      else if (typeof args[1] === 'number') options.backlog = args[1];
      if (typeof args[2] === 'number') options.backlog = args[2];
    }
    if (this._handle !== null || this._listeningPending) {
      throw errors.simple(Error, 'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.');
    }
    let port = 0;
    if (options.port !== undefined && options.port !== null) {
      if (typeof options.port !== 'number' && typeof options.port !== 'string') {
        throw errors.invalidArgValue('options', options);
      }
      port = validatePort(options.port, 'options.port');
    }
    // Node takes any backlog and falls back to 511 for what is not a number.
    const backlog = (Number(options.backlog) | 0) > 0 ? Number(options.backlog) | 0 : 511;
    if (options.signal !== undefined) {
      const { signal } = options;
      validateAbortSignal(signal, 'options.signal');
      if (signal.aborted) {
        nextTick(() => this.close());
      } else {
        signal.addEventListener('abort', () => this.close(), { once: true });
      }
    }
    const stack = this._stack;
    stack._assertAlive();
    if (cb) this.once('listening', cb);
    this._listeningPending = true;
    // Listening keeps the process alive from the call on, and a stack
    // destroyed before the bind completes must find this server.
    if (this._refed) stack._refHandle(this);
    const host = options.host;
    const start = (address) => {
      if (!this._listeningPending || stack.destroyed) return;
      this._bind(address, port, backlog, Boolean(options.ipv6Only));
    };
    if (host === undefined || host === null || host === '') {
      // As in Node, a listener without a host binds at once: address() and
      // listening are right when listen() returns; 'listening' or 'error'
      // follows on the next tick.
      start('');
    } else if (isIP(host)) {
      // Node looks a host up even when it is an address: it binds a tick later.
      nextTick(start, host);
    } else {
      if (typeof host !== 'string') throw errors.invalidArgType('options.host', 'string', host);
      nextTick(() => {
        stack._lookup(host, { family: 0 }, (err, ip) => {
          if (err) {
            this._listeningPending = false;
            this.emit('error', err);
            return;
          }
          start(ip);
        });
      });
    }
    return this;
  }

  // Binds on the JS thread (the stack's port table) and tells the engine,
  // which binds the same port in order with every later command.
  _bind(address, port, backlog, ipv6Only) {
    const stack = this._stack;
    const family = isIP(address);
    const shown = address === '' ? '::' : canonicalAddress(address, family);
    this._pendingAddress = { address: shown, port };
    let error = null;
    if (address !== '' && address !== '0.0.0.0' && address !== '::' && !stack._isLocalAddress(shown, family)) {
      error = 'EADDRNOTAVAIL';
    }
    const reservation = error === null ? stack._listenPorts.reserve(port, address, family, ipv6Only) : null;
    if (reservation !== null && reservation.error) error = reservation.error;
    if (error !== null) {
      this._listeningPending = false;
      stack._unrefHandle(this);
      nextTick(() => this.emit('error', errors.uvError(error, 'listen', shown, port)));
      return;
    }
    this._listeningPending = false;
    this._reservation = reservation;
    this._pendingAddress = { address: shown, port: reservation.port };
    this._address = { address: shown, family: familyName(shown), port: reservation.port };
    const handle = new TcpHandle(stack, this);
    this._handle = handle;
    handle.listen(address, reservation.port, backlog, ipv6Only);
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
  }

  _onAccepted(id, local, remote) {
    const stack = this._stack;
    // As Node: 0 (or unset) means no limit.
    if (this.maxConnections && this._connections >= this.maxConnections) {
      refuseAccepted(stack, id);
      this.emit('drop', {
        localAddress: local.address,
        localPort: local.port,
        localFamily: familyName(local.address),
        remoteAddress: remote.address,
        remotePort: remote.port,
        remoteFamily: familyName(remote.address),
      });
      return;
    }
    const socket = new stack.net.Socket({
      allowHalfOpen: this.allowHalfOpen,
      highWaterMark: this.highWaterMark,
      noDelay: this.noDelay,
      keepAlive: this.keepAlive,
      keepAliveInitialDelay: this.keepAliveInitialDelay,
      stack,
    });
    socket._attach({ stack, id, local, remote });
    this._connections++;
    this._sockets.add(socket);
    socket.server = this;
    socket._server = this;
    if (this.pauseOnConnect) socket.pause();
    else socket._startReading();
    this.emit('connection', socket);
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
    this.emit('error', errors.uvError(code, 'listen', target.address, target.port));
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
    if (typeof cb === 'function') {
      if (this._handle === null && !this._listeningPending) {
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
    return this._address && this._handle !== null ? { ...this._address } : null;
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
    if (this._handle === null && !this._listeningPending) return Promise.resolve();
    return new Promise((resolve, reject) => this.close((err) => (err ? reject(err) : resolve())));
  }
}

module.exports = { Server };
