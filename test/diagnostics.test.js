'use strict';
// diagnostics_channel: stack.net publishes what node:net publishes, with the
// same messages at the same moments, compared with node:net.
const assert = require('node:assert/strict');
const dc = require('node:diagnostics_channel');
const { withStack } = require('./helpers/stack.js');
const { runBoth } = require('./helpers/oracle.js');
const { closeServer, nextEvent } = require('./helpers/util.js');

const CHANNELS = [
  'net.client.socket',
  'net.server.socket',
  'tracing:net.server.listen:start',
  'tracing:net.server.listen:end',
  'tracing:net.server.listen:asyncStart',
  'tracing:net.server.listen:asyncEnd',
  'tracing:net.server.listen:error',
];

/**
 * Subscribes to every channel net could publish on; each message becomes
 * an entry of `log` through `describe(name, message)`. Returns the
 * unsubscribe function.
 */
function recordChannels(log, describe) {
  const subscriptions = CHANNELS.map((name) => {
    const onMessage = (message) => log.push(describe(name, message));
    dc.subscribe(name, onMessage);
    return () => dc.unsubscribe(name, onMessage);
  });
  return () => subscriptions.forEach((unsubscribe) => unsubscribe());
}

/** The port in an error message, replaced: the kernel's and the stack's differ. */
function withoutPort(message, port) {
  return message.split(`:${port}`).join(':<port>');
}

describe('diagnostics_channel', function () {
  const t = withStack();

  it('a listen and a connection publish what node:net publishes, in the same order', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const log = [];
      let server = null;
      let client = null;
      const listenOptions = { port: 0, customOption: true };
      const stop = recordChannels(log, (name, message) => {
        const entry = { name, keys: Object.keys(message).sort() };
        if ('server' in message) entry.isOurServer = message.server === server;
        if ('options' in message) entry.sameOptions = message.options === listenOptions;
        if ('socket' in message) {
          entry.isSocket = message.socket instanceof net.Socket;
          entry.isClient = message.socket === client;
          entry.connecting = message.socket.connecting;
        }
        return entry;
      });
      try {
        server = net.createServer((socket) => {
          log.push({ event: 'connection', isClient: socket === client });
          socket.destroy();
        });
        server.listen(listenOptions);
        log.push({ event: 'listen() returned' });
        await nextEvent(server, 'listening');
        log.push({ event: 'listening' });
        client = net.connect(server.address().port, '127.0.0.1');
        log.push({ event: 'connect() returned' });
        // new Socket().connect() publishes nothing: only net.connect() does.
        const second = new net.Socket().connect(server.address().port, '127.0.0.1');
        await Promise.all([nextEvent(client, 'close'), nextEvent(second, 'close')]);
        await closeServer(server);
      } finally {
        stop();
      }
      return log;
    });
    assert.deepEqual(stack, node);
    assert.deepEqual(node.filter((e) => e.name).map((e) => e.name), [
      'tracing:net.server.listen:asyncStart',
      'tracing:net.server.listen:asyncEnd',
      'net.client.socket',
      'net.server.socket',
      'net.server.socket',
    ]);
  });

  it('a listen that fails publishes the error it emits, before listen() returns', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const first = net.createServer();
      first.listen(0);
      await nextEvent(first, 'listening');
      const { port } = first.address();
      const log = [];
      const server = net.createServer();
      const stop = recordChannels(log, (name, message) => ({
        name,
        isOurServer: message.server === server,
        error: message.error ? withoutPort(message.error.message, port) : undefined,
        errorObject: message.error,
      }));
      try {
        server.listen({ port, customOption: true });
        log.push({ event: 'listen() returned', listening: server.listening });
        const error = await nextEvent(server, 'error');
        const published = log.find((e) => e.errorObject);
        log.push({ event: 'error', sameObject: published.errorObject === error, code: error.code });
        for (const entry of log) delete entry.errorObject;
      } finally {
        stop();
        await closeServer(first);
      }
      return log;
    });
    assert.deepEqual(stack, node);
    assert.deepEqual(node.map((e) => e.name || e.event), [
      'tracing:net.server.listen:asyncStart',
      'tracing:net.server.listen:error',
      'listen() returned',
      'error',
    ]);
  });

  it('a listen on a host name ends asynchronously, after listen() returned', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const log = [];
      const server = net.createServer();
      const stop = recordChannels(log, (name, message) => ({ name, keys: Object.keys(message).sort() }));
      try {
        server.listen(0, '127.0.0.1');
        log.push({ event: 'listen() returned' });
        await nextEvent(server, 'listening');
        log.push({ event: 'listening' });
        await closeServer(server);
      } finally {
        stop();
      }
      return log;
    });
    assert.deepEqual(stack, node);
    assert.deepEqual(node.map((e) => e.name || e.event), [
      'tracing:net.server.listen:asyncStart',
      'listen() returned',
      'tracing:net.server.listen:asyncEnd',
      'listening',
    ]);
  });

  it('listen() twice throws before publishing anything, as in Node', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const server = net.createServer();
      server.listen(0);
      await nextEvent(server, 'listening');
      const log = [];
      const stop = recordChannels(log, (name) => name);
      try {
        assert.throws(() => server.listen(0), { code: 'ERR_SERVER_ALREADY_LISTEN' });
      } finally {
        stop();
        await closeServer(server);
      }
      return log;
    });
    assert.deepEqual(stack, node);
    assert.deepEqual(node, []);
  });

  it("dc.tracingChannel('net.server.listen') sees the stack's servers", async function () {
    if (typeof dc.tracingChannel !== 'function') this.skip();
    const seen = [];
    const handlers = {
      asyncStart: ({ server }) => seen.push(['asyncStart', server === target]),
      asyncEnd: ({ server }) => seen.push(['asyncEnd', server === target]),
      error: () => seen.push(['error']),
    };
    const target = t.net.createServer();
    dc.tracingChannel('net.server.listen').subscribe(handlers);
    try {
      target.listen(80);
      await nextEvent(target, 'listening');
    } finally {
      dc.tracingChannel('net.server.listen').unsubscribe(handlers);
    }
    await closeServer(target);
    assert.deepEqual(seen, [['asyncStart', true], ['asyncEnd', true]]);
  });
});
