'use strict';
// Joins a v86 emulator's NIC (ne2k or virtio) to a TAP interface of any
// stack. v86 exchanges Ethernet frames on its bus: `netN-send` (guest to
// host), `netN-receive` (host to guest) and `netN-mac` (the guest's MAC,
// sent at reset and, with preserve_mac_from_state_image, at restore).
// Nothing here is Node-specific: the same adapter runs in a page.
const { EventEmitter } = require('./platform/node.js');
const errors = require('./errors.js');
const { validateObject } = require('./validators.js');

const NIC_PATTERN = /^net\d+$/;
// virtio's device status bit: the driver has set the device up.
const VIRTIO_DRIVER_OK = 4;

// v86's virtio-net puts a frame it is given into the next buffer of its
// receive queue without checking that the guest's driver has set the queue
// up: before DRIVER_OK the queue's addresses are zero, the "buffers" are
// whatever the guest's low memory holds, and the frame is written there.
// A stack attached before boot (its ARP and IPv6 announcements arrive
// during the BIOS) left the guest hung, or v86 trapping out of bounds, in
// about one boot in ten in a page, and in every boot under a flood of
// frames. A NIC without a driver drops what arrives, so the adapter does.
// ne2k checks its own state. Only an emulator shows its devices: given a
// bus alone, the adapter cannot tell.
function virtioNotReady(emulator, nic) {
  const cpu = emulator && emulator.v86 && emulator.v86.cpu;
  const device = cpu && cpu.devices && cpu.devices.virtio_net;
  if (!device || !device.virtio || `net${device.id}` !== nic) return false;
  return (device.virtio.device_status & VIRTIO_DRIVER_OK) === 0;
}

function isBus(value) {
  return value !== null && typeof value === 'object' && typeof value.register === 'function'
    && typeof value.unregister === 'function' && typeof value.send === 'function';
}

function validateTap(tap) {
  if (tap === null || typeof tap !== 'object' || tap.type !== 'tap' || typeof tap.send !== 'function') {
    throw errors.invalidArgType('tapInterface', 'TapInterface', tap);
  }
  if (tap.removed) throw errors.simple(Error, 'ERR_TCPIP_INTERFACE_REMOVED', 'The interface has been removed');
}

function validateNic(options) {
  validateObject(options, 'options');
  const nic = options.nic === undefined ? 'net0' : options.nic;
  if (typeof nic !== 'string') throw errors.invalidArgType('options.nic', 'string', nic);
  if (!NIC_PATTERN.test(nic)) throw errors.invalidArgValue('options.nic', nic, "must be 'net' and a number, as 'net0'");
  return nic;
}

/**
 * A v86 NIC joined to a TAP interface. Shaped as v86's own network adapters
 * are (`send(frame)` from the guest, `receive(frame)` to it, `destroy()`),
 * so it can stand as an emulator's `network_adapter`. Events: 'mac' (the
 * guest's MAC, as v86 reports it), 'detach'.
 */
