'use strict';
// The gateway's client: joins a TAP interface of any stack to a gateway
// over a WebSocket (one binary message, one Ethernet frame), and keeps it
// joined, reconnecting with a bounded, jittered exponential backoff. In Node
// the WebSocket is the npm `ws` package's, in a page the browser's own.
const { EventEmitter, loadWebSocket, setTimeout, clearTimeout } = require('../platform/node.js');
const errors = require('../errors.js');
const { validateObject, validateFunction, validateAbortSignal } = require('../validators.js');
const { MAX_FRAME_BYTES } = require('./frames.js');
const {
  CorkedSender, FRAME_PROTOCOL, BATCH_PROTOCOL, IDLE_CLOSE_CODE, batching, eachFrame,
} = require('./corked.js');

const DEFAULT_BACKOFF = Object.freeze({ initial: 250, max: 10000, factor: 2, jitter: 0.5 });
// What the WebSocket may hold unsent before frames from the stack are
// dropped (TCP retransmits them): bounded memory whatever the link does.
const DEFAULT_MAX_BUFFERED = 1024 * 1024;
const HANDSHAKE_TIMEOUT_MS = 10000;
// Frames the stack sends while the tunnel is not open (connecting, or
// waking from idleness) are held, to go at the open, so that the first
// segment after a wait does not wait for its retransmission; past these the
// oldest are dropped (counted in stats.dropped).
const MAX_HELD_FRAMES = 32;
const MAX_HELD_BYTES = 64 * 1024;
// WebSocket readyState values, the same in every implementation.
const OPEN = 1;

// HTTP statuses with which a gateway refuses a client for good: retrying
// cannot help (a wrong token, Origin or path never fixes itself). A 503
// (past maxClients, closing) is retried: a slot may come free.
const REFUSALS = new Set([401, 403, 404]);
// The close code with which a gateway ends a client for good (policy
// violation: a bad token, disconnected by its operator): reconnecting would
// only be refused again, or undo the operator's decision.
const POLICY_VIOLATION = 1008;

function refusedStatus(event) {
  const message = (event && (event.message || (event.error && event.error.message))) || '';
  const match = /Unexpected server response: (\d{3})/.exec(message);
  return match ? Number(match[1]) : null;
}

function validateBackoff(value) {
  if (value === undefined) return DEFAULT_BACKOFF;
  validateObject(value, 'options.backoff');
  const backoff = { ...DEFAULT_BACKOFF, ...value };
  for (const key of ['initial', 'max']) {
    if (typeof backoff[key] !== 'number' || !(backoff[key] > 0)) {
      throw errors.outOfRange(`options.backoff.${key}`, '> 0', backoff[key]);
    }
  }
  // Below 1 the delays would shrink to nothing: a reconnect loop.
  if (typeof backoff.factor !== 'number' || !(backoff.factor >= 1)) {
    throw errors.outOfRange('options.backoff.factor', '>= 1', backoff.factor);
  }
  if (typeof backoff.jitter !== 'number' || !(backoff.jitter >= 0 && backoff.jitter <= 1)) {
    throw errors.outOfRange('options.backoff.jitter', '>= 0 && <= 1', backoff.jitter);
  }
  return backoff;
}

/**
 * A TAP interface joined to a gateway. Events: 'state' ('connecting' |
 * 'open' | 'reconnecting' | 'idle' | 'closed', and why: { code, reason } of
 * the WebSocket's close, or { status } of a refused upgrade), 'error' (the
 * gateway refused the client for good after the first open: an HTTP 401,
 * 403 or 404, or a close with 1008), 'close'.
 */
