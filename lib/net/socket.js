'use strict';
// net.Socket over a tcpip stack, following Node's lib/net.js semantics.
const {
  Duplex, addAbortSignal, Buffer, isIP, nextTick, setTimeout, clearTimeout, normalizedArgsSymbol, dnsHints,
  engineHost,
} = require('../platform/node.js');
const errors = require('../errors.js');
const {
  validateBoolean,
  validateFunction,
  validateNumber,
  validatePort,
  validateInt32,
} = require('../validators.js');
const { TcpHandle } = require('./handle.js');
const { KernelHandle, checkStreamDescriptor } = require('./kernel.js');
const { defaults } = require('./defaults.js');

// Bytes a socket may hand the engine ahead of TCP's own send buffer before
// write callbacks wait: the native side of back-pressure.
const NATIVE_WRITE_BUDGET = 512 * 1024;

const kStack = Symbol('stack');
const kState = Symbol('state');
const kOnread = Symbol('onread');
const kAbortSignal = Symbol('abortSignal');

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

// Node's normalizeArgs: (options[, cb]) | (port[, host][, cb]) | (path[, cb]),
// as [options, cb] marked with Node's own symbol, which connect() trusts.
function normalizeArgs(args) {
  let normalized;
  if (args.length === 0) {
    normalized = [{}, null];
  } else {
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
    normalized = [options, typeof cb === 'function' ? cb : null];
  }
  normalized[normalizedArgsSymbol] = true;
  return normalized;
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

// The family option as dns.lookup takes it.
function dnsFamily(family) {
  if (family === 'IPv4') return 4;
  if (family === 'IPv6') return 6;
  return family;
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
    // What arrived in the turn the connection came up (data, null for the
    // end, an error code), shown a turn later (see _holdReadsThisTurn);
    // null when nothing is held back.
    heldReads: null,
    handleCreated: false,
    descriptorUnconnected: false, // opened on a descriptor, not connected since
    handle: null, // the connection's TcpHandle, kept once closed for its counters
    detached: false, // socket._handle let go of the handle (destroy, or a caller)
    active: false, // whether the socket holds the stack's reference
    connectTarget: null,
    attempts: null, // autoSelectFamily's addresses, errors and timer while connecting
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

// The constructor's options checked as Node checks them, and completed
// with what a socket's stream always is.
function socketOptions(options) {
  if (options != null && typeof options === 'object') {
    if (options.objectMode) {
      throw errors.invalidArgValue('options.objectMode', options.objectMode, 'is not supported');
    }
    if (options.readableObjectMode || options.writableObjectMode) {
      const name = options.readableObjectMode ? 'readableObjectMode' : 'writableObjectMode';
      throw errors.invalidArgValue(`options.${name}`, options[name], 'is not supported');
    }
  }
  let keepAliveInitialDelay = options != null ? options.keepAliveInitialDelay : undefined;
  if (keepAliveInitialDelay !== undefined) {
    validateNumber(keepAliveInitialDelay, 'options.keepAliveInitialDelay');
    if (keepAliveInitialDelay < 0) keepAliveInitialDelay = 0;
  }
  // As Node: a number is a file descriptor (the legacy form).
  const given = typeof options === 'number' ? { fd: options } : options;
  // As Node: a descriptor must be a kernel stream we can carry (checked
  // before anything is made, so a refused one stays the caller's).
  if (given != null && !given.handle && given.fd !== undefined) checkStreamDescriptor(given.fd);
  return {
    ...given,
    keepAliveInitialDelay,
    allowHalfOpen: Boolean(given != null && given.allowHalfOpen),
    emitClose: false,
    autoDestroy: true,
    decodeStrings: false,
    // The socket takes the signal once its state exists (initSocket): the
    // stream's constructor, which would take it first, does not see it.
    signal: undefined,
    [kAbortSignal]: given != null ? given.signal : undefined,
  };
}

// Whether `handle` is one of Node's own (a Pipe or TCP of node:net), which
// only the kernel can carry; anything else stands in for a TcpHandle.
function isNodeHandle(handle) {
  const type = typeof handle === 'object' && handle.constructor ? handle.constructor.name : '';
  return type === 'Pipe' || type === 'TCP';
}

function initSocket(socket, options) {
  const stack = options.stack || (options.server && options.server._stack);
  socket[kStack] = stack || null;
  const state = connectionState();
  state.noDelay = Boolean(options.noDelay);
  state.keepAlive = Boolean(options.keepAlive);
  state.keepAliveDelay = keepAliveSeconds(options.keepAliveInitialDelay);
  socket[kState] = state;
  socket[kOnread] = onreadOption(options.onread);
  socket.connecting = false;
  socket._hadError = false;
  socket._parent = null;
  socket._host = null;
  socket._peername = undefined;
  socket.server = null;
  socket._server = null;
  socket.on('end', onReadableStreamEnd);
  if (options.fd !== undefined || (options.handle && isNodeHandle(options.handle))) {
    socket._openKernelStream(options);
  } else if (options.handle) {
    // As Node: the socket takes the handle it is given (another socket's
    // TcpHandle, or an object standing in for one).
    state.handle = options.handle;
    state.handleCreated = true;
    const handle = options.handle;
    if (handle instanceof TcpHandle && !handle.closed) {
      const previous = handle._owner !== null ? handle._owner[kState] : undefined;
      state.local = handle._local || (previous ? previous.local : null);
      state.remote = handle._remote || (previous ? previous.remote : null);
      socket[kStack] = handle._stack;
      handle._adopt(socket);
      socket._activityChanged();
    }
  }
  // After the state exists: an aborted signal destroys the socket at once.
  if (options[kAbortSignal]) addAbortSignal(options[kAbortSignal], socket);
}

class Socket extends Duplex {
  /**
   * @param {object} [options]
   */
  constructor(options = {}) {
    options = socketOptions(options);
    super(options);
    initSocket(this, options);
  }

  /**
   * Initializes `socket` as the constructor does, for `net.Socket.call(this)`
   * (a constructor function inheriting from net.Socket): the stream's own
   * constructor runs on `socket`, then the socket's part.
   * @internal
   */
  static _initialize(socket, options) {
    options = socketOptions(options);
    Duplex.call(socket, options);
    initSocket(socket, options);
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
    this._holdReadsThisTurn();
  }

  // Node reads a new connection in a later turn of the event loop than the
  // one that reported it ('connect', or the server's 'connection'): what
  // the user's code does in that turn (a write from a setImmediate or an
  // await continuation) comes before any data or end from the peer, even
  // one that wrote and half-closed at once. Events that come with the
  // connection wait for the turn after next, past every immediate queued in
  // this one.
  _holdReadsThisTurn() {
    const state = this[kState];
    state.heldReads = [];
    const release = () => {
      const held = state.heldReads;
      state.heldReads = null;
      if (held === null || this.destroyed) return;
      for (const event of held) {
        if (event === null) this._onEof();
        else if (typeof event === 'string' || event instanceof Error) this._onError(event);
        else this._onData(event);
      }
    };
    engineHost.scheduleTask(() => engineHost.scheduleTask(release));
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
    this._clearAttemptTimer();
    this.connecting = false;
    state.local = local;
    state.remote = remote;
    this._applyOptions();
    this._activityChanged();
    this._touch();
    if (this.destroyed) return;
    this._holdReadsThisTurn();
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
    if (state.heldReads !== null) {
      state.heldReads.push(chunk);
      return;
    }
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
    const queued = state.handle != null ? state.handle.queued : 0;
    const inFlight = this.connecting || this.writableLength > 0 || queued > 0 || state.unconsumed > 0 ||
      state.unread !== null || (state.heldReads !== null && state.heldReads.length > 0);
    this.destroy(inFlight ? errors.systemError('ECONNABORTED', 'read') : undefined);
  }

  // Node sees a FIN only while its handle reads: a socket that never started
  // reading (pauseOnConnect) or whose reader is full sees it later.
  _onEof() {
    const state = this[kState];
    if (state.heldReads !== null) {
      state.heldReads.push(null);
      return;
    }
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
      // On the wasm engine TCP may take bytes inside a later write() of the
      // same turn: called back there, this write's callback would run before
      // those of earlier writes, which the stream defers to the next tick.
      nextTick(cb);
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
    // The engine is done with the connection already.
    state.handle._forget();
    if (state.heldReads !== null) {
      // A reset after data: the data is read first, as in Node.
      state.heldReads.push(code);
      return;
    }
    let error;
    if (typeof code !== 'string') {
      error = code;
    } else if (this.connecting) {
      const target = state.connectTarget || {};
      error = connectError(code, target);
      if (state.attempts !== null) {
        // autoSelectFamily: the next address, unless that was the last.
        this._clearAttemptTimer();
        state.attempts.errors.push(error);
        this.emit('connectionAttemptFailed', target.address, target.port, isIP(target.address), error);
        if (this.connecting) this._attemptNextAddress();
        return;
      }
      this.emit('connectionAttemptFailed', target.address, target.port, isIP(target.address), error);
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
    // As Node's handle: the 'buffer' encoding is for buffers only.
    if (encoding === 'buffer' && typeof chunk === 'string') {
      throw errors.simple(TypeError, 'ERR_INVALID_ARG_TYPE', 'Second argument must be a buffer');
    }
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
    this._clearAttemptTimer();
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
    // An array from net._normalizeArgs() is taken as it is, as in Node.
    const [options, cb] = Array.isArray(args[0]) && args[0][normalizedArgsSymbol] ? args[0] : normalizeArgs(args);
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
      this._connectPath(options.path);
      return this;
    }
    if (cb !== null) this.once('connect', cb);
    if (this.destroyed) {
      // Reconnecting a destroyed socket, as Node allows.
      this._undestroy();
    }
    const { localAddress, localPort } = options;
    const host = options.host || 'localhost';
    // What Node's lookupAndConnect checks, in its order.
    if (localAddress && !isIP(localAddress)) throw errors.invalidIpAddress(localAddress);
    if (localPort) {
      validateNumber(localPort, 'options.localPort');
      validatePort(localPort, 'options.localPort');
    }
    const { port } = options;
    if (typeof port !== 'number' && typeof port !== 'string') {
      throw errors.invalidArgType('options.port', ['number', 'string'], port);
    }
    const portNumber = validatePort(port);
    let { autoSelectFamily, autoSelectFamilyAttemptTimeout } = options;
    if (autoSelectFamily != null) validateBoolean(autoSelectFamily, 'options.autoSelectFamily');
    else autoSelectFamily = defaults.autoSelectFamily;
    if (autoSelectFamilyAttemptTimeout != null) {
      validateInt32(autoSelectFamilyAttemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1);
      autoSelectFamilyAttemptTimeout = Math.max(autoSelectFamilyAttemptTimeout, 10);
    } else {
      autoSelectFamilyAttemptTimeout = defaults.attemptTimeout;
    }
    const addressType = isIP(host);
    if (!addressType && options.lookup != null) validateFunction(options.lookup, 'options.lookup');
    if (options.noDelay !== undefined) this[kState].noDelay = Boolean(options.noDelay);
    if (options.keepAlive !== undefined) {
      this[kState].keepAlive = Boolean(options.keepAlive);
      // As the constructor: a delay that is not positive keeps the default.
      const delay = options.keepAliveInitialDelay;
      this[kState].keepAliveDelay = delay > 0 ? keepAliveSeconds(delay) : 0;
    }
    const state = this[kState];
    state.handleCreated = true;
    // As Node, the handle exists from here on (callers reach into
    // socket._handle right after connect()); the engine hears of it once
    // the address is known. The socket holds the process only once an
    // attempt starts (see _activityChanged); a lookup holds it by itself.
    if (!stack.destroyed) state.handle = new TcpHandle(stack, this);
    const onread = this[kOnread];
    if (onread !== null && onread.generate !== null) {
      const first = onread.generate();
      if (first instanceof Uint8Array) onread.buffer = first;
    }
    this.connecting = true;
    if (addressType) {
      nextTick(() => this._connectTo(host, portNumber, localAddress, localPort));
      return this;
    }
    this._host = host;
    // The options Node hands to dns.lookup or to a lookup option.
    const dnsOptions = { family: dnsFamily(options.family), hints: options.hints || 0 };
    if (dnsOptions.family !== 4 && dnsOptions.family !== 6 && dnsOptions.hints === 0) {
      dnsOptions.hints = dnsHints.ADDRCONFIG;
    }
    const lookup = options.lookup || ((name, opts, done) => stack._lookup(name, opts, done));
    const multiple = dnsOptions.family !== 4 && dnsOptions.family !== 6 && !localAddress && autoSelectFamily;
    if (multiple) dnsOptions.all = true;
    const onLookup = multiple
      ? (err, addresses) => this._onLookupAll(err, addresses, {
        host, options, port: portNumber, localPort, timeout: autoSelectFamilyAttemptTimeout,
      })
      : (err, ip, ipFamily) => this._onLookup(err, ip, ipFamily, {
        host, options, port: portNumber, localAddress, localPort,
      });
    try {
      // As Node: the lookup runs now, and what it throws is connect's.
      lookup(host, dnsOptions, onLookup);
    } catch (err) {
      this.connecting = false;
      throw err;
    }
    return this;
  }

  // connect(path): a Unix-domain socket, through the kernel. Node connects
  // at once (no lookup); the outcome comes as 'connect' or an error.
  _connectPath(path) {
    const stack = this[kStack];
    if (this.destroyed) this._undestroy();
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

  // A lookup answered one address (Node's emitLookup).
  _onLookup(err, ip, addressType, { host, options, port, localAddress, localPort }) {
    this.emit('lookup', err, ip, addressType, host);
    if (!this.connecting) return;
    if (err) {
      nextTick(() => this.destroy(err));
    } else if (!isIP(ip)) {
      nextTick(() => this.destroy(errors.invalidIpAddress(ip)));
    } else if (addressType !== 4 && addressType !== 6) {
      nextTick(() => this.destroy(errors.invalidAddressFamily(addressType, options.host, options.port)));
    } else {
      this._connectTo(ip, port, localAddress, localPort);
    }
  }

  // A lookup answered every address (autoSelectFamily): the families take
  // turns, starting with the first address's, as in Node's Happy Eyeballs.
  _onLookupAll(err, addresses, { host, options, port, localPort, timeout }) {
    if (!this.connecting) return;
    if (err) {
      this.emit('lookup', err, undefined, undefined, host);
      nextTick(() => this.destroy(err));
      return;
    }
    const byFamily = [[], []];
    let firstFamily = 0;
    for (const { address, family } of addresses) {
      this.emit('lookup', err, address, family, host);
      if (!this.connecting) return;
      if (!isIP(address) || (family !== 4 && family !== 6)) continue;
      if (firstFamily === 0) firstFamily = family;
      const group = byFamily[family === firstFamily ? 0 : 1];
      if (!group.some((entry) => entry.address === address)) group.push({ address, family });
    }
    if (byFamily[0].length === 0) {
      const { address, family } = addresses[0] || {};
      if (!isIP(address)) {
        nextTick(() => this.destroy(errors.invalidIpAddress(address)));
      } else if (family !== 4 && family !== 6) {
        nextTick(() => this.destroy(errors.invalidAddressFamily(family, options.host, options.port)));
      }
      return;
    }
    const toAttempt = [];
    for (let i = 0; i < Math.max(byFamily[0].length, byFamily[1].length); i++) {
      if (i < byFamily[0].length) toAttempt.push(byFamily[0][i]);
      if (i < byFamily[1].length) toAttempt.push(byFamily[1][i]);
    }
    if (toAttempt.length === 1) {
      this._connectTo(toAttempt[0].address, port, undefined, localPort);
      return;
    }
    this.autoSelectFamilyAttemptedAddresses = [];
    this[kState].attempts = {
      addresses: toAttempt, next: 0, port, localPort, timeout, timer: null, errors: [],
    };
    this._attemptNextAddress();
  }

  // Connects to the next address of autoSelectFamily's list; when none is
  // left, fails with every attempt's error.
  _attemptNextAddress() {
    const state = this[kState];
    const attempts = state.attempts;
    if (attempts.next === attempts.addresses.length) {
      this.destroy(attempts.errors.length === 0
        ? errors.simple(Error, 'ERR_SOCKET_CONNECTION_TIMEOUT', 'Socket connection timeout')
        : errors.connectionAttemptsFailed(attempts.errors));
      return;
    }
    const { address } = attempts.addresses[attempts.next++];
    if (attempts.next > 1) {
      // As Node: each later attempt connects a fresh handle, the previous
      // one closed.
      const stack = this[kStack];
      const previous = openHandle(this);
      if (previous !== null) previous.close();
      if (!stack.destroyed) this._handle = new TcpHandle(stack, this);
    }
    this.autoSelectFamilyAttemptedAddresses.push(`${address}:${attempts.port}`);
    this._connectTo(address, attempts.port, undefined, attempts.localPort);
    if (attempts.next < attempts.addresses.length && this.connecting && openHandle(this) !== null) {
      attempts.timer = setTimeout(() => this._onAttemptTimeout(), attempts.timeout);
    }
  }

  // An address of autoSelectFamily's list did not answer in time: its
  // connection is given up and the next address is tried.
  _onAttemptTimeout() {
    const state = this[kState];
    const attempts = state.attempts;
    attempts.timer = null;
    const { address, port } = state.connectTarget;
    this.emit('connectionAttemptTimeout', address, port, isIP(address));
    attempts.errors.push(errors.systemError('ETIMEDOUT', 'connect', address, port));
    const handle = openHandle(this);
    if (handle !== null) handle.close();
    if (this.connecting) this._attemptNextAddress();
  }

  _clearAttemptTimer() {
    const attempts = this[kState].attempts;
    if (attempts !== null && attempts.timer !== null) {
      clearTimeout(attempts.timer);
      attempts.timer = null;
    }
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
    // From its first attempt on the socket holds the process.
    this._activityChanged();
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

  /**
   * @internal a connection of a catch-all listener (server.listen({
   * foreignInterface })) has its SYN unanswered until this: it sends SYN|ACK.
   * Destroying the socket before refuses the SYN with an RST.
   */
  _acceptSyn() {
    const handle = openHandle(this);
    if (handle !== null) handle.acceptSyn();
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
    // As Node: a plain property, set before the checks.
    this.timeout = msecs;
    validateNumber(msecs, 'msecs');
    if (!Number.isFinite(msecs) || msecs < 0) {
      throw errors.outOfRange('msecs', 'a non-negative finite number', msecs);
    }
    if (callback !== undefined) validateFunction(callback, 'callback');
    const state = this[kState];
    this._clearTimer();
    state.timeoutMs = msecs;
    if (msecs === 0) {
      if (callback) this.removeListener('timeout', callback);
    } else {
      if (callback) this.once('timeout', callback);
      this._touch();
    }
    return this;
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
      // A handle replaced stops reaching this socket.
      const current = openHandle(this);
      if (current !== null && current !== value && current instanceof TcpHandle) current._forget();
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
    // A connecting socket holds it from its first attempt on, not during
    // the lookup (which holds the process by itself, as in Node).
    const attempting = this.connecting && state.connectTarget !== null;
    const active = !this.destroyed && (attempting || (handle !== null && (
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