class V86Adapter extends EventEmitter {
  /**
   * @param {object} bus v86's bus: `emulator.bus`, or anything with its
   *   register/unregister/send
   * @param {import('./interfaces.js').TapInterface} tapInterface
   * @param {{ nic?: string }} [options]
   */
  constructor(bus, tapInterface, options = {}) {
    super();
    if (!isBus(bus)) throw errors.invalidArgType('bus', 'v86 bus (register, unregister, send)', bus);
    validateTap(tapInterface);
    this.nic = validateNic(options);
    this.bus = bus;
    this.interface = tapInterface;
    /** The guest's MAC as v86 last reported it ('00:22:15:..'), or null before it did. */
    this.guestMac = null;
    this.attached = true;
    this._emulator = null;
    this._machine = null; // the V86 instance, when attachV86 was given one
    this._stats = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, notReady: 0 };
    this._onSend = (data) => this.send(data);
    this._onMac = (mac) => {
      this.guestMac = typeof mac === 'string' ? mac : null;
      this.emit('mac', this.guestMac);
    };
    this._onFrame = (frame) => this.receive(frame);
    this._onTapClose = () => this.destroy();
    bus.register(`${this.nic}-send`, this._onSend, this);
    bus.register(`${this.nic}-mac`, this._onMac, this);
    tapInterface.on('frame', this._onFrame);
    tapInterface.once('close', this._onTapClose);
  }

  /**
   * A frame from the guest into the stack. v86 hands a view into NIC memory
   * that it reuses for the next frame, so the frame is copied first.
   * @param {Uint8Array} data
   * @returns {boolean} false when it was dropped
   */
  send(data) {
    if (!this.attached || !(data instanceof Uint8Array)) {
      this._stats.dropped++;
      return false;
    }
    const frame = data.slice();
    this._stats.framesIn++;
    this._stats.bytesIn += frame.length;
    // No back-pressure toward the guest exists: a frame the stack cannot
    // queue is lost, and TCP in the guest retransmits it.
    if (!this.interface.send(frame)) {
      this._stats.dropped++;
      return false;
    }
    return true;
  }

  /**
   * A frame from the stack to the guest. The NIC copies it into guest
   * memory at once, or drops it if its ring is full (it does not say).
   * @param {Uint8Array} frame
   */
  receive(frame) {
    if (!this.attached) {
      this._stats.dropped++;
      return;
    }
    if (virtioNotReady(this._machine, this.nic)) {
      this._stats.notReady++;
      return;
    }
    this._stats.framesOut++;
    this._stats.bytesOut += frame.length;
    this.bus.send(`${this.nic}-receive`, frame);
  }

  /**
   * Frames and bytes each way as the adapter saw them: `framesIn`/`bytesIn`
   * from the guest, `framesOut`/`bytesOut` to it, `dropped` (refused by
   * the stack's injection queue, or arriving after detach) and `notReady`
   * (frames for a virtio NIC whose guest driver is not up yet, not passed
   * to it and not in `framesOut`). The interface's own `stats()` count the
   * same frames on the stack's side, `notReady` among its `packetsOut`.
   */
  stats() {
    return { ...this._stats };
  }

  /** Gives the NIC and the interface back: no frame passes afterwards. */
  detach() {
    if (!this.attached) return;
    this.attached = false;
    this.bus.unregister(`${this.nic}-send`, this._onSend);
    this.bus.unregister(`${this.nic}-mac`, this._onMac);
    this.interface.off('frame', this._onFrame);
    this.interface.off('close', this._onTapClose);
    if (this._emulator !== null && this._emulator.network_adapter === this) this._emulator.network_adapter = undefined;
    this._emulator = null;
    this._machine = null;
    this.emit('detach');
  }

  /** v86 calls this from `emulator.destroy()`: the same as detach(). */
  destroy() {
    this.detach();
  }
}

/**
 * Joins the NIC of a v86 emulator (`new V86({...})`) to `tapInterface`, a
 * TAP interface of any stack: the guest's frames go into the stack, the
 * stack's to the guest. Also takes v86's bus itself. The adapter becomes
 * the emulator's `network_adapter` when it has none, so that
 * `emulator.destroy()` detaches it. Given the emulator, not its bus, the
 * adapter holds frames back from a virtio NIC until the guest's driver has
 * set it up (v86 would write them into guest memory at random).
 * @param {object} emulator a V86 instance, or its bus
 * @param {import('./interfaces.js').TapInterface} tapInterface
 * @param {{ nic?: string }} [options] `nic`: 'net0' (the default), 'net1', ...
 * @returns {V86Adapter}
 */
function attachV86(emulator, tapInterface, options = {}) {
  if (emulator === null || typeof emulator !== 'object') throw errors.invalidArgType('emulator', 'V86', emulator);
  const bus = isBus(emulator.bus) ? emulator.bus : emulator;
  if (!isBus(bus)) throw errors.invalidArgType('emulator', 'V86', emulator);
  const adapter = new V86Adapter(bus, tapInterface, options);
  if (bus !== emulator) adapter._machine = emulator;
  if (bus !== emulator && !emulator.network_adapter) {
    emulator.network_adapter = adapter;
    adapter._emulator = emulator;
  }
  return adapter;
}

module.exports = { attachV86, V86Adapter };
