'use strict';
// The second transport of stack.net: what is not TCP/IP. A Unix-domain
// socket (a path, an abstract name, or a descriptor) is a kernel object,
// not part of any TCP/IP host, so stack.net does what Node does on Linux and
// serves it through the kernel, with node:net underneath. The handles here
// have the surface of TcpHandle (lib/net/handle.js): Socket and Server drive
// either one the same way, and the kernel's events reach them through the
// same _on* methods the stack's engine calls.
//
// The node:net objects underneath never hold the process open themselves:
// the stack references the outer socket or server as it does for TCP, so
// ref()/unref() and stack.destroy() mean the same on both transports.
const platform = require('../platform/node.js');
const errors = require('../errors.js');
const { validateInt32 } = require('../validators.js');
const { StreamHandle } = require('./handle.js');

const { nextTick } = platform;

/** node:net, or a Node-style error where there is no kernel (a browser). */
function kernelNet(what) {
  if (platform.kernelNet === null) throw errors.notSupported(what);
  return platform.kernelNet;
}

/**
 * A connection over a kernel stream (a Unix-domain socket, or a pipe given
 * as a descriptor), owned by a stack.net Socket.
 */
class KernelHandle extends StreamHandle {
  /**
   * @param {import('../stack.js').Stack} stack
   * @param {object|null} owner the Socket receiving _onConnected, _onData,
   *   ...; null for none yet (an accepted connection, see _adopt)
   * @param {import('node:net').Socket} connection node:net's socket
   * @param {boolean} opened whether the kernel socket is open already
   */
  constructor(stack, owner, connection, opened) {
    super();
    // As TcpHandle's: whether the socket is open, or waits for connect().
    this.opened = opened;
    this.id = stack._allocateId();
    this._stack = stack;
    this._owner = owner;
    this._connection = connection;
    this.closed = false;
    this._reading = false;
    this.bytesWritten = 0;
    this.bytesTaken = 0;
    this._heldUntil = 0;
    // A Unix-domain socket has no addresses to show (as Node's Pipe handle,
    // which has no getsockname or getpeername either).
    this._local = null;
    this._remote = null;
    connection.pause();
    connection.unref();
    connection.on('connect', () => {
      if (!this.closed) this._owner._onConnected(null, null);
    });
    connection.on('data', (chunk) => {
      if (!this.closed) this._owner._onData(chunk);
    });
    connection.on('end', () => {
      if (!this.closed) this._owner._onEof();
    });
    connection.on('finish', () => {
      if (!this.closed) this._owner._onShutdown();
    });
    connection.on('error', (error) => {
      if (!this.closed) this._owner._onError(error);
    });
    // The kernel socket is closed once node:net says so: Node's 'close'
    // comes then, a turn of the loop after destroy(), not a tick.
    this._kernelClosed = false;
    this._afterClose = [];
    connection.on('close', () => {
      this._kernelClosed = true;
      for (const callback of this._afterClose.splice(0)) callback();
    });
    if (owner !== null) stack._register(this.id, owner);
  }

  /** Calls `callback` once the kernel socket is closed (a tick later if it is). */
  afterClose(callback) {
    if (this._kernelClosed) nextTick(callback);
    else this._afterClose.push(callback);
  }

  /**
   * new Socket({ fd }) or ({ handle }): node:net's socket over a descriptor
   * checkStreamDescriptor() accepted, or over a Pipe handle of Node's own.
   */
  static fromExisting(stack, owner, { fd, handle, readable, writable }) {
    const net = kernelNet('A socket over a file descriptor');
    if (handle) checkStreamHandle(handle);
    const source = handle ? { handle } : { fd };
    const connection = new net.Socket({
      ...source, readable, writable, allowHalfOpen: true,
    });
    return new KernelHandle(stack, owner, connection, true);
  }

  /**
   * The handle of a connection a KernelServerHandle accepted, for the
   * listener's onconnection to give to a socket (or to close).
   */
  static accepted(stack, connection) {
    return new KernelHandle(stack, null, connection, true);
  }

  /** A fresh Unix-domain socket, to connect. */
  static forConnect(stack, owner) {
    const net = kernelNet('Connecting to a Unix-domain socket');
    return new KernelHandle(stack, owner, new net.Socket({ allowHalfOpen: true }), false);
  }

  get queued() {
    return this.bytesWritten - this.bytesTaken;
  }

  // As Node's handle.reading; the kernel socket is paused while unset, so
  // a full reader stops the peer through the kernel's buffers. The owner
  // hears of changes, as from TcpHandle (a socket keeps the process alive
  // only while its handle reads).
  get reading() {
    return this._reading;
  }

  set reading(value) {
    value = Boolean(value);
    if (this._reading === value) return;
    this._reading = value;
    if (!this.closed) {
      if (value) this._connection.resume();
      else this._connection.pause();
    }
    if (this._owner !== null && typeof this._owner._activityChanged === 'function') this._owner._activityChanged();
  }

  /** The descriptor, as Node's Pipe handle shows it. */
  get fd() {
    const handle = this._connection._handle;
    return handle ? handle.fd : -1;
  }

  connect(path) {
    this.opened = true;
    this._connection.connect({ path });
    // Connecting made node:net's handle, which is only now there to unref.
    this._connection.unref();
  }

