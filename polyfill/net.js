'use strict';
// Node's `net` module over the stack given to polyfill(stack) (from 'tcpip').
// Point a bundler's `net` here (webpack 5: resolve.fallback.net; esbuild and
// Vite: an alias) and code written against Node's `net` runs unmodified on
// the stack. The stack is looked up at each call, so modules may import `net`
// before polyfill() runs; using net before that throws ERR_TCPIP_NO_POLYFILL.
const { polyfilledStack } = require('../lib/polyfill.js');
const { buildNet } = require('../lib/net/index.js');

module.exports = buildNet(polyfilledStack);
