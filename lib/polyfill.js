'use strict';
// polyfill(stack): chooses the stack that `tcpip/polyfill/net` (the `net`
// module a bundler gives to code that imports 'net') runs on.
const errors = require('./errors.js');

// Kept on the global object under a registered symbol, so that two copies of
// this package in one bundle still agree on the stack.
const kStack = Symbol.for('tcpip.polyfill.stack');

function isStack(value) {
  return value !== null && typeof value === 'object' && value.net !== null && typeof value.net === 'object' &&
    typeof value.net.createServer === 'function' && typeof value.net.connect === 'function';
}

/**
 * Makes `stack` the one behind `tcpip/polyfill/net`, and returns it.
 * Without an argument, creates a stack with a loopback interface
 * (127.0.0.1/8 and ::1/128); `null` takes the polyfilled stack away.
 * @param {import('./stack.js').Stack | null} [stack]
 */
function polyfill(stack) {
  if (stack === null) {
    globalThis[kStack] = undefined;
    return null;
  }
  if (stack === undefined) {
    const { Stack } = require('./stack.js');
    stack = new Stack();
    stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
  } else if (!isStack(stack)) {
    throw errors.invalidArgType('stack', 'Stack', stack);
  }
  globalThis[kStack] = stack;
  return stack;
}

/** The polyfilled stack; throws ERR_TCPIP_NO_POLYFILL before polyfill(). */
function polyfilledStack() {
  const stack = globalThis[kStack];
  if (!stack) {
    throw errors.simple(Error, 'ERR_TCPIP_NO_POLYFILL',
      "tcpip/polyfill/net has no stack: call polyfill(stack) (from 'tcpip') before using net");
  }
  return stack;
}

module.exports = { polyfill, polyfilledStack };
