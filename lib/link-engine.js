'use strict';
// The JS link engine, for links whose stacks are not both native (wasm,
// browser), and for tests that force it. What happens to each packet is
// decided by the core's link conditions unit (src/core/link_conditions.h),
// the same C as native links use, here through a wasm instance the realm's
// JS links share; this file keeps the timers and the delivery. Plain JS: it
// runs in browsers too, so no Node built-ins here.
//
// A packet leaves an interface through Interface._onPacket, which hands it
// to the interface's `_linkSink` (a LinkDirection), and is injected into the
// other end with its backend's interfaceInput(). With no delay to apply it
// is injected right away, without allocating; delayed packets wait in a
// heap per direction with ONE timer armed for the earliest.

// The engines' clock and timers, not the globals a test may fake later.
const { engineHost: host } = require('./platform/node.js');
const { linkDecisions } = require('./backend/wasm.js');

const clock = host.now;

// tcpip_link_fate and the duplicate bit of tcpip_wasm_link_decide().
const SEND = 0;
const FATE = 0xff;
const DUPLICATE = 0x100;
// tcpip_link_counters, in order.
const COUNTERS = ['packets', 'bytes', 'lost', 'duplicated', 'reordered', 'droppedDown', 'droppedMtu', 'droppedQueue'];

const MAX_TIMER_MS = 2 ** 31 - 1;

function earlier(due, order, otherDue, otherOrder) {
  return due < otherDue || (due === otherDue && order < otherOrder);
}

// A binary min-heap of packets by due time; packets due at the same time
// leave in the order they came (a sequence number breaks ties).
class TimedQueue {
  constructor() {
    this._due = [];
    this._order = [];
    this._bytes = [];
    this._next = 0;
  }

  /** The earliest due time, Infinity when empty. */
  peekDue() {
    return this._bytes.length === 0 ? Infinity : this._due[0];
  }

  push(due, bytes) {
    const order = this._next++;
    let i = this._bytes.length;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(due, order, this._due[parent], this._order[parent])) break;
      this._move(parent, i);
      i = parent;
    }
    this._put(i, due, order, bytes);
  }

  /** Takes the earliest packet out; the queue must not be empty. */
  pop() {
    const top = this._bytes[0];
    // The last entry sinks from the root to its place.
    const due = this._due.pop();
    const order = this._order.pop();
    const bytes = this._bytes.pop();
    const size = this._bytes.length;
    if (size === 0) {
      this._next = 0;
      return top;
    }
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && earlier(this._due[child + 1], this._order[child + 1], this._due[child], this._order[child])) child++;
      if (!earlier(this._due[child], this._order[child], due, order)) break;
      this._move(child, i);
      i = child;
    }
    this._put(i, due, order, bytes);
    return top;
  }

  clear() {
    this._due.length = 0;
    this._order.length = 0;
    this._bytes.length = 0;
    this._next = 0;
  }

  _move(from, to) {
    this._due[to] = this._due[from];
    this._order[to] = this._order[from];
    this._bytes[to] = this._bytes[from];
  }

  _put(i, due, order, bytes) {
    this._due[i] = due;
    this._order[i] = order;
    this._bytes[i] = bytes;
  }
}

// One link's state in the shared instance: its conditions, and its two
// directions' wires, counters and random generators.
class Decisions {
  constructor(headerBytes, seed) {
    this._core = linkDecisions();
    this._pointer = this._core.tcpip_wasm_link_create(headerBytes, seed);
    if (!this._pointer) throw new Error('tcpip: no memory for the link');
    this._buffer = null;
    this._f64 = null;
    this.timed = false; // whether packets may wait: the clock matters
  }

  set(c) {
    this.timed = Boolean(this._core.tcpip_wasm_link_set_conditions(this._pointer, c.latency || 0, c.jitter || 0,
      c.loss || 0, c.duplicate || 0, c.reorder || 0, c.rate || 0, c.mtu || 0, c.queue || 0, Boolean(c.up)));
  }

  /** The verdict for a packet: a fate, with the DUPLICATE bit. */
  decide(direction, length, now) {
    return this._core.tcpip_wasm_link_decide(this._pointer, direction, length, now);
  }

  /** The due time of the last verdict. */
  due() {
    const buffer = this._core.memory.buffer;
    if (this._buffer !== buffer) {
      this._buffer = buffer;
      this._f64 = new Float64Array(buffer);
    }
    return this._f64[this._pointer >>> 3];
  }

  refused(direction) {
    this._core.tcpip_wasm_link_refused(this._pointer, direction);
  }

