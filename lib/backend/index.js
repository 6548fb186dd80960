'use strict';
// Chooses and creates engines. What an engine is (its commands and events)
// is declared in contract.js.
const { EVENTS } = require('./contract.js');
const native = require('./native.js');
const wasm = require('./wasm.js');

const NAMES = Object.freeze(['native', 'wasm']);

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

function createBackend(name, dispatch) {
  const resolved = resolveName(name);
  const backend = resolved === 'native' ? native.create(dispatch) : wasm.create(dispatch);
  return { name: resolved, backend };
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

module.exports = { EVENTS, NAMES, createBackend, init };
