'use strict';
// A TCP proxy on a stack with Toxiproxy's stream-level faults, the ones
// packets cannot express: latency per chunk, slicer, limit_data, timeout,
// reset_peer and slow_close, with Toxiproxy's names, attributes and units
// (milliseconds, but the slicer's delay in microseconds). Each direction is
// one loop that reads a chunk, lets the toxics shape it, writes it and waits
// for 'drain': a slow reader slows the writer, through TCP's windows, as
// without the proxy.
const errors = require('./errors.js');
const { validateObject } = require('./validators.js');
// The engines' timers: fake timers a test installs do not stop the network.
const { Buffer, EventEmitter, engineHost: { setTimer, clearTimer } } = require('./platform/node.js');

// type -> attributes with their defaults
const TOXICS = {
  latency: { latency: 0, jitter: 0 },
  slicer: { average_size: 0, size_variation: 0, delay: 0 },
  limit_data: { bytes: 0 },
  timeout: { timeout: 0 },
  reset_peer: { timeout: 0 },
  slow_close: { delay: 0 },
};
const STREAMS = ['upstream', 'downstream'];

function checkToxic(toxic, what) {
  validateObject(toxic, what);
  const { type, stream = 'downstream', toxicity = 1 } = toxic;
  if (!Object.hasOwn(TOXICS, type)) {
    throw errors.invalidArgValue(`${what}.type`, type, `must be one of ${Object.keys(TOXICS).join(', ')}`);
  }
  if (!STREAMS.includes(stream)) throw errors.invalidArgValue(`${what}.stream`, stream, "must be 'upstream' or 'downstream'");
  if (typeof toxicity !== 'number' || !(toxicity >= 0 && toxicity <= 1)) {
    throw errors.outOfRange(`${what}.toxicity`, '>= 0 && <= 1', toxicity);
  }
  const name = toxic.name === undefined ? `${type}_${stream}` : toxic.name;
  if (typeof name !== 'string' || name === '') throw errors.invalidArgType(`${what}.name`, 'string', name);
  const given = toxic.attributes === undefined ? {} : toxic.attributes;
  validateObject(given, `${what}.attributes`);
  const attributes = { ...TOXICS[type] };
  for (const [key, value] of Object.entries(given)) {
    if (!Object.hasOwn(attributes, key)) {
      throw errors.invalidArgValue(`${what}.attributes.${key}`, value, `is not an attribute of ${type}`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw errors.outOfRange(`${what}.attributes.${key}`, '>= 0', value);
    }
    attributes[key] = value;
  }
  return Object.freeze({ name, type, stream, toxicity, attributes: Object.freeze(attributes) });
}

function drained(socket) {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

// One proxied connection: the client's socket, the upstream's, and each
// toxic's state on it (whether its toxicity picked it, bytes counted, timer).
class Connection {
  constructor(proxy, client, upstream) {
    this.proxy = proxy;
    this.client = client;
    this.upstream = upstream;
    this.closed = false;
    this.states = new Map();
    this.timers = new Set();
  }

  attach(toxic) {
    const state = { toxic, enabled: Math.random() < toxic.toxicity || toxic.toxicity === 1, count: 0, timer: null };
    this.states.set(toxic.name, state);
    if (!state.enabled) return;
    const { timeout } = toxic.attributes;
    if (toxic.type === 'timeout' && timeout > 0) state.timer = setTimer(() => this.close(), timeout);
    if (toxic.type === 'reset_peer') state.timer = setTimer(() => this.reset(), timeout);
  }

  detach(name) {
    const state = this.states.get(name);
    if (!state) return;
    clearTimer(state.timer);
    this.states.delete(name);
  }

  active(stream, type) {
    const list = [];
    for (const state of this.states.values()) {
      if (state.enabled && state.toxic.stream === stream && (!type || state.toxic.type === type)) list.push(state);
    }
    return list;
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimer(() => {
        this.timers.delete(entry);
        resolve();
      }, ms);
      const entry = { timer, resolve };
      this.timers.add(entry);
    });
  }

  // The toxics of `stream`, in the order added, on one chunk: a list of
  // buffers and { wait } pauses. `limit` is set when limit_data ends here.
  shape(stream, chunk) {
    let pieces = [chunk];
    let limit = false;
    for (const state of this.active(stream)) {
      const { type, attributes: a } = state.toxic;
      if (type === 'latency') {
        const jitter = a.jitter > 0 ? (Math.random() * 2 - 1) * a.jitter : 0;
        pieces = [{ wait: Math.max(0, a.latency + jitter) }, ...pieces];
      } else if (type === 'timeout') {
        pieces = []; // Toxiproxy drops what passes while the toxic is on
      } else if (type === 'slicer' && a.average_size > 0) {
        const sliced = [];
        for (const piece of pieces) {
          if (!Buffer.isBuffer(piece)) {
            sliced.push(piece);
            continue;
          }
          for (let at = 0; at < piece.length;) {
            const variation = a.size_variation > 0 ? Math.round((Math.random() * 2 - 1) * a.size_variation) : 0;
            const size = Math.max(1, Math.round(a.average_size + variation));
            sliced.push(piece.subarray(at, at + size));
            at += size;
            if (at < piece.length && a.delay > 0) sliced.push({ wait: a.delay / 1000 });
          }
        }
        pieces = sliced;
      } else if (type === 'limit_data') {
        const kept = [];
        for (const piece of pieces) {
          if (!Buffer.isBuffer(piece)) {
            kept.push(piece);
            continue;
          }
          const room = a.bytes - state.count;
          if (room <= piece.length) {
            if (room > 0) kept.push(piece.subarray(0, room));
            state.count = a.bytes;
            limit = true;
            break;
          }
          state.count += piece.length;
          kept.push(piece);
        }
        pieces = kept;
      }
    }
    return { pieces, limit };
  }

  async pump(stream, src, dst) {
    try {
      for await (const chunk of src.iterator({ destroyOnReturn: false })) {
        if (this.closed) return;
        const { pieces, limit } = this.shape(stream, chunk);
        for (const piece of pieces) {
          if (this.closed) return;
          if (!Buffer.isBuffer(piece)) await this.sleep(piece.wait);
          else if (!dst.write(piece)) await drained(dst);
        }
        if (limit) {
          this.close();
          return;
        }
      }
    } catch (err) {
      if (!this.closed) this.fail(src, dst, err);
      return;
    }
    if (this.closed) return;
    // The source ended: slow_close holds the FIN back.
    for (const state of this.active(stream, 'slow_close')) await this.sleep(state.toxic.attributes.delay);
    if (!this.closed) dst.end();
  }

  // An error on one side ends the other: a reset as a reset.
  fail(src, dst, err) {
    if (this.closed) return;
    if (err && err.code === 'ECONNRESET' && typeof dst.resetAndDestroy === 'function' && !dst.destroyed) {
      this.finish();
      dst.resetAndDestroy();
      src.destroy();
      return;
    }
    this.finish();
    dst.destroy();
    src.destroy();
  }

  // Both sides get a FIN after what was written.
  close() {
    if (this.closed) return;
    this.finish();
    for (const socket of [this.client, this.upstream]) {
      if (socket.destroyed) continue;
      socket.destroySoon();
    }
  }

  // Both sides get a RST.
  reset() {
    if (this.closed) return;
    this.finish();
    for (const socket of [this.client, this.upstream]) {
      if (socket.destroyed) continue;
      if (socket.connecting) socket.destroy();
      else socket.resetAndDestroy();
    }
  }

  finish() {
    this.closed = true;
    for (const state of this.states.values()) clearTimer(state.timer);
    for (const { timer, resolve } of this.timers) {
      clearTimer(timer);
      resolve();
    }
    this.timers.clear();
  }
}

