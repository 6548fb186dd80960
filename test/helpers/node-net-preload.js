'use strict';
// Preloaded (`node -r`) into one of Node's own tests by scripts/node-net-tests.js:
// require('net') and require('node:net') give the net of a stack with a
// loopback interface (127.0.0.1/8 and ::1/128), on the engine TCPIP_BACKEND
// names. Everything else, Node's own modules included, is left alone.
const Module = require('node:module');
const path = require('node:path');
const { Stack } = require(path.join(__dirname, '..', '..'));

const stack = new Stack();
stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
const load = Module._load;
Module._load = function loadWithStackNet(request, parent, isMain) {
  if (request === 'net' || request === 'node:net') return stack.net;
  return load.call(this, request, parent, isMain);
};
