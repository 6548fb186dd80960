'use strict';
// Platform services for lib/, in Node. Every Node built-in that lib/ needs
// comes from here, so a browser build swaps this one file: the package.json
// "browser" field maps it to ./browser.js, which exports the same names.
const EventEmitter = require('node:events');
const stream = require('node:stream');
const { Duplex, addAbortSignal } = stream;
const { Buffer } = require('node:buffer');
const util = require('node:util');
const net = require('node:net');
const dns = require('node:dns');
const os = require('node:os');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const tty = require('node:tty');
const diagnosticsChannel = require('node:diagnostics_channel');
const { AsyncResource } = require('node:async_hooks');
const { ReadableStream, WritableStream, CountQueuingStrategy } = require('node:stream/web');

/** [code, description] of a negative errno (libuv's numbering), as util.getSystemErrorMap(). */
function systemErrorInfo(errno) {
  return util.getSystemErrorMap().get(errno) || [util.getSystemErrorName(errno), 'unknown error'];
}

// --- the engines' host: what the wasm engine and JS links need -----------

const WASM_PATH = process.env.TCPIP_WASM_PATH
  ? path.resolve(process.env.TCPIP_WASM_PATH)
  : path.join(__dirname, '..', '..', 'dist', 'wasm', 'tcpip.wasm');

/** The module's bytes, read synchronously: Node compiles any size on any thread. */
function readModuleBytes() {
  try {
    return fs.readFileSync(WASM_PATH);
  } catch (cause) {
    const error = new Error(`tcpip: the wasm module is not built (run \`npm run build:wasm\`): ${cause.message}`);
    error.code = 'ERR_TCPIP_NO_WASM';
    throw error;
  }
}

const canCompileSynchronously = true;

// The engines' own clocks and timers, taken when this file loads: a test
// that installs fake timers afterwards (sinon and the like) fakes its own
// code's time, not TCP's, as with the native backend's worker.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
const realSetImmediate = globalThis.setImmediate;
const realQueueMicrotask = globalThis.queueMicrotask;
const realPerformanceNow = performance.now.bind(performance);
const realDateNow = Date.now;

/** Monotonic milliseconds. */
const now = realPerformanceNow;
/** Milliseconds since the epoch. */
const wallNow = realDateNow;

// Runs fn after pending I/O, as the native backend's events arrive.
const scheduleTask = realSetImmediate;

// A timer that does not hold the process open by itself.
function setTimer(fn, ms) {
  const timer = realSetTimeout(fn, ms);
  timer.unref();
  return timer;
}

const clearTimer = realClearTimeout;

// Holds the process open while the stack has referenced handles.
function holdOpen() {
  const timer = realSetInterval(() => {}, 0x7fffffff);
  return () => realClearInterval(timer);
}

// An exception from a user's handler, as an uncaught exception, after the
// other events of the batch have been delivered.
function reportError(error) {
  realQueueMicrotask(() => { throw error; });
}

// pcap records go to a file descriptor the backend owns from captureStart.
function captureFile(fd) {
  return {
    write(bytes) {
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    },
    close() {
      fs.closeSync(fd);
    },
  };
}

// --- kernel streams: what stack.net serves through the kernel -----------

// The kernel's sockets of a protocol, by inode, from /proc/net (Linux).
function procSocketInodes(file, inodeColumn) {
  let text;
  try {
    text = fs.readFileSync(`/proc/net/${file}`, 'latin1');
  } catch {
    return new Set();
  }
  const inodes = new Set();
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length > inodeColumn) inodes.add(fields[inodeColumn]);
  }
  return inodes;
}

// A socket descriptor's kind, as libuv tells it with getsockname(): the
// socket's inode (/proc/self/fd) looked up among the kernel's sockets.
function socketType(fd) {
  let target;
  try {
    target = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    const error = new Error('Telling a Unix-domain socket descriptor from a TCP one needs Linux\'s /proc');
    error.code = 'ERR_TCPIP_NOT_SUPPORTED';
    throw error;
  }
  const match = /^socket:\[(\d+)\]$/.exec(target);
  if (match === null) return 'UNKNOWN';
  const inode = match[1];
  if (procSocketInodes('unix', 6).has(inode)) return 'PIPE';
  if (procSocketInodes('tcp', 9).has(inode) || procSocketInodes('tcp6', 9).has(inode)) return 'TCP';
  if (procSocketInodes('udp', 9).has(inode) || procSocketInodes('udp6', 9).has(inode)) return 'UDP';
  return 'UNKNOWN';
}