/**
 * A TCP proxy on a stack with toxics: from network.proxy().
 * Events: 'connection' (client socket), 'error', 'close'.
 */
class ToxicProxy extends EventEmitter {
  /** @internal */
  constructor(stack, port, upstreamHost, upstreamPort, toxics = []) {
    super();
    if (!Array.isArray(toxics)) throw errors.invalidArgType('options.toxics', 'Array', toxics);
    this._stack = stack;
    this._port = port;
    this._upstream = { host: upstreamHost, port: upstreamPort };
    this._toxics = new Map();
    this._connections = new Set();
    this._closed = false;
    toxics.forEach((toxic, i) => this._addChecked(checkToxic(toxic, `options.toxics[${i}]`)));
    this._server = stack.net.createServer({ allowHalfOpen: true }, (client) => this._accept(client));
  }

  _listen() {
    return new Promise((resolve, reject) => {
      this._server.once('error', reject);
      this._server.listen(this._port, () => {
        this._server.off('error', reject);
        this._server.on('error', (err) => this.emit('error', err));
        resolve();
      });
    });
  }

  /** The port the proxy listens on (its host's). */
  get port() {
    return this._server.address().port;
  }

  /** The toxics in force, in the order added. */
  get toxics() {
    return [...this._toxics.values()];
  }

