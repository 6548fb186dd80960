'use strict';
// Platform services for lib/, in a browser (or any JS runtime without Node's
// built-ins). Bundlers pick this file instead of ./node.js through the
// package.json "browser" field; it exports the same names. Node's APIs come
// from well-kept browser packages: `events`, `buffer` and `readable-stream`
// (Node's own streams, v4); the rest is small enough to write here.
const EventEmitter = require('events');
const { Buffer } = require('buffer');
const { Duplex, addAbortSignal } = require('readable-stream');

// --- IP address syntax, as Node's net.isIPv4 / net.isIPv6 ---------------

// Dotted quad, each part 0..255 written without leading zeros.
const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const IPV6_ZONE = /^[0-9a-zA-Z.:-]+$/;

function text(input) {
  return typeof input === 'string' ? input : `${input}`;
}

function parseIPv4(s) {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (const part of parts) {
    if (!IPV4_PART.test(part) || Number(part) > 255) return false;
  }
  return true;
}

function parseIPv6(s) {
  // An optional zone: fe80::1%eth0.
  const percent = s.indexOf('%');
  if (percent !== -1) {
    if (!IPV6_ZONE.test(s.slice(percent + 1))) return false;
    s = s.slice(0, percent);
  }
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const compressed = halves.length === 2;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = compressed && halves[1] !== '' ? halves[1].split(':') : [];
  const groups = head.concat(tail);
  // Only the last group of the whole address may be an IPv4 address, and
  // only if something follows the `::` or nothing is compressed.
  const lastOwner = compressed ? tail : head;
  let count = 0;
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i];
    if (IPV6_GROUP.test(group)) {
      count += 1;
    } else if (i === groups.length - 1 && lastOwner.length > 0 && group.includes('.') && parseIPv4(group)) {
      count += 2;
    } else {
      return false;
    }
  }
  // `::` stands for at least one group of zeros.
  return compressed ? count <= 7 : count === 8;
}

function isIPv4(input) {
  return parseIPv4(text(input));
}

function isIPv6(input) {
  return parseIPv6(text(input));
}

function isIP(input) {
  const s = text(input);
  if (parseIPv4(s)) return 4;
  if (parseIPv6(s)) return 6;
  return 0;
}

// --- util.inspect, enough for error messages ------------------------------

