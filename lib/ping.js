'use strict';
// stack.ping(): ICMP echo requests from a stack, IPv4 and IPv6, as ping(8)
// sends them (one every `interval`, each waiting `timeout` for its reply),
// resolving with one result per probe.
const errors = require('./errors.js');
const { validateObject, validateString, validateInt32 } = require('./validators.js');
const { canonicalAddress } = require('./net/ports.js');
const { isIP } = require('./platform/node.js');

const IDENTIFIERS = 0xffff;

/**
 * @typedef {{ sequence: number, address: string, bytes: number, time: number }} PingReply
 * @typedef {{ sequence: number, time: null, error: Error }} PingLoss
 */

class Ping {
  constructor(stack, identifier, address, { count, timeout, size, interval }) {
    this._stack = stack;
    this._identifier = identifier;
    this._address = canonicalAddress(address, isIP(address)); // as replies show it
    this._count = count;
    this._timeout = timeout;
    this._size = size;
    this._interval = interval;
    this._results = new Array(count);
    this._sentAt = new Array(count);
    this._timers = new Set();
    this._settled = 0;
    this._refed = true; // holds the process open while it runs, as a socket would
    this._done = null;
    this.finished = new Promise((resolve) => {
      this._done = resolve;
    });
  }

  start() {
    this._stack._refHandle(this);
    this._probe(0);
  }

  _later(fn, ms) {
    const timer = setTimeout(() => {
      this._timers.delete(timer);
      fn();
    }, ms);
    this._timers.add(timer);
  }

  // Each probe schedules the next, one interval later, as ping(8) does.
  _probe(sequence) {
    if (this._stack.destroyed || this._settled === this._count) return;
    if (sequence + 1 < this._count) this._later(() => this._probe(sequence + 1), this._interval);
    this._sentAt[sequence] = performance.now();
    const result = this._stack._backend.icmpEcho(this._identifier, sequence, this._address, this._size);
    if (result !== undefined && result !== 'OK') {
      this._settle(sequence, { sequence, time: null, error: errors.systemError(result, 'ping', this._address) });
      return;
    }
    this._later(() => this._settle(sequence, {
      sequence, time: null, error: errors.systemError('ETIMEDOUT', 'ping', this._address),
    }), this._timeout);
  }

  // ECHO_REPLY: a reply, or (a worker's) a request that could not leave.
  _onReply(sequence, address, bytes, code) {
    if (sequence >= this._count || this._sentAt[sequence] === undefined) return;
    if (code !== 'OK') {
      this._settle(sequence, { sequence, time: null, error: errors.systemError(code, 'ping', this._address) });
      return;
    }
    // Not our request's echo (an address can answer for another only if
    // the target was a broadcast, which a stack does not answer).
    if (bytes !== this._size || address !== this._address) return;
    this._settle(sequence, { sequence, address, bytes, time: performance.now() - this._sentAt[sequence] });
  }

  _settle(sequence, result) {
    if (this._results[sequence] !== undefined) return;
    this._results[sequence] = result;
    if (++this._settled === this._count) this._finish();
  }

  _finish() {
    for (const timer of this._timers) clearTimeout(timer);
    this._timers.clear();
    this._stack._unrefHandle(this);
    this._stack._pings.delete(this._identifier);
    this._done(this._results);
  }

  // The stack is going: what is still out is lost.
  _onStackDestroy() {
    for (let sequence = 0; sequence < this._count; sequence++) {
      this._settle(sequence, { sequence, time: null, error: errors.systemError('ECONNABORTED', 'ping', this._address) });
    }
  }
}

function integerOption(options, name, fallback, min, max) {
  const value = options[name];
  if (value === undefined) return fallback;
  validateInt32(value, `options.${name}`, min, max);
  return value;
}

/**
 * Pings `host` from `stack`; resolves with one result per probe, in order.
 * @param {import('./stack.js').Stack} stack
 * @param {string} host an address, or a name the stack resolves
 * @param {{ count?: number, timeout?: number, size?: number, interval?: number }} [options]
 * @returns {Promise<Array<PingReply | PingLoss>>}
 */
function ping(stack, host, options = {}) {
  validateString(host, 'host');
  validateObject(options, 'options');
  const settings = {
    count: integerOption(options, 'count', 1, 1, 65536), // 16-bit sequence numbers
    timeout: integerOption(options, 'timeout', 1000, 1, 2 ** 31 - 1),
    size: integerOption(options, 'size', 56, 0, 65487),
    interval: integerOption(options, 'interval', 1000, 0, 2 ** 31 - 1),
  };
  stack._assertAlive();
  return new Promise((resolve, reject) => {
    stack._lookup(host, {}, (error, address) => {
      if (error) {
        reject(error);
        return;
      }
      if (stack.destroyed) {
        reject(errors.simple(Error, 'ERR_TCPIP_STACK_DESTROYED', 'The stack has been destroyed'));
        return;
      }
      const identifier = freeIdentifier(stack);
      if (identifier === 0) {
        reject(errors.systemError('ENOBUFS', 'ping', address));
        return;
      }
      const probe = new Ping(stack, identifier, address, settings);
      stack._pings.set(identifier, probe);
      probe.start();
      resolve(probe.finished);
    });
  });
}

// An ICMP identifier no ping of the stack uses (0 when all are taken).
function freeIdentifier(stack) {
  for (let tries = 0; tries < IDENTIFIERS; tries++) {
    const identifier = stack._nextPingIdentifier;
    stack._nextPingIdentifier = identifier >= IDENTIFIERS ? 1 : identifier + 1;
    if (!stack._pings.has(identifier)) return identifier;
  }
  return 0;
}

module.exports = { ping };
