'use strict';
// The gateway's userspace NAT for UDP. lwIP has no use for a datagram to
// an address that is not its own, so this NAT works on the switch's frames
// instead: an unfragmented IPv4 UDP datagram a client sends to the router's
// MAC for an outside address is taken off the switch, and its payload sent
// from a host dgram socket of that flow (client port, destination); the
// replies come back as frames from the original destination to the client.
// A flow lives until it has been idle for idleTimeout. A datagram to
// another client's address (isolated: the switch answered the client's ARP
// for it with the router's MAC) is refused here too. Refusals are answered
// with ICMP destination unreachable (communication administratively
// prohibited), a destination's closed port with port unreachable.
const dgram = require('node:dgram');
const { Buffer } = require('node:buffer');
const { HEADER_BYTES, ETHERTYPE, etherType } = require('./frames.js');
const { redirectedTarget } = require('./policy.js');
const ipv6 = require('./ipv6.js');

const UDP = 17;
const ICMP = 1;
const DEFAULT_IDLE_TIMEOUT = 60 * 1000;
const UNREACHABLE = { PORT: 3, PROHIBITED: 13 };
// ICMPv6's codes for the same (RFC 4443 3.1).
const UNREACHABLE6 = { [UNREACHABLE.PORT]: 4, [UNREACHABLE.PROHIBITED]: 1 };
// What an ICMPv6 error may quote: as much of the packet as keeps it within
// the minimum MTU (1280 - 40 - 8).
const MAX_QUOTE6 = 1232;

function ipv4At(bytes, offset) {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

function writeIpv4(bytes, offset, address) {
  const parts = address.split('.');
  for (let i = 0; i < 4; i++) bytes[offset + i] = Number(parts[i]);
}

function macBytes(mac) {
  return Buffer.from(mac.split(':').map((part) => parseInt(part, 16)));
}

// The Internet checksum of `bytes`, with `sum` carried in (a pseudo-header).
function checksum(bytes, sum = 0) {
  let total = sum;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) total += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) total += bytes[bytes.length - 1] << 8;
  while (total > 0xffff) total = (total & 0xffff) + (total >>> 16);
  return ~total & 0xffff;
}

/**
 * An Ethernet frame for an IPv4 packet of `length` bytes of `protocol`
 * from `source` to `destination`: the frame, and its payload to fill in.
 */
function ipv4Frame({ toMac, fromMac, source, destination, protocol, length, id }) {
  const frame = Buffer.alloc(HEADER_BYTES + 20 + length);
  toMac.copy(frame, 0);
  fromMac.copy(frame, 6);
  frame.writeUInt16BE(ETHERTYPE.IPV4, 12);
  const ip = frame.subarray(HEADER_BYTES, HEADER_BYTES + 20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + length, 2);
  ip.writeUInt16BE(id & 0xffff, 4);
  ip[8] = 64;
  ip[9] = protocol;
  writeIpv4(ip, 12, source);
  writeIpv4(ip, 16, destination);
  ip.writeUInt16BE(checksum(ip), 10);
  return { frame, payload: frame.subarray(HEADER_BYTES + 20) };
}

/**
 * The datagram of a client's frame, when it is an unfragmented IPv4 UDP
 * datagram whose lengths hold together; { fragment: true } for a fragment;
 * null for anything else.
 */
function parseDatagram(frame) {
  if (frame.length < HEADER_BYTES + 28 || etherType(frame) !== ETHERTYPE.IPV4) return null;
  const ip = HEADER_BYTES;
  if (frame[ip] >> 4 !== 4 || frame[ip + 9] !== UDP) return null;
  const headerLength = (frame[ip] & 0x0f) * 4;
  const total = frame.readUInt16BE(ip + 2);
  if (headerLength < 20 || total < headerLength + 8 || ip + total > frame.length) return { malformed: true };
  if ((frame.readUInt16BE(ip + 6) & 0x3fff) !== 0) return { fragment: true };
  const udp = ip + headerLength;
  const udpLength = frame.readUInt16BE(udp + 4);
  if (udpLength < 8 || udp + udpLength > ip + total) return { malformed: true };
  return {
    source: ipv4At(frame, ip + 12),
    destination: ipv4At(frame, ip + 16),
    sourcePort: frame.readUInt16BE(udp),
    destinationPort: frame.readUInt16BE(udp + 2),
    payload: frame.subarray(udp + 8, udp + udpLength),
    // What an ICMP error quotes: the IP header and 8 bytes after it.
    quote: Buffer.from(frame.subarray(ip, udp + 8)),
  };
}

