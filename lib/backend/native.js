'use strict';
const path = require('node:path');

let addon = null;

function loadAddon() {
  if (addon) return addon;
  const root = path.join(__dirname, '..', '..', 'build');
  const candidates = process.env.TCPIP_ADDON_PATH
    ? [path.resolve(process.env.TCPIP_ADDON_PATH)]
    : [path.join(root, 'Release', 'tcpip.node'), path.join(root, 'Debug', 'tcpip.node')];
  let lastError = null;
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

function create(dispatch) {
  const { NativeStack } = loadAddon();
  return new NativeStack(dispatch);
}

module.exports = { create, loadAddon };
