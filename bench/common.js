'use strict';
// Shared pieces of the benchmarks: every figure is measured next to a
// baseline (Node's `net` over the kernel loopback) in the same run.
const nodeNet = require('node:net');
const { Stack } = require('..');

function createLoopbackStack() {
  const stack = new Stack();
  stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
  return stack;
}

// Each target is { name, net, host, teardown }.
function targets() {
  return [
    { name: 'kernel loopback (node:net)', make: () => ({ net: nodeNet, host: '127.0.0.1', teardown() {} }) },
    {
      name: 'tcpip, one stack',
      make: () => {
        const stack = createLoopbackStack();
        return { net: stack.net, host: '127.0.0.1', teardown: () => stack.destroy() };
      },
    },
  ];
}

function listen(net, host) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

function closeServer(server) {
  return new Promise((resolve) => server.close(() => resolve()));
}

function format(value, digits = 2) {
  return Number(value).toFixed(digits);
}

module.exports = { createLoopbackStack, targets, listen, closeServer, format };