/**
 * The datagram of a client's frame when it is an IPv6 UDP datagram (UDP
 * the first next header; a datagram behind extension headers, fragments
 * among them, is left to the router), else null.
 */
function parseDatagram6(frame) {
  if (frame.length < HEADER_BYTES + 48 || etherType(frame) !== ETHERTYPE.IPV6) return null;
  const ip = HEADER_BYTES;
  if (frame[ip] >> 4 !== 6 || frame[ip + 6] !== UDP) return null;
  const payloadLength = frame.readUInt16BE(ip + 4);
  const udp = ip + 40;
  if (udp + payloadLength > frame.length || payloadLength < 8) return { malformed: true };
  const udpLength = frame.readUInt16BE(udp + 4);
  if (udpLength < 8 || udpLength > payloadLength) return { malformed: true };
  const sourceBytes = Buffer.from(frame.subarray(ip + 8, ip + 24));
  const destinationBytes = Buffer.from(frame.subarray(ip + 24, ip + 40));
  return {
    family: 6,
    source: ipv6.addressText(sourceBytes),
    destination: ipv6.addressText(destinationBytes),
    sourceBytes,
    destinationBytes,
    sourcePort: frame.readUInt16BE(udp),
    destinationPort: frame.readUInt16BE(udp + 2),
    payload: frame.subarray(udp + 8, udp + udpLength),
    quote: Buffer.from(frame.subarray(ip, Math.min(udp + payloadLength, ip + MAX_QUOTE6))),
  };
}

class UdpNat {
  /**
   * @param {object} options policy, router ({ address, mac }), isLocal(address)
   *   (an address of the clients' own subnet, left to the router), send(port,
   *   frame), refuse(client, reason, destination), maxFlows, idleTimeout,
   *   redirect, mtu, closed(client, reason, destination) (a flow idled out:
   *   'udp-idle'), downstream(client) (the TokenBucket replies to a client
   *   take: past its rate they are dropped, as UDP has no back-pressure),
   *   router6 ({ address }: the router's IPv6 address, answering for
   *   IPv6; null: IPv6 datagrams are left to the router), isLocal6(bytes),
   *   isolated(address) (another client's address: refused as 'isolated')
   */
  constructor({
    policy, router, isLocal, send, refuse, maxFlows, idleTimeout, redirect, mtu, closed, downstream, router6, isLocal6,
    isolated,
  }) {
    this._isolated = isolated || (() => false);
    this._router6 = router6 || null;
    this._isLocal6 = isLocal6 || (() => true);
    this._closed = closed || (() => {});
    this._downstream = downstream || (() => null);
    this._policy = policy;
    this._router = router;
    this._routerMac = macBytes(router.mac);
    this._isLocal = isLocal;
    this._send = send;
    this._refuse = refuse;
    this._maxFlows = maxFlows;
    this._idleTimeout = idleTimeout === undefined ? DEFAULT_IDLE_TIMEOUT : idleTimeout;
    this._redirect = redirect || null;
    this._mtu = mtu;
    this._flows = new Map(); // client -> Map(key -> flow)
    this._id = 0;
    this.open = 0;
    this.total = 0;
    this.dropped = new Map(); // reason -> datagrams the NAT dropped
  }

  _drop(reason) {
    this.dropped.set(reason, (this.dropped.get(reason) || 0) + 1);
    return true;
  }

  /** Takes a client's frame to the router if it is NAT's (true), else leaves it (false). */
  input(client, port, frame) {
    if (etherType(frame) === ETHERTYPE.IPV6) return this._input6(client, port, frame);
    const datagram = parseDatagram(frame);
    if (datagram === null) return false;
    if (datagram.malformed) return false; // the router's stack counts and drops it
    if (datagram.fragment) {
      // Fragments to the router itself are the router's to reassemble.
      const destination = ipv4At(frame, HEADER_BYTES + 16);
      return destination === this._router.address || this._isLocal(destination) ? false : this._drop('udp-fragment');
    }
    const { destination } = datagram;
    if (destination === this._router.address) return false;
    if (this._isolated(destination)) return this._deny(client, port, datagram, 'isolated', this._router.address);
    if (this._isLocal(destination)) return false;
    return this._take(client, port, datagram, this._router.address);
  }