class Tunnel extends EventEmitter {
  /** @internal */
  constructor(tap, url, options) {
    super();
    this.interface = tap;
    this._signal = options.signal;
    this._onAbort = () => this._abort();
    this.url = url;
    this._token = options.token;
    this._WebSocket = options.WebSocket;
    this._backoff = options.backoff;
    this._maxBuffered = options.maxBufferedBytes;
    this._ws = null;
    this._timer = null;
    this._attempts = 0;
    this._state = 'closed';
    this._closed = false;
    this._opened = false;
    // Messages and frames differ where the gateway batches frames (corked.js).
    this.stats = {
      framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, dropped: 0, connects: 0, held: 0,
    };
    this._held = []; // frames the stack sent while the tunnel was not open
    this._heldBytes = 0;
    this._first = new Promise((resolve, reject) => {
      this._resolveFirst = resolve;
      this._rejectFirst = reject;
    });
    this._onFrame = (frame) => this._send(frame);
    this._onInput = (frame) => this._input(frame);
    this._onTapClose = () => this.close();
    tap.on('frame', this._onFrame);
    tap.once('close', this._onTapClose);
    if (this._signal !== undefined) this._signal.addEventListener('abort', this._onAbort, { once: true });
    this._connect();
  }

  /** 'connecting', 'open', 'reconnecting', 'idle' or 'closed'. */
  get state() {
    return this._state;
  }

  _setState(state, why) {
    if (this._state === state) return;
    this._state = state;
    if (why === undefined) this.emit('state', state);
    else this.emit('state', state, why);
  }

  // ws takes headers; a browser's WebSocket cannot send them, so the token
  // goes in the query there.
  _takesHeaders() {
    const WebSocketClass = this._WebSocket;
    return typeof WebSocketClass.WebSocketServer === 'function' || typeof WebSocketClass.Server === 'function';
  }

  _open() {
    const WebSocketClass = this._WebSocket;
    if (this._takesHeaders()) {
      const headers = this._token === undefined ? {} : { authorization: `Bearer ${this._token}` };
      return new WebSocketClass(this.url, {
        headers, maxPayload: MAX_FRAME_BYTES, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, perMessageDeflate: false,
      });
    }
    let url = this.url;
    if (this._token !== undefined) {
      const parsed = new URL(url);
      parsed.searchParams.set('token', this._token);
      url = parsed.href;
    }
    // A page takes a few thousand messages a second at most: ask for
    // frames batched into messages (corked.js). A server that picks no
    // subprotocol, or the first offered, gets one frame per message. (ws
    // fails a handshake whose server picks none, so ws clients do not ask.)
    return new WebSocketClass(url, [FRAME_PROTOCOL, BATCH_PROTOCOL]);
  }

  _connect() {
    this._timer = null;
    if (this._closed) return;
    this._setState('connecting');
    let ws;
    try {
      ws = this._open();
    } catch (error) {
      this._fail(error);
      return;
    }
    this._ws = ws;
    this._sender = new CorkedSender(ws, this.stats);
    // npm ws hands a message over as the Buffer it read (no copy); a
    // browser's WebSocket as a Blob unless told otherwise.
    ws.binaryType = this._takesHeaders() ? 'nodebuffer' : 'arraybuffer';
    let refused = null;
    ws.addEventListener('open', () => {
      if (this._ws !== ws) return;
      this._attempts = 0;
      this.stats.connects++;
      this._sendHeld();
      this._setState('open');
      // A DHCP client that has been asking into the void asks again now.
      this.interface._dhcpRediscover();
      if (!this._opened) {
        this._opened = true;
        // The signal bounds the wait for this open, not the tunnel's life
        // (as events.once()'s): AbortSignal.timeout() may bound a connect.
        if (this._signal !== undefined) this._signal.removeEventListener('abort', this._onAbort);
        this._resolveFirst(this);
      }
    });
    ws.addEventListener('message', (event) => {
      if (this._ws === ws) this._receive(event.data, ws);
    });
    ws.addEventListener('error', (event) => {
      refused = refusedStatus(event);
    });
    ws.addEventListener('close', (event) => {
      if (this._ws !== ws) return;
      this._ws = null;
      if (this._closed) return;
      if (refused !== null && REFUSALS.has(refused)) {
        const error = errors.simple(Error, 'ERR_TCPIP_TUNNEL_REFUSED', `The gateway refused the tunnel (HTTP ${refused})`);
        error.status = refused;
        this._fail(error, { status: refused });
        return;
      }
      const why = { code: event.code, reason: String(event.reason || '') };
      if (event.code === POLICY_VIOLATION) {
        const error = errors.simple(Error, 'ERR_TCPIP_TUNNEL_REFUSED',
          `The gateway closed the tunnel for good (1008${why.reason ? `: ${why.reason}` : ''})`);
        error.closeCode = event.code;
        error.reason = why.reason;
        this._fail(error, why);
        return;
      }
      if (event.code === IDLE_CLOSE_CODE) {
        // Idle at the gateway: no reconnect until the stack sends a frame.
        this._attempts = 0;
        this._setState('idle', why);
        return;
      }
      this._reconnect(why);
    });
  }

