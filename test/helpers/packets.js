'use strict';
// Hand-made IPv4/IPv6/Ethernet packets for injecting into TUN and TAP
// interfaces, a mutator that turns them into garbage, and well-formed TCP
// segments, ICMPv6 messages and fragments (with checksums) plus a parser for
// what a stack sends.
const crypto = require('node:crypto');

function ipv4(protocol, payload, { source = [10, 0, 0, 2], destination = [10, 0, 0, 1] } = {}) {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + payload.length, 2);
  header[8] = 64;
  header[9] = protocol;
  Buffer.from(source).copy(header, 12);
  Buffer.from(destination).copy(header, 16);
  return Buffer.concat([header, payload]);
}

// RFC 1071: the ones' complement of the ones' complement sum of 16-bit words.
function internetChecksum(bytes) {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 ICMP echo request with valid checksums, addresses as dotted quads. */
function icmpEchoRequest(source, destination, data = Buffer.from('tcpip echo')) {
  const icmp = Buffer.concat([Buffer.from([8, 0, 0, 0, 0x12, 0x34, 0, 1]), data]);
  icmp.writeUInt16BE(internetChecksum(icmp), 2);
  const quad = (text) => text.split('.').map(Number);
  const packet = ipv4(1, icmp, { source: quad(source), destination: quad(destination) });
  packet.writeUInt16BE(internetChecksum(packet.subarray(0, 20)), 10);
  return packet;
}

function ipv6(nextHeader, payload) {
  const header = Buffer.alloc(40);
  header[0] = 0x60;
  header.writeUInt16BE(payload.length, 4);
  header[6] = nextHeader;
  header[7] = 64;
  header[8] = 0xfd; // fd00::2 -> fd00::1
  header[23] = 2;
  header[24] = 0xfd;
  header[39] = 1;
  return Buffer.concat([header, payload]);
}

function tcpSyn(port = 80) {
  const segment = Buffer.alloc(20);
  segment.writeUInt16BE(40000, 0);
  segment.writeUInt16BE(port, 2);
  segment[12] = 0x50;
  segment[13] = 0x02;
  segment.writeUInt16BE(65535, 14);
  return segment;
}

const ETHERTYPE = { ipv4: 0x0800, arp: 0x0806, ipv6: 0x86dd };

function ethernet(type, payload, source = [2, 0, 0, 0, 0, 2]) {
  const header = Buffer.alloc(14);
  header.fill(0xff, 0, 6);
  Buffer.from(source).copy(header, 6);
  header.writeUInt16BE(type, 12);
  return Buffer.concat([header, payload]);
}

// A UDP header (checksum 0: none, which IPv4 allows) before `payload`.
function udp(sourcePort, destinationPort, payload) {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(sourcePort, 0);
  header.writeUInt16BE(destinationPort, 2);
  header.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([header, payload]);
}

// A DNS query for example.test A, as a resolver sends it.
const DNS_QUERY = Buffer.from('123401000001000000000000076578616d706c65047465737400000100 01'.replace(/ /g, ''), 'hex');

// An IPv4 packet with its header checksum, so that it gets past IP.
function checked(packet) {
  packet.writeUInt16BE(internetChecksum(packet.subarray(0, 20)), 10);
  return packet;
}

// Built on first use: some need the helpers below.
let ipTemplates = null;
function templates() {
  ipTemplates = ipTemplates || [
    ipv4(6, tcpSyn()),
    // UDP to a DNS server on the stack, and ICMP that quotes a UDP flow (port
    // unreachable: 10.0.0.1:5353 to 10.0.0.2:53) or answers a ping: the
    // stack's own parsers see these.
    checked(ipv4(17, udp(5353, 53, DNS_QUERY))),
    checked(ipv4(1, Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]),
      checked(ipv4(17, udp(5353, 53, Buffer.alloc(4)), { source: [10, 0, 0, 1], destination: [10, 0, 0, 2] }))]))),
    checked(ipv4(1, Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4]))),
    ipv6(58, Buffer.concat([Buffer.from([1, 4, 0, 0, 0, 0, 0, 0]), ipv6(17, udp(53, 5353, Buffer.alloc(4)))])),
    ipv6(58, Buffer.from([129, 0, 0, 0, 0, 1, 0, 1, 5, 6])),
    // a router advertisement (for SLAAC) without its Ethernet header
    routerAdvertisement({
      router: 'fe80::1', routerMac: '02:00:00:00:00:01', prefixes: [{ prefix: 'fd02::', valid: 600, preferred: 300 }],
    }).subarray(14)];
  return ipTemplates;
}