  // An IPv6 datagram to an address beyond the link and the prefix.
  _input6(client, port, frame) {
    if (this._router6 === null) return false;
    const datagram = parseDatagram6(frame);
    if (datagram === null || datagram.malformed) return false;
    if (this._isolated(datagram.destination)) return this._deny(client, port, datagram, 'isolated', this._router6.address);
    if (this._isLocal6(datagram.destinationBytes)) return false;
    return this._take(client, port, datagram, this._router6.address);
  }

  // A datagram for the NAT: to its flow, or a new flow, or refused.
  _take(client, port, datagram, routerAddress) {
    const { destination, destinationPort } = datagram;
    let flows = this._flows.get(client);
    if (flows === undefined) {
      flows = new Map();
      this._flows.set(client, flows);
    }
    const key = `${datagram.sourcePort} ${destination} ${destinationPort}`;
    const flow = flows.get(key);
    if (flow !== undefined) {
      this._forward(flow, datagram);
      return true;
    }
    const target = redirectedTarget(this._redirect, { address: destination, port: destinationPort }, 'udp');
    const reason = this._policy.check(target.address, target.port);
    if (reason !== null) return this._deny(client, port, datagram, `egress-${reason}`, routerAddress);
    if (flows.size >= this._maxFlows) return this._deny(client, port, datagram, 'max-flows', routerAddress);
    this._open(client, port, flows, key, datagram, target);
    return true;
  }

  // A datagram refused: counted, and answered with ICMP prohibited from the router.
  _deny(client, port, datagram, reason, routerAddress) {
    this._refuse(client, reason, { address: datagram.destination, port: datagram.destinationPort, protocol: 'udp' });
    this._unreachable(port, datagram, UNREACHABLE.PROHIBITED, routerAddress);
    return true;
  }

  _open(client, port, flows, key, datagram, target) {
    const family = datagram.family === 6 ? 6 : 4;
    // The host's socket is of the family of the address it sends to (a
    // redirect may change it).
    const socket = dgram.createSocket(target.address.includes(':') ? 'udp6' : 'udp4');
    const flow = {
      socket, port, key, family, connected: false, queue: [], last: datagram, timer: null,
      clientBytes: datagram.sourceBytes, destinationBytes: datagram.destinationBytes,
      clientAddress: datagram.source, clientPort: datagram.sourcePort,
      destination: datagram.destination, destinationPort: datagram.destinationPort,
    };
    flows.set(key, flow);
    this.open++;
    this.total++;
    const close = () => {
      if (flows.get(key) !== flow) return;
      flows.delete(key);
      if (flows.size === 0 && this._flows.get(client) === flows) this._flows.delete(client);
      this.open--;
      clearTimeout(flow.timer);
      try {
        socket.close();
      } catch {
        // closed already
      }
    };
    flow.close = close;
    flow.timer = setTimeout(() => {
      this._closed(client, 'udp-idle', { address: flow.destination, port: flow.destinationPort, protocol: 'udp' });
      close();
    }, this._idleTimeout);
    flow.timer.unref();
    const bucket = this._downstream(client);
    socket.on('message', (message) => {
      flow.timer.refresh();
      if (bucket !== null) {
        if (bucket.wait() > 0) {
          this._drop('udp-rate');
          return;
        }
        bucket.take(message.length);
      }
      this._reply(flow, message);
    });
    // A connected socket hears of ICMP port unreachable as ECONNREFUSED:
    // the client hears it as such too. Other errors end the flow.
    socket.on('error', (error) => {
      if (error.code === 'ECONNREFUSED') {
        this._unreachable(flow.port, flow.last, UNREACHABLE.PORT, flow.destination);
        return;
      }
      close();
    });
    socket.connect(target.port, target.address, () => {
      flow.connected = true;
      for (const payload of flow.queue.splice(0)) socket.send(payload);
    });
    this._forward(flow, datagram);
  }

