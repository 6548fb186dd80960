'use strict';
// The gateway's IPv6 on the switch: the addresses a client's frames may
// come from, router advertisements (the router's stack, lwIP, is a host and
// sends none, and a client needs one for a default router and an address by
// SLAAC), and the checksums of the IPv6 packets the gateway makes itself.
const { Buffer } = require('../platform/node.js');
const { HEADER_BYTES, ETHERTYPE, etherType } = require('./frames.js');
const { expandIPv6 } = require('../dns/names.js');

const ICMPV6 = 58;
const UDP = 17;
const TYPE = Object.freeze({
  UNREACHABLE: 1, ROUTER_SOLICITATION: 133, ROUTER_ADVERTISEMENT: 134, NEIGHBOR_SOLICITATION: 135, NEIGHBOR_ADVERTISEMENT: 136,
});
const SOLICITED = 0x40;
// What router advertisements promise: the router for 30 minutes, the
// prefix's addresses for a day (preferred 4 hours); sent again well within.
const ROUTER_LIFETIME = 1800;
const VALID_LIFETIME = 86400;
const PREFERRED_LIFETIME = 14400;
const ALL_NODES = Buffer.from('ff020000000000000000000000000001', 'hex');

/** An IPv6 address as 16 bytes. */
function addressBytes(address) {
  return Buffer.from(expandIPv6(address), 'hex');
}

/** 16 bytes as an IPv6 address, in its canonical (RFC 5952) form. */
function addressText(bytes) {
  const hex = Buffer.from(bytes).toString('hex');
  const full = hex.match(/.{4}/g).map((group) => group.replace(/^0{1,3}/, '')).join(':');
  // The WHATWG URL parser serializes an IPv6 host canonically.
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

/** The key of an address a client's port holds: its 32 hex digits. */
function addressKey(address) {
  return expandIPv6(address);
}

/** The EUI-64 link-local address of a MAC ('aa:bb:..'), as RFC 4862 forms it. */
function linkLocalOf(mac) {
  const b = mac.split(':').map((part) => parseInt(part, 16));
  const id = [b[0] ^ 2, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]];
  const groups = [];
  for (let i = 0; i < 8; i += 2) groups.push(((id[i] << 8) | id[i + 1]).toString(16));
  return `fe80::${groups.join(':')}`;
}

/** Parses '<address>/64': the prefix's first 8 bytes, or null. */
function parsePrefix(text) {
  if (typeof text !== 'string') return null;
  const match = /^([0-9a-fA-F:]+)\/64$/.exec(text);
  if (match === null) return null;
  let bytes;
  try {
    bytes = addressBytes(match[1]);
  } catch {
    return null;
  }
  // A global or unique-local unicast prefix: not link-local, multicast, ::.
  if (bytes[0] === 0xff || (bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80)) return null;
  if (bytes.subarray(0, 8).every((b) => b === 0)) return null;
  bytes.fill(0, 8);
  return bytes.subarray(0, 8);
}

// The sum of `bytes` as 16-bit words, unfolded.
function sum16(bytes, total = 0) {
  let sum = total;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  return sum;
}

/** The checksum of an upper-layer message over IPv6 (ICMPv6, UDP): RFC 8200 8.1. */
function checksum6(source, destination, protocol, message) {
  const pseudo = Buffer.alloc(40);
  source.copy(pseudo, 0);
  destination.copy(pseudo, 16);
  pseudo.writeUInt32BE(message.length, 32);
  pseudo[39] = protocol;
  let total = sum16(message, sum16(pseudo));
  while (total > 0xffff) total = (total & 0xffff) + (total >>> 16);
  return ~total & 0xffff;
}

/**
 * An Ethernet frame with an IPv6 packet from `source` to `destination`
 * (16 bytes each) carrying `message` of `protocol`, its checksum at
 * `checksumAt` in the message filled in.
 */
function ipv6Frame({ toMac, fromMac, source, destination, protocol, message, checksumAt, hopLimit = 64 }) {
  const frame = Buffer.alloc(HEADER_BYTES + 40 + message.length);
  toMac.copy(frame, 0);
  fromMac.copy(frame, 6);
  frame.writeUInt16BE(ETHERTYPE.IPV6, 12);
  const ip = HEADER_BYTES;
  frame[ip] = 0x60;
  frame.writeUInt16BE(message.length, ip + 4);
  frame[ip + 6] = protocol;
  frame[ip + 7] = hopLimit;
  source.copy(frame, ip + 8);
  destination.copy(frame, ip + 24);
  const body = frame.subarray(ip + 40);
  message.copy(body);
  body.writeUInt16BE(0, checksumAt);
  let sum = checksum6(source, destination, protocol, body);
  if (protocol === UDP && sum === 0) sum = 0xffff;
  body.writeUInt16BE(sum, checksumAt);
  return frame;
}