/** A random byte change, a truncation or trailing junk, 1-4 times. */
function mutate(packet) {
  let bytes = Buffer.from(packet);
  const rounds = 1 + crypto.randomInt(4);
  for (let i = 0; i < rounds; i++) {
    const kind = crypto.randomInt(3);
    if (kind === 0 && bytes.length > 0) bytes[crypto.randomInt(bytes.length)] = crypto.randomInt(256);
    else if (kind === 1) bytes = bytes.subarray(0, crypto.randomInt(bytes.length + 1));
    else bytes = Buffer.concat([bytes, crypto.randomBytes(crypto.randomInt(64))]);
  }
  return bytes;
}

/** Garbage for a TUN (`layer` 3) or TAP (`layer` 2) interface. */
function garbage(layer) {
  const choice = crypto.randomInt(4);
  if (choice === 0) return crypto.randomBytes(crypto.randomInt(120));
  const list = templates();
  const packet = mutate(list[crypto.randomInt(list.length)]);
  if (layer === 3) return packet;
  const types = [ETHERTYPE.ipv4, ETHERTYPE.ipv6, ETHERTYPE.arp, crypto.randomInt(65536)];
  return choice === 3 ? mutate(ethernet(types[crypto.randomInt(types.length)], packet))
    : ethernet(packet[0] >> 4 === 6 ? ETHERTYPE.ipv6 : ETHERTYPE.ipv4, packet);
}

// --- Well-formed packets with real addresses and checksums ---------------

/** 'a.b.c.d' or an IPv6 address (with or without '::') as 4 or 16 bytes. */
function addressBytes(text) {
  if (!text.includes(':')) {
    const parts = text.split('.').map(Number);
    if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255))) throw new Error(`bad IPv4 address ${text}`);
    return Buffer.from(parts);
  }
  const [head, tail] = text.split('::');
  const groups = (part) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  if (all.length !== 8 || all.some((g) => !(g >= 0 && g <= 0xffff))) throw new Error(`bad IPv6 address ${text}`);
  const bytes = Buffer.alloc(16);
  all.forEach((g, i) => bytes.writeUInt16BE(g, 2 * i));
  return bytes;
}

/** The text form of 4 or 16 address bytes (IPv6 compressed as RFC 5952 says). */
function addressText(bytes) {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/**
 * An IPv4 packet with a valid header checksum. `moreFragments` and
 * `fragmentOffset` (in bytes, a multiple of 8) make it a fragment.
 */
function ipv4Packet({ source, destination, protocol, payload, identification = 0, moreFragments = false, fragmentOffset = 0, ttl = 64 }) {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + payload.length, 2);
  header.writeUInt16BE(identification, 4);
  header.writeUInt16BE((moreFragments ? 0x2000 : 0) | (fragmentOffset / 8), 6);
  header[8] = ttl;
  header[9] = protocol;
  addressBytes(source).copy(header, 12);
  addressBytes(destination).copy(header, 16);
  header.writeUInt16BE(internetChecksum(header), 10);
  return Buffer.concat([header, payload]);
}

/** An IPv6 packet; with `identification` set, a fragment of one (RFC 8200 fragment header). */
function ipv6Packet({ source, destination, protocol, payload, identification, moreFragments = false, fragmentOffset = 0, hopLimit = 64 }) {
  let nextHeader = protocol;
  if (identification !== undefined) {
    const fragment = Buffer.alloc(8);
    fragment[0] = protocol;
    fragment.writeUInt16BE(fragmentOffset | (moreFragments ? 1 : 0), 2);
    fragment.writeUInt32BE(identification >>> 0, 4);
    payload = Buffer.concat([fragment, payload]);
    nextHeader = 44;
  }
  const header = Buffer.alloc(40);
  header[0] = 0x60;
  header.writeUInt16BE(payload.length, 4);
  header[6] = nextHeader;
  header[7] = hopLimit;
  addressBytes(source).copy(header, 8);
  addressBytes(destination).copy(header, 24);
  return Buffer.concat([header, payload]);
}

