'use strict';
// The wire format is one binary WebSocket message per Ethernet frame, and
// npm ws writes each message to its socket with a write of its own (header
// and payload, two buffers): a system call per frame, the largest cost of a
// bulk flow. Frames that a stack emits together (one batch of its events)
// go to the socket together instead: the socket is corked at the first
// frame and uncorked once the current batch is done (next tick), so the
// kernel takes the whole batch in one writev. The messages on the wire are
// the same. Back-pressure still sees them: corked bytes count in the
// socket's writableLength, and so in ws's bufferedAmount. A browser's
// WebSocket has no socket to reach: it sends as it always does.
const { nextTick } = require('../platform/node.js');

const BINARY = Object.freeze({ binary: true });

class CorkedSender {
  constructor(ws) {
    this._ws = ws;
    this._corked = null; // the socket corked until the next tick
    this._uncork = () => {
      const socket = this._corked;
      this._corked = null;
      if (!socket.destroyed) socket.uncork();
    };
  }

  /** Sends `frame` as one binary message. */
  send(frame) {
    // npm ws's socket, once open: a browser's WebSocket has none.
    const socket = this._ws._socket;
    if (this._corked === null && socket && typeof socket.cork === 'function' && !socket.destroyed) {
      socket.cork();
      this._corked = socket;
      nextTick(this._uncork);
    }
    this._ws.send(frame, BINARY);
  }
}

module.exports = { CorkedSender };