  _forward(flow, datagram) {
    flow.timer.refresh();
    flow.last = datagram;
    const payload = Buffer.from(datagram.payload);
    if (flow.connected) flow.socket.send(payload);
    else if (flow.queue.length < 64) flow.queue.push(payload);
    else this._drop('udp-queue');
  }

  _reply(flow, message) {
    if (flow.family === 6) {
      this._reply6(flow, message);
      return;
    }
    if (20 + 8 + message.length > this._mtu) {
      this._drop('udp-oversize');
      return;
    }
    const { frame, payload } = ipv4Frame({
      toMac: macBytes(flow.port.mac), fromMac: this._routerMac, source: flow.destination,
      destination: flow.clientAddress, protocol: UDP, length: 8 + message.length, id: this._id++,
    });
    payload.writeUInt16BE(flow.destinationPort, 0);
    payload.writeUInt16BE(flow.clientPort, 2);
    payload.writeUInt16BE(8 + message.length, 4);
    message.copy(payload, 8);
    const pseudo = Buffer.alloc(12);
    writeIpv4(pseudo, 0, flow.destination);
    writeIpv4(pseudo, 4, flow.clientAddress);
    pseudo[9] = UDP;
    pseudo.writeUInt16BE(8 + message.length, 10);
    // UDP's checksum covers a pseudo-header: its sum carries in.
    const udpSum = checksum(payload, 0xffff & ~checksum(pseudo));
    payload.writeUInt16BE(udpSum === 0 ? 0xffff : udpSum, 6);
    this._send(flow.port, frame);
  }

  _reply6(flow, message) {
    if (40 + 8 + message.length > this._mtu) {
      this._drop('udp-oversize');
      return;
    }
    const udp = Buffer.alloc(8 + message.length);
    udp.writeUInt16BE(flow.destinationPort, 0);
    udp.writeUInt16BE(flow.clientPort, 2);
    udp.writeUInt16BE(udp.length, 4);
    message.copy(udp, 8);
    this._send(flow.port, ipv6.ipv6Frame({
      toMac: macBytes(flow.port.mac), fromMac: this._routerMac, source: flow.destinationBytes,
      destination: flow.clientBytes, protocol: UDP, message: udp, checksumAt: 6,
    }));
  }

  // ICMPv6 destination unreachable to the client, quoting its datagram.
  _unreachable6(port, datagram, code, from) {
    const message = Buffer.alloc(8 + datagram.quote.length);
    message[0] = ipv6.TYPE.UNREACHABLE;
    message[1] = UNREACHABLE6[code];
    datagram.quote.copy(message, 8);
    this._send(port, ipv6.ipv6Frame({
      toMac: macBytes(port.mac), fromMac: this._routerMac, source: ipv6.addressBytes(from),
      destination: datagram.sourceBytes, protocol: ipv6.ICMPV6, message, checksumAt: 2,
    }));
  }

  // ICMP destination unreachable to the client, quoting its datagram.
  _unreachable(port, datagram, code, from) {
    if (port.mac === null) return;
    if (datagram.family === 6) {
      this._unreachable6(port, datagram, code, from);
      return;
    }
    const length = 8 + datagram.quote.length;
    const { frame, payload } = ipv4Frame({
      toMac: macBytes(port.mac), fromMac: this._routerMac, source: from, destination: datagram.source,
      protocol: ICMP, length, id: this._id++,
    });
    payload[0] = 3;
    payload[1] = code;
    datagram.quote.copy(payload, 8);
    payload.writeUInt16BE(checksum(payload), 2);
    this._send(port, frame);
  }

  /** The UDP flows of `client` now. */
  flowsOf(client) {
    const flows = this._flows.get(client);
    return flows === undefined ? 0 : flows.size;
  }

  /** Ends every flow of `client`. */
  dropClient(client) {
    const flows = this._flows.get(client);
    if (flows === undefined) return;
    for (const flow of [...flows.values()]) flow.close();
  }

  close() {
    for (const client of [...this._flows.keys()]) this.dropClient(client);
  }
}

module.exports = { UdpNat, parseDatagram, parseDatagram6, checksum };
