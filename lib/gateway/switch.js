'use strict';
// The gateway's virtual Ethernet switch: one port per WebSocket client, and
// the router, a TAP interface of the gateway's stack. A port's source MAC is
// pinned by its first frame and its IPv4 address by its DHCP lease; frames
// that claim anything else are dropped. Unless `isolate` is off, a client's
// frames reach the router only.
const frames = require('./frames.js');

const { ETHERTYPE, HEADER_BYTES } = frames;
const UNSPECIFIED = '0.0.0.0';

/** Counters of one direction or one port. */
function counters() {
  return { frames: 0, bytes: 0 };
}

/** One client's port: its pinned MAC, its leased address, its counters. */
class Port {
  /**
   * @param {number} id
   * @param {(frame: Buffer) => string | null} deliver sends a frame to the
   *   client; the reason when it dropped it instead ('backpressure': the
   *   client is backed up; 'port-closed': it is going)
   */
  constructor(id, deliver) {
    this.id = id;
    this.mac = null;
    this.address = null;
    this.in = counters();
    this.out = counters();
    this.drops = new Map(); // reason -> count
    this._deliver = deliver;
  }
}

class Switch {
  /**
   * @param {{ router: import('../interfaces.js').TapInterface, isolate: boolean, mtu: number,
   *   leaseOf: (mac: string) => string | null, onDrop: (port: Port | null, reason: string) => void }} options
   */
  constructor({ router, isolate, mtu, leaseOf, onDrop }) {
    this._router = router;
    this._routerMac = router.macAddress;
    this._isolate = isolate;
    this._maxFrame = mtu + HEADER_BYTES;
    this._leaseOf = leaseOf;
    this._onDrop = onDrop;
    this._ports = new Set();
    this._byMac = new Map();
    this.in = counters(); // from clients
    this.out = counters(); // to clients
    this.drops = new Map(); // reason -> count
    this._onRouterFrame = (frame) => this._fromRouter(frame);
    router.on('frame', this._onRouterFrame);
  }

  get ports() {
    return [...this._ports];
  }

  addPort(id, deliver) {
    const port = new Port(id, deliver);
    this._ports.add(port);
    return port;
  }

  removePort(port) {
    this._ports.delete(port);
    if (port.mac !== null && this._byMac.get(port.mac) === port) this._byMac.delete(port.mac);
  }

  /** The DHCP server bound (or renewed) `address` for `mac`. */
  leased(mac, address) {
    // An address given anew is no longer the port that let its lease lapse.
    for (const other of this._ports) if (other.address === address && other.mac !== mac) other.address = null;
    const port = this._byMac.get(mac);
    if (port) port.address = address;
  }

  /** The client with `mac` gave its address back. */
  released(mac) {
    const port = this._byMac.get(mac);
    if (port) port.address = null;
  }

  detach() {
    this._router.off('frame', this._onRouterFrame);
  }

  /** A frame a client sent. */
  input(port, frame) {
    this.in.frames++;
    this.in.bytes += frame.length;
    port.in.frames++;
    port.in.bytes += frame.length;
    const reason = this._check(port, frame);
    if (reason !== null) {
      this.drop(port, reason);
      return;
    }
    if (frames.isGroupMac(frame)) {
      this._toRouter(port, frame);
      if (!this._isolate) {
        for (const other of this._ports) if (other !== port) this._toPort(other, frame);
      }
      return;
    }
    const destination = frames.destinationMac(frame);
    if (destination === this._routerMac) {
      this._toRouter(port, frame);
      return;
    }
    const other = this._byMac.get(destination);
    if (other === undefined) this.drop(port, 'unknown-destination');
    else if (this._isolate) this.drop(port, 'isolated');
    else this._toPort(other, frame);
  }

  // Why a client's frame may not pass, or null.
  _check(port, frame) {
    if (frame.length < HEADER_BYTES) return 'malformed';
    if (frame.length > this._maxFrame) return 'oversize';
    const source = frames.sourceMac(frame);
    if (port.mac === null) {
      // The first frame pins the port's MAC: a unicast one that no other
      // port (nor the router) has.
      if (frames.isGroupMac(frame, 6) || source === this._routerMac) return 'spoofed-mac';
      if (this._byMac.has(source)) return 'mac-in-use';
      port.mac = source;
      this._byMac.set(source, port);
      // A client back after a reconnect keeps the lease it had.
      port.address = this._leaseOf(source);
    } else if (source !== port.mac) {
      return 'spoofed-mac';
    }
    const type = frames.etherType(frame);
    if (type === ETHERTYPE.IPV6) return null;
    if (type !== ETHERTYPE.IPV4 && type !== ETHERTYPE.ARP) return 'ethertype';
    const sender = frames.senderOf(frame, type);
    if (sender === null) return 'malformed';
    if (sender.arpMac !== null && sender.arpMac !== port.mac) return 'spoofed-mac';
    // Before its lease a client speaks from 0.0.0.0 only (DHCP, ARP probes),
    // or to the DHCP server: a client back after a gateway restart renews
    // the lease the new gateway does not know from its old address.
    if (sender.address === UNSPECIFIED || sender.address === port.address) return null;
    if (port.address === null) {
      return type === ETHERTYPE.IPV4 && frames.isDhcpToServer(frame) ? null : 'no-lease';
    }
    return 'spoofed-ip';
  }

  _toRouter(port, frame) {
    let accepted;
    try {
      accepted = this._router.send(frame);
    } catch {
      accepted = false; // the interface is gone: the gateway is closing
    }
    if (!accepted) this.drop(port, 'router-busy');
  }

  _toPort(port, frame) {
    const dropped = port._deliver(frame);
    if (dropped !== null) {
      this.drop(port, dropped);
      return;
    }
    this.out.frames++;
    this.out.bytes += frame.length;
    port.out.frames++;
    port.out.bytes += frame.length;
  }

  _fromRouter(frame) {
    if (frame.length < HEADER_BYTES) return;
    if (frames.isGroupMac(frame)) {
      for (const port of this._ports) this._toPort(port, frame);
      return;
    }
    const port = this._byMac.get(frames.destinationMac(frame));
    if (port === undefined) this.drop(null, 'unknown-destination');
    else this._toPort(port, frame);
  }

  /** Counts a frame from or to `port` (null: the router's, to nobody) as dropped. */
  drop(port, reason) {
    this.drops.set(reason, (this.drops.get(reason) || 0) + 1);
    if (port !== null) port.drops.set(reason, (port.drops.get(reason) || 0) + 1);
    this._onDrop(port, reason);
  }
}

module.exports = { Switch, Port };
