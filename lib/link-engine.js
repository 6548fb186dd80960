'use strict';
// The JS link engine: the semantics of src/node/link.cc (conditions, rate
// and queue, counters per direction) for links whose stacks are not both
// native (wasm, browser), and for tests that force it. Plain JS: it runs
// in browsers too, so no Node built-ins here.
//
// A packet leaves an interface through Interface._onPacket, which hands it
// to the interface's `_linkSink` (a LinkDirection), and is injected into the
// other end with its backend's interfaceInput(). With no delay to apply it
// is injected right away, without allocating; delayed packets wait in a
// heap per direction with ONE timer armed for the earliest.

// The engines' clock and timers, not the globals a test may fake later.
const { engineHost: host } = require('./platform/node.js');

const clock = host.now;

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

function newCounters() {
  return {
    packets: 0, bytes: 0, lost: 0, duplicated: 0, reordered: 0, droppedDown: 0, droppedMtu: 0, droppedQueue: 0,
  };
}

// One direction: installed as the sending interface's `_linkSink`.
class LinkDirection {
  constructor(shared, from, to, headerBytes) {
    this._shared = shared;
    this._from = from;
    this._to = to;
    this._headerBytes = headerBytes; // link-layer bytes not counted by the MTU
    this.counters = newCounters();
    this._nextFree = 0; // when the wire is free again (rate), clock ms
    this._queue = new TimedQueue();
    this._timer = null;
    this._timerDue = Infinity;
    this._closed = false;
    this._onTimer = () => this._fire(); // made once, not per packet
  }

  /** A packet out of the `from` interface; the link may keep `bytes`. */
  send(bytes) {
    const c = this._shared;
    const counters = this.counters;
    if (!c.up) {
      counters.droppedDown++;
      return;
    }
    const length = bytes.length;
    if (c.mtu !== 0 && length > c.mtu + this._headerBytes) {
      counters.droppedMtu++;
      return;
    }
    if (c.loss > 0 && Math.random() < c.loss) {
      counters.lost++;
      return;
    }
    let due = 0; // 0: now
    let now = 0;
    if (c.timed) {
      now = clock();
      let sent = now;
      if (c.rate > 0) {
        // A wire of this rate: each packet waits for the ones before it, and
        // a full queue drops, as a router's would.
        const queueBytes = c.queue !== 0 ? c.queue : Math.max(256 * 1024, c.rate / 8 * 0.05);
        const start = Math.max(now, this._nextFree);
        const backlogBytes = (start - now) / 1000 * c.rate / 8;
        if (backlogBytes + length > queueBytes) {
          counters.droppedQueue++;
          return;
        }
        this._nextFree = start + length * 8 / c.rate * 1000;
        sent = this._nextFree;
      }
      due = sent + c.latency;
      if (c.jitter > 0) due += c.jitter * Math.random();
      if (c.reorder > 0 && Math.random() < c.reorder) {
        // Held back long enough for later packets to overtake it.
        due += Math.max(1, c.latency / 2 + c.jitter);
        counters.reordered++;
      }
      if (due <= now) due = 0;
    }
    counters.packets++;
    counters.bytes += length;
    if (c.duplicate > 0 && Math.random() < c.duplicate) {
      counters.duplicated++;
      // Both engines copy what they are given: the same bytes serve twice.
      this._schedule(bytes, due, now);
    }
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
    if (!to._stack._backend.interfaceInput(to._id, bytes)) this.counters.droppedQueue++;
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
   */
  constructor(a, b, headerBytes) {
    this._shared = {
      latency: 0, jitter: 0, loss: 0, duplicate: 0, reorder: 0, rate: 0, mtu: 0, queue: 0, up: true, timed: false,
    };
    this._directions = [new LinkDirection(this._shared, a, b, headerBytes), new LinkDirection(this._shared, b, a, headerBytes)];
    a._linkSink = this._directions[0];
    b._linkSink = this._directions[1];
    // No wire can corrupt a packet between two in-process stacks: skip
    // checksums, as native links do.
    this._ends = [a, b];
    this._setChecksums(false);
  }

  _setChecksums(enabled) {
    for (const end of this._ends) {
      if (!end._removed && !end._stack.destroyed) end._stack._backend.setChecksums(end._id, enabled);
    }
  }

  // { latency, jitter, loss, duplicate, reorder, rate, mtu, queue, up }, checked by lib/link.js.
  setConditions(options) {
    const c = this._shared;
    c.latency = options.latency || 0;
    c.jitter = options.jitter || 0;
    c.loss = options.loss || 0;
    c.duplicate = options.duplicate || 0;
    c.reorder = options.reorder || 0;
    c.rate = options.rate || 0;
    c.mtu = Math.trunc(options.mtu || 0); // whole bytes, as the native uint32
    c.queue = Math.trunc(options.queue || 0);
    c.up = Boolean(options.up);
    c.timed = c.latency > 0 || c.jitter > 0 || c.reorder > 0 || c.rate > 0;
  }

  stats() {
    return { aToB: { ...this._directions[0].counters }, bToA: { ...this._directions[1].counters } };
  }

  /** Drops what is in flight and gives both interfaces back to JS hooks. */
  detach() {
    for (const direction of this._directions) direction._close();
    this._setChecksums(true);
  }
}

module.exports = { JsLink };
