'use strict';
// The wasm backend: the C core compiled to wasm32 (src/wasm/ is its export
// layer), one module instance per stack, driven on the calling JS thread.
// It keeps the contract of lib/backend/index.js: commands run in the core at
// once, and the events they cause are queued and delivered on a later task,
// as the native backend's arrive from its worker. Timers are armed for
// lwIP's next timeout, never on a fixed tick.
const { Buffer, engineHost: host } = require('../platform/node.js');
const { EVENTS } = require('./contract.js');

const SLEEP_FOREVER = 0xffffffff;
// Rounds of poll-and-dispatch in one task before the host's other work
// (I/O, timers, rendering) gets a turn.
const MAX_ROUNDS = 64;
// Bytes of one connection's writes that the core may hold before TCP takes
// them (TCP_SND_BUF): enough that TCP never waits for JS, and a bound on
// the linear memory a large write() costs, which a module never gives back.
const WRITE_AHEAD = 1024 * 1024;
// A connection's DATA events in one batch are handed to JS as one Buffer of
// up to this many bytes, as the native binding does (kMergeUpTo).
const MERGE_UP_TO = 64 * 1024;

// tcpip_wasm_event, as src/wasm/tcpip_wasm.h lays it out.
const RECORD = Object.freeze({
  type: 0, id: 4, otherId: 8, error: 12, count: 16, data: 20, localPort: 24, remotePort: 28,
  localAddress: 32, remoteAddress: 80, stats: 128,
});
const ADDRESS_LENGTH = 48;

let compiled = null; // the WebAssembly.Module every stack instantiates
let compiling = null;

function notInitialized() {
  const error = new Error('tcpip: call `await init()` before creating a stack with the wasm backend');
  error.code = 'ERR_TCPIP_NOT_INITIALIZED';
  return error;
}

async function toModule(source) {
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === 'string' || (typeof URL !== 'undefined' && source instanceof URL)) {
    source = await fetch(source);
  }
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (typeof WebAssembly.compileStreaming === 'function' &&
        (source.headers.get('content-type') || '').startsWith('application/wasm')) {
      return WebAssembly.compileStreaming(source);
    }
    source = await source.arrayBuffer();
  }
  return WebAssembly.compile(source);
}

/**
 * Compiles the module once. `source` may be a WebAssembly.Module, the bytes,
 * a URL or a fetch Response; by default the built module is used.
 */
function load(source) {
  if (compiled) return Promise.resolve(compiled);
  if (!compiling) {
    compiling = toModule(source === undefined ? host.readModuleBytes() : source)
      .then((module) => { compiled = module; return module; }, (error) => { compiling = null; throw error; });
  }
  return compiling;
}

function moduleSync() {
  if (compiled) return compiled;
  if (!host.canCompileSynchronously) throw notInitialized();
  compiled = new WebAssembly.Module(host.readModuleBytes());
  return compiled;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

// The few WASI calls wasi-libc makes: a clock, entropy for the random
// generator's seed, and stdout/stderr for lwIP's assertion messages. Files
// do not exist.
function wasiImports(backend) {
  const EBADF = 8;
  return {
    clock_time_get(id, precision, out) {
      const ms = id === 0 ? host.wallNow() : host.now();
      backend._view().setBigUint64(out, BigInt(Math.round(ms * 1e6)), true);
      return 0;
    },
    fd_write(fd, iovs, count, written) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const view = backend._view();
      let text = '';
      let total = 0;
      for (let i = 0; i < count; i++) {
        const base = view.getUint32(iovs + i * 8, true);
        const length = view.getUint32(iovs + i * 8 + 4, true);
        text += textDecoder.decode(backend._bytes().subarray(base, base + length));
        total += length;
      }
      host.writeConsole(text);
      view.setUint32(written, total, true);
      return 0;
    },
    random_get(pointer, length) {
      const bytes = backend._bytes();
      for (let at = 0; at < length; at += 65536) {
        globalThis.crypto.getRandomValues(bytes.subarray(pointer + at, pointer + Math.min(length, at + 65536)));
      }
      return 0;
    },
  };
}

