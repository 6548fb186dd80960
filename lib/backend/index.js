'use strict';
// The one contract between lib/ and an engine. A backend is created with a
// dispatcher `(type, id, ...args)` that receives the engine's events, and
// offers these methods (all asynchronous, none returns a result):
//   createInterface(id, kind, cidrs, mtu, mac, gateway, defaultRoute)
//   removeInterface(id)
//   interfaceInput(id, bytes) -> boolean   false: dropped, queue full
//   interfaceStats(id)                    answered by a STATS event
//   captureStart(id, fd) / captureStop(id) pcap records appended to fd (header
//                                          written by JS); CAPTURE_CLOSED follows stop
//   listen(id, address, port, backlog, ipv6Only)
//   connect(id, address, port, localAddress, localPort)
//   write(id, bytes) / writev(id, [bytes]) bytes are copied before return
//   consumed(id, count)                   the application read count bytes
//   shutdown(id) / close(id) / abort(id)
//   setNoDelay(id, enable) / setKeepAlive(id, enable, idleMs)
//   ref() / unref()                       keep the event loop alive or not
//   destroy()                             stop the engine, free everything
// Event types (numbers) are listed in EVENTS.
const EVENTS = Object.freeze({
  LISTENING: 1,
  ACCEPTED: 2,
  CONNECTED: 3,
  DATA: 4,
  EOF: 5,
  WRITTEN: 6,
  SHUTDOWN: 7,
  ERROR: 8,
  PACKET: 9,
  STATS: 10,
  CAPTURE_CLOSED: 100,
});

const backends = {
  native: () => require('./native.js'),
};

function createBackend(name, dispatch) {
  const load = backends[name || 'native'];
  if (!load) {
    const errors = require('../errors.js');
    throw errors.invalidArgValue('options.backend', name, "must be one of: 'native'");
  }
  return load().create(dispatch);
}

module.exports = { EVENTS, createBackend };
