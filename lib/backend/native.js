'use strict';
// The native backend: the Node-API addon (src/node), one worker thread per
// stack, or the core on the JS thread ({ thread: 'js' }). Bundles replace this file with native.browser.js.
//
// Which addon: TCPIP_ADDON_PATH if set; else node-gyp-build's choice in the
// package root: a local build (build/Release, build/Debug) before a prebuilt
// binary for this platform (prebuilds/<platform>-<arch>/, shipped in the
// packed package; built for Node-API, so Electron loads the same file).
const path = require('node:path');
const { EVENTS } = require('./contract.js');

const PACKAGE_ROOT = path.join(__dirname, '..', '..');

let addon = null;
let lastError = null;

// In Node an addon is expected: its absence deserves a warning.
const expected = true;

function addonPath() {
  if (process.env.TCPIP_ADDON_PATH) return path.resolve(process.env.TCPIP_ADDON_PATH);
  return require('node-gyp-build').resolve(PACKAGE_ROOT);
}

function loadAddon() {
  if (addon) return addon;
  try {
    addon = require(addonPath());
    return addon;
  } catch (error) {
    lastError = error;
  }
  const why = String(lastError && lastError.message).split('\n')[0];
  const error = new Error(`tcpip: the native addon is not built (run \`npm install\`): ${why}`);
  error.code = 'ERR_TCPIP_NO_ADDON';
  throw error;
}

function loadError() {
  return lastError;
}

// The addon's own events (src/node/stack_core.h): DATA and DATAGRAM whose
// small payloads it copied into a shared receive pool, as (pool, offset,
// length, ...); each becomes the engine's event with a view of its bytes.
const POOLED_DATA = 102;
const POOLED_DATAGRAM = 103;

// options.thread: 'worker' (the stack's own thread) or 'js' (this thread).
function create(dispatch, options = {}) {
  const { NativeStack } = loadAddon();
  const onEvent = (type, id, a, b, c, d, e) => {
    if (type === POOLED_DATA) return dispatch(EVENTS.DATA, id, a.subarray(b, b + c));
    if (type === POOLED_DATAGRAM) return dispatch(EVENTS.DATAGRAM, id, a.subarray(b, b + c), d, e);
    return dispatch(type, id, a, b, c, d, e);
  };
  return new NativeStack(onEvent, { thread: options.thread === 'js' ? 'js' : 'worker' });
}

// Whether stacks can run on the JS thread here (each needs its own lwIP
// state, which the addon swaps in only on Linux).
function jsThreadSupported() {
  try {
    return loadAddon().jsThreadSupported === true;
  } catch {
    return false;
  }
}

module.exports = { create, loadAddon, loadError, expected, jsThreadSupported };