// A function that calls object[method]() while the object lives, without
// keeping it alive. (Made outside the object's methods: a closure shares its
// scope with its siblings, and one that uses `this` would hold it.)
function weakly(object, method) {
  const ref = new WeakRef(object);
  return () => {
    const target = ref.deref();
    if (target) target[method]();
  };
}

class WasmBackend {
  constructor(dispatch) {
    this._dispatch = dispatch;
    const instance = new WebAssembly.Instance(moduleSync(), {
      tcpip: {
        event: (record) => this._onEvent(record),
        capture_write: (id, bytes, length) => this._onCaptureWrite(id, bytes, length),
      },
      wasi_snapshot_preview1: wasiImports(this),
    });
    this._core = instance.exports;
    this._memory = this._core.memory;
    this._buffer = null;
    this._u8 = null;
    this._dataView = null;
    this._core._initialize();
    if (!this._core.tcpip_wasm_create()) throw new Error('tcpip: the wasm stack could not be created');
    this._stack = this._core.tcpip_wasm_stack();
    // Events wait here, flat: type, id and five arguments each.
    this._queue = [];
    // By connection id: where in the queue its DATA event still takes more
    // bytes, and how many it holds. Any other event of that id closes it.
    this._openData = new Map();
    this._openDataBytes = new Map();
    this._delivering = false;
    this._scheduled = false;
    this._running = false;
    this._dirty = false;
    this._timer = null;
    this._timerDue = Infinity;
    this._release = null; // holds the process open while refed
    this._captures = new Map();
    // Writes beyond WRITE_AHEAD wait here, by id, as the caller's bytes.
    this._writes = new Map();
    this._writesToResume = new Set();
    this._destroyed = false;
    // The host's task queue and timers hold the backend only weakly: a stack
    // that nobody holds and that has nothing open is garbage, timers and all
    // (lib/stack.js holds stacks with open servers and sockets).
    this._runTask = weakly(this, '_run');
    this._onTimer = weakly(this, '_onTimerFired');
  }

  _onTimerFired() {
    this._timer = null;
    this._timerDue = Infinity;
    this._run();
  }

  // ------------------------------------------------------------ memory views

  _bytes() {
    if (this._buffer !== this._memory.buffer) this._refreshViews();
    return this._u8;
  }

  _view() {
    if (this._buffer !== this._memory.buffer) this._refreshViews();
    return this._dataView;
  }

  _refreshViews() {
    this._buffer = this._memory.buffer;
    this._u8 = new Uint8Array(this._buffer);
    this._dataView = new DataView(this._buffer);
  }

  _cString(pointer, limit = 256) {
    const bytes = this._bytes();
    let end = pointer;
    while (end < pointer + limit && bytes[end] !== 0) end++;
    return textDecoder.decode(bytes.subarray(pointer, end));
  }

  // tcpip_error_name(): the Node error code the core names.
  _errorName(code) {
    return this._cString(this._core.tcpip_error_name(code));
  }

  // Writes NUL-terminated strings, then `binary` bytes from a 4-byte aligned
  // offset, into the core's scratch buffer. Returns that offset, or -1 when
  // memory ran out: the scratch buffer is then gone, and the command that
  // follows fails in the core with ENOBUFS.
  _putArguments(strings, binary = 0) {
    const encoded = strings.map((s) => textEncoder.encode(s || ''));
    const stringBytes = encoded.reduce((sum, e) => sum + e.length + 1, 0);
    const binaryOffset = (stringBytes + 3) & ~3;
    const pointer = this._core.tcpip_wasm_scratch(binaryOffset + binary);
    if (!pointer) return -1;
    const bytes = this._bytes();
    let at = pointer;
    for (const e of encoded) {
      bytes.set(e, at);
      at += e.length;
      bytes[at++] = 0;
    }
    return binaryOffset;
  }

