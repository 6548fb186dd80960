'use strict';
// autoSelectFamily (Happy Eyeballs): a connection to a name tries the
// addresses a lookup answers in turns of family, as node:net does, with
// its events, its list of attempted addresses and its errors.
const assert = require('node:assert/strict');
const { withStack } = require('./helpers/stack.js');
const { runBoth, errorShape } = require('./helpers/oracle.js');
const { track, closed } = require('./helpers/events.js');
const {
  listen, closeServer, nextEvent, readAll, within,
} = require('./helpers/util.js');

/** A lookup that answers `addresses` (all of them when asked for all). */
function mockedLookup(...addresses) {
  const { isIP } = require('node:net');
  const answers = addresses.map((address) => ({ address, family: isIP(address) }));
  return (hostname, options, cb) => {
    if (options.all === true) process.nextTick(cb, null, answers);
    else process.nextTick(cb, null, answers[0].address, answers[0].family);
  };
}

/** Records the connection's attempt events and 'lookup's, with `port` shown as <port>. */
function recordAttempts(socket, port) {
  const log = [];
  const at = (address, p) => `${address}:${p === port ? '<port>' : p}`;
  socket.on('lookup', (err, address, family) => log.push(['lookup', err ? err.code : null, address, family]));
  socket.on('connectionAttempt', (address, p, family) => log.push(['attempt', at(address, p), family]));
  socket.on('connectionAttemptFailed', (address, p, family, err) => log.push(['failed', at(address, p), family, err.code]));
  socket.on('connectionAttemptTimeout', (address, p, family) => log.push(['timeout', at(address, p), family]));
  socket.on('connect', () => log.push(['connect']));
  socket.on('error', (err) => log.push(['error', err.code]));
  return log;
}

function withoutPort(list, port) {
  return list && list.map((entry) => entry.replace(`:${port}`, ':<port>'));
}

