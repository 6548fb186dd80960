'use strict';
// The one contract between lib/ and an engine. A backend is created with a
// dispatcher `(type, id, ...args)` that receives the engine's events, and
// offers these methods (all asynchronous, none returns a result):
//   createInterface(id, kind, cidrs, mtu, mac, gateway, defaultRoute, ports)
//   removeInterface(id)
//   interfaceInput(id, bytes) -> boolean   false: dropped, queue full
//   interfaceStats(id)                    answered by a STATS event
//   captureStart(id, fd) / captureStop(id) pcap records appended to fd (header
//                                          written by JS); CAPTURE_CLOSED follows stop
//   attachDevice(id, fd)                  native only: a kernel TUN/TAP device
//   listen(id, address, port, backlog, ipv6Only)
//   connect(id, address, port, localAddress, localPort)
//   write(id, bytes) / writev(id, [bytes]) bytes are copied before return
//   consumed(id, count)                   the application read count bytes
//   shutdown(id) / close(id) / abort(id)
//   setNoDelay(id, enable) / setKeepAlive(id, enable, idleMs)
//   ref() / unref()                       keep the event loop alive or not
//   heapBytesInUse()                      bytes of the engine's C heap in use
//   destroy()                             stop the engine, free everything
// Event types (numbers) are listed in EVENTS.
const { EVENTS } = require('./events.js');
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
