'use strict';
// The native backend: the addon built by `npm install` (src/node), one
// worker thread per stack. Bundles replace this file with native.browser.js.
const path = require('node:path');

let addon = null;
let lastError = null;

// In Node an addon is expected: its absence deserves a warning.
const expected = true;

function loadAddon() {
  if (addon) return addon;
  const root = path.join(__dirname, '..', '..', 'build');
  const candidates = process.env.TCPIP_ADDON_PATH
    ? [path.resolve(process.env.TCPIP_ADDON_PATH)]
    : [path.join(root, 'Release', 'tcpip.node'), path.join(root, 'Debug', 'tcpip.node')];
  for (const candidate of candidates) {
    try {
      addon = require(candidate);
      return addon;
    } catch (error) {
      lastError = error;
    }
  }
  const error = new Error(`tcpip: the native addon is not built (run \`npm install\`): ${lastError && lastError.message}`);
  error.code = 'ERR_TCPIP_NO_ADDON';
  throw error;
}

function loadError() {
  return lastError;
}

function create(dispatch) {
  const { NativeStack } = loadAddon();
  return new NativeStack(dispatch);
}

module.exports = { create, loadAddon, loadError, expected };