  counters(direction) {
    const view = new DataView(this._core.memory.buffer, this._core.tcpip_wasm_link_counters(this._pointer, direction));
    const counters = {};
    COUNTERS.forEach((name, i) => { counters[name] = Number(view.getBigUint64(i * 8, true)); });
    return counters;
  }

  free() {
    if (this._pointer) this._core.tcpip_wasm_link_destroy(this._pointer);
    this._pointer = 0;
  }
}

// One direction: installed as the sending interface's `_linkSink`.
class LinkDirection {
  constructor(decisions, index, from, to) {
    this._decisions = decisions;
    this._index = index; // 0: a to b, 1: b to a
    this._from = from;
    this._to = to;
    this._queue = new TimedQueue();
    this._timer = null;
    this._timerDue = Infinity;
    this._closed = false;
    this._onTimer = () => this._fire(); // made once, not per packet
  }

  /** A packet out of the `from` interface; the link may keep `bytes`. */
  send(bytes) {
    const decisions = this._decisions;
    const timed = decisions.timed;
    const now = timed ? clock() : 0;
    const verdict = decisions.decide(this._index, bytes.length, now);
    if ((verdict & FATE) !== SEND) return;
    let due = 0; // 0: now
    if (timed) {
      due = decisions.due();
      if (due <= now) due = 0;
    }
    // Both engines copy what they are given: the same bytes serve twice.
    if (verdict & DUPLICATE) this._schedule(bytes, due, now);
    this._schedule(bytes, due, now);
  }

  _schedule(bytes, due, now) {
    // Injecting never calls back into JS (both engines queue the events it
    // causes), so it may happen right here, inside the sender's event.
    if (due === 0) {
      this._inject(bytes);
      return;
    }
    this._queue.push(due, bytes);
    if (due < this._timerDue) this._arm(due, now);
  }

  _arm(due, now) {
    if (this._timer !== null) host.clearTimer(this._timer);
    this._timerDue = due;
    // Past 2^31-1 ms a timer would fire at once: wake then, and re-arm.
    // host.setTimer's timers never keep a process alive.
    this._timer = host.setTimer(this._onTimer, Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(due - now))));
  }

  _fire() {
    this._timer = null;
    this._timerDue = Infinity;
    const queue = this._queue;
    const now = clock();
    while (queue.peekDue() <= now) {
      this._inject(queue.pop());
      if (this._closed) return;
    }
    // A delivery may have armed the timer already (a synchronous answer);
    // deliveries take time, so the next delay counts from now.
    const next = queue.peekDue();
    if (next < this._timerDue) this._arm(next, clock());
  }

  _inject(bytes) {
    const to = this._to;
    if (this._closed || to._removed || to._stack.destroyed) return;
    if (!to._engine.interfaceInput(to._id, bytes)) this._decisions.refused(this._index);
  }

  _close() {
    this._closed = true;
    if (this._timer !== null) host.clearTimer(this._timer);
    this._timer = null;
    this._timerDue = Infinity;
    this._queue.clear();
    if (this._from._linkSink === this) this._from._linkSink = null;
  }
}

/**
 * Two directions sharing conditions; the same methods as the addon's
 * NativeLink: setConditions(), stats(), detach().
 */
class JsLink {
  /**
   * @param {object} a interface (TUN or TAP)
   * @param {object} b interface of the same type
   * @param {number} headerBytes 14 for TAP (Ethernet header), 0 for TUN
   * @param {number} seed the random generators' seed, a safe integer >= 0
   */
  constructor(a, b, headerBytes, seed) {
    this._decisions = new Decisions(headerBytes, seed);
    this._directions = [new LinkDirection(this._decisions, 0, a, b), new LinkDirection(this._decisions, 1, b, a)];
    a._linkSink = this._directions[0];
    b._linkSink = this._directions[1];
    // No wire can corrupt a packet between two in-process stacks: skip
    // checksums, as native links do.
    this._ends = [a, b];
    this._setChecksums(false);
  }

  _setChecksums(enabled) {
    for (const end of this._ends) {
      if (!end._removed && !end._stack.destroyed) end._engine.setChecksums(end._id, enabled);
    }
  }

  // { latency, jitter, loss, duplicate, reorder, rate, mtu, queue, up }, checked by lib/link.js.
  setConditions(conditions) {
    this._decisions.set(conditions);
  }

  stats() {
    return { aToB: this._decisions.counters(0), bToA: this._decisions.counters(1) };
  }

  /** Drops what is in flight and gives both interfaces back to JS hooks. */
  detach() {
    for (const direction of this._directions) direction._close();
    this._setChecksums(true);
    this._decisions.free();
  }
}

module.exports = { JsLink };
