'use strict';
// The gateway's virtual Ethernet switch: one port per WebSocket client, and
// the router, a TAP interface of the gateway's stack. A port's source MAC is
// pinned by its first frame and its IPv4 address by its DHCP lease; its
// IPv6 addresses (link-local, or in the gateway's prefix) by the first port
// that sends from each, at most MAX_IPV6 of them; frames that claim
// anything else are dropped. Unless `isolate` is off, a client's
// frames reach the router only, and the switch answers a client's ARP
// requests and neighbour solicitations for the other addresses of the
// subnet (and of the IPv6 prefix) with the router's MAC, as a
// private-VLAN router does (proxy ARP): what a client sends to another
// then reaches the router, where the NATs refuse it ('isolated') with an
// RST or ICMP unreachable, rather than going unanswered.
const frames = require('./frames.js');
const dhcpMessage = require('../dhcp/message.js');
const ipv6 = require('./ipv6.js');
const { Buffer } = require('../platform/node.js');

const { ETHERTYPE, HEADER_BYTES } = frames;
const UNSPECIFIED = '0.0.0.0';
// IPv6 addresses a port may hold: as many as a stack's interface does (a
// link-local one, SLAAC's, static ones), and a few to spare.
const MAX_IPV6 = 8;

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
    this.ipv6 = new Set(); // keys (ipv6.addressKey) of the IPv6 addresses it sends from
    this.in = counters();
    this.out = counters();
    this.drops = new Map(); // reason -> count
    this._deliver = deliver;
  }
}

class Switch {
  /**
   * @param {{ router: import('../interfaces.js').TapInterface, isolate: boolean, mtu: number,
   *   leaseOf: (mac: string) => string | null, onDrop: (port: Port | null, reason: string) => void,
   *   intercept?: (port: Port, frame: Buffer) => boolean }} options intercept: sees each checked
   *   unicast frame to the router first, and takes it by returning true (the UDP NAT)
   */
  constructor({ router, isolate, mtu, leaseOf, onDrop, intercept, interceptGroup, ipv6Prefix }) {
    this._router = router;
    this._intercept = intercept || null;
    this._interceptGroup = interceptGroup || null;
    this._ipv6Prefix = ipv6Prefix || null; // 8 bytes, or null: link-local only
    this._byIpv6 = new Map(); // address key -> port
    this._routerMac = router.macAddress;
    this._routerAddress = router.addresses.length ? router.addresses[0].address : null;
    // The clients' IPv4 subnet, the router's: its network and broadcast address.
    const prefix = this._routerAddress === null ? 32 : Number(router.ipAddress.split('/')[1]);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    this._network = this._routerAddress === null ? 0 : (dhcpMessage.ipToNumber(this._routerAddress) & mask) >>> 0;
    this._broadcast = (this._network | ~mask) >>> 0;
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
    for (const key of port.ipv6) if (this._byIpv6.get(key) === port) this._byIpv6.delete(key);
    if (port.mac !== null && this._byMac.get(port.mac) === port) this._byMac.delete(port.mac);
  }

  /** Keeps IPv6 `address` (the router's) from every port. */
  reserveIpv6(address) {
    this._byIpv6.set(ipv6.addressKey(address), null);
  }

  /** The port sending from IPv6 `address`, or undefined (null: reserved). */
  portOfIpv6(address) {
    return this._byIpv6.get(ipv6.addressKey(address));
  }

