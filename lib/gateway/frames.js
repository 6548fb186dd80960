'use strict';
// What the gateway's switch reads in an Ethernet frame (no FCS, as on the
// WebSocket): addresses, the EtherType, and the IPv4 or ARP sender address
// that anti-spoofing checks.

const HEADER_BYTES = 14;
// The most a frame may carry: a 65535-byte MTU plus the Ethernet header.
const MAX_FRAME_BYTES = 65535 + HEADER_BYTES;

const ETHERTYPE = Object.freeze({ IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd });

const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

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

/** Whether an IPv4 frame is a DHCP client's message to a server (UDP 68 -> 67). */
function isDhcpToServer(frame) {
  const ip = HEADER_BYTES;
  if (frame.length < ip + 20 || frame[ip + 9] !== UDP) return false;
  const udp = ip + (frame[ip] & 0x0f) * 4;
  if (frame.length < udp + 8) return false;
  return ((frame[udp] << 8) | frame[udp + 1]) === DHCP_CLIENT_PORT
    && ((frame[udp + 2] << 8) | frame[udp + 3]) === DHCP_SERVER_PORT;
}

module.exports = {
  HEADER_BYTES, MAX_FRAME_BYTES, ETHERTYPE, BROADCAST_MAC, destinationMac, sourceMac, etherType, isGroupMac, senderOf,
  isDhcpToServer,
};