  // ------------------------------------------------------------ events

  _onEvent(record) {
    const view = this._view();
    const type = view.getUint32(record + RECORD.type, true);
    const id = view.getUint32(record + RECORD.id, true);
    const queue = this._queue;
    if (type === EVENTS.DATA) {
      this._onData(id, view.getUint32(record + RECORD.data, true), view.getUint32(record + RECORD.count, true));
      return;
    }
    if (this._openData.size !== 0) this._openData.delete(id);
    switch (type) {
      case EVENTS.PACKET:
      case EVENTS.LEASE:
      case EVENTS.ADDRESS: {
        const count = view.getUint32(record + RECORD.count, true);
        const data = view.getUint32(record + RECORD.data, true);
        queue.push(type, id, Buffer.from(this._u8.subarray(data, data + count)), undefined, undefined, undefined, undefined);
        break;
      }
      case EVENTS.DATAGRAM: {
        const count = view.getUint32(record + RECORD.count, true);
        const data = view.getUint32(record + RECORD.data, true);
        queue.push(type, id, Buffer.from(this._u8.subarray(data, data + count)),
          this._cString(record + RECORD.remoteAddress, ADDRESS_LENGTH), view.getUint32(record + RECORD.remotePort, true),
          undefined, undefined);
        break;
      }
      case EVENTS.ECHO_REPLY:
        queue.push(type, id, view.getUint32(record + RECORD.otherId, true),
          this._cString(record + RECORD.remoteAddress, ADDRESS_LENGTH), view.getUint32(record + RECORD.count, true),
          this._errorName(view.getUint32(record + RECORD.error, true)), undefined);
        break;
      case EVENTS.DONE:
        queue.push(type, id, view.getUint32(record + RECORD.otherId, true),
          this._errorName(view.getUint32(record + RECORD.error, true)), view.getUint32(record + RECORD.count, true),
          undefined, undefined);
        break;
      case EVENTS.WRITTEN:
        this._onWritten(id, view.getUint32(record + RECORD.count, true));
        queue.push(type, id, view.getUint32(record + RECORD.count, true), undefined, undefined, undefined, undefined);
        break;
      case EVENTS.ERROR:
        this._writes.delete(id);
        queue.push(type, id, this._errorName(view.getUint32(record + RECORD.error, true)), undefined, undefined, undefined, undefined);
        break;
      case EVENTS.LISTENING:
      case EVENTS.BOUND:
        queue.push(type, id, this._cString(record + RECORD.localAddress, ADDRESS_LENGTH),
          view.getUint32(record + RECORD.localPort, true), undefined, undefined, undefined);
        break;
      case EVENTS.ACCEPTED:
        queue.push(type, id, view.getUint32(record + RECORD.otherId, true),
          this._cString(record + RECORD.localAddress, ADDRESS_LENGTH), view.getUint32(record + RECORD.localPort, true),
          this._cString(record + RECORD.remoteAddress, ADDRESS_LENGTH), view.getUint32(record + RECORD.remotePort, true));
        break;
      case EVENTS.CONNECTED:
        queue.push(type, id, this._cString(record + RECORD.localAddress, ADDRESS_LENGTH),
          view.getUint32(record + RECORD.localPort, true), this._cString(record + RECORD.remoteAddress, ADDRESS_LENGTH),
          view.getUint32(record + RECORD.remotePort, true), undefined);
        break;
      case EVENTS.STATS: {
        const at = record + RECORD.stats;
        const counter = (i) => Number(view.getBigUint64(at + i * 8, true));
        queue.push(type, id, {
          packetsIn: counter(0),
          bytesIn: counter(1),
          packetsOut: counter(2),
          bytesOut: counter(3),
          dropped: { malformed: counter(4), oversize: counter(5), down: counter(6), noMemory: counter(7) },
        }, undefined, undefined, undefined, undefined);
        break;
      }
      default:
        queue.push(type, id, undefined, undefined, undefined, undefined, undefined);
        break;
    }
  }

