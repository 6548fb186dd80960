'use strict';
// Hand-made IPv4/IPv6/Ethernet packets for injecting into TUN and TAP
// interfaces, and a mutator that turns them into garbage.
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

const ipTemplates = [
  ipv4(6, tcpSyn()),
  ipv4(1, Buffer.from([8, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4])),
  ipv4(17, Buffer.alloc(16)),
  ipv6(6, tcpSyn()),
  ipv6(58, Buffer.from([128, 0, 0, 0, 0, 1, 0, 1])),
  ipv6(17, Buffer.alloc(12)),
];

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
  const packet = mutate(ipTemplates[crypto.randomInt(ipTemplates.length)]);
  if (layer === 3) return packet;
  const types = [ETHERTYPE.ipv4, ETHERTYPE.ipv6, ETHERTYPE.arp, crypto.randomInt(65536)];
  return choice === 3 ? mutate(ethernet(types[crypto.randomInt(types.length)], packet))
    : ethernet(packet[0] >> 4 === 6 ? ETHERTYPE.ipv6 : ETHERTYPE.ipv4, packet);
}

module.exports = { ipv4, ipv6, tcpSyn, ethernet, ETHERTYPE, mutate, garbage, internetChecksum, icmpEchoRequest };
