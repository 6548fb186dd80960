'use strict';
// Bridges: an L2 learning switch over TAP ports, with an address of its own.
const assert = require('node:assert/strict');
const { link } = require('..');
const { withStacks } = require('./helpers/stack.js');
const { assertTransfer } = require('./helpers/transfer.js');

const MiB = 1024 * 1024;

describe('bridges', function () {
  const stack = withStacks();

  /** Hosts a, b and c, each on its own stack, linked to ports of a bridge on a fourth. */
  function lan() {
    const sw = stack();
    const hosts = ['10.0.0.1', '10.0.0.2', '10.0.0.4'].map((address) => {
      const s = stack();
      const tap = s.createTapInterface({ ipAddress: [`${address}/24`, `fd00::${address.split('.')[3]}/64`] });
      const port = sw.createTapInterface({});
      link(tap, port);
      return { stack: s, tap, port };
    });
    const bridge = sw.createBridgeInterface({ ports: hosts.map((h) => h.port), ipAddress: ['10.0.0.3/24', 'fd00::3/64'] });
    return { sw, bridge, hosts };
  }

  it('switches 64 MiB between two hosts byte-exact, without flooding the third once it has learned', async function () {
    this.timeout(60000);
    const { bridge, hosts: [a, b, c] } = lan();
    assert.deepEqual(bridge.ports, [a.port, b.port, c.port]);
    assert.equal(a.port.bridge, bridge);
    await assertTransfer(a.stack, b.stack, '10.0.0.2', 64 * MiB);
    const third = await c.tap.stats();
    assert.ok(third.bytesIn < 1 * MiB, `the third host saw ${third.bytesIn} bytes of someone else's transfer`);
    await assertTransfer(b.stack, a.stack, 'fd00::1', 8 * MiB);
  });

  it("hosts reach the bridge's own addresses, IPv4 and IPv6", async function () {
    this.timeout(20000);
    const { sw, hosts: [a] } = lan();
    await assertTransfer(a.stack, sw, '10.0.0.3', 1 * MiB);
    await assertTransfer(a.stack, sw, 'fd00::3', 1 * MiB);
  });

  it('JS-hooked TAP interfaces work as ports too', async function () {
    this.timeout(20000);
    const sw = stack();
    const a = stack();
    const tap = a.createTapInterface({ ipAddress: '10.1.0.1/24' });
    const port = sw.createTapInterface({});
    tap.on('frame', (f) => port.send(f));
    port.on('frame', (f) => tap.send(f));
    sw.createBridgeInterface({ ports: [port], ipAddress: '10.1.0.3/24' });
    await assertTransfer(a, sw, '10.1.0.3', 1 * MiB);
  });

  it('validates its ports', function () {
    const sw = stack();
    const other = stack();
    const tap = sw.createTapInterface({});
    const tun = sw.createTunInterface({ ipAddress: '10.2.0.1/24' });
    const foreign = other.createTapInterface({});
    assert.throws(() => sw.createBridgeInterface({ ports: tap }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => sw.createBridgeInterface({ ports: [tun] }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => sw.createBridgeInterface({ ports: [foreign] }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => sw.createBridgeInterface({ ports: [tap, tap] }), { code: 'ERR_INVALID_ARG_VALUE' });
    const bridge = sw.createBridgeInterface({ ports: [tap] });
    assert.throws(() => sw.createBridgeInterface({ ports: [tap] }), { code: 'ERR_INVALID_ARG_VALUE' });
    tap.remove();
    assert.deepEqual(bridge.ports, []);
    assert.equal(bridge.type, 'bridge');
  });
});