  // A bulk flow's segments come a DATA event each (1460 bytes at the usual
  // MTU), and each would cost JS a stream push, a 'data' event and a write:
  // a batch's bytes of one connection, up to its next other event, go as
  // one Buffer. Not while the queue is being delivered: an open event may
  // have been dispatched already.
  _onData(id, data, count) {
    const queue = this._queue;
    const chunk = Buffer.from(this._u8.subarray(data, data + count));
    const open = this._delivering ? undefined : this._openData.get(id);
    if (open !== undefined) {
      const held = this._openDataBytes.get(id);
      if (held + count <= MERGE_UP_TO) {
        const chunks = queue[open + 2];
        if (Array.isArray(chunks)) chunks.push(chunk);
        else queue[open + 2] = [chunks, chunk];
        this._openDataBytes.set(id, held + count);
        return;
      }
    }
    if (!this._delivering) {
      this._openData.set(id, queue.length);
      this._openDataBytes.set(id, count);
    }
    queue.push(EVENTS.DATA, id, chunk, undefined, undefined, undefined, undefined);
  }

  // ------------------------------------------------------------ the loop

  // A command ran in the core: poll and deliver on the next task.
  _touch() {
    this._dirty = true;
    if (!this._scheduled && !this._running && !this._destroyed) {
      this._scheduled = true;
      host.scheduleTask(this._runTask);
    }
  }

  _run() {
    this._scheduled = false;
    if (this._destroyed || this._running) return;
    this._running = true;
    let sleep = SLEEP_FOREVER;
    try {
      for (let round = 0; round < MAX_ROUNDS && !this._destroyed; round++) {
        this._dirty = false;
        sleep = this._core.tcpip_wasm_poll();
        this._resumeWrites();
        if (this._queue.length === 0 && !this._dirty && sleep !== 0) break;
        this._deliver();
      }
    } finally {
      this._running = false;
    }
    if (this._destroyed) return;
    if (this._dirty || this._queue.length !== 0 || sleep === 0) {
      this._scheduled = true;
      host.scheduleTask(this._runTask);
      return;
    }
    // Captures reach their files before the stack rests.
    this._flushCaptures();
    if (sleep !== SLEEP_FOREVER) this._armTimer(sleep);
  }

  _deliver() {
    const queue = this._queue;
    const dispatch = this._dispatch;
    this._openData.clear();
    this._openDataBytes.clear();
    this._delivering = true;
    for (let i = 0; i < queue.length && !this._destroyed; i += 7) {
      const payload = queue[i + 2];
      try {
        dispatch(queue[i], queue[i + 1], Array.isArray(payload) ? Buffer.concat(payload) : payload,
          queue[i + 3], queue[i + 4], queue[i + 5], queue[i + 6]);
      } catch (error) {
        // An exception in a user's handler is an uncaught exception, as for
        // Node's own sockets; the other events still arrive.
        host.reportError(error);
      }
    }
    queue.length = 0;
    this._delivering = false;
  }

  _armTimer(ms) {
    const due = host.now() + ms;
    if (this._timer !== null) {
      if (this._timerDue <= due) return;
      host.clearTimer(this._timer);
    }
    this._timerDue = due;
    this._timer = host.setTimer(this._onTimer, ms);
  }

  // ------------------------------------------------------------ interfaces

  createInterface(id, kind, cidrs, mtu, mac, gateway, defaultRoute, ports) {
    const binaryOffset = this._putArguments([...cidrs, gateway], 8 + 4 * ports.length);
    if (binaryOffset >= 0) {
      const base = this._core.tcpip_wasm_scratch(0) + binaryOffset;
      if (mac) this._bytes().set(mac, base);
      const view = this._view();
      ports.forEach((port, i) => view.setUint32(base + 8 + i * 4, port, true));
    }
    this._core.tcpip_wasm_interface_create(id, kind, cidrs.length, mtu, Math.max(binaryOffset, 0), Boolean(mac),
      Boolean(defaultRoute), ports.length);
    this._touch();
  }

