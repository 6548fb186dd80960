'use strict';
// A connection or listener inside a stack's engine, as Node's TCPWrap is for
// lib/net.js: the one object through which a socket or server reaches the
// engine, named by (engine, id). The engine's events come back through the
// stack, which finds the owner by id while the handle is open.
const { errnoOf } = require('../errors.js');
const { nextTick } = require('../platform/node.js');

/**
 * What a socket's handle offers whatever carries its bytes (the engine's
 * TCP here, a kernel socket in kernel.js): forgetting it, and the reading
 * switches Node's own modules use.
 */
class StreamHandle {
  /** The handle ended by itself (an error): only forget it. */
  _forget() {
    if (this.closed) return;
    this.closed = true;
    this.reading = false;
    this._stack._unregister(this.id);
  }

  // Node's own modules (http among them) reach into socket._handle to start
  // and stop reading.
  readStart() {
    this._owner._resumeReading();
    return 0;
  }

  readStop() {
    this.reading = false;
    return 0;
  }

  getAsyncId() {
    return -1;
  }
}

class TcpHandle extends StreamHandle {
  /**
   * Opens a handle under a fresh id of `stack` for `owner` (a Socket or
   * Server), whose _on* methods receive the engine's events; null for
   * none yet (see _adopt).
   * @param {import('../stack.js').Stack} stack
   * @param {object|null} owner
   * @param {number} [id] an id the engine chose (an accepted connection)
   */
  constructor(stack, owner, id) {
    super();
    // Whether the engine knows the id: an accepted connection's it chose; a
    // client's handle exists from connect() on, as Node's does, and reaches
    // the engine when the address is known.
    this.opened = id !== undefined;
    this.id = id === undefined ? stack._allocateId() : id;
    this._stack = stack;
    this._engine = stack._backend;
    this._owner = owner;
    this.closed = false;
    // Options set before the engine knows the id, applied once it does.
    this._noDelay = undefined;
    this._keepAlive = undefined;
    // As Node's handle.reading: the receive window reopens only while set.
    this._reading = false;
    this.bytesWritten = 0; // handed to the engine
    this.bytesTaken = 0; // of those, taken by TCP (WRITTEN events)
    // Where the last write the engine reads in place ends: until TCP has
    // taken that far, the caller's buffers are not the caller's to change.
    this._heldUntil = 0;
    // The endpoints, where the handle knows them (an accepted connection).
    this._local = null;
    this._remote = null;
    if (owner !== null) stack._register(this.id, owner);
  }

  /**
   * The handle of a connection the engine accepted as `id`, for the
   * listener's onconnection to give to a socket (or to close).
   */
  static accepted(stack, id, local, remote) {
    const handle = new TcpHandle(stack, null, id);
    handle._local = local;
    handle._remote = remote;
    return handle;
  }

  /** Bytes handed to the engine that TCP has not taken yet. */
  get queued() {
    return this.bytesWritten - this.bytesTaken;
  }

  listen(address, port, backlog, ipv6Only) {
    this.opened = true;
    this._engine.listen(this.id, address, port, backlog, ipv6Only);
  }

  connect(address, port, localAddress, localPort) {
    this.opened = true;
    this._engine.connect(this.id, unspecifiedToLoopback(address), port, localAddress, localPort);
    if (this._noDelay !== undefined) this._engine.setNoDelay(this.id, this._noDelay);
    if (this._keepAlive !== undefined) this._engine.setKeepAlive(this.id, ...this._keepAlive);
  }

  // As Node's handle.reading; the owner hears of changes, since a socket
  // keeps the process alive only while its handle reads (as libuv's does).
  get reading() {
    return this._reading;
  }

  set reading(value) {
    if (this._reading === value) return;
    this._reading = value;
    if (this._owner !== null && typeof this._owner._activityChanged === 'function') this._owner._activityChanged();
  }

  /** Hands `buffers` to TCP; they are the engine's until WRITTEN counts them. */
  write(buffers) {
    let total = 0;
    for (const buffer of buffers) total += buffer.length;
    const held = buffers.length === 1 ? this._engine.write(this.id, buffers[0]) : this._engine.writev(this.id, buffers);
    this.bytesWritten += total;
    if (held) this._heldUntil = this.bytesWritten;
  }

  /**
   * Whether the writes so far are done for their callers: at most `budget`
   * bytes wait for TCP, and none of them is read in place from a caller's
   * buffer (Node lets a caller reuse a buffer once its write called back).
   */
  writesSettled(budget) {
    return this.queued <= budget && this.bytesTaken >= this._heldUntil;
  }

  /** A WRITTEN event: TCP took `count` more bytes. */
  taken(count) {
    this.bytesTaken += count;
  }

  /** The application read `count` bytes: the window may reopen by that much. */
  consumed(count) {
    this._engine.consumed(this.id, count);
  }

  shutdown() {
    this._engine.shutdown(this.id);
  }

  /** A catch-all listener's connection: answers its SYN (SYN|ACK). */
  acceptSyn() {
    if (!this.closed) this._engine.acceptSyn(this.id);
  }

  /** Listens for every TCP connection to a foreign address on interface `interfaceId`. */
  listenForeign(interfaceId) {
    this.opened = true;
    this._engine.listenForeign(this.id, interfaceId);
  }

  setNoDelay(enabled) {
    if (this.closed) return;
    if (this.opened) this._engine.setNoDelay(this.id, enabled);
    else this._noDelay = enabled;
  }

  /** As Node's handle: the delay in whole seconds; 0 keeps the engine's. */
  setKeepAlive(enabled, initialDelaySeconds) {
    if (this.closed) return;
    const seconds = initialDelaySeconds > 0 && initialDelaySeconds < 2 ** 21 ? initialDelaySeconds : 0;
    const idleMs = seconds * 1000;
    if (this.opened) this._engine.setKeepAlive(this.id, enabled, idleMs);
    else this._keepAlive = [enabled, idleMs];
  }

  /** A socket constructed with this handle ({ handle }) takes its events. */
  _adopt(owner) {
    this._owner = owner;
    this._stack._register(this.id, owner);
  }

  // As Node's handle: fills `out` with the local (getsockname) or remote
  // (getpeername) address, family and port; a negative errno when unknown.
  getsockname(out) {
    return fillEndpoint(out, this._local);
  }

  getpeername(out) {
    return fillEndpoint(out, this._remote);
  }

  /**
   * Ends the handle: with FIN (or RST where data was unread), or with RST
   * when `reset`. Its events stop reaching the owner.
   */
  close(reset = false) {
    // Node's handle.close(callback), as a test or a module may call it.
    if (typeof reset === 'function') {
      nextTick(reset);
      reset = false;
    }
    const wasOpen = !this.closed && this.opened;
    this._forget();
    if (this._stack.destroyed || !wasOpen) return;
    if (reset) this._engine.abort(this.id);
    else this._engine.close(this.id);
  }
}

// As Linux: a connection to the unspecified address goes to the host
// itself, over loopback (errors still name the address as given).
function unspecifiedToLoopback(address) {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}

function fillEndpoint(out, endpoint) {
  if (endpoint === null) return errnoOf('ENOTCONN');
  out.address = endpoint.address;
  out.family = endpoint.address.includes(':') ? 'IPv6' : 'IPv4';
  out.port = endpoint.port;
  return 0;
}

/**
 * Turns away a connection the engine accepted for a server that does not
 * take it: the engine's id is closed without a handle ever owning it.
 */
function refuseAccepted(stack, id) {
  stack._backend.close(id);
}

module.exports = { StreamHandle, TcpHandle, refuseAccepted };