/** What `fd` is, named as Node's guessHandleType names it (libuv's uv_guess_handle). */
function guessHandleType(fd) {
  if (tty.isatty(fd)) return 'TTY';
  let stats;
  try {
    stats = fs.fstatSync(fd);
  } catch {
    return 'UNKNOWN';
  }
  if (stats.isFile() || stats.isCharacterDevice()) return 'FILE';
  if (stats.isFIFO()) return 'PIPE';
  if (!stats.isSocket()) return 'UNKNOWN';
  return socketType(fd);
}

function writeConsole(text) {
  process.stderr.write(text);
}

// Node marks the arrays net._normalizeArgs() returns with a symbol of its
// own (internal/net's normalizedArgsSymbol); reading it off one such array
// lets Socket#connect accept arrays normalized by either module.
const normalizedArgsSymbol = Object.getOwnPropertySymbols(net._normalizeArgs([]))
  .find((symbol) => symbol.description === 'normalizedArgs') || Symbol('normalizedArgs');

module.exports = {
  /** 'node' or 'browser'. */
  name: 'node',
  EventEmitter,
  Duplex,
  addAbortSignal,
  Buffer,
  inspect: util.inspect,
  isIP: net.isIP,
  isIPv4: net.isIPv4,
  isIPv6: net.isIPv6,
  BlockList: net.BlockList,
  SocketAddress: net.SocketAddress,
  normalizedArgsSymbol,
  // Node's defaults as its command line set them
  // (--[no-]network-family-autoselection[-attempt-timeout]).
  autoSelectFamilyDefaults: () => ({
    autoSelectFamily: net.getDefaultAutoSelectFamily(),
    attemptTimeout: net.getDefaultAutoSelectFamilyAttemptTimeout(),
  }),
  /** dns.lookup()'s hint flags. */
  dnsHints: { ADDRCONFIG: dns.ADDRCONFIG, V4MAPPED: dns.V4MAPPED, ALL: dns.ALL },
  emitWarning: (...args) => process.emitWarning(...args),
  /** A stream's default highWaterMark in bytes. */
  defaultHighWaterMark: () => stream.getDefaultHighWaterMark(false),
  /** Positive errno numbers by code (os.constants.errno). */
  errno: os.constants.errno,
  systemErrorInfo,
  randomBytes: crypto.randomBytes,
  nextTick: process.nextTick,
  // The async context (AsyncLocalStorage stores, async_hooks ids) of the
  // code that opens a handle, for the handle's events to run in, as Node's
  // own handles' callbacks do; destroyed by hand when the handle closes.
  asyncContext: () => new AsyncResource('TCPIPWRAP', { requireManualDestroy: true }),
  // Read the globals at call time, so that fake timers installed later apply.
  setTimeout: (fn, ms, ...args) => setTimeout(fn, ms, ...args),
  clearTimeout: (timer) => clearTimeout(timer),
  setImmediate: (fn, ...args) => setImmediate(fn, ...args),
  clearImmediate: (handle) => clearImmediate(handle),
  ReadableStream,
  WritableStream,
  CountQueuingStrategy,
  /** node:fs, or null where there is no file system (browsers). */
  fs,
  /** node:net, which carries Unix-domain sockets; null where there is no kernel (browsers). */
  kernelNet: net,
  /** What a file descriptor is (Node's guessHandleType); null in browsers. */
  guessHandleType,
  /** node:diagnostics_channel; null in browsers, where nothing subscribes. */
  diagnosticsChannel,
  /** The WebSocket class tunnels use: the npm `ws` package's, loaded on first use. */
  loadWebSocket: () => require('ws'),
  /** Clocks, timers and files of the engines, not the user's (see above). */
  engineHost: {
    readModuleBytes, canCompileSynchronously, now, wallNow, scheduleTask, setTimer, clearTimer, holdOpen, reportError,
    captureFile, writeConsole,
  },
};