function inspectString(s) {
  const quote = !s.includes("'") ? "'" : !s.includes('"') ? '"' : !s.includes('`') ? '`' : "'";
  const escaped = s.replace(/[\\\n\r\t\b\f\v]/g, (c) => ({
    '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v',
  })[c]);
  return quote + (quote === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quote;
}

function inspectKey(key) {
  if (typeof key === 'symbol') return `[${key.toString()}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : inspectString(key);
}

function inspectValue(value, depth, seen) {
  switch (typeof value) {
    case 'string': return inspectString(value);
    case 'number': return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint': return `${value}n`;
    case 'symbol': return value.toString();
    case 'undefined': return 'undefined';
    case 'boolean': return String(value);
    case 'function': return value.name ? `[Function: ${value.name}]` : '[Function (anonymous)]';
    default: break;
  }
  if (value === null) return 'null';
  if (seen.includes(value)) return '[Circular *1]';
  const isArray = Array.isArray(value);
  const ctor = value.constructor && value.constructor.name;
  const prefix = isArray || ctor === 'Object' ? '' : `${ctor || '[Object: null prototype]'} `;
  if (value instanceof Error) return value.stack || String(value);
  if (depth < 0) return isArray ? '[Array]' : `[${ctor || 'Object'}]`;
  const items = [];
  if (isArray || ArrayBuffer.isView(value)) {
    const shown = Math.min(value.length, 100);
    for (let i = 0; i < shown; i++) items.push(inspectValue(value[i], depth - 1, seen.concat([value])));
    if (value.length > shown) items.push(`... ${value.length - shown} more items`);
    if (items.length === 0) return `${isArray ? '' : prefix}[]`;
    return `${isArray ? '' : prefix}[ ${items.join(', ')} ]`;
  }
  for (const key of Reflect.ownKeys(value)) {
    if (!Object.prototype.propertyIsEnumerable.call(value, key)) continue;
    items.push(`${inspectKey(key)}: ${inspectValue(value[key], depth - 1, seen.concat([value]))}`);
  }
  if (items.length === 0) return `${prefix}{}`;
  return `${prefix}{ ${items.join(', ')} }`;
}

/** A small util.inspect: Node's format for primitives, plain objects and arrays. */
function inspect(value, options) {
  const depth = options && typeof options.depth === 'number' ? options.depth : 2;
  return inspectValue(value, depth, []);
}

// --- errno numbers ---------------------------------------------------------

// Linux's numbers, which Node on Linux (libuv) reports negated as `errno`:
// browsers have no errno of their own, and the same code then carries the
// same number as in Node.
const errno = Object.freeze({
  E2BIG: 7, EACCES: 13, EADDRINUSE: 98, EADDRNOTAVAIL: 99, EAFNOSUPPORT: 97, EAGAIN: 11,
  EALREADY: 114, EBADF: 9, EBADMSG: 74, EBUSY: 16, ECANCELED: 125, ECHILD: 10,
  ECONNABORTED: 103, ECONNREFUSED: 111, ECONNRESET: 104, EDEADLK: 35, EDESTADDRREQ: 89,
  EDOM: 33, EDQUOT: 122, EEXIST: 17, EFAULT: 14, EFBIG: 27, EHOSTUNREACH: 113, EIDRM: 43,
  EILSEQ: 84, EINPROGRESS: 115, EINTR: 4, EINVAL: 22, EIO: 5, EISCONN: 106, EISDIR: 21,
  ELOOP: 40, EMFILE: 24, EMLINK: 31, EMSGSIZE: 90, EMULTIHOP: 72, ENAMETOOLONG: 36,
  ENETDOWN: 100, ENETRESET: 102, ENETUNREACH: 101, ENFILE: 23, ENOBUFS: 105, ENODATA: 61,
  ENODEV: 19, ENOENT: 2, ENOEXEC: 8, ENOLCK: 37, ENOLINK: 67, ENOMEM: 12, ENOMSG: 42,
  ENOPROTOOPT: 92, ENOSPC: 28, ENOSR: 63, ENOSTR: 60, ENOSYS: 38, ENOTCONN: 107,
  ENOTDIR: 20, ENOTEMPTY: 39, ENOTSOCK: 88, ENOTSUP: 95, ENOTTY: 25, ENXIO: 6,
  EOPNOTSUPP: 95, EOVERFLOW: 75, EPERM: 1, EPIPE: 32, EPROTO: 71, EPROTONOSUPPORT: 93,
  EPROTOTYPE: 91, ERANGE: 34, EROFS: 30, ESPIPE: 29, ESRCH: 3, ESTALE: 116, ETIME: 62,
  ETIMEDOUT: 110, ETXTBSY: 26, EWOULDBLOCK: 11, EXDEV: 18,
});

function systemErrorInfo(number) {
  const code = Object.keys(errno).find((key) => -errno[key] === number);
  return [code || `Unknown system error ${number}`, 'unknown error'];
}

// --- randomness ------------------------------------------------------------

function randomBytes(size) {
  const bytes = Buffer.alloc(size);
  // getRandomValues fills at most 65536 bytes per call.
  for (let offset = 0; offset < size; offset += 65536) {
    globalThis.crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  return bytes;
}

// --- scheduling ------------------------------------------------------------

function reportError(error) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
  else globalThis.setTimeout(() => { throw error; }, 0);
}

// process.nextTick: callbacks run in order, after the current task and
// before any timer or I/O (on the microtask queue; Node runs them just
// before promise reactions, here they interleave with them).
let ticks = [];
let tickScheduled = false;

function runTicks() {
  while (ticks.length) {
    const batch = ticks;
    ticks = [];
    for (const [fn, args] of batch) {
      try {
        fn(...args);
      } catch (error) {
        reportError(error);
      }
    }
  }
  tickScheduled = false;
}

function nextTick(fn, ...args) {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
  ticks.push([fn, args]);
  if (!tickScheduled) {
    tickScheduled = true;
    queueMicrotask(runTicks);
  }
}

// setImmediate: a macrotask with no 4 ms clamp (MessageChannel), batched.
let immediates = [];
let channel = null;

function runImmediates() {
  const batch = immediates;
  immediates = [];
  for (const immediate of batch) {
    if (immediate._cleared) continue;
    immediate._cleared = true;
    try {
      immediate._fn(...immediate._args);
    } catch (error) {
      reportError(error);
    }
  }
}

class Immediate {
  constructor(fn, args) {
    this._fn = fn;
    this._args = args;
    this._cleared = false;
  }

  ref() { return this; }

  unref() { return this; }

  hasRef() { return true; }
}

function setImmediate(fn, ...args) {
  const immediate = new Immediate(fn, args);
  immediates.push(immediate);
  if (immediates.length === 1) {
    if (!channel && typeof MessageChannel === 'function') {
      channel = new MessageChannel();
      channel.port1.onmessage = runImmediates;
      // Where ports hold a process open (Node, Deno), this one must not.
      if (typeof channel.port1.unref === 'function') channel.port1.unref();
    }
    if (channel) channel.port2.postMessage(null);
    else globalThis.setTimeout(runImmediates, 0);
  }
  return immediate;
}

function clearImmediate(immediate) {
  if (immediate instanceof Immediate) immediate._cleared = true;
}

// Node's Timeout object: refresh(), ref()/unref() (no-ops: a page has no
// event loop to keep alive).
class Timeout {
  constructor(fn, ms, args) {
    this._fn = fn;
    this._ms = ms;
    this._args = args;
    this._id = null;
    this._start();
  }

  _start() {
    this._id = globalThis.setTimeout(() => {
      this._id = null;
      this._fn(...this._args);
    }, this._ms);
  }

  refresh() {
    if (this._id !== null) globalThis.clearTimeout(this._id);
    this._start();
    return this;
  }

  ref() { return this; }

  unref() { return this; }

  hasRef() { return true; }

  [Symbol.toPrimitive]() {
    return this._id;
  }
}

// --- the engines' host: what the wasm engine and JS links need -----------
// The module's bytes come embedded, as base64, from the build.
const { WASM_BASE64 } = require('../../dist/wasm/tcpip.wasm.js');

function readModuleBytes() {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(WASM_BASE64);
  const text = atob(WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// Browsers refuse to compile large modules synchronously on the main thread:
// init() compiles asynchronously first.
const canCompileSynchronously = false;

// The engines' own clocks and timers, taken when this file loads (see
// node.js: fake timers installed later do not stop TCP).
const realSetTimeout = globalThis.setTimeout.bind(globalThis);
const realClearTimeout = globalThis.clearTimeout.bind(globalThis);
const realPerformanceNow = performance.now.bind(performance);
const realDateNow = Date.now;

const now = realPerformanceNow;
const wallNow = realDateNow;

// A task after pending events, as the native engine's arrive: the
// platform's setImmediate (a MessageChannel, no clamping).
function scheduleTask(fn) {
  setImmediate(fn);
}

function setTimer(fn, ms) {
  return realSetTimeout(fn, ms);
}

const clearTimer = realClearTimeout;

// A page stays open by itself.
function holdOpen() {
  return () => {};
}

function captureFile() {
  const error = new Error('Packet capture to a file needs Node');
  error.code = 'ERR_TCPIP_NOT_SUPPORTED';
  throw error;
}

// As process.emitWarning(message, type, code): printed once, as Node prints.
function emitWarning(message, type = 'Warning', code = undefined) {
  console.warn(`${code ? `[${code}] ` : ''}${type}: ${message}`);
}

function writeConsole(text) {
  console.error(text.replace(/\n$/, ''));
}

module.exports = {
  name: 'browser',
  EventEmitter,
  Duplex,
  addAbortSignal,
  Buffer,
  inspect,
  isIP,
  isIPv4,
  isIPv6,
  // Node's BlockList and SocketAddress have no browser counterpart.
  BlockList: undefined,
  SocketAddress: undefined,
  normalizedArgsSymbol: Symbol('normalizedArgs'),
  // Node 20's defaults.
  autoSelectFamilyDefaults: () => ({ autoSelectFamily: true, attemptTimeout: 250 }),
  // Linux's getaddrinfo flags, as Node's dns module has them there.
  dnsHints: { ADDRCONFIG: 32, V4MAPPED: 8, ALL: 16 },
  emitWarning,
  // Node 20's default for byte streams.
  defaultHighWaterMark: () => 16384,
  errno,
  systemErrorInfo,
  randomBytes,
  nextTick,
  // No async context to carry here.
  asyncContext: () => null,
  setTimeout: (fn, ms, ...args) => new Timeout(fn, ms, args),
  clearTimeout: (timer) => {
    if (timer instanceof Timeout) {
      if (timer._id !== null) globalThis.clearTimeout(timer._id);
      timer._id = null;
    } else if (timer != null) {
      globalThis.clearTimeout(timer);
    }
  },
  setImmediate,
  clearImmediate,
  ReadableStream: globalThis.ReadableStream,
  WritableStream: globalThis.WritableStream,
  CountQueuingStrategy: globalThis.CountQueuingStrategy,
  fs: null,
  // No kernel, no descriptors, no diagnostics_channel in a page.
  kernelNet: null,
  guessHandleType: null,
  diagnosticsChannel: null,
  // The page's own WebSocket.
  loadWebSocket: () => globalThis.WebSocket,
  engineHost: {
    readModuleBytes, canCompileSynchronously, now, wallNow, scheduleTask, setTimer, clearTimer, holdOpen, reportError,
    captureFile, writeConsole,
  },
};