  // The kernel reads the caller's buffers in place until the write is done,
  // as Node's own handles do: the write counts as held until it calls back.
  write(buffers) {
    let total = 0;
    for (const buffer of buffers) total += buffer.length;
    this.bytesWritten += total;
    this._heldUntil = this.bytesWritten;
    const done = (error) => {
      if (!error && !this.closed) this._owner._onWritten(total);
    };
    if (buffers.length === 1) {
      this._connection.write(buffers[0], done);
      return;
    }
    this._connection.cork();
    for (let i = 0; i < buffers.length - 1; i++) this._connection.write(buffers[i]);
    this._connection.write(buffers[buffers.length - 1], done);
    this._connection.uncork();
  }

  writesSettled(budget) {
    return this.queued <= budget && this.bytesTaken >= this._heldUntil;
  }

  taken(count) {
    this.bytesTaken += count;
  }

  // Flow control is the kernel's: pausing and resuming is all it needs.
  consumed() {}

  shutdown() {
    this._connection.end();
  }

  // Unix-domain sockets have neither Nagle nor keep-alive; Node skips them.
  setNoDelay() {}

  /** As TcpHandle's (the delay in whole seconds), and as ignored as Node's. */
  setKeepAlive() {}

  /** A socket given this handle (an accepted connection) takes its events. */
  _adopt(owner) {
    this._owner = owner;
    this._stack._register(this.id, owner);
  }

  /**
   * Ends the kernel socket. A Unix-domain socket cannot be reset, so
   * `reset` changes nothing (resetAndDestroy() refuses before).
   */
  close(reset = false) {
    // Node's handle.close(callback), as a test or a module may call it.
    if (typeof reset === 'function') this.afterClose(reset);
    this._forget();
    this._connection.destroy();
  }
}

/**
 * A listening Unix-domain socket, owned by a stack.net Server. Accepted
 * connections go, paused, to the handle's onconnection(err, clientHandle)
 * as KernelHandles, as a TcpHandle's do.
 */
class KernelServerHandle {
  constructor(stack, owner) {
    const net = kernelNet('Listening on a Unix-domain socket');
    this.id = stack._allocateId();
    this._stack = stack;
    this._owner = owner;
    this.closed = false;
    this.onconnection = null; // set by the server, as on a TcpHandle
    const server = new net.Server({ allowHalfOpen: true, pauseOnConnect: true });
    this._server = server;
    server.unref();
    server.on('connection', (connection) => {
      if (this.closed) connection.destroy();
      else this.onconnection(0, KernelHandle.accepted(stack, connection));
    });
    server.on('listening', () => {
      if (!this.closed) owner._onKernelListening(this);
    });
    server.on('error', (error) => {
      if (!this.closed) owner._onKernelError(this, error);
    });
    stack._register(this.id, owner);
  }

  /**
   * Listens as node:net's listen(options) does: on `path` (with
   * readableAll/writableAll) or on a descriptor `fd`. Throws what Node
   * throws; a bind that fails comes as the owner's _onError a tick later.
   * Returns whether the kernel socket listens.
   */
  listen(options) {
    this._server.listen(options);
    return this._server.listening;
  }

  get listening() {
    return !this.closed && this._server.listening;
  }

  /** node:net's own answer: the path, or null for a descriptor. */
  address() {
    return this._server.address();
  }

  get fd() {
    const handle = this._server._handle;
    return handle ? handle.fd : -1;
  }

  close() {
    this._forget();
    this._server.close();
  }

  _forget() {
    if (this.closed) return;
    this.closed = true;
    this._stack._unregister(this.id);
  }

  getAsyncId() {
    return -1;
  }
}

/**
 * What the kernel says `fd` is, as Node's guessHandleType: 'PIPE' (a
 * Unix-domain socket or a FIFO), 'TCP', 'UDP', 'TTY', 'FILE' or 'UNKNOWN'.
 */
function descriptorType(fd) {
  if (platform.guessHandleType === null) throw errors.notSupported('A socket or server over a file descriptor');
  return platform.guessHandleType(fd);
}

/**
 * Throws what Node's new Socket({ fd }) throws for a descriptor it cannot
 * open as a stream. A TCP descriptor is a kernel TCP socket, which is no
 * socket of a stack: refused as Node refuses a type it cannot carry.
 */
function checkStreamDescriptor(fd) {
  validateInt32(fd, 'fd', 0);
  const type = descriptorType(fd);
  if (type !== 'PIPE') throw errors.invalidFdType(type);
}

/** new Socket({ handle }): Node's own Pipe handles only (see above). */
function checkStreamHandle(handle) {
  const type = typeof handle === 'object' && handle.constructor ? handle.constructor.name : '';
  if (type !== 'Pipe') throw errors.invalidFdType(type === 'TCP' ? 'TCP' : 'UNKNOWN');
}

/**
 * Whether Node would listen on `fd`: only a Unix-domain socket or pipe goes
 * to the kernel; for anything else Node's listen() fails with EINVAL.
 */
function isListenableDescriptor(fd) {
  return descriptorType(fd) === 'PIPE';
}

module.exports = {
  KernelHandle, KernelServerHandle, checkStreamDescriptor, isListenableDescriptor,
};
