'use strict';
// net.Socket over a tcpip stack, following Node's lib/net.js semantics.
const {
  Duplex, addAbortSignal, Buffer, isIP, nextTick, setTimeout, clearTimeout,
} = require('../platform/node.js');
const errors = require('../errors.js');
const {
  validateFunction,
  validateNumber,
  validatePort,
  validateInt32,
} = require('../validators.js');
const { TcpHandle } = require('./handle.js');
const { KernelHandle, checkStreamDescriptor } = require('./kernel.js');

// Bytes a socket may hand the engine ahead of TCP's own send buffer before
// write callbacks wait: the native side of back-pressure.
const NATIVE_WRITE_BUDGET = 512 * 1024;

const kStack = Symbol('stack');
const kState = Symbol('state');
const kOnread = Symbol('onread');

/** The socket's handle while it is open, else null. */
function openHandle(socket) {
  const { handle, detached } = socket[kState];
  return handle !== null && !detached && !handle.closed ? handle : null;
}

/** 'IPv4' or 'IPv6', as Node names an address's family. */
function familyName(address) {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

// Node's isPipeName: a string that is not a number names a Unix-domain socket.
function isPipeName(value) {
  return typeof value === 'string' && !(Number(value) >= 0);
}

// Node's normalizeArgs: (options[, cb]) | (port[, host][, cb]) | (path[, cb])
function normalizeArgs(args) {
  if (args.length === 0) return [{}, null];
  const first = args[0];
  let options = {};
  if (typeof first === 'object' && first !== null) {
    options = first;
  } else if (isPipeName(first)) {
    options.path = first;
  } else {
    options.port = first;
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
  }
  const cb = args[args.length - 1];
  return [options, typeof cb === 'function' ? cb : null];
}

// Node's onread option: data goes into the caller's buffer (or one that
// `buffer()` returns for each read) and to `callback(nread, buffer)`
// instead of 'data'. Anything else means ordinary reading, as in Node.
function onreadOption(onread) {
  if (onread === null || typeof onread !== 'object' || typeof onread.callback !== 'function') return null;
  if (onread.buffer instanceof Uint8Array) return { buffer: onread.buffer, generate: null, callback: onread.callback };
  if (typeof onread.buffer === 'function') return { buffer: null, generate: onread.buffer, callback: onread.callback };
  return null;
}

/** Node's keep-alive delay: milliseconds rounded toward zero to seconds. */
function keepAliveSeconds(milliseconds) {
  return ~~(milliseconds / 1000);
}

// What belongs to one connection, reset when a socket connects again.
function connectionState() {
  return {
    waitingWrite: null, // callback of the write that exceeded the budget
    pendingWrite: null, // chunks written before the connection was up
    pendingFinal: null,
    pendingRead: false,
    onreadHeld: null, // received bytes an onread callback has yet to see
    onreadScheduled: false,
    eofPending: false,
    // What arrived before the socket first read (paused from the start, as
    // with pauseOnConnect): Node's handle has not read it from the kernel.
    unread: null,
    readStarted: false,
    eofDelivered: false,
    handleCreated: false,
    descriptorUnconnected: false, // opened on a descriptor, not connected since
    handle: null, // the connection's TcpHandle, kept once closed for its counters
    detached: false, // socket._handle let go of the handle (destroy, or a caller)
    active: false, // whether the socket holds the stack's reference
    connectTarget: null,
    unconsumed: 0, // bytes pushed to the reader but not yet acknowledged
    bytesRead: 0,
    local: null,
    remote: null,
    reset: false,
    hadError: false,
    // Settings, kept across connections (see Socket#_undestroy):
    refed: true,
    noDelay: false,
    keepAlive: false,
    keepAliveDelay: 0, // seconds, as Node hands it to its handle
    timeoutMs: undefined,
    timer: null,
  };
}

class Socket extends Duplex {
  /**
   * @param {object} [options]
   */
  constructor(options = {}) {
    if (typeof options === 'number') options = { fd: options };
    else if (options === undefined || options === null) options = {};
    if (typeof options !== 'object') throw errors.invalidArgType('options', 'object', options);
    // As Node: a descriptor must be a kernel stream we can carry (checked
    // before anything is made, so a refused one stays the caller's).
    if (!options.handle && options.fd !== undefined) checkStreamDescriptor(options.fd);
    super({
      allowHalfOpen: Boolean(options.allowHalfOpen),
      emitClose: false,
      autoDestroy: true,
      decodeStrings: false,
      highWaterMark: options.highWaterMark,
      // As Node: a socket may be one-way (a descriptor read or written only).
      readable: options.readable,
      writable: options.writable,
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
    });
    const stack = options.stack || (options.server && options.server._stack);
    this[kStack] = stack || null;
    const state = connectionState();
    state.noDelay = Boolean(options.noDelay);
    state.keepAlive = Boolean(options.keepAlive);
    state.keepAliveDelay = keepAliveSeconds(options.keepAliveInitialDelay);
    this[kState] = state;
    this[kOnread] = onreadOption(options.onread);
    this.connecting = false;
    this.server = null;
    this._server = null;
    this._host = null;
    this._peername = undefined;
    this.on('end', onReadableStreamEnd);
    if (options.handle || options.fd !== undefined) this._openKernelStream(options);
    // After the state exists: an aborted signal destroys the socket at once.
    if (options.signal) addAbortSignal(options.signal, this);
  }

  // new Socket({ fd }) or ({ handle }): a kernel stream that is open from
  // the start, as Node's socket over an existing handle is.
  _openKernelStream(options) {
    const stack = this[kStack];
    if (!stack) throw errors.simple(Error, 'ERR_TCPIP_NO_STACK', 'Socket is not bound to a stack');
    const state = this[kState];
    state.handle = KernelHandle.fromExisting(stack, this, options);
    state.handleCreated = true;
    state.descriptorUnconnected = true;
    if (options.readable !== false) this.read(0);
    this._activityChanged();
  }

  // --- engine plumbing -------------------------------------------------

  /**
   * @internal takes the handle of an accepted connection (the server's
   * onconnection applies the server's options to it, as Node's does)
   */
  _attach(handle) {
    const stack = handle._stack;
    this[kStack] = stack;
    handle._adopt(this);
    this[kState].handle = handle;
    this[kState].handleCreated = true;
    this[kState].local = handle._local;
    this[kState].remote = handle._remote;
    this._activityChanged();
  }

  // Starts the flow of data into the read buffer, as Node does for a new
  // connection (so 'end' comes even if nobody reads).
  _startReading() {
    if (!this.isPaused()) this.read(0);
  }

  // As Node's afterConnect, through socket._handle (which a caller may
  // have wrapped).
  _applyOptions() {
    const state = this[kState];
    const handle = openHandle(this);
    if (handle === null) return;
    if (state.noDelay && typeof handle.setNoDelay === 'function') handle.setNoDelay(true);
    if (state.keepAlive && typeof handle.setKeepAlive === 'function') handle.setKeepAlive(true, state.keepAliveDelay);
  }

  _onConnected(local, remote) {
    const state = this[kState];
    this.connecting = false;
    state.local = local;
    state.remote = remote;
    this._applyOptions();
    this._activityChanged();
    this._touch();
    if (this.destroyed) return;
    this.emit('connect');
    this.emit('ready');
    if (state.pendingWrite) {
      const { chunks, cb } = state.pendingWrite;
      state.pendingWrite = null;
      this._writeNow(chunks, cb);
    }
    if (state.pendingRead) {
      state.pendingRead = false;
      this._read();
    }
    this._startReading();
  }

  _onData(chunk) {
    const state = this[kState];
    if (this[kOnread] !== null) {
      this._onDataForBuffer(chunk);
      return;
    }
    if (!state.readStarted) {
      if (state.unread === null) state.unread = [];
      state.unread.push(chunk);
      return;
    }
    state.bytesRead += chunk.length;
    this._touch();
    state.unconsumed += chunk.length;
    // Like Node's handle, stop reading when the reader is full: the window
    // stays closed until _read() asks for more, so a paused reader stops the
    // peer within one window.
    if (!this.push(chunk)) state.handle.reading = false;
    else if (state.handle.reading) this._acknowledge();
  }

  _acknowledge() {
    const state = this[kState];
    const handle = openHandle(this);
    if (state.unconsumed > 0 && handle !== null && !this.destroyed) {
      handle.consumed(state.unconsumed);
      state.unconsumed = 0;
    }
  }

  // The stack is going away: data still in flight makes that an error.
  _onStackDestroy() {
    if (this.destroyed) return;
    const state = this[kState];
    const queued = state.handle !== null ? state.handle.queued : 0;
    const inFlight = this.connecting || this.writableLength > 0 || queued > 0 || state.unconsumed > 0 ||
      state.unread !== null;
    this.destroy(inFlight ? errors.systemError('ECONNABORTED', 'read') : undefined);
  }

  // Node sees a FIN only while its handle reads: a socket that never started
  // reading (pauseOnConnect) or whose reader is full sees it later.
  _onEof() {
    const state = this[kState];
    if (state.handle.reading) this._deliverEof();
    else state.eofPending = true;
  }

  _deliverEof() {
    const state = this[kState];
    state.eofPending = false;
    if (state.eofDelivered || this.destroyed) return;
    state.eofDelivered = true;
    this._activityChanged();
    this.push(null);
    // As Node's onStreamRead: lets 'end' fire when nothing is buffered.
    this.read(0);
  }

  _onWritten(count) {
    const state = this[kState];
    state.handle.taken(count);
    this._activityChanged();
    if (state.waitingWrite && state.handle.writesSettled(NATIVE_WRITE_BUDGET)) {
      const cb = state.waitingWrite;
      state.waitingWrite = null;
      cb();
    }
  }

  _onShutdown() {
    const cb = this[kState].pendingFinal;
    this[kState].pendingFinal = null;
    this._activityChanged();
    if (cb) cb();
  }

  // `code`: the engine's error name, or the kernel's own error (a
  // Unix-domain socket's, already shaped by node:net as Node shows it).
  _onError(code) {
    const state = this[kState];
    state.handle._forget();
    let error;
    if (typeof code !== 'string') {
      error = code;
    } else if (this.connecting) {
      error = connectError(code, state.connectTarget || {});
    } else if (code === 'EPIPE') {
      error = errors.systemError('EPIPE', 'write');
    } else {
      error = errors.systemError(code, 'read');
    }
    this.connecting = false;
    state.hadError = true;
    this.destroy(error);
  }

  // --- stream implementation -------------------------------------------

  _read() {
    if (this.connecting || openHandle(this) === null) {
      this[kState].pendingRead = true;
      return;
    }
    this._resumeReading();
  }

  // onread: copies `chunk` into the caller's buffer a buffer at a time, as
  // libuv reads into it, until the callback returns false or pauses the
  // socket; the rest waits for resume().
  _onDataForBuffer(chunk) {
    const state = this[kState];
    this._touch();
    if (state.onreadHeld !== null) {
      state.onreadHeld = Buffer.concat([state.onreadHeld, chunk]);
      return;
    }
    if (!state.handle.reading) {
      state.onreadHeld = chunk;
      return;
    }
    this._readIntoBuffer(chunk);
  }

  _readIntoBuffer(chunk) {
    const state = this[kState];
    const handle = state.handle;
    const onread = this[kOnread];
    let offset = 0;
    while (offset < chunk.length && handle.reading && !this.destroyed) {
      const target = onread.buffer;
      if (!(target instanceof Uint8Array) || target.length === 0) {
        // libuv cannot read into no room.
        this.destroy(errors.systemError('ENOBUFS', 'read'));
        return;
      }
      const count = Math.min(target.length, chunk.length - offset);
      target.set(chunk.subarray(offset, offset + count));
      offset += count;
      state.bytesRead += count;
      if (openHandle(this) !== null) handle.consumed(count);
      const keepReading = onread.callback.call(this, count, target) !== false;
      if (onread.generate !== null) {
        const next = onread.generate();
        if (next instanceof Uint8Array) onread.buffer = next;
      }
      if (!keepReading) handle.reading = false;
    }
    if (offset < chunk.length && !this.destroyed) state.onreadHeld = chunk.subarray(offset);
  }

  // onread: what arrived while the socket was paused goes to the callback
  // on a later tick, as libuv's next read would bring it.
  _scheduleHeldData() {
    const state = this[kState];
    if (state.onreadScheduled) return;
    state.onreadScheduled = true;
    nextTick(() => {
      state.onreadScheduled = false;
      const handle = openHandle(this);
      if (handle === null || this.destroyed || state !== this[kState]) return;
      const held = state.onreadHeld;
      state.onreadHeld = null;
      handle.reading = true;
      this._readIntoBuffer(held);
      if (state.onreadHeld === null && handle.reading) this._resumeReading();
    });
  }

  // The reader wants data again: reopen the window and show a FIN that waited.
  _resumeReading() {
    const state = this[kState];
    if (state.onreadHeld !== null) {
      this._scheduleHeldData();
      return;
    }
    state.handle.reading = true;
    if (!state.readStarted) {
      state.readStarted = true;
      const { unread } = state;
      state.unread = null;
      if (unread !== null) for (const chunk of unread) this._onData(chunk);
    }
    this._acknowledge();
    if (state.eofPending) this._deliverEof();
  }

  _write(chunk, encoding, cb) {
    this._writeGeneric([typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk], cb);
  }

  _writev(entries, cb) {
    this._writeGeneric(entries.map(({ chunk, encoding }) => (
      typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk)), cb);
  }

  _writeGeneric(chunks, cb) {
    if (this.connecting) {
      this[kState].pendingWrite = { chunks, cb };
      return;
    }
    this._writeNow(chunks, cb);
  }

  _writeNow(buffers, cb) {
    const handle = this._handle;
    if (handle === null) {
      cb(errors.simple(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed'));
      return;
    }
    if (handle.closed) {
      // Someone closed socket._handle itself: libuv's answer is EBADF.
      cb(errors.systemError('EBADF', 'write'));
      return;
    }
    handle.write(buffers);
    this._activityChanged();
    this._touch();
    if (handle.writesSettled(NATIVE_WRITE_BUDGET)) cb();
    else this[kState].waitingWrite = cb;
  }

  _final(cb) {
    // As Node: a socket that is not connected yet ends once it is.
    if (this.pending) {
      this.once('connect', () => this._final(cb));
      return;
    }
    const handle = openHandle(this);
    if (handle === null) {
      cb();
      return;
    }
    this[kState].pendingFinal = cb;
    handle.shutdown();
    this._activityChanged();
  }

  _destroy(error, cb) {
    const state = this[kState];
    this._clearTimer();
    this.connecting = false;
    const handle = openHandle(this);
    const hadHandle = handle !== null || state.handleCreated;
    if (handle !== null) handle.close(state.reset);
    state.detached = true;
    this._activityChanged();
    if (state.pendingWrite) {
      // As Node: a write made while connecting fails once the socket closes.
      const { cb: pendingCb } = state.pendingWrite;
      state.pendingWrite = null;
      this.once('close', () => pendingCb(errors.simple(Error, 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION',
        'Socket closed before the connection was established')));
    }
    if (state.waitingWrite) {
      const waiting = state.waitingWrite;
      state.waitingWrite = null;
      waiting(error || errors.simple(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed'));
    }
    if (this._server) {
      this._server._connectionClosed(this);
    }
    cb(error);
    // Node emits 'close' with hadError when a handle was closed, bare otherwise.
    const emitClose = hadHandle
      ? () => this.emit('close', Boolean(error) || state.hadError)
      : () => this.emit('close');
    // A kernel socket closes as Node's own does; the engine's, a tick later.
    if (state.handle instanceof KernelHandle) state.handle.afterClose(emitClose);
    else nextTick(emitClose);
  }

  // --- connect -----------------------------------------------------------

  /**
   * connect(options[, listener]) | connect(port[, host][, listener])
   */
  connect(...args) {
    const [options, cb] = normalizeArgs(args);
    // A socket opened on a descriptor may connect it to a path, once.
    const connectsDescriptor = Boolean(options.path) && this[kState].descriptorUnconnected && !this.connecting;
    if (!connectsDescriptor && (this.connecting || openHandle(this) !== null)) {
      // Node lets the second connect fail at the socket, with EALREADY.
      const target = this[kState].connectTarget || {};
      nextTick(() => this.destroy(errors.systemError('EALREADY', 'connect', target.address, target.port)));
      return this;
    }
    const stack = this[kStack];
    if (!stack) throw errors.simple(Error, 'ERR_TCPIP_NO_STACK', 'Socket is not bound to a stack');
    // As Node: a path (any truthy one) wins over a port.
    if (options.port === undefined && (options.path === undefined || options.path === null)) {
      throw errors.missingArgs('options', 'port', 'path');
    }
    if (options.path) {
      if (typeof options.path !== 'string') throw errors.invalidArgType('options.path', 'string', options.path);
      if (cb !== null) this.once('connect', cb);
      this._connectPath(options.path, options.timeout);
      return this;
    }
    if (cb !== null) this.once('connect', cb);
    if (this.destroyed) {
      // Reconnecting a destroyed socket, as Node allows.
      this._undestroy();
    }
    const {
      port, host = 'localhost', localAddress, localPort, family = 0, hints, lookup, timeout,
    } = options;
    if (localAddress && !isIP(localAddress)) throw errors.invalidIpAddress(localAddress);
    if (localPort !== undefined) {
      validateNumber(localPort, 'options.localPort');
      validatePort(localPort, 'options.localPort');
    }
    if (typeof host !== 'string') throw errors.invalidArgType('hostname', 'string', host);
    if (port === undefined) throw errors.missingArgs('options', 'port', 'path');
    if (typeof port !== 'number' && typeof port !== 'string') {
      throw errors.invalidArgType('options.port', ['number', 'string'], port);
    }
    const portNumber = validatePort(port);
    if (family !== 0 && family !== 4 && family !== 6 && family !== 'IPv4' && family !== 'IPv6') {
      throw errors.invalidArgValue('options.family', family, 'must be one of: 0, 4, 6');
    }
    if (lookup !== undefined) validateFunction(lookup, 'options.lookup');
    if (hints !== undefined) validateInt32(hints, 'options.hints');
    if (options.noDelay !== undefined) this[kState].noDelay = Boolean(options.noDelay);
    if (options.keepAlive !== undefined) {
      this[kState].keepAlive = Boolean(options.keepAlive);
      this[kState].keepAliveDelay = keepAliveSeconds(options.keepAliveInitialDelay);
    }
    if (timeout !== undefined) this.setTimeout(timeout);
    this._host = host;
    const state = this[kState];
    state.handleCreated = true;
    // As Node, the handle exists from here on (callers reach into
    // socket._handle right after connect()); the engine hears of it once
    // the address is known.
    if (!stack.destroyed) state.handle = new TcpHandle(stack, this);
    const onread = this[kOnread];
    if (onread !== null && onread.generate !== null) {
      const first = onread.generate();
      if (first instanceof Uint8Array) onread.buffer = first;
    }
    this.connecting = true;
    this._activityChanged();
    const familyNumber = family === 'IPv4' ? 4 : family === 'IPv6' ? 6 : family;
    const addressType = isIP(host);
    if (addressType) {
      nextTick(() => this._connectTo(host, portNumber, localAddress, localPort));
      return this;
    }
    const resolve = lookup || ((name, opts, done) => stack._lookup(name, opts, done));
    const lookupOptions = { family: familyNumber, hints: hints || 0 };
    nextTick(() => {
      if (!this.connecting) return;
      resolve(host, lookupOptions, (err, ip, ipFamily) => {
        if (!this.connecting) return;
        this.emit('lookup', err, ip, ipFamily, host);
        if (err) {
          this.connecting = false;
          this.destroy(err);
          return;
        }
        if (!isIP(ip)) {
          this.connecting = false;
          this.destroy(errors.invalidIpAddress(ip));
          return;
        }
        this._connectTo(ip, portNumber, localAddress, localPort);
      });
    });
    return this;
  }

  // connect(path): a Unix-domain socket, through the kernel. Node connects
  // at once (no lookup); the outcome comes as 'connect' or an error.
  _connectPath(path, timeout) {
    const stack = this[kStack];
    if (this.destroyed) this._undestroy();
    if (timeout !== undefined) this.setTimeout(timeout);
    const state = this[kState];
    // A socket opened over a descriptor connects that descriptor, as Node's.
    const existing = state.descriptorUnconnected ? openHandle(this) : null;
    state.descriptorUnconnected = false;
    const handle = existing instanceof KernelHandle ? existing : KernelHandle.forConnect(stack, this);
    state.handle = handle;
    state.handleCreated = true;
    state.connectTarget = { address: path };
    this._host = null;
    const onread = this[kOnread];
    if (onread !== null && onread.generate !== null) {
      const first = onread.generate();
      if (first instanceof Uint8Array) onread.buffer = first;
    }
    this.connecting = true;
    this._activityChanged();
    this.emit('connectionAttempt', path, undefined, undefined);
    handle.connect(path);
  }

  _connectTo(address, port, localAddress, localPort) {
    if (!this.connecting || this.destroyed) return;
    const stack = this[kStack];
    const handle = this._handle;
    if (stack.destroyed || handle === null || handle.closed) {
      this.destroy(errors.systemError('ECONNABORTED', 'connect', address, port));
      return;
    }
    // As Node: a local port alone binds the family's wildcard address.
    if (localPort && !localAddress) localAddress = isIP(address) === 6 ? '::' : '0.0.0.0';
    this[kState].connectTarget = { address, port, localAddress, localPort };
    this.emit('connectionAttempt', address, port, isIP(address));
    handle.connect(address, port, localAddress || '', localPort || 0);
  }

  _undestroy() {
    super._undestroy();
    const state = this[kState];
    const fresh = connectionState();
    for (const key of ['refed', 'noDelay', 'keepAlive', 'keepAliveDelay', 'timeoutMs', 'timer']) fresh[key] = state[key];
    this[kState] = fresh;
  }

  // --- Node's socket API ------------------------------------------------

  // With onread nothing is buffered in the stream: pausing stops reading
  // from the connection itself, and resume() or read() start it again.
  pause() {
    const handle = this._handle;
    if (this[kOnread] !== null && !this.connecting && handle !== null && handle.reading) {
      handle.reading = false;
    }
    return super.pause();
  }

  resume() {
    this._startBufferReading();
    return super.resume();
  }

  read(n) {
    this._startBufferReading();
    return super.read(n);
  }

  _startBufferReading() {
    if (this[kOnread] === null || this.connecting || openHandle(this) === null) return;
    if (!this[kState].handle.reading) this._resumeReading();
  }

  destroySoon() {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', this.destroy);
  }

  resetAndDestroy() {
    // As Node: only TCP can be reset.
    if (openHandle(this) instanceof KernelHandle) {
      throw errors.simple(TypeError, 'ERR_INVALID_HANDLE_TYPE', 'This handle type cannot be sent');
    }
    if (openHandle(this) !== null || this.connecting) {
      if (this.connecting && openHandle(this) === null) {
        this.once('connect', () => this.resetAndDestroy());
        return this;
      }
      this[kState].reset = true;
      this.destroy();
    } else {
      this.destroy(errors.simple(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed'));
    }
    return this;
  }

  // As Node's: the handle hears only of a change (a server's noDelay and
  // keepAlive options count as set on its connections), and may lack the
  // method.
  setNoDelay(enable) {
    enable = Boolean(enable === undefined ? true : enable);
    const state = this[kState];
    const handle = this._handle;
    if (handle === null) {
      state.noDelay = enable;
    } else if (typeof handle.setNoDelay === 'function' && enable !== state.noDelay) {
      state.noDelay = enable;
      handle.setNoDelay(enable);
    }
    return this;
  }

  setKeepAlive(enable, initialDelayMsecs) {
    enable = Boolean(enable);
    const initialDelay = keepAliveSeconds(initialDelayMsecs);
    const state = this[kState];
    const handle = this._handle;
    if (handle === null) {
      state.keepAlive = enable;
      state.keepAliveDelay = initialDelay;
    } else if (typeof handle.setKeepAlive === 'function'
      && (enable !== state.keepAlive || (enable && state.keepAliveDelay !== initialDelay))) {
      state.keepAlive = enable;
      state.keepAliveDelay = initialDelay;
      handle.setKeepAlive(enable, initialDelay);
    }
    return this;
  }

  setTimeout(msecs, callback) {
    if (this.destroyed) return this;
    validateNumber(msecs, 'msecs');
    if (!Number.isFinite(msecs) || msecs < 0) {
      throw errors.outOfRange('msecs', 'a non-negative finite number', msecs);
    }
    if (callback !== undefined) validateFunction(callback, 'callback');
    const state = this[kState];
    this._clearTimer();
    state.timeoutMs = msecs;
    if (Object.prototype.hasOwnProperty.call(this, 'timeout')) this.timeout = msecs;
    if (msecs === 0) {
      if (callback) this.removeListener('timeout', callback);
    } else {
      if (callback) this.once('timeout', callback);
      this._touch();
    }
    return this;
  }

  get timeout() {
    return this[kState].timeoutMs;
  }

  // In Node `timeout` is a plain property that setTimeout() writes: code
  // may assign it (Node's own tests do), which changes no timer.
  set timeout(value) {
    Object.defineProperty(this, 'timeout', {
      value, writable: true, enumerable: true, configurable: true,
    });
  }

  _clearTimer() {
    const state = this[kState];
    if (state.timer) {
      clearTimeout(state.timer);
      state.timer = null;
    }
  }

  // Socket activity restarts the idle timer, as in Node.
  _touch() {
    const state = this[kState];
    if (!state.timeoutMs || this.destroyed) return;
    if (state.timer) {
      state.timer.refresh();
      return;
    }
    state.timer = setTimeout(() => {
      state.timer = null;
      this.emit('timeout');
    }, state.timeoutMs);
    state.timer.unref();
  }

  address() {
    const local = this[kState].local;
    if (!local) return {};
    return { address: local.address, family: familyName(local.address), port: local.port };
  }

  get remoteAddress() {
    return this[kState].remote ? this[kState].remote.address : undefined;
  }

  get remotePort() {
    return this[kState].remote ? this[kState].remote.port : undefined;
  }

  get remoteFamily() {
    return this[kState].remote ? familyName(this[kState].remote.address) : undefined;
  }

  get localAddress() {
    return this[kState].local ? this[kState].local.address : undefined;
  }

  get localPort() {
    return this[kState].local ? this[kState].local.port : undefined;
  }

  get localFamily() {
    return this[kState].local ? familyName(this[kState].local.address) : undefined;
  }

  get bytesRead() {
    return this[kState].bytesRead;
  }

  // As Node: what reached the handle, plus what waits in the stream's
  // buffer or for the connection (undefined without a stream, as on the
  // prototype).
  get bytesWritten() {
    const buffered = this.writableBuffer;
    if (!buffered) return undefined;
    const state = this[kState];
    let pending = 0;
    for (const entry of buffered) {
      pending += typeof entry.chunk === 'string' ? Buffer.byteLength(entry.chunk, entry.encoding) : entry.chunk.length;
    }
    if (state.pendingWrite) for (const chunk of state.pendingWrite.chunks) pending += chunk.length;
    return (state.handle !== null ? state.handle.bytesWritten : 0) + pending;
  }

  get pending() {
    return this._handle === null || this.connecting;
  }

  // Node's legacy name for `connecting`.
  get _connecting() {
    return this.connecting;
  }

  get readyState() {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  // Node's own modules (http among them) reach into socket._handle to start
  // and stop reading; the handle maps that onto the receive window. As in
  // Node it is there from connect() until the socket is destroyed (even if
  // a caller closed it), and a caller may let go of it.
  get _handle() {
    const { handle, detached } = this[kState];
    return detached ? null : handle;
  }

  set _handle(value) {
    const state = this[kState];
    if (value === null || value === undefined) {
      state.detached = true;
    } else {
      state.handle = value;
      state.detached = false;
    }
    this._activityChanged();
  }

  // As a libuv handle keeps the loop alive only while active, a socket holds
  // the stack's reference only while it connects, reads (before EOF), or
  // has writes or a shutdown in flight.
  _activityChanged() {
    const state = this[kState];
    const stack = this[kStack];
    if (!state || !stack) return;
    const handle = openHandle(this);
    const active = !this.destroyed && (this.connecting || (handle !== null && (
      (handle.reading && !state.eofPending && !state.eofDelivered)
      || handle.queued > 0 || state.pendingFinal !== null)));
    if (active === state.active) return;
    state.active = active;
    if (active) stack._refHandle(this);
    else stack._unrefHandle(this);
  }

  get bufferSize() {
    return this.writableLength;
  }

  ref() {
    this[kState].refed = true;
    if (this[kStack] && this[kState].active) this[kStack]._refHandle(this);
    return this;
  }

  unref() {
    this[kState].refed = false;
    if (this[kStack]) this[kStack]._unrefHandle(this);
    return this;
  }

  get _refed() {
    return this[kState].refed;
  }
}

// BIND_ERRORS are what the engine reports when the local end cannot be
// bound; Node binds before it connects and names the syscall so.
const BIND_ERRORS = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EINVAL']);

/** A failed connect, as Node reports it: with the local end where one was asked for. */
function connectError(code, { address, port, localAddress, localPort }) {
  const bound = Boolean(localAddress) || Boolean(localPort);
  if (bound && BIND_ERRORS.has(code)) return errors.systemError(code, 'bind', localAddress, localPort);
  if (!localAddress || !localPort) return errors.systemError(code, 'connect', address, port);
  const error = errors.systemError(code, 'connect', address, port, `${localAddress}:${localPort}`);
  error.localAddress = localAddress;
  error.localPort = localPort;
  return error;
}

function onReadableStreamEnd() {
  if (!this.allowHalfOpen) {
    this.write = writeAfterFIN;
  }
}

function writeAfterFIN(chunk, encoding, cb) {
  if (!this.writableEnded) return Duplex.prototype.write.call(this, chunk, encoding, cb);
  if (typeof encoding === 'function') cb = encoding;
  const error = errors.simple(Error, 'EPIPE', 'This socket has been ended by the other party');
  error.code = 'EPIPE';
  if (typeof cb === 'function') nextTick(cb, error);
  this.destroy(error);
  return false;
}

module.exports = {
  Socket, normalizeArgs, familyName, isPipeName,
};
