'use strict';
// Names as c-ares takes them: IDNA to ASCII, the labels it accepts, and the
// reverse-lookup names of addresses.
const { isIP } = require('../platform/node.js');

// c-ares's host name characters; anything else is EBADNAME.
const LABEL = /^[A-Za-z0-9\-_/*]{1,63}$/;
const MAX_WIRE_LENGTH = 255;

// Non-ASCII names in their ASCII (punycode) form, as c-ares queries them;
// URL's host parser is the IDNA both Node and browsers have.
function toASCII(name) {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(name)) return name;
  try {
    return new URL(`http://${name}/`).hostname;
  } catch {
    return null;
  }
}

/**
 * The name to put in a question, or null where c-ares answers EBADNAME.
 * '' and '.' are the root.
 * @param {string} name
 */
function queryName(name) {
  const ascii = toASCII(name);
  if (ascii === null) return null;
  const bare = ascii.endsWith('.') ? ascii.slice(0, -1) : ascii;
  if (bare === '') return '.';
  const labels = bare.split('.');
  let wire = 1;
  for (const label of labels) {
    if (!LABEL.test(label)) return null;
    wire += label.length + 1;
  }
  return wire <= MAX_WIRE_LENGTH ? bare : null;
}

/** Whether two names are the same, as DNS compares them (ASCII case aside). */
function sameName(a, b) {
  const strip = (n) => (n.length > 1 && n.endsWith('.') ? n.slice(0, -1) : n).toLowerCase();
  return strip(a) === strip(b);
}

/** The 32 hex digits of an IPv6 address (no zone). */
function expandIPv6(address) {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/** in-addr.arpa / ip6.arpa name of an address, or null if it is none. */
function reverseName(address) {
  const family = isIP(address);
  if (family === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  if (family === 6) {
    const zone = address.indexOf('%');
    const hex = expandIPv6(zone === -1 ? address : address.slice(0, zone));
    return `${hex.split('').reverse().join('.')}.ip6.arpa`;
  }
  return null;
}

module.exports = {
  queryName, sameName, reverseName, expandIPv6,
};
