'use strict';
// What the gateway's switch reads in an Ethernet frame (no FCS, as on the
// WebSocket): addresses, the EtherType, and the IPv4 or ARP sender address
// that anti-spoofing checks; the ARP replies the switch makes.
const { Buffer } = require('../platform/node.js');

const HEADER_BYTES = 14;
// The most a frame may carry: a 65535-byte MTU plus the Ethernet header.
const MAX_FRAME_BYTES = 65535 + HEADER_BYTES;

const ETHERTYPE = Object.freeze({ IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd });

function macAt(frame, offset) {
  let text = '';
  for (let i = 0; i < 6; i++) {
    const byte = frame[offset + i];
    text += (i ? ':' : '') + (byte < 16 ? '0' : '') + byte.toString(16);
  }
  return text;
}

function ipv4At(frame, offset) {
  return `${frame[offset]}.${frame[offset + 1]}.${frame[offset + 2]}.${frame[offset + 3]}`;
}

/** The destination MAC, as 'aa:bb:cc:dd:ee:ff'. */
function destinationMac(frame) {
  return macAt(frame, 0);
}

/** The source MAC, as 'aa:bb:cc:dd:ee:ff'. */
function sourceMac(frame) {
  return macAt(frame, 6);
}

function etherType(frame) {
  return (frame[12] << 8) | frame[13];
}

/** Broadcast and multicast destinations have the group bit set. */
function isGroupMac(frame, offset = 0) {
  return (frame[offset] & 1) === 1;
}

/**
 * The sender's IPv4 address an IPv4 packet or ARP message claims, with the
 * sender MAC an ARP message claims; null where the frame is too short to say.
 * @returns {{ address: string, arpMac: string | null } | null}
 */
function senderOf(frame, type) {
  if (type === ETHERTYPE.IPV4) {
    if (frame.length < HEADER_BYTES + 20) return null;
    return { address: ipv4At(frame, HEADER_BYTES + 12), arpMac: null };
  }
  if (type === ETHERTYPE.ARP) {
    // Ethernet/IPv4 ARP: hardware and protocol sizes 6 and 4.
    if (frame.length < HEADER_BYTES + 28 || frame[HEADER_BYTES + 4] !== 6 || frame[HEADER_BYTES + 5] !== 4) return null;
    return { address: ipv4At(frame, HEADER_BYTES + 14), arpMac: macAt(frame, HEADER_BYTES + 8) };
  }
  return null;
}

const UDP = 17;
const DHCP_SERVER_PORT = 67;
const DHCP_CLIENT_PORT = 68;

// The UDP payload of an IPv4 frame from port `from` to port `to`, or null.
function udpPayload(frame, from, to) {
  const ip = HEADER_BYTES;
  if (frame.length < ip + 20 || etherType(frame) !== ETHERTYPE.IPV4 || frame[ip + 9] !== UDP) return null;
  const udp = ip + (frame[ip] & 0x0f) * 4;
  if (frame.length < udp + 8) return null;
  if (((frame[udp] << 8) | frame[udp + 1]) !== from || ((frame[udp + 2] << 8) | frame[udp + 3]) !== to) return null;
  return frame.subarray(udp + 8);
}

/** The DHCP message of a client's frame to a server (UDP 68 -> 67), or null. */
function dhcpToServer(frame) {
  return udpPayload(frame, DHCP_CLIENT_PORT, DHCP_SERVER_PORT);
}

/** The DHCP message of a server's frame to a client (UDP 67 -> 68), or null. */
function dhcpToClient(frame) {
  return udpPayload(frame, DHCP_SERVER_PORT, DHCP_CLIENT_PORT);
}

/** The target address of an ARP request (Ethernet/IPv4), or null. */
function arpRequestTarget(frame) {
  if (etherType(frame) !== ETHERTYPE.ARP || frame.length < HEADER_BYTES + 28) return null;
  if (frame[HEADER_BYTES + 4] !== 6 || frame[HEADER_BYTES + 5] !== 4) return null;
  if (((frame[HEADER_BYTES + 6] << 8) | frame[HEADER_BYTES + 7]) !== 1) return null;
  return ipv4At(frame, HEADER_BYTES + 24);
}

function macBytes(mac) {
  return Buffer.from(mac.split(':').map((part) => parseInt(part, 16)));
}

/**
 * The ARP reply to `request` (an Ethernet/IPv4 ARP request) that says its
 * target address is at `mac`: to the asker's MAC and address.
 */
function arpReply(request, mac) {
  const reply = Buffer.alloc(HEADER_BYTES + 28);
  const arp = HEADER_BYTES;
  request.copy(reply, 0, 6, 12); // to the asker
  macBytes(mac).copy(reply, 6);
  reply.writeUInt16BE(ETHERTYPE.ARP, 12);
  request.copy(reply, arp, arp, arp + 6); // hardware and protocol: Ethernet, IPv4, 6 and 4
  reply.writeUInt16BE(2, arp + 6);
  macBytes(mac).copy(reply, arp + 8);
  request.copy(reply, arp + 14, arp + 24, arp + 28); // sender: the address asked for
  request.copy(reply, arp + 18, arp + 8, arp + 18); // target: the asker's MAC and address
  return reply;
}

module.exports = {
  HEADER_BYTES, MAX_FRAME_BYTES, ETHERTYPE, destinationMac, sourceMac, etherType, isGroupMac, senderOf,
  dhcpToServer, dhcpToClient, arpRequestTarget, arpReply, macAt, macBytes,
};
