'use strict';
// Bundles have no native addon: every stack uses the wasm backend.
function loadAddon() {
  const error = new Error('tcpip: the native backend needs Node and the addon');
  error.code = 'ERR_TCPIP_NO_ADDON';
  throw error;
}

module.exports = {
  create: loadAddon, loadAddon, loadError: () => null, expected: false, jsThreadSupported: () => false,
};
