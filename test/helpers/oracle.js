'use strict';
// Node's own `net` over the kernel loopback is the oracle: run one scenario
// against `node:net` and against a stack's `net`, compare the results.
const nodeNet = require('node:net');
const { within } = require('./util.js');

/**
 * Runs `scenario({ net, kind, host })` first with Node's `net`, then with
 * the stack's, and resolves with `{ node, stack }` (the scenarios' results).
 * The scenario must release everything it opened before it resolves.
 */
async function runBoth(stack, scenario, { host = '127.0.0.1', timeout = 8000 } = {}) {
  const node = await within(Promise.resolve(scenario({ net: nodeNet, kind: 'node', host })), timeout, 'node:net scenario');
  const ours = await within(Promise.resolve(scenario({ net: stack.net, kind: 'stack', host })), timeout, 'stack.net scenario');
  return { node, stack: ours };
}

/** The public shape of an error, for comparisons. */
function errorShape(err, keys = ['name', 'code', 'errno', 'syscall', 'address', 'port', 'message']) {
  if (!err) return err;
  const shape = {};
  for (const key of keys) if (err[key] !== undefined) shape[key] = err[key];
  shape.isError = err instanceof Error;
  return shape;
}

/**
 * Calls fn() and returns the shape of what it throws (or 'no throw'); with
 * `release`, a socket or server it made is released.
 */
function thrownShape(fn, { release = false } = {}) {
  try {
    const made = fn();
    if (!release) return 'no throw';
    if (made && typeof made.destroy === 'function') {
      made.on('error', () => {});
      made.destroy();
    } else if (made && typeof made.close === 'function') {
      made.on('error', () => {});
      made.close();
    }
  } catch (err) {
    return errorShape(err, ['name', 'code', 'message']);
  }
  return 'no throw';
}

module.exports = { nodeNet, runBoth, errorShape, thrownShape };
