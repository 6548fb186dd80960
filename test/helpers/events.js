'use strict';
// Event-sequence recording for comparisons between node:net and a stack.
const DEFAULT_EVENTS = ['lookup', 'connect', 'ready', 'data', 'end', 'finish', 'close', 'error', 'timeout'];

/**
 * Records events on a socket. Consecutive 'data' events collapse into one
 * entry (chunking differs between stacks); 'close' records hadError;
 * 'error' records the code.
 */
function recordSocket(socket, events = DEFAULT_EVENTS) {
  const log = [];
  const data = [];
  for (const name of events) {
    socket.on(name, (arg) => {
      if (name === 'data') {
        data.push(typeof arg === 'string' ? arg : String(arg));
        if (log[log.length - 1] !== 'data') log.push('data');
        return;
      }
      if (name === 'close') log.push(`close:${arg}`);
      else if (name === 'error') log.push(`error:${arg && arg.code}`);
      else log.push(name);
    });
  }
  log.text = () => data.join('');
  return log;
}

const kClosed = Symbol('closed');

/**
 * Starts watching for an emitter's 'close' (call it as early as possible);
 * closed(emitter) then resolves whether 'close' came before or after.
 */
function track(emitter) {
  if (!emitter[kClosed]) {
    emitter[kClosed] = new Promise((resolve) => emitter.once('close', (...args) => resolve(args)));
  }
  return emitter;
}

function closed(emitter) {
  return track(emitter)[kClosed];
}

module.exports = { recordSocket, DEFAULT_EVENTS, track, closed };
