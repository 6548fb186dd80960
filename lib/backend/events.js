'use strict';
// The event types every backend delivers to its dispatcher (the numbers of
// tcpip_event_type in src/core/tcpip.h, plus the drivers' own).
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

module.exports = { EVENTS };
