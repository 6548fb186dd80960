'use strict';
// Platform services for lib/, in Node. Every Node built-in that lib/ needs
// comes from here, so a browser build swaps this one file: the package.json
// "browser" field maps it to ./browser.js, which exports the same names.
const EventEmitter = require('node:events');
const { Duplex } = require('node:stream');
const { Buffer } = require('node:buffer');
const util = require('node:util');
const net = require('node:net');
const os = require('node:os');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { ReadableStream, WritableStream, CountQueuingStrategy } = require('node:stream/web');

/** [code, description] of a negative errno (libuv's numbering), as util.getSystemErrorMap(). */
function systemErrorInfo(errno) {
  return util.getSystemErrorMap().get(errno) || [util.getSystemErrorName(errno), 'unknown error'];
}

module.exports = {
  /** 'node' or 'browser'. */
  name: 'node',
  EventEmitter,
  Duplex,
  Buffer,
  inspect: util.inspect,
  isIP: net.isIP,
  isIPv4: net.isIPv4,
  isIPv6: net.isIPv6,
  BlockList: net.BlockList,
  SocketAddress: net.SocketAddress,
  /** Positive errno numbers by code (os.constants.errno). */
  errno: os.constants.errno,
  systemErrorInfo,
  randomBytes: crypto.randomBytes,
  nextTick: process.nextTick,
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
};
