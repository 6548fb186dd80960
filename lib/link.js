'use strict';
// Links: two TUN or two TAP interfaces (of two stacks, usually) joined
// under conditions that can change while traffic flows. Between two native
// stacks the addon's NativeLink carries the packets with no JS on the data
// path; otherwise (wasm, browser) the JS engine of link-engine.js does, with
// the same conditions and counters.
const errors = require('./errors.js');
const { validateObject } = require('./validators.js');
const { TunInterface, TapInterface } = require('./interfaces.js');
const { JsLink } = require('./link-engine.js');

const ETHERNET_HEADER = 14;

const RANGES = {
  latency: [0, 60000], // milliseconds
  jitter: [0, 60000], // milliseconds
  loss: [0, 1], // probability
  duplicate: [0, 1],
  reorder: [0, 1],
  rate: [0, Number.MAX_SAFE_INTEGER], // bits per second, 0: unlimited
  mtu: [0, 65535], // 0: no limit beyond the interfaces'
  queue: [0, 2 ** 31], // bytes that may wait behind a rate limit, 0: automatic
};

// Internal, for tests: options.engine 'js' forces the JS engine even
// between two native stacks. Not part of the documented API.
function chooseEngine(a, b, forced) {
  if (forced !== undefined && forced !== 'js') throw errors.invalidArgValue('options.engine', forced, "must be 'js'");
  if (forced === 'js') return 'js';
  return a._stack.backend === 'native' && b._stack.backend === 'native' ? 'native' : 'js';
}

// The seed of a link's random numbers (loss, jitter, reordering,
// duplication): given, the same packets meet the same fates on either
// engine; otherwise a random one, readable as link.seed to replay a run.
function checkSeed(seed) {
  if (seed === undefined) return Math.floor(Math.random() * 2 ** 53);
  if (typeof seed !== 'number') throw errors.invalidArgType('options.seed', 'number', seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw errors.outOfRange('options.seed', `an integer >= 0 && <= ${Number.MAX_SAFE_INTEGER}`, seed);
  }
  return seed;
}

function checkConditions(options) {
  validateObject(options, 'options');
  const checked = {};
  for (const [key, [min, max]] of Object.entries(RANGES)) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number') throw errors.invalidArgType(`options.${key}`, 'number', value);
    if (!(value >= min && value <= max)) throw errors.outOfRange(`options.${key}`, `>= ${min} && <= ${max}`, value);
    checked[key] = value;
  }
  return checked;
}

class Link {
  /** @internal use link() */
  constructor(a, b, options) {
    const kind = a instanceof TapInterface ? TapInterface : TunInterface;
    for (const [name, iface] of [['a', a], ['b', b]]) {
      if (!(iface instanceof TunInterface) && !(iface instanceof TapInterface)) {
        throw errors.invalidArgType(name, ['TunInterface', 'TapInterface'], iface);
      }
      if (!(iface instanceof kind)) {
        throw errors.invalidArgValue(name, iface.type, 'must be of the same type as the other end (TUN-TUN or TAP-TAP)');
      }
      if (iface.removed || iface._stack.destroyed) {
        throw errors.simple(Error, 'ERR_TCPIP_INTERFACE_REMOVED', 'Cannot link a removed interface');
      }
      if (iface._link) throw errors.simple(Error, 'ERR_TCPIP_INTERFACE_LINKED', 'The interface is already linked');
    }
    if (a === b) throw errors.invalidArgValue('b', 'the same interface', 'must differ from a');
    this._conditions = { up: true, ...checkConditions(options) };
    this._seed = checkSeed(options.seed);
    /** @internal 'native' or 'js': which engine carries the packets. */
    this._engineType = chooseEngine(a, b, options.engine);
    this.a = a;
    this.b = b;
    const headerBytes = kind === TapInterface ? ETHERNET_HEADER : 0;
    if (this._engineType === 'native') {
      const { NativeLink } = require('./backend/native.js').loadAddon();
      this._engine = new NativeLink(a._engine, a._id, b._engine, b._id, headerBytes, this._seed);
    } else {
      this._engine = new JsLink(a, b, headerBytes, this._seed);
    }
    this._engine.setConditions(this._conditions);
    a._link = this;
    b._link = this;
  }

  /** The conditions in force: latency, jitter, loss, duplicate, reorder, rate, mtu, queue, up. */
  get conditions() {
    return { ...this._conditions };
  }

  /** The seed of the link's random numbers, given or chosen. */
  get seed() {
    return this._seed;
  }

  /** Changes some conditions; the others stay. Takes effect for the next packet. */
  set(options) {
    this._assertOpen();
    this._conditions = { ...this._conditions, ...checkConditions(options) };
    this._engine.setConditions(this._conditions);
    return this;
  }

  /** A partition: every packet is dropped until up(). */
  down() {
    this._assertOpen();
    this._conditions.up = false;
    this._engine.setConditions(this._conditions);
    return this;
  }

  up() {
    this._assertOpen();
    this._conditions.up = true;
    this._engine.setConditions(this._conditions);
    return this;
  }

  /** Counters per direction: packets, bytes, lost, duplicated, reordered, dropped*. */
  stats() {
    this._assertOpen();
    return this._engine.stats();
  }

  /** Takes the link away; the interfaces' traffic goes back to JS events. */
  destroy() {
    if (!this._engine) return;
    this._engine.detach();
    this._engine = null;
    this.a._link = null;
    this.b._link = null;
  }

  get destroyed() {
    return this._engine === null;
  }

  _assertOpen() {
    if (!this._engine) throw errors.simple(Error, 'ERR_TCPIP_LINK_DESTROYED', 'The link has been destroyed');
  }
}

/**
 * Joins two TUN or two TAP interfaces: natively when both stacks are native.
 * @param {import('./interfaces.js').TunInterface|import('./interfaces.js').TapInterface} a
 * @param {import('./interfaces.js').TunInterface|import('./interfaces.js').TapInterface} b
 * @param {object} [options] latency and jitter (ms), loss, duplicate and reorder
 *   (probabilities), rate (bit/s), mtu, queue (bytes), and seed (an integer:
 *   the same seed, the same fates for the same packets)
 */
function link(a, b, options = {}) {
  return new Link(a, b, options);
}

module.exports = { link, Link };
