'use strict';
// Stack fixtures: a fresh stack per test, always destroyed afterwards.
const { Stack } = require('../..');

const LOOPBACK = Object.freeze(['127.0.0.1/8', '::1/128']);

// The backend `new Stack()` picks in this run (TCPIP_BACKEND): native-only
// tests skip, saying why, when it is wasm.
// DEFAULT_THREAD: where its core runs (TCPIP_NATIVE_THREAD): the
// kernel-device tests run their stacks there.
const [DEFAULT_BACKEND, DEFAULT_THREAD] = (() => {
  const probe = new Stack();
  const found = [probe.backend, probe.thread];
  probe.destroy();
  return found;
})();

/**
 * Destroys a stack at the end of a test. Sockets a failed test left open
 * end with ECONNABORTED; that error is expected here, so nothing left
 * behind may turn it into an uncaught exception that would be blamed on
 * the next test.
 */
function teardown(stack) {
  if (!stack || stack.destroyed) return;
  for (const handle of new Set([...stack._handles.values(), ...stack._refed])) {
    if (typeof handle.on === 'function' && handle.listenerCount('error') === 0) handle.on('error', () => {});
  }
  stack.destroy();
}

function createStack(ipAddress = LOOPBACK) {
  const stack = new Stack();
  stack.createLoopbackInterface({ ipAddress: [...ipAddress] });
  return stack;
}

/**
 * Mocha hooks: before each test a stack with a loopback interface
 * (127.0.0.1/8 and ::1/128); after each test it is destroyed. Returns a
 * context whose `stack` and `net` point at the current test's stack.
 */
function withStack(ipAddress = LOOPBACK) {
  const ctx = { stack: null, net: null, extra: [] };
  beforeEach(function createTestStack() {
    ctx.stack = createStack(ipAddress);
    ctx.net = ctx.stack.net;
    ctx.extra = [];
  });
  afterEach(function destroyTestStack() {
    for (const other of ctx.extra) teardown(other);
    ctx.extra = [];
    teardown(ctx.stack);
    ctx.stack = null;
    ctx.net = null;
  });
  // Extra stacks made within a test are destroyed with the main one.
  ctx.createStack = (addresses) => {
    const stack = createStack(addresses);
    ctx.extra.push(stack);
    return stack;
  };
  return ctx;
}

/**
 * Mocha hook for tests that build their own stacks: returns `make(options)`
 * (options as for `new Stack()`, e.g. `{ backend: 'wasm' }`), and every
 * stack it made is destroyed after each test.
 */
function withStacks() {
  let made = [];
  afterEach(function destroyTestStacks() {
    for (const stack of made) teardown(stack);
    made = [];
  });
  return function make(options) {
    const stack = new Stack(options);
    made.push(stack);
    return stack;
  };
}

module.exports = { createStack, withStack, withStacks, teardown, LOOPBACK, DEFAULT_BACKEND, DEFAULT_THREAD };