/** A router advertisement of `prefix` (8 bytes) from the router, to `toMac`. */
function routerAdvertisement({ toMac, routerMac, routerLinkLocal, prefix, mtu, destination = ALL_NODES }) {
  const message = Buffer.alloc(16 + 8 + 8 + 32);
  message[0] = TYPE.ROUTER_ADVERTISEMENT;
  message[4] = 64; // the hop limit hosts use
  message.writeUInt16BE(ROUTER_LIFETIME, 6);
  // Source link-layer address: the router's MAC, no solicitation needed.
  message[16] = 1;
  message[17] = 1;
  routerMac.copy(message, 18);
  message[24] = 5; // MTU
  message[25] = 1;
  message.writeUInt32BE(mtu, 28);
  const info = message.subarray(32);
  info[0] = 3; // prefix information
  info[1] = 4;
  info[2] = 64;
  info[3] = 0xc0; // on-link, autonomous (SLAAC)
  info.writeUInt32BE(VALID_LIFETIME, 4);
  info.writeUInt32BE(PREFERRED_LIFETIME, 8);
  prefix.copy(info, 16);
  return ipv6Frame({
    toMac, fromMac: routerMac, source: routerLinkLocal, destination, protocol: ICMPV6, message, checksumAt: 2, hopLimit: 255,
  });
}

/**
 * The target address (16 bytes) of a neighbour solicitation (ICMPv6 135, as
 * the first next header) and its source address, or null.
 */
function neighborSolicitation(frame) {
  const ip = HEADER_BYTES;
  if (frame.length < ip + 64 || etherType(frame) !== ETHERTYPE.IPV6 || frame[ip] >> 4 !== 6) return null;
  if (frame[ip + 6] !== ICMPV6 || frame[ip + 40] !== TYPE.NEIGHBOR_SOLICITATION) return null;
  return { source: frame.subarray(ip + 8, ip + 24), target: frame.subarray(ip + 48, ip + 64) };
}

/**
 * A solicited neighbour advertisement, from `fromMac` and `source`, that
 * `target` (16 bytes) is at `mac`, to `toMac` and `destination`: without
 * the override flag, as a proxy's (RFC 4861 7.2.8).
 */
function neighborAdvertisement({ toMac, fromMac, source, destination, target, mac }) {
  const message = Buffer.alloc(32);
  message[0] = TYPE.NEIGHBOR_ADVERTISEMENT;
  message[4] = SOLICITED;
  target.copy(message, 8);
  message[24] = 2; // target link-layer address
  message[25] = 1;
  mac.copy(message, 26);
  return ipv6Frame({ toMac, fromMac, source, destination, protocol: ICMPV6, message, checksumAt: 2, hopLimit: 255 });
}

/** Whether a frame is a router solicitation (ICMPv6 133, as the first next header). */
function isRouterSolicitation(frame) {
  return frame.length >= HEADER_BYTES + 48 && etherType(frame) === ETHERTYPE.IPV6
    && frame[HEADER_BYTES + 6] === ICMPV6 && frame[HEADER_BYTES + 40] === TYPE.ROUTER_SOLICITATION;
}

/** The source address of an IPv6 frame, as 16 bytes, or null. */
function sourceOf(frame) {
  if (frame.length < HEADER_BYTES + 40 || frame[HEADER_BYTES] >> 4 !== 6) return null;
  return frame.subarray(HEADER_BYTES + 8, HEADER_BYTES + 24);
}

function isLinkLocal(bytes) {
  return bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80;
}

function isUnspecified(bytes) {
  return bytes.every((b) => b === 0);
}

module.exports = {
  ICMPV6, UDP, TYPE, ALL_NODES, addressBytes, addressText, addressKey, linkLocalOf, parsePrefix, checksum6,
  ipv6Frame, routerAdvertisement, isRouterSolicitation, neighborSolicitation, neighborAdvertisement, sourceOf, isLinkLocal, isUnspecified,
};
