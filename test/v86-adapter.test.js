'use strict';
// attachV86 against a fake v86: a bus pair shaped as v86's (src/bus.js:
// each end's send() calls the listeners registered on the other end), with
// a fake NIC on the device end that, like v86's ne2k, hands out every frame
// in the same reused buffer. The real guest is in v86.test.js.
const assert = require('node:assert');
const { attachV86, V86Adapter } = require('../lib/index.js');
const { withStack } = require('./helpers/stack.js');
const { ethernetFrame, icmpEchoRequest, ETHERTYPE } = require('./helpers/packets.js');
const { waitFor, within } = require('./helpers/util.js');

class BusEnd {
  constructor() {
    this.listeners = {};
    this.pair = null;
  }

  register(name, fn, thisValue) {
    (this.listeners[name] ||= []).push({ fn, thisValue });
  }

  unregister(name, fn) {
    if (this.listeners[name]) this.listeners[name] = this.listeners[name].filter((l) => l.fn !== fn);
  }

  send(name, value) {
    for (const l of this.pair.listeners[name] || []) l.fn.call(l.thisValue, value);
  }

  count(name) {
    return (this.listeners[name] || []).length;
  }
}

const GUEST_MAC = '00:22:15:0a:0b:0c';
const GUEST_IP = '10.0.0.2';
const STACK_IP = '10.0.0.1';

// A fake emulator: `bus` as V86's, and a device end that is the NIC.
function fakeEmulator(nic = 'net0') {
  const bus = new BusEnd();
  const device = new BusEnd();
  bus.pair = device;
  device.pair = bus;
  const nicMemory = Buffer.alloc(1514); // reused for every frame, as in ne2k
  const received = [];
  device.register(`${nic}-receive`, (frame) => received.push(Buffer.from(frame)));
  return {
    emulator: { bus, destroy() { if (this.network_adapter) this.network_adapter.destroy(); } },
    device,
    received,
    // The guest transmits: the frame is written into NIC memory and a view
    // of it goes on the bus, then the memory is reused.
    transmit(frame) {
      frame.copy(nicMemory);
      device.send(`${nic}-send`, nicMemory.subarray(0, frame.length));
      nicMemory.fill(0);
    },
  };
}

function arpRequest(senderMac, senderIp, targetIp) {
  const quad = (ip) => ip.split('.').map(Number);
  const mac = (m) => m.split(':').map((h) => parseInt(h, 16));
  const body = Buffer.from([0, 1, 8, 0, 6, 4, 0, 1, ...mac(senderMac), ...quad(senderIp), 0, 0, 0, 0, 0, 0, ...quad(targetIp)]);
  return ethernetFrame({ destination: 'ff:ff:ff:ff:ff:ff', source: senderMac, type: ETHERTYPE.arp, payload: body });
}

const mac = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');

