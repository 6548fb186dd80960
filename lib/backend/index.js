'use strict';
// Chooses and creates engines. What an engine is (its commands and events)
// is declared in contract.js.
const { EVENTS } = require('./contract.js');
const native = require('./native.js');
const wasm = require('./wasm.js');

const NAMES = Object.freeze(['native', 'wasm']);
// Where a native stack's core runs: its own worker thread, or the JS thread.
const THREADS = Object.freeze(['worker', 'js']);

let fallbackWarned = false;

function nativeAvailable() {
  try {
    native.loadAddon();
    return true;
  } catch {
    return false;
  }
}

// The backend a stack gets without asking: TCPIP_BACKEND if set (Node),
// else the native addon, else wasm, with one warning where an addon was
// expected (Node) but is missing.
function defaultBackend() {
  const fromEnvironment = typeof process !== 'undefined' && process.env ? process.env.TCPIP_BACKEND : undefined;
  if (fromEnvironment) return checkName(fromEnvironment, 'process.env.TCPIP_BACKEND');
  if (nativeAvailable()) return 'native';
  if (native.expected && !fallbackWarned) {
    fallbackWarned = true;
    const reason = native.loadError();
    const why = reason ? String(reason.message).split('\n')[0] : 'not built';
    process.emitWarning(`the native addon is not available (${why}); using the wasm backend`, {
      code: 'TCPIP_WASM_FALLBACK',
    });
  }
  return 'wasm';
}

function checkName(name, where) {
  if (!NAMES.includes(name)) {
    const errors = require('../errors.js');
    throw errors.invalidArgValue(where, name, "must be one of: 'native', 'wasm'");
  }
  return name;
}

function resolveName(name) {
  return name === undefined ? defaultBackend() : checkName(name, 'options.backend');
}

// The thread a native stack gets without asking: TCPIP_NATIVE_THREAD if
// set (Node), else the JS thread, as the wasm engine's: a hand-off to a
// worker costs a thread wake-up per request and response, a scheduler slice
// on a busy machine. Where the addon cannot give each stack on the JS thread
// its own lwIP state (off Linux), a worker.
function defaultThread() {
  const fromEnvironment = typeof process !== 'undefined' && process.env ? process.env.TCPIP_NATIVE_THREAD : undefined;
  if (fromEnvironment) return checkThread(fromEnvironment, 'process.env.TCPIP_NATIVE_THREAD');
  return native.jsThreadSupported() ? 'js' : 'worker';
}

function checkThread(thread, where) {
  if (!THREADS.includes(thread)) {
    const errors = require('../errors.js');
    throw errors.invalidArgValue(where, thread, "must be one of: 'worker', 'js'");
  }
  return thread;
}

function resolveThread(thread) {
  return thread === undefined ? defaultThread() : checkThread(thread, 'options.thread');
}

// `thread` applies to the native engine only: a wasm stack always runs on
// the JS thread.
function createBackend(name, dispatch, thread) {
  const resolved = resolveName(name);
  const resolvedThread = resolveThread(thread);
  if (resolved === 'native') {
    return { name: resolved, thread: resolvedThread, backend: native.create(dispatch, { thread: resolvedThread }) };
  }
  return { name: resolved, thread: 'js', backend: wasm.create(dispatch) };
}

/**
 * Makes the backends ready: compiles the wasm module unless the native
 * addon will serve every stack. Required before `new Stack()` in a browser.
 * @param {{ wasm?: WebAssembly.Module | BufferSource | string | URL | Response }} [options]
 */
async function init(options = {}) {
  if (options.wasm === undefined && defaultBackend() === 'native') return;
  await wasm.load(options.wasm);
}

module.exports = { EVENTS, NAMES, THREADS, createBackend, init };