/** An IPv4 or IPv6 packet (by the addresses' family) carrying `payload`. */
function ipPacket(fields) {
  return fields.source.includes(':') ? ipv6Packet(fields) : ipv4Packet(fields);
}

const TCP = Object.freeze({ FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, PROTOCOL: 6 });

/** The checksum of an upper-layer message over the IPv4 or IPv6 pseudo-header. */
function pseudoHeaderChecksum(protocol, source, destination, message) {
  const src = addressBytes(source);
  const dst = addressBytes(destination);
  const pseudo = Buffer.alloc(src.length === 4 ? 12 : 40);
  if (src.length === 4) {
    src.copy(pseudo, 0);
    dst.copy(pseudo, 4);
    pseudo[9] = protocol;
    pseudo.writeUInt16BE(message.length, 10);
  } else {
    src.copy(pseudo, 0);
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(message.length, 32);
    pseudo[39] = protocol;
  }
  return internetChecksum(Buffer.concat([pseudo, message]));
}

/** The TCP checksum over the IPv4 or IPv6 pseudo-header. */
function tcpChecksum(source, destination, segment) {
  return pseudoHeaderChecksum(TCP.PROTOCOL, source, destination, segment);
}

const ICMPV6 = Object.freeze({
  PROTOCOL: 58, PACKET_TOO_BIG: 2, PARAMETER_PROBLEM: 4, ECHO_REQUEST: 128, ECHO_REPLY: 129, NEIGHBOR_SOLICITATION: 135, NEIGHBOR_ADVERTISEMENT: 136,
});

/**
 * An IPv6 packet holding one ICMPv6 message with a valid checksum (over the
 * pseudo-header, RFC 4443 2.3); `body` is what follows type, code and checksum.
 */
function icmpv6Packet({ source, destination, type, code = 0, body = Buffer.alloc(0), hopLimit = 64 }) {
  const message = Buffer.concat([Buffer.from([type, code, 0, 0]), body]);
  message.writeUInt16BE(pseudoHeaderChecksum(ICMPV6.PROTOCOL, source, destination, message), 2);
  return ipv6Packet({ source, destination, protocol: ICMPV6.PROTOCOL, payload: message, hopLimit });
}

/**
 * A whole IP packet holding one TCP segment with correct checksums.
 * `options` are the raw option bytes, padded with zeros (EOL) to a multiple
 * of 4 unless `padOptions` is false (then they must already be).
 */
function tcpPacket({
  source, destination, sourcePort, destinationPort, seq = 0, ack = 0, flags = TCP.ACK,
  window = 65535, options = Buffer.alloc(0), payload = Buffer.alloc(0), padOptions = true,
}) {
  let optionBytes = Buffer.from(options);
  if (padOptions && optionBytes.length % 4) optionBytes = Buffer.concat([optionBytes, Buffer.alloc(4 - (optionBytes.length % 4))]);
  if (optionBytes.length % 4 || optionBytes.length > 40) throw new Error(`TCP options of ${optionBytes.length} bytes`);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(sourcePort, 0);
  header.writeUInt16BE(destinationPort, 2);
  header.writeUInt32BE(seq >>> 0, 4);
  header.writeUInt32BE(ack >>> 0, 8);
  header[12] = ((20 + optionBytes.length) / 4) << 4;
  header[13] = flags;
  header.writeUInt16BE(window, 14);
  const segment = Buffer.concat([header, optionBytes, payload]);
  segment.writeUInt16BE(tcpChecksum(source, destination, segment), 16);
  return ipPacket({ source, destination, protocol: TCP.PROTOCOL, payload: segment });
}

/**
 * The IP header of a packet: { version, source, destination, protocol,
 * payload } (IPv6 extension headers are not followed), or null.
 */
