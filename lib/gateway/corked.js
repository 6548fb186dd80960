'use strict';
// The wire format is one binary WebSocket message per Ethernet frame, and
// npm ws writes each message to its socket with a write of its own (header
// and payload, two buffers): a system call per frame, the largest cost of a
// bulk flow. Frames that a stack emits together (one batch of its events)
// go to the socket together instead: the socket is corked at the first
// frame and uncorked once the current batch is done (next tick), so the
// kernel takes the whole batch in one writev. The messages on the wire are
// the same. Back-pressure still sees them: corked bytes count in the
// socket's writableLength, and so in ws's bufferedAmount.
//
// A browser's WebSocket has no socket to reach, and it delivers each
// message to the page as a task of its own: a page receives no more than a
// few thousand messages a second, however small (issue 11). A client that
// offers the subprotocol BATCH_PROTOCOL, and a gateway that picks it, send
// the frames of one batch as one message instead: each frame preceded by
// its length (4 bytes, big-endian), up to BATCH_BYTES a message. Whoever
// does not offer it (v86, websockproxy's clients, ws clients) keeps one
// frame per message. A client offers FRAME_PROTOCOL (one frame a message)
// first: a server that echoes the first subprotocol offered, as ws does by
// default, picks that one and gets the frames it expects.
const { nextTick } = require('../platform/node.js');
const { MAX_FRAME_BYTES } = require('./frames.js');

const BINARY = Object.freeze({ binary: true });
const FRAME_PROTOCOL = 'tcpip.frame.v1';
const BATCH_PROTOCOL = 'tcpip.batch.v1';
const LENGTH_BYTES = 4;
// Chromium takes 4 KiB to 64 KiB messages at about the same rate in bytes:
// past 64 KiB a message only waits longer for its last frame.
const BATCH_BYTES = 64 * 1024;
// The largest message either side sends: a batch, or one frame of the
// largest MTU with its length.
const MAX_MESSAGE_BYTES = Math.max(BATCH_BYTES, MAX_FRAME_BYTES + LENGTH_BYTES);
// WebSocket readyState values, the same in every implementation.
const OPEN = 1;
// The close with which a gateway ends a client idle for its idleTimeout:
// not 1008 (a refusal, final), so that the client comes back when it has
// something to send. An application code (4000-4999), so connectTunnel
// tells it from other closes; v86's relay and websockproxy's clients take
// any close alike.
const IDLE_CLOSE_CODE = 4000;

/** Whether `ws` speaks BATCH_PROTOCOL (as negotiated in its handshake). */
function batching(ws) {
  return ws.protocol === BATCH_PROTOCOL;
}

/**
 * Calls onFrame(frame) for each frame of a batched message, in order, as
 * views of `message`. Returns false when the message is malformed (a
 * length running past its end); the frames before it were delivered.
 * @param {Uint8Array} message
 * @param {(frame: Uint8Array) => void} onFrame
 */
function eachFrame(message, onFrame) {
  let at = 0;
  while (at < message.length) {
    if (message.length - at < LENGTH_BYTES) return false;
    const length = ((message[at] << 24) | (message[at + 1] << 16) | (message[at + 2] << 8) | message[at + 3]) >>> 0;
    at += LENGTH_BYTES;
    if (length > message.length - at) return false;
    onFrame(message.subarray(at, at + length));
    at += length;
  }
  return true;
}

class CorkedSender {
  /**
   * @param {WebSocket} ws
   * @param {{ messagesOut: number }} [stats] counts the messages sent
   */
  constructor(ws, stats = null) {
    this._ws = ws;
    this._stats = stats;
    this._corked = null; // the socket corked until the next tick
    this._batch = []; // frames for the next batched message
    this._batchBytes = 0; // its size, lengths included
    this._scheduled = false;
    this._endBatch = () => {
      this._scheduled = false;
      if (this._batch.length) this._flush();
      const socket = this._corked;
      this._corked = null;
      if (socket !== null && !socket.destroyed) socket.uncork();
    };
  }

  /** Bytes taken but not yet handed to the WebSocket (bufferedAmount does not count them). */
  get pendingBytes() {
    return this._batchBytes;
  }

  /** Sends `frame`: as one binary message, or in the batch's message. */
  send(frame) {
    // npm ws's socket, once open: a browser's WebSocket has none.
    const socket = this._ws._socket;
    if (this._corked === null && socket && typeof socket.cork === 'function' && !socket.destroyed) {
      socket.cork();
      this._corked = socket;
    }
    if (batching(this._ws)) {
      if (this._batchBytes > 0 && this._batchBytes + LENGTH_BYTES + frame.length > BATCH_BYTES) this._flush();
      this._batch.push(frame);
      this._batchBytes += LENGTH_BYTES + frame.length;
    } else {
      this._ws.send(frame, BINARY);
      if (this._stats !== null) this._stats.messagesOut++;
    }
    if ((this._corked !== null || this._batch.length) && !this._scheduled) {
      this._scheduled = true;
      nextTick(this._endBatch);
    }
  }

  _flush() {
    const message = new Uint8Array(this._batchBytes);
    let at = 0;
    for (const frame of this._batch) {
      const length = frame.length;
      message[at] = length >>> 24;
      message[at + 1] = length >>> 16;
      message[at + 2] = length >>> 8;
      message[at + 3] = length;
      message.set(frame, at + LENGTH_BYTES);
      at += LENGTH_BYTES + length;
    }
    this._batch = [];
    this._batchBytes = 0;
    // Closed in the meantime: the frames are lost, as on a wire (TCP resends).
    if (this._ws.readyState !== OPEN) return;
    this._ws.send(message, BINARY);
    if (this._stats !== null) this._stats.messagesOut++;
  }
}

module.exports = { CorkedSender, FRAME_PROTOCOL, BATCH_PROTOCOL, MAX_MESSAGE_BYTES, IDLE_CLOSE_CODE, batching, eachFrame };