describe('attachV86 (a fake v86 bus)', function () {
  const ctx = withStack();

  it('frames from the guest reach the stack, copied out of the NIC buffer, and its answers reach the guest', async function () {
    const tap = ctx.stack.createTapInterface({ ipAddress: `${STACK_IP}/24` });
    const fake = fakeEmulator();
    const adapter = attachV86(fake.emulator, tap);
    assert.ok(adapter instanceof V86Adapter);
    assert.strictEqual(fake.emulator.network_adapter, adapter);
    // The NIC memory is zeroed right after each frame: only a copy survives.
    fake.transmit(arpRequest(GUEST_MAC, GUEST_IP, STACK_IP));
    const isArpReply = (f) => f.readUInt16BE(12) === ETHERTYPE.arp && f.readUInt16BE(20) === 2;
    await waitFor(() => fake.received.some(isArpReply), 10000, 'ARP reply');
    const arp = fake.received.find(isArpReply);
    assert.strictEqual(mac(arp.subarray(0, 6)), GUEST_MAC);
    assert.strictEqual(mac(arp.subarray(6, 12)), tap.macAddress);
    assert.deepStrictEqual([...arp.subarray(28, 32)], [10, 0, 0, 1]);

    const data = Buffer.from('from the guest, through the NIC');
    const echo = ethernetFrame({ destination: tap.macAddress, source: GUEST_MAC, type: ETHERTYPE.ipv4, payload: icmpEchoRequest(GUEST_IP, STACK_IP, data) });
    fake.transmit(echo);
    const isReply = (f) => f.readUInt16BE(12) === ETHERTYPE.ipv4 && f[23] === 1 && f[34] === 0;
    await waitFor(() => fake.received.some(isReply), 10000, 'echo reply');
    const reply = fake.received.find(isReply);
    assert.strictEqual(mac(reply.subarray(0, 6)), GUEST_MAC);
    assert.deepStrictEqual(reply.subarray(42), data);

    const stats = adapter.stats();
    assert.strictEqual(stats.framesIn, 2);
    assert.strictEqual(stats.bytesIn, 42 + echo.length);
    assert.strictEqual(stats.framesOut, fake.received.length);
    assert.strictEqual(stats.bytesOut, fake.received.reduce((n, f) => n + f.length, 0));
    assert.strictEqual(stats.dropped, 0);
    const ifStats = await tap.stats();
    assert.strictEqual(ifStats.packetsIn, 2);
    assert.strictEqual(ifStats.packetsOut, fake.received.length);
  });

  it('reports the MAC v86 announces, on the NIC given', function () {
    const tap = ctx.stack.createTapInterface({ ipAddress: `${STACK_IP}/24` });
    const fake = fakeEmulator('net1');
    const adapter = attachV86(fake.emulator.bus, tap, { nic: 'net1' });
    assert.strictEqual(adapter.nic, 'net1');
    assert.strictEqual(adapter.guestMac, null);
    const macs = [];
    adapter.on('mac', (m) => macs.push(m));
    fake.device.send('net1-mac', GUEST_MAC);
    fake.device.send('net0-mac', '00:22:15:ff:ff:ff'); // another NIC's
    assert.deepStrictEqual(macs, [GUEST_MAC]);
    assert.strictEqual(adapter.guestMac, GUEST_MAC);
    // A bus alone has no network_adapter slot to fill.
    assert.strictEqual(fake.emulator.network_adapter, undefined);
    assert.strictEqual(fake.device.count('net1-receive'), 1);
    assert.strictEqual(fake.emulator.bus.count('net1-send'), 1);
  });

  it('detach() gives both back: no frame passes either way, listeners gone, drops counted', async function () {
    const tap = ctx.stack.createTapInterface({ ipAddress: `${STACK_IP}/24` });
    const fake = fakeEmulator();
    const adapter = attachV86(fake.emulator, tap);
    let detached = 0;
    adapter.on('detach', () => detached++);
    fake.emulator.destroy(); // v86's destroy() calls network_adapter.destroy()
    assert.strictEqual(detached, 1);
    assert.strictEqual(adapter.attached, false);
    assert.strictEqual(fake.emulator.network_adapter, undefined);
    assert.strictEqual(fake.emulator.bus.count('net0-send'), 0);
    assert.strictEqual(fake.emulator.bus.count('net0-mac'), 0);
    assert.strictEqual(tap.listenerCount('frame'), 0);
    fake.transmit(arpRequest(GUEST_MAC, GUEST_IP, STACK_IP)); // no listener: nothing happens
    assert.strictEqual(adapter.send(Buffer.alloc(60)), false);
    adapter.receive(Buffer.alloc(60));
    adapter.detach();
    assert.strictEqual(detached, 1);
    assert.deepStrictEqual(adapter.stats(), { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 2, notReady: 0 });
    assert.strictEqual(fake.received.length, 0);
    const ifStats = await tap.stats();
    assert.strictEqual(ifStats.packetsIn, 0);
    // The interface can be joined again.
    const again = attachV86(fake.emulator, tap);
    assert.strictEqual(again.attached, true);
    again.detach();
  });

  it('holds frames back from a virtio NIC until the guest driver is up (v86 would write them at random)', async function () {
    const tap = ctx.stack.createTapInterface({ ipAddress: `${STACK_IP}/24` });
    const fake = fakeEmulator();
    // v86's own shape: emulator.v86.cpu.devices.virtio_net, its NIC number
    // and its virtio status register.
    const virtio = { device_status: 0 };
    fake.emulator.v86 = { cpu: { devices: { virtio_net: { id: 0, virtio } } } };
    const adapter = attachV86(fake.emulator, tap);
    const isArpReply = (f) => f.readUInt16BE(12) === ETHERTYPE.arp && f.readUInt16BE(20) === 2;
    // The guest's driver is loading (ACKNOWLEDGE | DRIVER | FEATURES_OK):
    // it can send, but nothing goes to it.
    virtio.device_status = 1 | 2 | 8;
    fake.transmit(arpRequest(GUEST_MAC, GUEST_IP, STACK_IP));
    await waitFor(() => adapter.stats().notReady >= 1 && adapter.stats().framesIn === 1, 10000, 'the ARP reply held back');
    // The stack sent it, the NIC never saw it.
    assert.deepStrictEqual(fake.received, []);
    assert.strictEqual(adapter.stats().framesOut, 0);
    await waitFor(async () => (await tap.stats()).packetsOut >= 1, 10000, 'the stack counted its reply');
    // DRIVER_OK: frames pass.
    virtio.device_status |= 4;
    fake.transmit(arpRequest(GUEST_MAC, GUEST_IP, STACK_IP));
    await waitFor(() => fake.received.some(isArpReply), 10000, 'ARP reply');
    const held = adapter.stats().notReady;
    assert.strictEqual(adapter.stats().framesOut, fake.received.length);
    // A reset (status 0) holds them back again.
    virtio.device_status = 0;
    fake.transmit(arpRequest(GUEST_MAC, GUEST_IP, STACK_IP));
    await waitFor(() => adapter.stats().notReady > held, 10000, 'the reply after the reset held back');
    assert.strictEqual(fake.received.filter(isArpReply).length, 1);
    adapter.detach();
    // Another NIC's virtio device, or a bus alone, holds nothing back.
    const other = attachV86(fake.emulator, tap, { nic: 'net1' });
    other.receive(Buffer.alloc(60));
    assert.deepStrictEqual(other.stats(), { framesIn: 0, framesOut: 1, bytesIn: 0, bytesOut: 60, dropped: 0, notReady: 0 });
    other.detach();
    const busOnly = attachV86(fake.emulator.bus, tap);
    const before = fake.received.length;
    busOnly.receive(Buffer.alloc(60));
    assert.strictEqual(busOnly.stats().framesOut, 1);
    assert.strictEqual(fake.received.length, before + 1);
    busOnly.detach();
  });

  it('a frame the stack refuses is dropped and counted; removing the interface detaches', async function () {
    const tap = ctx.stack.createTapInterface({ ipAddress: `${STACK_IP}/24` });
    const fake = fakeEmulator();
    const adapter = attachV86(fake.emulator, tap);
    // The stack's injection queue full (past 8 MiB waiting, which a burst
    // cannot reliably reach on every engine): send() answers false.
    const send = tap.send;
    tap.send = () => false;
    const frame = ethernetFrame({ destination: tap.macAddress, source: GUEST_MAC, type: 0x88b5, payload: Buffer.alloc(100) });
    assert.strictEqual(adapter.send(frame), false);
    assert.strictEqual(adapter.send(frame), false);
    tap.send = send;
    assert.strictEqual(adapter.send(frame), true);
    assert.deepStrictEqual(adapter.stats(), { framesIn: 3, framesOut: 0, bytesIn: 3 * frame.length, bytesOut: 0, dropped: 2, notReady: 0 });
    await waitFor(async () => (await tap.stats()).packetsIn === 1, 10000, 'the accepted frame counted');
    const detached = new Promise((resolve) => adapter.once('detach', resolve));
    tap.remove();
    await within(detached, 5000, 'detach');
    assert.strictEqual(adapter.attached, false);
    assert.strictEqual(fake.emulator.bus.count('net0-send'), 0);
    assert.strictEqual(fake.emulator.network_adapter, undefined);
  });

  it('refuses what is not a v86 emulator, a TAP interface or a NIC name', function () {
    const tap = ctx.stack.createTapInterface({ ipAddress: `${STACK_IP}/24` });
    const tun = ctx.stack.createTunInterface({ ipAddress: '10.1.0.1/24' });
    const fake = fakeEmulator();
    assert.throws(() => attachV86({}, tap), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => attachV86(null, tap), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => attachV86(fake.emulator, tun), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => attachV86(fake.emulator, tap, { nic: 'eth0' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => attachV86(fake.emulator, tap, { nic: 0 }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => attachV86(fake.emulator, tap, null), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => new V86Adapter({}, tap), { code: 'ERR_INVALID_ARG_TYPE' });
    tap.remove();
    assert.throws(() => attachV86(fake.emulator, tap), { code: 'ERR_TCPIP_INTERFACE_REMOVED' });
    // Nothing was left registered by the refusals.
    assert.strictEqual(fake.emulator.bus.count('net0-send'), 0);
  });
});
