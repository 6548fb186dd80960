'use strict';
// Node's dgram.Socket over a stack's UDP, after Node's lib/dgram.js: the
// same states (binding before sending, sends queued until bound), the same
// events in the same order, the same errors. The engine's UDP socket exists
// from a bind that succeeds (BOUND) until close.
const errors = require('../errors.js');
const { EventEmitter, Buffer, nextTick, isIP, systemErrorInfo } = require('../platform/node.js');
const { UDP_FLAGS, UDP_OPTIONS, LIMITS: { UDP_DATAGRAM_OVERHEAD, UDP_REFUSED_TAG } } = require('../backend/contract.js');
const { canonicalAddress } = require('../net/ports.js');
const {
  validateFunction, validateNumber, validatePort, validateString, validateAbortSignal,
} = require('../validators.js');

const BIND_STATE_UNBOUND = 0;
const BIND_STATE_BINDING = 1;
const BIND_STATE_BOUND = 2;
const CONNECT_STATE_DISCONNECTED = 0;
const CONNECT_STATE_CONNECTING = 1;
const CONNECT_STATE_CONNECTED = 2;

// What Linux reports for a socket's buffers until they are set
// (net.core.rmem_default, wmem_default), and how it takes a new size: doubled
// for its bookkeeping, no less than SOCK_MIN_RCVBUF, no more than twice the
// administrator's maximum (rmem_max).
const BUFFER_DEFAULT = 212992;
const BUFFER_MIN = 2304;
const BUFFER_MAX = 2 * 4194304;

const BUFFER_TYPES = ['Buffer', 'TypedArray', 'DataView', 'string'];

function isArrayBufferView(value) {
  return ArrayBuffer.isView(value);
}

function sliceBuffer(buffer, offset, length) {
  if (typeof buffer === 'string') buffer = Buffer.from(buffer);
  else if (!isArrayBufferView(buffer)) throw errors.invalidArgType('buffer', BUFFER_TYPES, buffer);
  offset >>>= 0;
  length >>>= 0;
  if (offset > buffer.byteLength) throw outOfBounds('offset');
  if (offset + length > buffer.byteLength) throw outOfBounds('length');
  return Buffer.from(buffer.buffer, buffer.byteOffset + offset, length);
}

