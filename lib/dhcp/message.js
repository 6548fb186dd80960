'use strict';
// DHCP messages (RFC 2131, options of RFC 2132): decoded with every length
// checked against what arrived, and encoded. No npm DHCP library fits: the
// one there is (`dhcp`) binds Node's own sockets and is no longer kept, and
// the format is small. decode() throws a MalformedDhcpError for anything that
// does not parse; the server counts and drops those.
const { Buffer } = require('../platform/node.js');

const OP = Object.freeze({ REQUEST: 1, REPLY: 2 });
const TYPES = Object.freeze({
  DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8,
});
const OPTIONS = Object.freeze({
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN: 15,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
});

const MAGIC_COOKIE = 0x63825363;
const HEADER_LENGTH = 236; // the fixed BOOTP fields
const OPTIONS_OFFSET = HEADER_LENGTH + 4; // and the cookie
// BOOTP relays expect 300 bytes at least (RFC 1542): replies are padded to it.
const MIN_REPLY_LENGTH = 300;
// Options one message may hold: a real client sends tens; a long list is a
// flood and is refused before it costs more.
const MAX_OPTIONS = 255;

class MalformedDhcpError extends Error {
  constructor(reason) {
    super(`malformed DHCP message: ${reason}`);
    this.code = 'ERR_TCPIP_DHCP_MALFORMED';
  }
}

function ipOf(bytes, offset) {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

function ipBytes(address) {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new TypeError(`not an IPv4 address: ${address}`);
  }
  return parts;
}

/**
 * Decodes one DHCP message.
 * @param {Uint8Array} bytes
 * @returns {{ op: number, htype: number, hlen: number, hops: number, xid: number, secs: number, flags: number,
 *   ciaddr: string, yiaddr: string, siaddr: string, giaddr: string, chaddr: string, type: number,
 *   options: Map<number, Buffer> }}
 */
function decode(bytes) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < OPTIONS_OFFSET) throw new MalformedDhcpError(`${buffer.length} bytes, shorter than the header`);
  const op = buffer[0];
  if (op !== OP.REQUEST && op !== OP.REPLY) throw new MalformedDhcpError(`op ${op}`);
  const hlen = buffer[2];
  if (hlen > 16) throw new MalformedDhcpError(`hardware address length ${hlen}`);
  if (buffer.readUInt32BE(HEADER_LENGTH) !== MAGIC_COOKIE) throw new MalformedDhcpError('no magic cookie');
  const options = new Map();
  let offset = OPTIONS_OFFSET;
  let count = 0;
  let ended = false;
  while (offset < buffer.length) {
    const code = buffer[offset++];
    if (code === OPTIONS.PAD) continue;
    if (code === OPTIONS.END) {
      ended = true;
      break;
    }
    if (++count > MAX_OPTIONS) throw new MalformedDhcpError(`more than ${MAX_OPTIONS} options`);
    if (offset >= buffer.length) throw new MalformedDhcpError(`option ${code} has no length`);
    const length = buffer[offset++];
    if (offset + length > buffer.length) {
      throw new MalformedDhcpError(`option ${code} claims ${length} bytes, ${buffer.length - offset} remain`);
    }
    const value = buffer.subarray(offset, offset + length);
    offset += length;
    // RFC 3396: an option given more than once is their concatenation.
    const earlier = options.get(code);
    options.set(code, earlier ? Buffer.concat([earlier, value]) : Buffer.from(value));
  }
  if (!ended) throw new MalformedDhcpError('options without an end');
  const typeOption = options.get(OPTIONS.MESSAGE_TYPE);
  if (!typeOption || typeOption.length !== 1 || typeOption[0] < 1 || typeOption[0] > 8) {
    throw new MalformedDhcpError('no valid message type');
  }
  return {
    op,
    htype: buffer[1],
    hlen,
    hops: buffer[3],
    xid: buffer.readUInt32BE(4),
    secs: buffer.readUInt16BE(8),
    flags: buffer.readUInt16BE(10),
    ciaddr: ipOf(buffer, 12),
    yiaddr: ipOf(buffer, 16),
    siaddr: ipOf(buffer, 20),
    giaddr: ipOf(buffer, 24),
    chaddr: [...buffer.subarray(28, 28 + hlen)].map((b) => b.toString(16).padStart(2, '0')).join(':'),
    type: typeOption[0],
    options,
  };
}

/** An option value of one IPv4 address, or null when it is not 4 bytes. */
function addressOption(message, code) {
  const value = message.options.get(code);
  return value && value.length === 4 ? ipOf(value, 0) : null;
}

/**
 * Encodes a message. `options` is a list of [code, Buffer | number[]], each
 * value at most 255 bytes (longer ones are split, RFC 3396).
 */
function encode({ op = OP.REPLY, htype = 1, hlen = 6, xid, secs = 0, flags = 0, ciaddr = '0.0.0.0',
  yiaddr = '0.0.0.0', siaddr = '0.0.0.0', giaddr = '0.0.0.0', chaddr, type, options = [] }) {
  const parts = [[OPTIONS.MESSAGE_TYPE, [type]], ...options];
  let optionBytes = 0;
  for (const [, value] of parts) optionBytes += value.length + 2 * Math.max(1, Math.ceil(value.length / 255));
  const length = Math.max(MIN_REPLY_LENGTH, OPTIONS_OFFSET + optionBytes + 1);
  const buffer = Buffer.alloc(length);
  buffer[0] = op;
  buffer[1] = htype;
  buffer[2] = hlen;
  buffer.writeUInt32BE(xid >>> 0, 4);
  buffer.writeUInt16BE(secs, 8);
  buffer.writeUInt16BE(flags, 10);
  [ciaddr, yiaddr, siaddr, giaddr].forEach((address, i) => buffer.set(ipBytes(address), 12 + 4 * i));
  if (chaddr) buffer.set(chaddr.split(':').slice(0, 16).map((b) => parseInt(b, 16)), 28);
  buffer.writeUInt32BE(MAGIC_COOKIE, HEADER_LENGTH);
  let offset = OPTIONS_OFFSET;
  for (const [code, value] of parts) {
    let start = 0;
    do {
      const piece = Math.min(255, value.length - start);
      buffer[offset++] = code;
      buffer[offset++] = piece;
      for (let i = 0; i < piece; i++) buffer[offset++] = value[start + i];
      start += piece;
    } while (start < value.length);
  }
  buffer[offset] = OPTIONS.END;
  return buffer;
}

/** An IPv4 address as a 32-bit number, and back (address ranges, masks). */
function ipToNumber(address) {
  const [a, b, c, d] = ipBytes(address);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function numberToIp(n) {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

module.exports = {
  OP, TYPES, OPTIONS, MalformedDhcpError, decode, encode, addressOption, ipBytes, ipOf, ipToNumber, numberToIp,
};
