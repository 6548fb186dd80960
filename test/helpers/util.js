'use strict';
// Small promise helpers shared by the suites. Every wait is bounded.

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects if `promise` does not settle within `ms`. */
function within(promise, ms, label = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `predicate` until it is true; rejects after `ms`. */
async function waitFor(predicate, ms = 5000, label = 'condition', interval = 5) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`${label} not reached within ${ms} ms`);
    await delay(interval);
  }
}

/** server.listen(...args) resolving with the server once 'listening'. */
function listen(server, ...args) {
  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    server.once('error', onError);
    server.listen(...args, () => {
      server.removeListener('error', onError);
      resolve(server);
    });
  });
}

/** net.connect(...args) resolving with the socket once connected. */
function connect(net, ...args) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(...args);
    const onError = (err) => reject(err);
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      resolve(socket);
    });
  });
}

function closeServer(server) {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

/**
 * Resolves with the arguments of the next `event` (an 'error' does not
 * reject it: listen for 'error' separately where it matters). Attach it
 * before the action that triggers the event.
 */
function nextEvent(emitter, event, ms = 10000) {
  return within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, `'${event}' event`);
}

/** Collects everything a socket reads until 'end' (or 'close'). */
function readAll(socket) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(Buffer.from(chunk)));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/**
 * What assert.rejects() expects of Node's AbortError for a signal aborted
 * with `reason`: the shape its promise APIs reject with.
 */
function abortErrorOf(reason) {
  return { name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted', cause: reason };
}

module.exports = {
  abortErrorOf,
  delay,
  within,
  waitFor,
  listen,
  connect,
  closeServer,
  nextEvent,
  readAll,
};