  removeInterface(id) {
    this._closeCapture(id, true);
    this._core.tcpip_interface_remove(this._stack, id);
    this._touch();
  }

  // Copied once, into the packet the core takes; what no packet can be made
  // of (oversized, no memory) goes through the scratch buffer, so that the
  // core counts its drop.
  interfaceInput(id, bytes) {
    const packet = this._core.tcpip_wasm_packet(bytes.length);
    if (packet) {
      this._bytes().set(bytes, packet);
      this._core.tcpip_wasm_interface_input_packet(id);
    } else {
      const pointer = this._core.tcpip_wasm_scratch(bytes.length);
      if (!pointer) return false;
      this._bytes().set(bytes, pointer);
      this._core.tcpip_wasm_interface_input(id, bytes.length);
    }
    this._touch();
    return true;
  }

  interfaceStats(id) {
    this._core.tcpip_interface_request_stats(this._stack, id);
    this._touch();
  }

  setChecksums(id, enabled) {
    this._core.tcpip_interface_set_checksums(this._stack, id, enabled);
  }

  dhcp(id, flags) {
    this._core.tcpip_interface_dhcp(this._stack, id, flags >>> 0);
    this._touch();
  }

  slaac(id, enabled) {
    this._core.tcpip_interface_slaac(this._stack, id, enabled);
    this._touch();
  }

  // The core's pcap writer (src/core/pcap.h) formats the file; the host's
  // file takes the bytes.
  captureStart(id, fd) {
    this._closeCapture(id, true);
    const capture = { file: host.captureFile(fd), pcap: 0 };
    this._captures.set(id, capture);
    capture.pcap = this._core.tcpip_wasm_capture_start(id);
  }

  captureStop(id) {
    this._closeCapture(id, false);
  }

  // tcpip.capture_write: 1 when the bytes were written.
  _onCaptureWrite(id, pointer, length) {
    const capture = this._captures.get(id);
    if (!capture) return 0;
    try {
      capture.file.write(this._bytes().subarray(pointer, pointer + length));
      return 1;
    } catch {
      return 0;
    }
  }

  _flushCaptures() {
    for (const capture of this._captures.values()) {
      if (capture.pcap) this._core.tcpip_wasm_capture_flush(capture.pcap);
    }
  }

  _closeCapture(id, silently) {
    const capture = this._captures.get(id);
    if (!capture) return;
    // Stopping writes what is buffered: the capture stays findable until then.
    let ok = capture.pcap !== 0 && this._core.tcpip_wasm_capture_stop(capture.pcap) !== 0;
    this._captures.delete(id);
    try {
      capture.file.close();
    } catch {
      ok = false;
    }
    if (!silently) {
      this._queue.push(EVENTS.CAPTURE_CLOSED, id, ok, undefined, undefined, undefined, undefined);
      this._touch();
    }
  }

  // ------------------------------------------------------------ TCP

  listen(id, address, port, backlog, ipv6Only) {
    this._putArguments([address]);
    this._core.tcpip_wasm_tcp_listen(id, port, backlog, Boolean(ipv6Only));
    this._touch();
  }

  connect(id, address, port, localAddress, localPort) {
    this._putArguments([address, localAddress]);
    this._core.tcpip_wasm_tcp_connect(id, port, localPort);
    this._touch();
  }

  // The caller's bytes wait here only while more than WRITE_AHEAD waits,
  // which is past the point where a socket calls a write back: for the
  // caller, they are copied.
  write(id, bytes) {
    this._queueWrite(id, [bytes]);
    return false;
  }

  writev(id, chunks) {
    this._queueWrite(id, chunks);
    return false;
  }

  _queueWrite(id, chunks) {
    let pending = this._writes.get(id);
    if (pending === undefined) {
      // chunks[head] is the next to copy: shifting an array of many small
      // writes one by one cost time quadratic in their number.
      pending = { chunks: [], head: 0, offset: 0, inCore: 0, shutdown: false };
      this._writes.set(id, pending);
    }
    for (const chunk of chunks) if (chunk.length > 0) pending.chunks.push(chunk);
    this._pushWrites(id, pending);
  }