describe('net: autoSelectFamily', function () {
  const t = withStack();

  it('an IPv6 address that refuses is followed by the IPv4 one, with the events Node emits', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const server = await listen(net.createServer((s) => s.end('ipv4')), 0, '127.0.0.1');
      const { port } = server.address();
      const socket = net.connect({
        host: 'example.test', port, lookup: mockedLookup('::1', '127.0.0.1'), autoSelectFamily: true,
      });
      const log = recordAttempts(socket, port);
      const text = String(await readAll(socket));
      await closeServer(server);
      return { log, text, attempted: withoutPort(socket.autoSelectFamilyAttemptedAddresses, port) };
    });
    assert.deepEqual(stack, node);
    assert.deepEqual(stack.attempted, ['::1:<port>', '127.0.0.1:<port>']);
    assert.equal(stack.text, 'ipv4');
  });

  it('the handle exists from connect(), and each later attempt has a fresh one, as in Node', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const server = await listen(net.createServer((s) => s.end()), 0, '127.0.0.1');
      const { port } = server.address();
      const socket = net.connect({
        host: 'example.test', port, lookup: mockedLookup('::1', '127.0.0.1'), autoSelectFamily: true,
      });
      const first = socket._handle;
      const seen = [];
      socket.on('connectionAttempt', () => seen.push(socket._handle));
      await readAll(socket);
      await closeServer(server);
      return {
        handleFromConnect: first !== null && typeof first === 'object',
        firstAttemptUsesIt: seen[0] === first,
        laterAttemptFresh: seen.length === 2 && seen[1] !== seen[0] && seen[1] !== null,
      };
    });
    assert.deepEqual(stack, node);
    assert.deepEqual(stack, { handleFromConnect: true, firstAttemptUsesIt: true, laterAttemptFresh: true });
  });

  it('the first address that connects ends the attempts', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const server = await listen(net.createServer((s) => s.end('first')), 0, '::');
      const { port } = server.address();
      const socket = net.connect({
        host: 'example.test', port, lookup: mockedLookup('::1', '127.0.0.1'), autoSelectFamily: true,
      });
      const log = recordAttempts(socket, port);
      const text = String(await readAll(socket));
      await closeServer(server);
      return { log, text, attempted: withoutPort(socket.autoSelectFamilyAttemptedAddresses, port) };
    });
    assert.deepEqual(stack, node);
    assert.deepEqual(stack.attempted, ['::1:<port>']);
  });

  it('the families take turns, starting with the first answer\'s, each address once', async function () {
    const server = await listen(t.net.createServer((s) => s.end('last')), 0, '127.0.0.1');
    const { port } = server.address();
    const socket = t.net.connect({
      host: 'example.test',
      port,
      // Refused on this stack, in any order: ::1 and 127.0.0.1 on a closed
      // port cannot be used, so the list ends at 127.0.0.1 on `port`.
      lookup: mockedLookup('::1', '::1', '127.0.0.2', '::ffff:7f00:2', '127.0.0.1'),
      autoSelectFamily: true,
      autoSelectFamilyAttemptTimeout: 100,
    });
    const text = String(await readAll(socket));
    assert.equal(text, 'last');
    assert.deepEqual(withoutPort(socket.autoSelectFamilyAttemptedAddresses, port),
      ['::1:<port>', '127.0.0.2:<port>', '::ffff:7f00:2:<port>', '127.0.0.1:<port>']);
    await closeServer(server);
  });

  it('an address that does not answer in time is given up for the next: connectionAttemptTimeout', async function () {
    const server = await listen(t.net.createServer((s) => s.end('after timeout')), 0, '127.0.0.1');
    const { port } = server.address();
    // 2001:db8::1 has no route here: no answer, not even a refusal.
    const socket = t.net.connect({
      host: 'example.test',
      port,
      lookup: mockedLookup('2001:db8::1', '127.0.0.1'),
      autoSelectFamily: true,
      autoSelectFamilyAttemptTimeout: 50,
    });
    const log = recordAttempts(socket, port);
    const text = String(await readAll(socket));
    assert.equal(text, 'after timeout');
    assert.deepEqual(log, [
      ['lookup', null, '2001:db8::1', 6],
      ['lookup', null, '127.0.0.1', 4],
      ['attempt', '2001:db8::1:<port>', 6],
      ['timeout', '2001:db8::1:<port>', 6],
      ['attempt', '127.0.0.1:<port>', 4],
      ['connect'],
    ]);
    await closeServer(server);
  });

  it('when every address fails: an AggregateError of the attempts\' errors, coded as the first', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const probe = await listen(net.createServer(), 0, '::');
      const { port } = probe.address();
      await closeServer(probe);
      const socket = track(net.connect({
        host: 'example.test', port, lookup: mockedLookup('::1', '127.0.0.1'), autoSelectFamily: true,
      }));
      const log = recordAttempts(socket, port);
      const [err] = await nextEvent(socket, 'error');
      const [hadError] = await within(closed(socket), 5000, 'close');
      return {
        log,
        hadError,
        name: err.name,
        constructor: err.constructor.name,
        code: err.code,
        ownMessage: Object.prototype.hasOwnProperty.call(err, 'message'),
        errors: err.errors.map((e) => errorShape(e, ['code', 'syscall', 'address', 'message']))
          .map((e) => ({ ...e, message: e.message.replace(`:${port}`, ':<port>') })),
        attempted: withoutPort(socket.autoSelectFamilyAttemptedAddresses, port),
      };
    });
    assert.deepEqual(stack, node);
    assert.equal(stack.constructor, 'AggregateError');
    assert.equal(stack.code, 'ECONNREFUSED');
    assert.equal(stack.errors.length, 2);
  });

  it('autoSelectFamily: false connects to the first answer only', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const server = await listen(net.createServer(), 0, '127.0.0.1');
      const { port } = server.address();
      const socket = net.connect({
        host: 'example.test', port, lookup: mockedLookup('::1', '127.0.0.1'), autoSelectFamily: false,
      });
      const log = recordAttempts(socket, port);
      const [err] = await nextEvent(socket, 'error');
      await closeServer(server);
      return {
        log, code: err.code, attempted: socket.autoSelectFamilyAttemptedAddresses, message: err.message.replace(`:${port}`, ':<port>'),
      };
    });
    assert.deepEqual(stack, node);
    assert.equal(stack.message, 'connect ECONNREFUSED ::1:<port>');
    assert.equal(stack.attempted, undefined);
  });

  it('setDefaultAutoSelectFamily() is the default of connections without the option', async function () {
    const saved = t.net.getDefaultAutoSelectFamily();
    try {
      const { node, stack } = await runBoth(t.stack, async ({ net }) => {
        const before = net.getDefaultAutoSelectFamily();
        const server = await listen(net.createServer((s) => s.end('ok')), 0, '127.0.0.1');
        const { port } = server.address();
        const results = [];
        for (const value of [true, false]) {
          net.setDefaultAutoSelectFamily(value);
          const socket = net.connect({ host: 'example.test', port, lookup: mockedLookup('::1', '127.0.0.1') });
          track(socket);
          socket.on('error', () => {});
          socket.resume();
          const log = recordAttempts(socket, port);
          await within(closed(socket), 5000, 'close');
          results.push(log.map((entry) => entry[0]));
        }
        net.setDefaultAutoSelectFamily(before);
        await closeServer(server);
        return results;
      });
      assert.deepEqual(stack, node);
    } finally {
      t.net.setDefaultAutoSelectFamily(saved);
    }
  });

  it('a lookup answering one usable address connects as without autoSelectFamily', async function () {
    const { node, stack } = await runBoth(t.stack, async ({ net }) => {
      const server = await listen(net.createServer((s) => s.end('single')), 0, '127.0.0.1');
      const { port } = server.address();
      const socket = net.connect({
        host: 'example.test', port, lookup: mockedLookup('127.0.0.1', '127.0.0.1'), autoSelectFamily: true,
      });
      const log = recordAttempts(socket, port);
      const text = String(await readAll(socket));
      await closeServer(server);
      return { log, text, attempted: socket.autoSelectFamilyAttemptedAddresses };
    });
    assert.deepEqual(stack, node);
    assert.equal(stack.attempted, undefined);
  });

  it("'localhost' with both loopback families reaches a server on either", async function () {
    const server = await listen(t.net.createServer((s) => s.end(s.localAddress)), 0, '::1');
    const socket = t.net.connect({ host: 'localhost', port: server.address().port, autoSelectFamily: true });
    assert.equal(String(await readAll(socket)), '::1');
    assert.deepEqual(socket.autoSelectFamilyAttemptedAddresses.map((a) => a.split(/:\d+$/)[0]), ['127.0.0.1', '::1']);
    await closeServer(server);
  });
});
