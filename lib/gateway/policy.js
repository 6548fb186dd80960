'use strict';
// The gateway's egress policy: which destinations a client's flow may be
// re-originated to from the host. Secure by default, since a gateway open
// to the world is otherwise an open proxy into the host's own networks:
// loopback, private, link-local, shared (CGNAT), multicast, reserved and
// unique-local destinations are denied, and so are the host's own
// addresses, unless `allow` lists them. Ports can be allow- or deny-listed.
const os = require('node:os');
const { isIP } = require('node:net');
const errors = require('../errors.js');
const { expandIPv6 } = require('../dns/names.js');

// Denied unless allowed, each with the reason a refusal is counted under.
// IPv4-mapped (::ffff:a.b.c.d) and NAT64-free IPv6 forms of IPv4 are
// judged as the IPv4 address they carry.
const DENIED = [
  ['0.0.0.0/8', 'this-network'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // 255.255.255.255, the broadcast address, among them
  ['::/128', 'this-network'],
  ['::1/128', 'loopback'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
];

/**
 * An address as a family and a BigInt, or null. IPv4-mapped IPv6 is the
 * IPv4 address it maps: the host would reach that.
 */
function parseAddress(address) {
  if (typeof address !== 'string') return null;
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  const family = isIP(bare);
  if (family === 4) {
    return { family: 4, value: bare.split('.').reduce((n, part) => (n << 8n) | BigInt(part), 0n) };
  }
  if (family !== 6) return null;
  const value = BigInt(`0x${expandIPv6(bare)}`);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** Parses "address/prefix" (or a bare address: all its bits) into a matcher. */
function parseCidr(cidr, name = 'cidr') {
  if (typeof cidr !== 'string') throw errors.invalidArgType(name, 'string', cidr);
  const slash = cidr.indexOf('/');
  const parsed = parseAddress(slash === -1 ? cidr : cidr.slice(0, slash));
  const bits = parsed === null ? 0 : parsed.family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : cidr.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  // A mapped address with an IPv6 prefix: the prefix counts from bit 96.
  const mapped = parsed !== null && parsed.family === 4 && isIP(cidr.slice(0, slash === -1 ? undefined : slash)) === 6;
  const length = mapped ? prefix - 96 : prefix;
  if (parsed === null || !(length >= 0 && length <= bits)) {
    throw errors.invalidArgValue(name, cidr, 'must be an IP address or CIDR (address/prefix)');
  }
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - length)) - 1n);
  return { family: parsed.family, network: parsed.value & mask, mask, cidr };
}

function matches(range, address) {
  return range.family === address.family && (address.value & range.mask) === range.network;
}

// "80", 80, or "8000-8100": [from, to].
function parsePortRange(entry, name) {
  if (Number.isInteger(entry) && entry >= 0 && entry <= 65535) return [entry, entry];
  const match = typeof entry === 'string' ? /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(entry) : null;
  const from = match ? Number(match[1]) : NaN;
  const to = match && match[2] !== undefined ? Number(match[2]) : from;
  if (!(from >= 0 && to <= 65535 && from <= to)) {
    throw errors.invalidArgValue(name, entry, 'must be a port or a range "from-to" of ports 0 to 65535');
  }
  return [from, to];
}

function portList(list, name) {
  if (list === undefined) return null;
  if (!Array.isArray(list)) throw errors.invalidArgType(name, 'Array', list);
  return list.map((entry, i) => parsePortRange(entry, `${name}[${i}]`));
}

// The host's own addresses, which a client must not reach through the
// gateway (its services listening on them would be open to every client).
function hostAddresses() {
  const found = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const { address } of list || []) {
      const parsed = parseAddress(address);
      if (parsed !== null) found.push(parsed);
    }
  }
  return found;
}

/**
 * An egress policy: `check(address, port)` is null when a flow may go, or
 * the reason it may not ('loopback', 'private', 'host-address', 'port', ...).
 */
class EgressPolicy {
  /**
   * @param {{ allow?: string[], ports?: { allow?: Array<number|string>, deny?: Array<number|string> },
   *   hostAddresses?: string[] }} [options] allow: CIDRs allowed whatever
   *   else says (denied ranges, the host's addresses); ports.allow: only these
   *   ports (or "from-to" ranges); ports.deny: never these; hostAddresses:
   *   the host's own addresses (os.networkInterfaces() by default)
   */
  constructor(options = {}) {
    if (options.allow !== undefined && !Array.isArray(options.allow)) {
      throw errors.invalidArgType('options.allow', 'Array', options.allow);
    }
    this._allow = (options.allow || []).map((cidr, i) => parseCidr(cidr, `options.allow[${i}]`));
    this._denied = DENIED.map(([cidr, reason]) => ({ ...parseCidr(cidr), reason }));
    const ports = options.ports === undefined ? {} : options.ports;
    if (ports === null || typeof ports !== 'object') throw errors.invalidArgType('options.ports', 'object', ports);
    this._portsAllowed = portList(ports.allow, 'options.ports.allow');
    this._portsDenied = portList(ports.deny, 'options.ports.deny');
    if (options.hostAddresses !== undefined && !Array.isArray(options.hostAddresses)) {
      throw errors.invalidArgType('options.hostAddresses', 'Array', options.hostAddresses);
    }
    this._host = options.hostAddresses === undefined
      ? hostAddresses()
      : options.hostAddresses.map((a, i) => {
        const parsed = parseAddress(a);
        if (parsed === null) throw errors.invalidArgValue(`options.hostAddresses[${i}]`, a, 'must be an IP address');
        return parsed;
      });
  }

  /** null if a flow to address:port may go, else the reason it may not. */
  check(address, port) {
    const parsed = parseAddress(address);
    if (parsed === null) return 'bad-address';
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) return 'port';
    const inRange = ([from, to]) => port >= from && port <= to;
    if (this._portsDenied !== null && this._portsDenied.some(inRange)) return 'port';
    if (this._portsAllowed !== null && !this._portsAllowed.some(inRange)) return 'port';
    if (this._allow.some((range) => matches(range, parsed))) return null;
    const denied = this._denied.find((range) => matches(range, parsed));
    if (denied !== undefined) return denied.reason;
    if (this._host.some((own) => own.family === parsed.family && own.value === parsed.value)) return 'host-address';
    return null;
  }
}

/**
 * Where the host would send a client's flow to `destination` ({ address,
 * port }) after the gateway's `redirect` option: the destination itself
 * without one, or when it returns nothing; an address the policy refuses
 * when it throws or returns what is not an object. The policy judges this
 * target, so a redirect to a denied address is denied.
 */
function redirectedTarget(redirect, destination, protocol) {
  if (redirect === null) return destination;
  let target;
  try {
    target = redirect({ ...destination, protocol }) || destination;
  } catch {
    target = null;
  }
  return target !== null && typeof target === 'object' ? target : { address: null, port: 0 };
}

module.exports = { EgressPolicy, parseCidr, parseAddress, redirectedTarget };