  // Hands the core what fits under WRITE_AHEAD, as one write of the next
  // bytes in order; a shutdown that waited follows the last of them.
  _pushWrites(id, pending) {
    const room = WRITE_AHEAD - pending.inCore;
    if (room > 0 && pending.head < pending.chunks.length) {
      let length = 0;
      for (let i = pending.head; i < pending.chunks.length && length < room; i++) {
        length += pending.chunks[i].length - (i === pending.head ? pending.offset : 0);
      }
      length = Math.min(length, room);
      // Without memory the pointer is 0, and the core fails the connection.
      const pointer = this._core.tcpip_wasm_alloc(length);
      const bytes = pointer ? this._bytes() : null;
      let at = 0;
      while (at < length) {
        const chunk = pending.chunks[pending.head];
        const take = Math.min(chunk.length - pending.offset, length - at);
        if (bytes) bytes.set(chunk.subarray(pending.offset, pending.offset + take), pointer + at);
        at += take;
        pending.offset += take;
        if (pending.offset === chunk.length) {
          pending.chunks[pending.head++] = undefined;
          pending.offset = 0;
        }
      }
      if (pending.head === pending.chunks.length) {
        pending.chunks = [];
        pending.head = 0;
      } else if (pending.head >= 1024 && pending.head * 2 >= pending.chunks.length) {
        pending.chunks = pending.chunks.slice(pending.head);
        pending.head = 0;
      }
      pending.inCore += length;
      this._core.tcpip_tcp_write(this._stack, id, pointer, length);
      this._touch();
    }
    if (pending.chunks.length === 0) {
      if (pending.shutdown) this._core.tcpip_tcp_shutdown(this._stack, id);
      if (pending.shutdown || pending.inCore === 0) this._writes.delete(id);
    }
  }

  // During a poll (the core may not be re-entered): note what TCP took.
  _onWritten(id, count) {
    const pending = this._writes.get(id);
    if (pending === undefined) return;
    pending.inCore -= count;
    if (pending.chunks.length > 0) this._writesToResume.add(id);
    else if (pending.inCore <= 0) this._writes.delete(id);
  }

  _resumeWrites() {
    if (this._writesToResume.size === 0) return;
    for (const id of this._writesToResume) {
      const pending = this._writes.get(id);
      if (pending !== undefined) this._pushWrites(id, pending);
    }
    this._writesToResume.clear();
  }

  consumed(id, count) {
    this._core.tcpip_tcp_consumed(this._stack, id, count);
    this._touch();
  }

  shutdown(id) {
    const pending = this._writes.get(id);
    if (pending !== undefined && pending.chunks.length > 0) pending.shutdown = true;
    else this._core.tcpip_tcp_shutdown(this._stack, id);
    this._touch();
  }

  // Closing ends the connection's unsent writes here as in the core.
  close(id) {
    this._writes.delete(id);
    this._core.tcpip_tcp_close(this._stack, id);
    this._touch();
  }

  abort(id) {
    this._writes.delete(id);
    this._core.tcpip_tcp_abort(this._stack, id);
    this._touch();
  }

  listenForeign(id, interfaceId) {
    this._core.tcpip_tcp_listen_foreign(this._stack, id, interfaceId);
    this._touch();
  }

  acceptSyn(id) {
    this._core.tcpip_tcp_accept_syn(this._stack, id);
    this._touch();
  }

  setNoDelay(id, enabled) {
    this._core.tcpip_tcp_set_nodelay(this._stack, id, Boolean(enabled));
    this._touch();
  }

  setKeepAlive(id, enabled, idleMs) {
    this._core.tcpip_tcp_set_keepalive(this._stack, id, Boolean(enabled), idleMs >>> 0);
    this._touch();
  }

  // ------------------------------------------------------------ UDP