  /** How many connections the proxy carries. */
  get connections() {
    return this._connections.size;
  }

  /**
   * Adds a toxic, also to the connections already open:
   * `{ type, name?, stream?: 'upstream' | 'downstream', toxicity?, attributes }`.
   */
  add(toxic) {
    this._assertOpen();
    const checked = checkToxic(toxic, 'toxic');
    this._addChecked(checked);
    for (const conn of this._connections) conn.attach(checked);
    return checked;
  }

  /** Removes a toxic by name: the connections open go on without it. */
  remove(name) {
    this._assertOpen();
    if (!this._toxics.has(name)) {
      throw errors.simple(Error, 'ERR_TCPIP_UNKNOWN_TOXIC', `No toxic named ${JSON.stringify(String(name))}`);
    }
    this._toxics.delete(name);
    for (const conn of this._connections) conn.detach(name);
  }

  /** Stops listening and ends every connection. */
  close() {
    if (this._closed) return;
    this._closed = true;
    for (const conn of this._connections) {
      conn.finish();
      conn.client.destroy();
      conn.upstream.destroy();
    }
    this._connections.clear();
    this._server.close(() => this.emit('close'));
  }

  _addChecked(toxic) {
    if (this._toxics.has(toxic.name)) throw errors.invalidArgValue('toxic.name', toxic.name, 'is taken by another toxic');
    this._toxics.set(toxic.name, toxic);
  }

  _accept(client) {
    if (this._closed) {
      client.destroy();
      return;
    }
    const upstream = this._stack.net.connect({ host: this._upstream.host, port: this._upstream.port, allowHalfOpen: true });
    const conn = new Connection(this, client, upstream);
    for (const toxic of this._toxics.values()) conn.attach(toxic);
    this._connections.add(conn);
    let open = 2;
    const closed = () => {
      if (--open === 0) {
        conn.finish();
        this._connections.delete(conn);
      }
    };
    client.on('close', closed);
    upstream.on('close', closed);
    // A refused or unreachable upstream closes the client, as Toxiproxy does.
    upstream.on('error', (err) => conn.fail(upstream, client, err));
    client.on('error', (err) => conn.fail(client, upstream, err));
    conn.pump('upstream', client, upstream);
    conn.pump('downstream', upstream, client);
    this.emit('connection', client);
  }

  _assertOpen() {
    if (this._closed) throw errors.simple(Error, 'ERR_TCPIP_PROXY_CLOSED', 'The proxy has been closed');
  }
}

module.exports = { ToxicProxy, TOXICS };