  _reconnect(why) {
    this._setState('reconnecting', why);
    const { initial, max, factor, jitter } = this._backoff;
    const delay = Math.min(max, initial * factor ** this._attempts) * (1 - jitter * Math.random());
    this._attempts++;
    this._timer = setTimeout(() => this._connect(), delay);
  }

  // A refusal ends the tunnel: before its first open, connectTunnel()
  // rejects; after it, 'error'.
  _fail(error, why) {
    const opened = this._opened;
    this._shutdown(why);
    if (!opened) this._rejectFirst(error);
    else this.emit('error', error);
  }

  // The caller's signal, before the first open: connectTunnel() rejects
  // with an AbortError and reconnecting stops.
  _abort() {
    if (this._closed || this._opened) return;
    this._fail(errors.abortError(this._signal));
  }

  _send(frame) {
    const ws = this._ws;
    if (ws === null || ws.readyState !== OPEN) {
      this._hold(frame);
      // Idle: the stack has something to send again.
      if (this._state === 'idle') this._connect();
      return;
    }
    if (ws.bufferedAmount + this._sender.pendingBytes > this._maxBuffered) {
      this.stats.dropped++;
      return;
    }
    this._sender.send(frame);
    this.stats.framesOut++;
    this.stats.bytesOut += frame.length;
  }

  // Keeps a frame for the open, within MAX_HELD_FRAMES and MAX_HELD_BYTES:
  // the oldest go first.
  _hold(frame) {
    if (frame.length > MAX_HELD_BYTES) {
      this.stats.dropped++;
      return;
    }
    this._held.push(frame);
    this._heldBytes += frame.length;
    while (this._held.length > MAX_HELD_FRAMES || this._heldBytes > MAX_HELD_BYTES) {
      this._heldBytes -= this._held.shift().length;
      this.stats.dropped++;
    }
  }

  _sendHeld() {
    const held = this._held;
    this._held = [];
    this._heldBytes = 0;
    for (const frame of held) {
      this.stats.held++;
      this._send(frame);
    }
  }

