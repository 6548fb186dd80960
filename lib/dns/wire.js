'use strict';
// DNS messages on the wire, through dns-packet. decode() never throws: a
// message that is truncated, lies about its counts or record lengths, or
// whose names loop is null, for the caller to count and drop.
const packet = require('dns-packet');
const rcodes = require('dns-packet/rcodes');

const HEADER_BYTES = 12;
// Each record takes at least 11 bytes (a root name, type, class, TTL and
// length) and each question 5: counts that the message cannot hold are lies,
// refused before dns-packet allocates arrays for them.
const MIN_QUESTION_BYTES = 5;
const MIN_RECORD_BYTES = 11;

function plausibleCounts(buf) {
  const questions = buf.readUInt16BE(4);
  const records = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  return HEADER_BYTES + questions * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES <= buf.length;
}

// dns-packet decodes several record types without looking at their length
// field: walk the records again and check that each used exactly the bytes
// it declared.
function recordLengthsHold(buf, message) {
  let offset = HEADER_BYTES;
  for (let i = 0; i < message.questions.length; i++) {
    packet.question.decode(buf, offset);
    offset += packet.question.decode.bytes;
  }
  const records = message.answers.length + message.authorities.length + message.additionals.length;
  for (let i = 0; i < records; i++) {
    packet.name.decode(buf, offset);
    const nameBytes = packet.name.decode.bytes;
    if (offset + nameBytes + 10 > buf.length) return false;
    const declared = buf.readUInt16BE(offset + nameBytes + 8);
    packet.answer.decode(buf, offset);
    if (packet.answer.decode.bytes !== nameBytes + 10 + declared) return false;
    offset += packet.answer.decode.bytes;
  }
  return offset <= buf.length;
}

/**
 * A decoded message, or null if `buf` is not a well-formed DNS message.
 * @param {Uint8Array} buf
 */
function decode(buf) {
  if (!buf || buf.length < HEADER_BYTES || !plausibleCounts(buf)) return null;
  try {
    const message = packet.decode(buf);
    if (!recordLengthsHold(buf, message)) return null;
    return message;
  } catch {
    return null;
  }
}

/** The message's bytes; throws on records it cannot encode. */
function encode(message) {
  return packet.encode(message);
}

/** The 16-bit flags word with `rcode` (a name: 'NXDOMAIN', ...) in it. */
function withRcode(flags, rcode) {
  return (flags & ~0xf) | (rcodes.toRcode(rcode) & 0xf);
}

/** The id of a message that may not decode (0 when too short). */
function rawId(buf) {
  return buf && buf.length >= 2 ? buf.readUInt16BE(0) : 0;
}

module.exports = {
  decode,
  encode,
  withRcode,
  rawId,
  HEADER_BYTES,
  TRUNCATED_RESPONSE: packet.TRUNCATED_RESPONSE,
  RECURSION_DESIRED: packet.RECURSION_DESIRED,
  RECURSION_AVAILABLE: packet.RECURSION_AVAILABLE,
  AUTHORITATIVE_ANSWER: packet.AUTHORITATIVE_ANSWER,
};