function outOfBounds(name) {
  return errors.simple(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', `"${name}" is outside of buffer bounds`);
}

function fixBufferList(list) {
  const fixed = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const buffer = list[i];
    if (typeof buffer === 'string') fixed[i] = Buffer.from(buffer);
    else if (!isArrayBufferView(buffer)) return null;
    else fixed[i] = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  return fixed;
}

function familyOf(address) {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

function endpointOf(address, port) {
  return { address, family: familyOf(address), port };
}

// Node's ERR_SOCKET_BUFFER_SIZE: a SystemError naming libuv's call.
function bufferSizeError(receive, code) {
  const syscall = receive ? 'uv_recv_buffer_size' : 'uv_send_buffer_size';
  const [, description] = systemErrorInfo(errors.errnoOf(code));
  const error = errors.simple(Error, 'ERR_SOCKET_BUFFER_SIZE',
    `Could not get or set buffer size: ${syscall} returned ${code} (${description})`);
  error.name = 'SystemError';
  error.errno = errors.errnoOf(code);
  error.syscall = syscall;
  error.info = { errno: error.errno, code, message: description, syscall };
  return error;
}

class Socket extends EventEmitter {
  /**
   * @param {import('../stack.js').Stack} stack
   * @param {'udp4'|'udp6'|{ type: 'udp4'|'udp6', reuseAddr?: boolean, ipv6Only?: boolean,
   *   recvBufferSize?: number, sendBufferSize?: number, lookup?: Function, signal?: AbortSignal }} type
   * @param {(msg: Buffer, rinfo: object) => void} [listener]
   */
  constructor(stack, type, listener) {
    super();
    let options;
    if (type !== null && typeof type === 'object') {
      options = type;
      type = options.type;
    }
    if (type !== 'udp4' && type !== 'udp6') {
      throw errors.simple(TypeError, 'ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6');
    }
    if (options && options.lookup !== undefined) validateFunction(options.lookup, 'lookup');
    stack._assertAlive();
    this.type = type;
    this._stack = stack;
    this._engine = stack._backend;
    this._userLookup = options ? options.lookup : undefined;
    this._id = 0; // the engine's socket, from bind() on
    this._open = true; // not closed: Node's state.handle
    this._bindState = BIND_STATE_UNBOUND;
    this._connectState = CONNECT_STATE_DISCONNECTED;
    this._queue = undefined; // what waits for the bind: sends, connects, close
    this._reuseAddr = Boolean(options && options.reuseAddr);
    this._ipv6Only = Boolean(options && options.ipv6Only);
    this._recvBufferSize = BUFFER_DEFAULT;
    this._sendBufferSize = BUFFER_DEFAULT;
    this._pendingRecvBufferSize = options && options.recvBufferSize;
    this._pendingSendBufferSize = options && options.sendBufferSize;
    this._bound = null; // the address bound, { address, port }
    this._local = null; // the address sent from (the bound one, or that a connect chose)
    this._remote = null;
    this._connecting = null; // { address, port, callback } while the engine connects
    this._sends = new Map(); // tag -> { callback, address, port }
    this._nextTag = 1;
    this._unconsumed = 0;
    this._consumeScheduled = false;
    this._refed = true;
    this._memberships = new Map(); // 'group%interface' -> [group, interface]
    if (typeof listener === 'function') this.on('message', listener);
    if (options && options.signal !== undefined) {
      const { signal } = options;
      validateAbortSignal(signal, 'options.signal');
      const onAborted = () => {
        if (this._open) this.close();
      };
      if (signal.aborted) onAborted();
      else {
        signal.addEventListener('abort', onAborted);
        this.once('close', () => signal.removeEventListener('abort', onAborted));
      }
    }
  }

  _healthCheck() {
    if (!this._open) throw errors.simple(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
  }

  // Node's lookup4/lookup6: an empty address is the loopback host.
  _lookup(address, callback) {
    const family = this.type === 'udp4' ? 4 : 6;
    const host = address || (family === 4 ? '127.0.0.1' : '::1');
    if (this._userLookup) {
      this._userLookup(host, family, callback);
      return;
    }
    this._stack._lookup(host, { family }, callback);
  }

  /**
   * bind([port][, address][, callback]) or bind(options[, callback])
   * @returns {this}
   */
  bind(port_, address_, ...rest) {
    let port = port_;
    this._healthCheck();
    if (this._bindState !== BIND_STATE_UNBOUND) {
      throw errors.simple(Error, 'ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    }
    this._bindState = BIND_STATE_BINDING;
    const args = [port_, address_, ...rest];
    const callback = arguments.length && args[arguments.length - 1];
    if (typeof callback === 'function') {
      const removeListeners = () => {
        this.removeListener('error', removeListeners);
        this.removeListener('listening', onListening);
      };
      const onListening = () => {
        removeListeners();
        callback.call(this);
      };
      this.on('error', removeListeners);
      this.on('listening', onListening);
    }
    let address;
    if (port !== null && typeof port === 'object') {
      if (port.fd !== undefined) {
        this._bindState = BIND_STATE_UNBOUND;
        throw errors.notSupported('Binding a UDP socket to a file descriptor');
      }
      address = port.address || '';
      port = port.port;
    } else {
      address = typeof address_ === 'function' ? '' : address_;
    }
    if (!address) address = this.type === 'udp4' ? '0.0.0.0' : '::';
    this._lookup(address, (err, ip) => {
      if (!this._open) return;
      if (this._stack.destroyed) {
        // The stack went while the address was looked up: as its sockets.
        this._onStackDestroy();
        return;
      }
      if (err) {
        this._bindState = BIND_STATE_UNBOUND;
        this.emit('error', err);
        return;
      }
      const number = Number(port || 0);
      if (!(Number.isInteger(number) && number >= 0 && number <= 0xffff)) {
        this._bindState = BIND_STATE_UNBOUND;
        this.emit('error', errors.systemError('EINVAL', 'bind', ip, port));
        return;
      }
      this._bindAddress = { address: ip, port: number };
      this._id = this._stack._allocateId();
      this._stack._register(this._id, this);
      // Held open from here, as Node's handle is from its synchronous bind.
      this._stack._refHandle(this);
      let flags = this.type === 'udp6' ? UDP_FLAGS.IPV6 : 0;
      if (this._reuseAddr) flags |= UDP_FLAGS.REUSE_ADDR;
      if (this._ipv6Only) flags |= UDP_FLAGS.IPV6_ONLY;
      this._engine.udpBind(this._id, ip, number, flags);
    });
    return this;
  }

  // BOUND: the engine's socket exists.
  _onBound(local) {
    this._bindState = BIND_STATE_BOUND;
    this._bound = local;
    this._local = local;
    if (this._pendingRecvBufferSize) this.setRecvBufferSize(this._pendingRecvBufferSize);
    if (this._pendingSendBufferSize) this.setSendBufferSize(this._pendingSendBufferSize);
    this._pendingRecvBufferSize = this._pendingSendBufferSize = undefined;
    for (const [group, where] of this._memberships.values()) this._engine.udpMembership(this._id, group, where, true);
    const queue = this._queue;
    this._queue = undefined;
    this.emit('listening');
    if (queue) for (const run of queue) run();
  }

  // ERROR: a bind failed, and the engine has no socket.
  _onError(code) {
    const bind = this._bindAddress || { address: undefined, port: undefined };
    this._stack._unregister(this._id);
    this._stack._unrefHandle(this);
    this._id = 0;
    this._bindState = BIND_STATE_UNBOUND;
    this._queue = undefined;
    if (!this._open) return;
    this.emit('error', errors.systemError(code, 'bind', bind.address, bind.port));
  }

  _enqueue(run) {
    if (this._queue === undefined) {
      this._queue = [];
      // A bind that fails drops what waited for it, as in Node.
      const onError = () => {
        this._queue = undefined;
      };
      this.once(EventEmitter.errorMonitor, onError);
      this.once('listening', () => this.removeListener(EventEmitter.errorMonitor, onError));
    }
    this._queue.push(run);
  }

  /**
   * connect(port[, address][, callback])
   */
  connect(port, address, callback) {
    port = validatePort(port, 'Port', false);
    if (typeof address === 'function') {
      callback = address;
      address = '';
    } else if (address === undefined) {
      address = '';
    }
    validateString(address, 'address');
    if (this._connectState !== CONNECT_STATE_DISCONNECTED) {
      throw errors.simple(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    }
    this._connectState = CONNECT_STATE_CONNECTING;
    if (this._bindState === BIND_STATE_UNBOUND) this.bind({ port: 0 }, null);
    if (this._bindState !== BIND_STATE_BOUND) {
      this._enqueue(() => this._connect(port, address, callback));
      return;
    }
    this._connect(port, address, callback);
  }

  _connect(port, address, callback) {
    if (callback) this.once('connect', callback);
    this._lookup(address, (err, ip) => {
      if (!this._open || this._stack.destroyed) return;
      if (err) {
        this._connectFailed(err, callback);
        return;
      }
      this._connecting = { address, port, callback };
      this._engine.udpConnect(this._id, ip, port);
    });
  }

  _connectFailed(error, callback) {
    this._connectState = CONNECT_STATE_DISCONNECTED;
    this._connecting = null;
    if (callback) {
      this.removeListener('connect', callback);
      callback(error);
    } else {
      this.emit('error', error);
    }
  }

  // CONNECTED: the engine has the peer, and the local address that reaches it.
  _onConnected(local, remote) {
    if (!this._open || this._connecting === null) return;
    this._connecting = null;
    this._local = local;
    this._remote = remote;
    this._connectState = CONNECT_STATE_CONNECTED;
    this.emit('connect');
  }

  disconnect() {
    this._healthCheck();
    if (this._connectState !== CONNECT_STATE_CONNECTED) {
      throw errors.simple(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    }
    this._engine.udpDisconnect(this._id);
    this._connectState = CONNECT_STATE_DISCONNECTED;
    this._remote = null;
    this._local = this._bound;
  }

  /**
   * send(msg[, offset, length][, port][, address][, callback])
   */
  send(buffer, offset, length, port, address, callback) {
    let list;
    const connected = this._connectState === CONNECT_STATE_CONNECTED;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) {
        buffer = sliceBuffer(buffer, offset, length);
      } else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        } else {
          callback = address;
        }
      } else {
        callback = offset;
      }
      if (port || address) throw errors.simple(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    }
    if (!Array.isArray(buffer)) {
      if (typeof buffer === 'string') list = [Buffer.from(buffer)];
      else if (!isArrayBufferView(buffer)) throw errors.invalidArgType('buffer', BUFFER_TYPES, buffer);
      else list = [buffer];
    } else if (!(list = fixBufferList(buffer))) {
      throw errors.invalidArgType('buffer list arguments', BUFFER_TYPES, buffer);
    }
    if (!connected) port = validatePort(port, 'Port', false);
    if (typeof callback !== 'function') callback = undefined;
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    } else if (address != null) {
      validateString(address, 'address');
    }
    this._healthCheck();
    if (this._bindState === BIND_STATE_UNBOUND) this.bind({ port: 0 }, null);
    if (list.length === 0) list.push(Buffer.alloc(0));
    if (this._bindState !== BIND_STATE_BOUND) {
      this._enqueue(() => this.send(list, port, address, callback));
      return;
    }
    // The bytes are the engine's copy from here: the caller may reuse them.
    const bytes = list.length === 1 ? list[0] : Buffer.concat(list);
    if (connected) {
      this._send(bytes, '', 0, undefined, undefined, callback);
      return;
    }
    this._lookup(address, (err, ip) => {
      if (err) {
        if (callback) nextTick(callback, err);
        else nextTick(() => this.emit('error', err));
        return;
      }
      if (!this._open || this._stack.destroyed) return;
      this._send(bytes, ip, port, address, port, callback);
    });
  }

  _send(bytes, ip, port, address, shownPort, callback) {
    const tag = callback ? this._nextTag : 0;
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const result = this._engine.udpSend(this._id, view, ip, port, tag, tag !== 0);
    if (!callback) return; // a failure without a callback is silent, as in Node
    if (result !== undefined) {
      // Sent at once, as the kernel does: the callback on the next tick.
      if (result === 'OK') nextTick(callback, null, view.length);
      else nextTick(callback, errors.systemError(result, 'send', address, shownPort));
      return;
    }
    this._nextTag = tag + 1 >= UDP_REFUSED_TAG ? 1 : tag + 1;
    this._sends.set(tag, { callback, address, port: shownPort });
  }

  // DONE: a send ended (tag), or a connect failed (tag 0), or the peer of
  // a connected socket has no one on its port (UDP_REFUSED_TAG).
  _onDone(tag, code, count) {
    if (tag === 0 || tag === UDP_REFUSED_TAG) {
      if (!this._open) return;
      const connecting = this._connecting;
      if (tag === 0 && connecting !== null) {
        this._connectFailed(errors.systemError(code, 'connect', connecting.address, connecting.port), connecting.callback);
      } else if (tag === UDP_REFUSED_TAG && this._connectState === CONNECT_STATE_CONNECTED) {
        // As Node: the kernel fails the next receive, and the socket emits it.
        this.emit('error', errors.errnoException(errors.errnoOf(code), 'recvmsg'));
      }
      return;
    }
    const send = this._sends.get(tag);
    if (send === undefined) return; // no callback: Node drops the error too
    this._sends.delete(tag);
    if (code === 'OK') send.callback(null, count);
    else send.callback(errors.systemError(code, 'send', send.address, send.port));
    this._releaseIfDone();
  }

  // DATAGRAM
  _onDatagram(bytes, address, port) {
    const size = bytes.length;
    this._unconsumed += size + UDP_DATAGRAM_OVERHEAD;
    if (!this._consumeScheduled) {
      this._consumeScheduled = true;
      queueMicrotask(() => this._flushConsumed());
    }
    if (!this._open) return;
    this.emit('message', bytes, { address, family: familyOf(address), port, size });
  }

  // The engine counts what it delivered against the receive buffer until
  // told it was taken: once per batch of datagrams, not per datagram.
  _flushConsumed() {
    this._consumeScheduled = false;
    const count = this._unconsumed;
    this._unconsumed = 0;
    if (count > 0 && this._id !== 0 && !this._stack.destroyed) this._engine.udpConsumed(this._id, count);
  }

  close(callback) {
    if (typeof callback === 'function') this.on('close', callback);
    if (this._queue !== undefined) {
      this._queue.push(() => this.close());
      return this;
    }
    this._healthCheck();
    this._open = false;
    this._stack._unrefHandle(this);
    if (this._id !== 0 && !this._stack.destroyed) this._engine.udpClose(this._id);
    this._releaseIfDone();
    nextTick(() => this.emit('close'));
    return this;
  }

  // A closed socket stays registered while sends it made still owe their
  // callbacks (the engine sent them before it closed).
  _releaseIfDone() {
    if (this._open || this._sends.size > 0 || this._id === 0) return;
    this._stack._unregister(this._id);
  }

  _onStackDestroy() {
    this._sends.clear();
    if (!this._open) return;
    this._open = false;
    this._queue = undefined;
    nextTick(() => this.emit('close'));
  }

  address() {
    this._healthCheck();
    if (this._local === null) throw errors.errnoException(errors.errnoOf('EBADF'), 'getsockname');
    return endpointOf(this._local.address, this._local.port);
  }

  remoteAddress() {
    this._healthCheck();
    if (this._connectState !== CONNECT_STATE_CONNECTED) {
      throw errors.simple(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    }
    return endpointOf(this._remote.address, this._remote.port);
  }

  // Options the kernel takes only once the socket exists: EBADF before.
  _setOption(syscall, option, value) {
    if (this._bindState !== BIND_STATE_BOUND) throw errors.errnoException(errors.errnoOf('EBADF'), syscall);
    this._engine.udpSetOption(this._id, option, value);
  }

  /**
   * Receives and sends through `iface` only, as Linux's SO_BINDTODEVICE:
   * what arrives on other interfaces is not this socket's, and datagrams,
   * broadcasts included, leave by it alone; null undoes it. Not in Node's
   * dgram (the stack's own DHCP server uses it).
   * @param {import('../interfaces.js').Interface | null} iface
   */
  bindToInterface(iface) {
    if (iface !== null && (typeof iface !== 'object' || iface._stack !== this._stack)) {
      throw errors.invalidArgValue('iface', iface, 'must be an interface of this stack, or null');
    }
    if (iface !== null && iface.removed) throw errors.errnoException(errors.errnoOf('ENODEV'), 'bindToInterface');
    this._setOption('bindToInterface', UDP_OPTIONS.BIND_INTERFACE, iface === null ? 0 : iface._id);
  }

  setBroadcast(flag) {
    this._setOption('setBroadcast', UDP_OPTIONS.BROADCAST, flag ? 1 : 0);
  }

  setTTL(ttl) {
    validateNumber(ttl, 'ttl');
    if (!(ttl >= 1 && ttl <= 255)) throw errors.errnoException(errors.errnoOf('EINVAL'), 'setTTL');
    this._setOption('setTTL', UDP_OPTIONS.TTL, ttl);
    return ttl;
  }

  setMulticastTTL(ttl) {
    validateNumber(ttl, 'ttl');
    if (!(ttl >= 0 && ttl <= 255)) throw errors.errnoException(errors.errnoOf('EINVAL'), 'setMulticastTTL');
    this._setOption('setMulticastTTL', UDP_OPTIONS.MULTICAST_TTL, ttl);
    return ttl;
  }

  setMulticastLoopback(flag) {
    this._setOption('setMulticastLoopback', UDP_OPTIONS.MULTICAST_LOOP, flag ? 1 : 0);
    return flag;
  }

  setMulticastInterface(interfaceAddress) {
    this._healthCheck();
    validateString(interfaceAddress, 'interfaceAddress');
    const family = this.type === 'udp4' ? 4 : 6;
    const plain = interfaceAddress.split('%')[0];
    if (isIP(plain) !== family) throw errors.errnoException(errors.errnoOf('EINVAL'), 'setMulticastInterface');
    const any = family === 4 ? plain === '0.0.0.0' : plain === '::' || plain === '';
    const iface = any ? null : this._stack._interfaceWithAddress(canonicalAddress(plain, family), family);
    if (!any && iface === null) throw errors.errnoException(errors.errnoOf('EADDRNOTAVAIL'), 'setMulticastInterface');
    this._setOption('setMulticastInterface', UDP_OPTIONS.MULTICAST_INTERFACE, iface === null ? 0 : iface._id);
  }

  _membership(syscall, multicastAddress, interfaceAddress, join) {
    this._healthCheck();
    if (!multicastAddress) throw errors.missingArgs('multicastAddress');
    const family = isIP(multicastAddress);
    const multicast = family === 4
      ? (Number(multicastAddress.split('.')[0]) & 0xf0) === 0xe0
      : family === 6 && /^ff/i.test(multicastAddress);
    if (!multicast || (this.type === 'udp4') !== (family === 4)) {
      throw errors.errnoException(errors.errnoOf('EINVAL'), syscall);
    }
    const where = interfaceAddress ? String(interfaceAddress).split('%')[0] : '';
    const key = `${multicastAddress}%${where}`;
    if (join && this._memberships.has(key)) throw errors.errnoException(errors.errnoOf('EADDRINUSE'), syscall);
    if (!join && !this._memberships.has(key)) throw errors.errnoException(errors.errnoOf('EADDRNOTAVAIL'), syscall);
    // Before the bind the group waits for the engine's socket, as libuv's
    // binds one first.
    if (this._bindState === BIND_STATE_BOUND) {
      const result = this._engine.udpMembership(this._id, multicastAddress, where, join);
      if (result !== undefined && result !== 'OK') throw errors.errnoException(errors.errnoOf(result), syscall);
    }
    if (join) this._memberships.set(key, [multicastAddress, where]);
    else this._memberships.delete(key);
  }

  addMembership(multicastAddress, interfaceAddress) {
    this._membership('addMembership', multicastAddress, interfaceAddress, true);
  }

  dropMembership(multicastAddress, interfaceAddress) {
    this._membership('dropMembership', multicastAddress, interfaceAddress, false);
  }

  addSourceSpecificMembership(sourceAddress, groupAddress, interfaceAddress) {
    this._healthCheck();
    validateString(sourceAddress, 'sourceAddress');
    validateString(groupAddress, 'groupAddress');
    this._membership('addSourceSpecificMembership', groupAddress, `${sourceAddress}>${interfaceAddress || ''}`, true);
  }

  dropSourceSpecificMembership(sourceAddress, groupAddress, interfaceAddress) {
    this._healthCheck();
    validateString(sourceAddress, 'sourceAddress');
    validateString(groupAddress, 'groupAddress');
    this._membership('dropSourceSpecificMembership', groupAddress, `${sourceAddress}>${interfaceAddress || ''}`, false);
  }

  _bufferSize(size, receive) {
    if (size >>> 0 !== size) throw errors.simple(TypeError, 'ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer');
    if (!this._open || this._bindState !== BIND_STATE_BOUND) throw bufferSizeError(receive, 'EBADF');
    if (size === 0) return receive ? this._recvBufferSize : this._sendBufferSize;
    const taken = Math.min(Math.max(size * 2, BUFFER_MIN), BUFFER_MAX);
    if (receive) {
      this._recvBufferSize = taken;
      this._engine.udpSetOption(this._id, UDP_OPTIONS.RECV_BUFFER, taken);
    } else {
      this._sendBufferSize = taken;
    }
    return undefined;
  }

  setRecvBufferSize(size) {
    this._bufferSize(size, true);
  }

  setSendBufferSize(size) {
    this._bufferSize(size, false);
  }

  getRecvBufferSize() {
    return this._bufferSize(0, true);
  }

  getSendBufferSize() {
    return this._bufferSize(0, false);
  }

  // Datagrams leave as send() is called: nothing waits in a send queue.
  getSendQueueSize() {
    return 0;
  }

  getSendQueueCount() {
    return 0;
  }

  ref() {
    this._refed = true;
    if (this._open && this._id !== 0) this._stack._refHandle(this);
    return this;
  }

  unref() {
    this._refed = false;
    this._stack._unrefHandle(this);
    return this;
  }
}

if (Symbol.asyncDispose) {
  Socket.prototype[Symbol.asyncDispose] = function asyncDispose() {
    if (!this._open) return Promise.resolve();
    return new Promise((resolve) => this.close(resolve));
  };
}

/**
 * stack.dgram: Node's `dgram` module over one stack.
 * @param {import('../stack.js').Stack} stack
 */
function createDgram(stack) {
  function StackSocket(type, listener) {
    if (!new.target) return new StackSocket(type, listener);
    return Reflect.construct(Socket, [stack, type, listener], new.target);
  }
  Object.setPrototypeOf(StackSocket, Socket);
  StackSocket.prototype = Socket.prototype;
  return {
    createSocket: (type, listener) => new Socket(stack, type, listener),
    Socket: StackSocket,
    stack,
  };
}

module.exports = { Socket, createDgram };