  udpBind(id, address, port, flags) {
    this._putArguments([address]);
    this._core.tcpip_wasm_udp_bind(id, port, flags);
    this._touch();
  }

  udpConnect(id, address, port) {
    this._putArguments([address]);
    this._core.tcpip_wasm_udp_connect(id, port);
    this._touch();
  }

  udpDisconnect(id) {
    this._core.tcpip_udp_disconnect(this._stack, id);
    this._touch();
  }

  // Sent at once: the result says how ('OK' or the error's name), so no
  // send is tagged for a DONE event (tag and report are the worker's).
  // eslint-disable-next-line no-unused-vars
  udpSend(id, bytes, address, port, tag, report) {
    const offset = this._putArguments([address], bytes.length);
    if (offset >= 0) this._bytes().set(bytes, this._core.tcpip_wasm_scratch(0) + offset);
    const error = this._core.tcpip_wasm_udp_send(id, port, Math.max(offset, 0), bytes.length);
    this._touch();
    return this._errorName(error);
  }

  udpConsumed(id, count) {
    this._core.tcpip_udp_consumed(this._stack, id, count);
    this._touch();
  }

  udpSetOption(id, option, value) {
    this._core.tcpip_udp_set_option(this._stack, id, option, value >>> 0);
    this._touch();
  }

  udpClose(id) {
    this._core.tcpip_udp_close(this._stack, id);
    this._touch();
  }

  // Joined or left at once: the result says how ('OK' or the error's name).
  udpMembership(id, group, interfaceAddress, join) {
    this._putArguments([group, interfaceAddress]);
    const error = this._core.tcpip_wasm_udp_membership(id, Boolean(join));
    this._touch();
    return this._errorName(error);
  }

  // ------------------------------------------------------------ ICMP

  // Sent at once: the result says how ('OK' or the error's name).
  icmpEcho(identifier, sequence, address, size) {
    this._putArguments([address]);
    const error = this._core.tcpip_wasm_icmp_echo(identifier, sequence, size);
    this._touch();
    return this._errorName(error);
  }

  // ------------------------------------------------------------ lifetime

  ref() {
    if (this._release || this._destroyed) return;
    this._release = host.holdOpen();
  }

  unref() {
    if (!this._release) return;
    this._release();
    this._release = null;
  }

  /** Bytes of the core's C heap in use. */
  heapBytesInUse() {
    return this._destroyed ? 0 : this._core.tcpip_wasm_heap_in_use();
  }

  /** Bytes of linear memory: it grows to the peak in use and stays. */
  memoryBytes() {
    return this._destroyed ? 0 : this._memory.buffer.byteLength;
  }

  destroy() {
    if (this._destroyed) return;
    for (const id of [...this._captures.keys()]) this._closeCapture(id, true);
    this._core.tcpip_wasm_destroy();
    this._destroyed = true;
    this.unref();
    if (this._timer !== null) host.clearTimer(this._timer);
    this._timer = null;
    this._queue.length = 0;
    this._writes.clear();
    this._core = null;
    this._memory = null;
    this._buffer = null;
    this._u8 = null;
    this._dataView = null;
  }
}

function create(dispatch) {
  return new WasmBackend(dispatch);
}

let linkInstance = null;

/**
 * The module instance the realm's JS links share for their decisions
 * (src/wasm/tcpip_wasm_link.h): made on first use from the compiled
 * module, with no stack in it.
 */
function linkDecisions() {
  if (linkInstance) return linkInstance;
  let memory = null;
  const views = { _bytes: () => new Uint8Array(memory.buffer), _view: () => new DataView(memory.buffer) };
  const instance = new WebAssembly.Instance(moduleSync(), {
    tcpip: { event() {}, capture_write: () => 0 },
    wasi_snapshot_preview1: wasiImports(views),
  });
  memory = instance.exports.memory;
  instance.exports._initialize();
  linkInstance = instance.exports;
  return linkInstance;
}

module.exports = { create, load, linkDecisions, WasmBackend };
