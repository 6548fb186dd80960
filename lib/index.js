'use strict';
const { Stack } = require('./stack.js');
const { link, Link } = require('./link.js');
const {
  Interface, LoopbackInterface, TunInterface, TapInterface, BridgeInterface, Capture, openKernelDevice,
} = require('./interfaces.js');

module.exports = {
  Stack, link, Link, Interface, LoopbackInterface, TunInterface, TapInterface, BridgeInterface, Capture,
  openKernelDevice,
};