function parseIpPacket(packet) {
  const version = packet[0] >> 4;
  if (version === 4 && packet.length >= 20) {
    const headerLength = (packet[0] & 0x0f) * 4;
    return {
      version,
      source: addressText(packet.subarray(12, 16)),
      destination: addressText(packet.subarray(16, 20)),
      protocol: packet[9],
      payload: packet.subarray(headerLength, packet.readUInt16BE(2)),
    };
  }
  if (version === 6 && packet.length >= 40) {
    return {
      version,
      source: addressText(packet.subarray(8, 24)),
      destination: addressText(packet.subarray(24, 40)),
      protocol: packet[6],
      payload: packet.subarray(40, 40 + packet.readUInt16BE(4)),
    };
  }
  return null;
}

/** The TCP segment in an IP packet, its checksum verified, or null if it holds none. */
function parseTcpPacket(packet) {
  const ip = parseIpPacket(packet);
  if (!ip || ip.protocol !== TCP.PROTOCOL || ip.payload.length < 20) return null;
  const segment = ip.payload;
  const headerLength = (segment[12] >> 4) * 4;
  return {
    source: ip.source,
    destination: ip.destination,
    sourcePort: segment.readUInt16BE(0),
    destinationPort: segment.readUInt16BE(2),
    seq: segment.readUInt32BE(4),
    ack: segment.readUInt32BE(8),
    flags: segment[13],
    window: segment.readUInt16BE(14),
    options: segment.subarray(20, headerLength),
    payload: segment.subarray(headerLength),
    checksumValid: tcpChecksum(ip.source, ip.destination, segment) === 0,
  };
}

/** An Ethernet frame; `vlan` (a VLAN id) inserts an 802.1Q tag. MACs as 6 bytes or 'aa:bb:..'. */
function ethernetFrame({ destination, source, type, payload, vlan }) {
  const mac = (m) => (typeof m === 'string' ? Buffer.from(m.split(':').map((h) => parseInt(h, 16))) : Buffer.from(m));
  const tag = Buffer.alloc(vlan === undefined ? 0 : 4);
  if (vlan !== undefined) {
    tag.writeUInt16BE(0x8100, 0);
    tag.writeUInt16BE(vlan & 0x0fff, 2);
  }
  const typeBytes = Buffer.alloc(2);
  typeBytes.writeUInt16BE(type, 0);
  return Buffer.concat([mac(destination), mac(source), tag, typeBytes, payload]);
}

/**
 * A router advertisement (RFC 4861 4.2) in an Ethernet frame to all nodes,
 * from `router` (a link-local address) at `routerMac`, with its link-layer
 * address and a prefix information option for each of `prefixes`
 * ({ prefix, length = 64, onLink = true, autonomous = true, valid, preferred }).
 */
function routerAdvertisement({ router, routerMac, routerLifetime = 1800, prefixes = [] }) {
  const head = Buffer.alloc(12);
  head[0] = 64; // current hop limit
  head.writeUInt16BE(routerLifetime, 2);
  const mac = Buffer.from(routerMac.split(':').map((h) => parseInt(h, 16)));
  const options = [Buffer.concat([Buffer.from([1, 1]), mac])];
  for (const { prefix, length = 64, onLink = true, autonomous = true, valid, preferred } of prefixes) {
    const option = Buffer.alloc(32);
    option[0] = 3;
    option[1] = 4;
    option[2] = length;
    option[3] = (onLink ? 0x80 : 0) | (autonomous ? 0x40 : 0);
    option.writeUInt32BE(valid, 4);
    option.writeUInt32BE(preferred, 8);
    addressBytes(prefix).copy(option, 16);
    options.push(option);
  }
  const packet = icmpv6Packet({
    source: router, destination: 'ff02::1', type: 134, hopLimit: 255, body: Buffer.concat([head, ...options]),
  });
  return ethernetFrame({ destination: '33:33:00:00:00:01', source: routerMac, type: ETHERTYPE.ipv6, payload: packet });
}

module.exports = {
  ipv4, ipv6, tcpSyn, ethernet, ETHERTYPE, mutate, garbage, internetChecksum, icmpEchoRequest,
  addressBytes, addressText, ipv4Packet, ipv6Packet, ipPacket, TCP, tcpChecksum, tcpPacket,
  parseIpPacket, parseTcpPacket, ethernetFrame, pseudoHeaderChecksum, ICMPV6, icmpv6Packet,
  routerAdvertisement, udp,
};