  /**
   * Whether `address` (IPv4, or IPv6 text) is, isolated, another client's
   * business: a host address of the clients' subnet or an address of the
   * IPv6 prefix, not the router's. What a client sends there is refused.
   */
  isolated(address) {
    if (!this._isolate || typeof address !== 'string') return false;
    if (address.includes(':')) {
      if (this._ipv6Prefix === null) return false;
      let bytes;
      try {
        bytes = ipv6.addressBytes(address);
      } catch {
        return false;
      }
      return bytes.subarray(0, 8).equals(this._ipv6Prefix) && this._byIpv6.get(bytes.toString('hex')) !== null;
    }
    if (address === this._routerAddress || this._routerAddress === null) return false;
    const n = dhcpMessage.ipToNumber(address);
    return n > this._network && n < this._broadcast;
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
      if (this._interceptGroup !== null && this._interceptGroup(port, frame)) return;
      if (this._proxy(port, frame)) return;
      this._toRouter(port, frame);
      if (!this._isolate) {
        for (const other of this._ports) if (other !== port) this._toPort(other, frame);
      }
      return;
    }
    const destination = frames.destinationMac(frame);
    if (destination === this._routerMac) {
      if (this._proxy(port, frame)) return;
      if (this._intercept === null || !this._intercept(port, frame)) this._toRouter(port, frame);
      return;
    }
    const other = this._byMac.get(destination);
    if (other === undefined) this.drop(port, 'unknown-destination');
    else if (this._isolate) this.drop(port, 'isolated');
    else this._toPort(other, frame);
  }

  // Proxy ARP and NDP: a client's ARP request or neighbour solicitation
  // (broadcast, or unicast to the router as a refresh) for an isolated
  // address is answered with the router's MAC, to the asking port alone.
  // Never a probe (from 0.0.0.0 or ::: a client checking that an address
  // is free would take it for taken), a gratuitous ARP, or a question for
  // an address the client holds itself. True when answered.
  _proxy(port, frame) {
    if (!this._isolate) return false;
    const type = frames.etherType(frame);
    if (type === ETHERTYPE.ARP) {
      const target = frames.arpRequestTarget(frame);
      if (target === null || port.address === null || target === port.address) return false;
      const { address } = frames.senderOf(frame, type);
      if (address !== port.address || !this.isolated(target)) return false;
      this._toPort(port, frames.arpReply(frame, this._routerMac));
      return true;
    }
    if (type !== ETHERTYPE.IPV6 || this._ipv6Prefix === null) return false;
    const solicitation = ipv6.neighborSolicitation(frame);
    if (solicitation === null || ipv6.isUnspecified(solicitation.source)) return false;
    const key = solicitation.target.toString('hex');
    if (port.ipv6.has(key) || !this.isolated(ipv6.addressText(solicitation.target))) return false;
    const routerMac = frames.macBytes(this._routerMac);
    this._toPort(port, ipv6.neighborAdvertisement({
      toMac: frames.macBytes(port.mac), fromMac: routerMac, source: ipv6.addressBytes(ipv6.linkLocalOf(this._routerMac)),
      destination: Buffer.from(solicitation.source), target: Buffer.from(solicitation.target), mac: routerMac,
    }));
    return true;
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
    if (type === ETHERTYPE.IPV6) return this._checkIpv6(port, frame);
    if (type !== ETHERTYPE.IPV4 && type !== ETHERTYPE.ARP) return 'ethertype';
    const sender = frames.senderOf(frame, type);
    if (sender === null) return 'malformed';
    if (sender.arpMac !== null && sender.arpMac !== port.mac) return 'spoofed-mac';
    const dhcp = type === ETHERTYPE.IPV4 ? frames.dhcpToServer(frame) : null;
    if (dhcp !== null) return this._checkDhcp(port, dhcp, sender.address);
    if (sender.address === port.address && port.address !== null) return null;
    // From 0.0.0.0: ARP probes of an address a client is about to take.
    if (sender.address === UNSPECIFIED) return type === ETHERTYPE.ARP ? null : 'no-lease';
    return port.address === null ? 'no-lease' : 'spoofed-ip';
  }

  // An IPv6 source: unspecified (duplicate address detection), or an
  // address this port holds, or one it may take: link-local or in the
  // gateway's prefix, held by no other port, within MAX_IPV6.
  _checkIpv6(port, frame) {
    const source = ipv6.sourceOf(frame);
    if (source === null) return 'malformed';
    if (ipv6.isUnspecified(source)) return null;
    const key = source.toString('hex');
    if (port.ipv6.has(key)) return null;
    if (this._byIpv6.has(key)) return 'spoofed-ip';
    const inPrefix = this._ipv6Prefix !== null && source.subarray(0, 8).equals(this._ipv6Prefix);
    if (!inPrefix && !ipv6.isLinkLocal(source)) return 'spoofed-ip';
    if (port.ipv6.size >= MAX_IPV6) return 'spoofed-ip';
    port.ipv6.add(key);
    this._byIpv6.set(key, port);
    return null;
  }

  // A client's message to the DHCP server may speak for its own MAC only:
  // the server keys leases by client identifier or chaddr, and another's
  // would let it release or take that client's address. Before a lease a
  // client sends from 0.0.0.0, or (back after a gateway restart, renewing
  // a lease the new gateway does not know) from its old address.
  _checkDhcp(port, bytes, source) {
    let message;
    try {
      message = dhcpMessage.decode(bytes);
    } catch {
      return 'malformed';
    }
    if (message.hlen !== 6 || message.chaddr !== port.mac) return 'spoofed-dhcp';
    if (message.giaddr !== UNSPECIFIED) return 'spoofed-dhcp';
    const clientId = message.options.get(dhcpMessage.OPTIONS.CLIENT_ID);
    if (clientId !== undefined && !(clientId.length === 7 && clientId[0] === 1
      && frames.macAt(clientId, 1) === port.mac)) {
      return 'spoofed-dhcp';
    }
    if (source === UNSPECIFIED || source === port.address) return null;
    if (port.address === null && source !== this._routerAddress) return null;
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

  /** Sends a frame the gateway made (the UDP NAT's) to `port`, counted as the router's are. */
  send(port, frame) {
    this._toPort(port, frame);
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
      const port = this._isolate ? this._broadcastOwner(frame) : undefined;
      if (port === undefined) {
        for (const each of this._ports) this._toPort(each, frame);
      } else if (port !== null) {
        this._toPort(port, frame);
      }
      return;
    }
    const port = this._byMac.get(frames.destinationMac(frame));
    if (port === undefined) this.drop(null, 'unknown-destination');
    else this._toPort(port, frame);
  }

  // Isolated clients must not learn of each other from the router's
  // broadcasts: a DHCP reply goes to the port whose MAC it answers, an ARP
  // request to the port holding the address (to all while nobody holds
  // it). The port, null for nobody, or undefined for every port.
  _broadcastOwner(frame) {
    const dhcp = frames.dhcpToClient(frame);
    if (dhcp !== null) {
      let chaddr;
      try {
        chaddr = dhcpMessage.decode(dhcp).chaddr;
      } catch {
        return null; // the router's own server sent it: not expected
      }
      return this._byMac.get(chaddr) || null;
    }
    const target = frames.arpRequestTarget(frame);
    if (target !== null) {
      for (const port of this._ports) if (port.address === target) return port;
    }
    if (frames.etherType(frame) === ETHERTYPE.IPV6) return this._ipv6Owner(frame);
    return undefined;
  }

  // The router's IPv6 multicast: its MLD reports (behind a hop-by-hop
  // header), its router solicitations and its duplicate address detection
  // (from ::) are for nobody behind the switch (its advertisements are the
  // gateway's); a neighbour solicitation goes to the port holding
  // its target (to all while nobody holds it), as ARP requests do.
  _ipv6Owner(frame) {
    const ip = HEADER_BYTES;
    if (frame.length < ip + 40) return null;
    if (frame[ip + 6] === 0) return null;
    if (frame[ip + 6] !== ipv6.ICMPV6 || frame.length < ip + 41) return undefined;
    if (frame[ip + 40] === ipv6.TYPE.ROUTER_SOLICITATION) return null;
    if (frame[ip + 40] !== ipv6.TYPE.NEIGHBOR_SOLICITATION || frame.length < ip + 64) return undefined;
    if (ipv6.isUnspecified(frame.subarray(ip + 8, ip + 24))) return null;
    const owner = this._byIpv6.get(frame.toString('hex', ip + 48, ip + 64));
    return owner === undefined ? undefined : owner;
  }

  /** Counts a frame from or to `port` (null: the router's, to nobody) as dropped. */
  drop(port, reason) {
    this.drops.set(reason, (this.drops.get(reason) || 0) + 1);
    if (port !== null) port.drops.set(reason, (port.drops.get(reason) || 0) + 1);
    this._onDrop(port, reason);
  }
}

module.exports = { Switch, Port };