  _receive(data, ws) {
    this.stats.messagesIn++;
    // One frame per binary message, or a batch of them: a text message is
    // no frame.
    if (typeof data === 'string') {
      this.stats.dropped++;
      return;
    }
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!batching(ws)) this._input(bytes);
    else if (!eachFrame(bytes, this._onInput)) this.stats.dropped++;
  }

  _input(frame) {
    this.stats.framesIn++;
    this.stats.bytesIn += frame.length;
    try {
      if (!this.interface.send(frame)) this.stats.dropped++;
    } catch {
      this.close(); // the interface is gone
    }
  }

  /**
   * Leaves the gateway: closes the WebSocket and stops reconnecting.
   * @returns {Promise<void>} once the WebSocket is closed
   */
  close() {
    if (this._closed) return this._closedPromise;
    const ws = this._ws;
    this._closedPromise = new Promise((resolve) => {
      if (ws === null || ws.readyState === 3) {
        resolve();
        return;
      }
      ws.addEventListener('close', () => resolve());
    });
    this._shutdown();
    if (!this._opened) this._rejectFirst(errors.simple(Error, 'ERR_TCPIP_TUNNEL_CLOSED', 'The tunnel was closed before it opened'));
    return this._closedPromise;
  }

  _shutdown(why) {
    if (this._closed) return;
    this._closed = true;
    if (!this._closedPromise) this._closedPromise = Promise.resolve();
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    const ws = this._ws;
    this._ws = null;
    if (ws !== null) {
      try {
        ws.close(1000, 'tunnel closed');
      } catch {
        // Still connecting in a browser: close() then throws nothing, but
        // some implementations do.
      }
    }
    this._held = [];
    this._heldBytes = 0;
    this.interface.off('frame', this._onFrame);
    this.interface.off('close', this._onTapClose);
    if (this._signal !== undefined) this._signal.removeEventListener('abort', this._onAbort);
    this._setState('closed', why);
    this.emit('close');
  }
}

/**
 * Joins `tap` (a TAP interface of any stack) to the gateway at `url`: the
 * interface's frames go out as binary WebSocket messages, the gateway's
 * come in; the tunnel reconnects by itself with exponential backoff.
 * @param {import('../interfaces.js').TapInterface} tap
 * @param {string} url ws://, wss://, or ws+unix:///socket/path:/request/path (npm ws only)
 * @param {{ token?: string, WebSocket?: Function, backoff?: { initial?: number, max?: number,
 *   factor?: number, jitter?: number }, maxBufferedBytes?: number, signal?: AbortSignal }} [options]
 * @returns {Promise<Tunnel>} once the tunnel is first open; rejects on a
 *   final refusal (401, 403, 404, a close with 1008) or an abort (AbortError)
 */
function connectTunnel(tap, url, options = {}) {
  if (tap === null || typeof tap !== 'object' || tap.type !== 'tap' || typeof tap.send !== 'function') {
    throw errors.invalidArgType('tap', 'TapInterface', tap);
  }
  if (typeof url !== 'string' && !(url instanceof URL)) throw errors.invalidArgType('url', ['string', 'URL'], url);
  url = String(url);
  // ws+unix:///path:/request-path: npm ws over a Unix-domain socket (a browser's WebSocket refuses it when it opens).
  if (!/^(wss?|ws\+unix):\/\//i.test(url)) throw errors.invalidArgValue('url', url, 'must be a ws://, wss:// or ws+unix:// URL');
  validateObject(options, 'options');
  if (options.token !== undefined && typeof options.token !== 'string') {
    throw errors.invalidArgType('options.token', 'string', options.token);
  }
  const WebSocketClass = options.WebSocket === undefined ? loadWebSocket() : options.WebSocket;
  if (WebSocketClass === undefined) throw errors.notSupported('A WebSocket in this runtime');
  validateFunction(WebSocketClass, 'options.WebSocket');
  const maxBufferedBytes = options.maxBufferedBytes === undefined ? DEFAULT_MAX_BUFFERED : options.maxBufferedBytes;
  if (!Number.isInteger(maxBufferedBytes) || maxBufferedBytes < 0) {
    throw errors.outOfRange('options.maxBufferedBytes', '>= 0 and an integer', maxBufferedBytes);
  }
  const { signal } = options;
  validateAbortSignal(signal, 'options.signal');
  const backoff = validateBackoff(options.backoff);
  if (signal !== undefined && signal.aborted) return Promise.reject(errors.abortError(signal));
  const tunnel = new Tunnel(tap, url, {
    token: options.token, WebSocket: WebSocketClass, backoff, maxBufferedBytes, signal,
  });
  return tunnel._first;
}

module.exports = { connectTunnel, Tunnel };
