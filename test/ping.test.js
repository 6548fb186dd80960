'use strict';
// stack.ping(): ICMP echo requests from a stack, answered by another stack
// (IPv4 and IPv6, fragmented too), with Node-style errors for what is lost
// or cannot leave. The kernel pings a stack and is pinged by one in
// test/kernel-devices.test.js.
const assert = require('node:assert/strict');
const { link } = require('..');
const { withStack } = require('./helpers/stack.js');

describe('stack.ping()', function () {
  const ctx = withStack();

  function linked() {
    const a = ctx.stack;
    const b = ctx.createStack();
    link(a.createTapInterface({ ipAddress: ['10.9.0.1/24', 'fd09::1/64'], mtu: 1500 }),
      b.createTapInterface({ ipAddress: ['10.9.0.2/24', 'fd09::2/64'], mtu: 1500 }));
    return { a, b };
  }

  for (const [family, peer] of [['IPv4', '10.9.0.2'], ['IPv6', 'fd09::2']]) {
    it(`${family}: every probe answered, in order, with its size and a round-trip time`, async function () {
      const { a } = linked();
      const results = await a.ping(peer, { count: 3, interval: 20 });
      assert.deepStrictEqual(results.map(({ sequence, address, bytes }) => ({ sequence, address, bytes })),
        [0, 1, 2].map((sequence) => ({ sequence, address: peer, bytes: 56 })));
      for (const { time } of results) assert.ok(time >= 0 && time < 5000, `time ${time}`);
    });

    it(`${family}: 4000-byte probes over a 1500-byte MTU, fragmented both ways`, async function () {
      const { a } = linked();
      const [result] = await a.ping(peer, { size: 4000 });
      assert.deepStrictEqual([result.address, result.bytes], [peer, 4000]);
    });
  }

  it('a probe nobody answers is lost after its timeout: ETIMEDOUT, time null', async function () {
    const { a } = linked();
    const [result] = await a.ping('10.9.0.77', { timeout: 200 });
    assert.strictEqual(result.time, null);
    assert.deepStrictEqual([result.error.code, result.error.syscall, result.error.address], ['ETIMEDOUT', 'ping', '10.9.0.77']);
  });

  it('a probe without a route fails at once: ENETUNREACH', async function () {
    const started = Date.now();
    const [result] = await ctx.stack.ping('10.99.0.1', { timeout: 5000 });
    assert.strictEqual(result.error.code, 'ENETUNREACH');
    assert.ok(Date.now() - started < 4000);
  });

  it('localhost is the stack\'s loopback; a name nobody knows rejects with ENOTFOUND', async function () {
    const [result] = await ctx.stack.ping('localhost');
    assert.strictEqual(result.address, '127.0.0.1');
    await assert.rejects(ctx.stack.ping('nowhere.invalid'), { code: 'ENOTFOUND' });
  });

  it('checks its arguments as Node does', async function () {
    assert.throws(() => ctx.stack.ping(42), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => ctx.stack.ping('::1', { count: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => ctx.stack.ping('::1', { size: 70000 }), { code: 'ERR_OUT_OF_RANGE' });
    // Sequence numbers are 16 bits.
    assert.throws(() => ctx.stack.ping('::1', { count: 65537 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => ctx.stack.ping('::1', 'x'), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('probes still out when the stack is destroyed end with ECONNABORTED', async function () {
    const { a } = linked();
    const pending = a.ping('10.9.0.77', { count: 3, interval: 10, timeout: 10000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    a.destroy();
    const results = await pending;
    assert.deepStrictEqual(results.map((r) => r.error.code), ['ECONNABORTED', 'ECONNABORTED', 'ECONNABORTED']);
  });

  it('IPv6 addresses are shown in lower case, as Node shows them', async function () {
    const { a, b } = linked();
    const seen = new Promise((resolve) => {
      b.net.createServer((socket) => {
        resolve([socket.remoteAddress, socket.localAddress]);
        socket.end();
      }).listen(80);
    });
    const client = a.net.connect(80, 'fd09::2');
    client.resume();
    const connected = new Promise((resolve) => client.on('connect', () => resolve([client.remoteAddress, client.localAddress])));
    assert.deepStrictEqual(await seen, ['fd09::1', 'fd09::2']);
    assert.deepStrictEqual(await connected, ['fd09::2', 'fd09::1']);
  });
});
