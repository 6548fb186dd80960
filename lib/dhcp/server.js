'use strict';
// A DHCP server (RFC 2131) for the hosts on one TAP or bridge interface of
// a stack, over stack.dgram: port 67, bound to the interface alone
// (bindToInterface), so it hears and answers nobody elsewhere.
const { EventEmitter, Buffer } = require('../platform/node.js');
const errors = require('../errors.js');
const { validateObject } = require('../validators.js');
const {
  TYPES, OPTIONS, OP, decode, encode, addressOption, ipBytes, ipToNumber: toNumber, numberToIp: toAddress,
} = require('./message.js');

const SERVER_PORT = 67;
const CLIENT_PORT = 68;
const BROADCAST = '255.255.255.255';
// An offer holds its address this long for the client's REQUEST.
const OFFER_HOLD_MS = 60 * 1000;
// A declined address (someone else has it) rests this long.
const DECLINED_HOLD_MS = 10 * 60 * 1000;
const DEFAULT_LEASE_TIME = 3600;

function maskOf(prefix) {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function be32(value) {
  return [(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
}

function checkAddress(value, name) {
  if (typeof value !== 'string') throw errors.invalidArgType(name, 'string', value);
  try {
    ipBytes(value);
  } catch {
    throw errors.invalidIpAddress(value);
  }
  return value;
}

/**
 * A DHCP server on `iface`, a TAP or bridge interface of `stack` with an
 * IPv4 address. Events: 'listening', 'lease' (a lease bound or renewed),
 * 'release', 'error', 'close'.
 */
class DhcpServer extends EventEmitter {
  /**
   * @param {import('../stack.js').Stack} stack
   * @param {import('../interfaces.js').Interface} iface
   * @param {{ range: [string, string], router?: string, dns?: string[], leaseTime?: number, domain?: string }} options
   */
  constructor(stack, iface, options) {
    super();
    validateObject(options, 'options');
    if (typeof iface !== 'object' || iface === null || iface._stack !== stack) {
      throw errors.invalidArgValue('iface', iface, 'must be an interface of this stack');
    }
    if (iface.type !== 'tap' && iface.type !== 'bridge') {
      throw errors.invalidArgValue('iface', iface.type, 'must be a TAP or bridge interface');
    }
    const own = iface.addresses.find((a) => a.family === 4);
    if (!own) throw errors.invalidArgValue('iface', iface.ipAddresses, 'must have an IPv4 address');
    if (!Array.isArray(options.range) || options.range.length !== 2) {
      throw errors.invalidArgType('options.range', 'Array of two addresses', options.range);
    }
    const first = toNumber(checkAddress(options.range[0], 'options.range[0]'));
    const last = toNumber(checkAddress(options.range[1], 'options.range[1]'));
    const mask = maskOf(own.prefix);
    const self = toNumber(own.address);
    if (first > last) throw errors.invalidArgValue('options.range', options.range, 'must run from low to high');
    if ((first & mask) !== (self & mask) || (last & mask) !== (self & mask)) {
      throw errors.invalidArgValue('options.range', options.range, `must lie inside ${own.address}/${own.prefix}`);
    }
    const router = options.router === undefined ? null : checkAddress(options.router, 'options.router');
    const dns = options.dns === undefined ? [] : options.dns;
    if (!Array.isArray(dns)) throw errors.invalidArgType('options.dns', 'Array', dns);
    dns.forEach((server, i) => checkAddress(server, `options.dns[${i}]`));
    const leaseTime = options.leaseTime === undefined ? DEFAULT_LEASE_TIME : options.leaseTime;
    if (!Number.isInteger(leaseTime) || leaseTime < 1 || leaseTime > 0xfffffffe) {
      throw errors.outOfRange('options.leaseTime', '>= 1 && <= 4294967294', leaseTime);
    }
    if (options.domain !== undefined && (typeof options.domain !== 'string' || options.domain.length > 255)) {
      throw errors.invalidArgType('options.domain', 'string of at most 255 characters', options.domain);
    }
    this._stack = stack;
    this.interface = iface;
    this._self = own.address;
    this._mask = mask;
    this._first = first;
    this._last = last;
    this._router = router;
    this._dns = [...dns];
    this._leaseTime = leaseTime;
    this._domain = options.domain;
    this._leases = new Map(); // client key -> lease
    this._byAddress = new Map(); // address number -> client key
    this._declined = new Map(); // address number -> until (ms)
    this._stats = {
      received: 0, malformed: 0, ignored: 0, offers: 0, acks: 0, naks: 0, releases: 0, declines: 0, informs: 0,
      exhausted: 0,
    };
    this._closed = false;
    this.listening = false;
    const socket = stack.dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this._socket = socket;
    socket.on('message', (msg) => this._onMessage(msg));
    socket.on('error', (error) => this.emit('error', error));
    socket.bind(SERVER_PORT, () => {
      if (this._closed) return;
      socket.setBroadcast(true);
      socket.bindToInterface(iface);
      this.listening = true;
      this.emit('listening');
    });
  }

  /** Counters: messages received, malformed, ignored, and replies by kind. */
  stats() {
    return { ...this._stats };
  }

  /** The leases bound and not expired: { address, mac, clientId, hostname, expires }. */
  leases() {
    const now = Date.now();
    const list = [];
    for (const lease of this._leases.values()) {
      if (lease.state !== 'bound' || lease.expires <= now) continue;
      list.push({
        address: toAddress(lease.address), mac: lease.mac, clientId: lease.clientId, hostname: lease.hostname,
        expires: new Date(lease.expires),
      });
    }
    return list.sort((a, b) => toNumber(a.address) - toNumber(b.address));
  }

  /**
   * Ends the lease of `address` as if its client had released it (a client
   * known to be gone): the address is free for others; 'release' follows.
   * @returns {boolean} whether a lease of that address was bound or offered
   */
  release(address) {
    const n = toNumber(checkAddress(address, 'address'));
    const key = this._byAddress.get(n);
    const lease = key === undefined ? undefined : this._leases.get(key);
    if (lease === undefined) return false;
    this._leases.delete(key);
    this._byAddress.delete(n);
    if (lease.state === 'bound') this.emit('release', this._public(lease));
    return true;
  }

  close(callback) {
    if (callback !== undefined) this.once('close', callback);
    if (this._closed) return this;
    this._closed = true;
    this.listening = false;
    this._socket.close(() => this.emit('close'));
    return this;
  }

  // ------------------------------------------------------------ messages

  _onMessage(bytes) {
    this._stats.received++;
    let message;
    try {
      message = decode(bytes);
    } catch {
      this._stats.malformed++;
      return;
    }
    if (message.op !== OP.REQUEST || message.htype !== 1 || message.hlen !== 6) {
      this._stats.ignored++;
      return;
    }
    switch (message.type) {
      case TYPES.DISCOVER: this._onDiscover(message); break;
      case TYPES.REQUEST: this._onRequest(message); break;
      case TYPES.DECLINE: this._onDecline(message); break;
      case TYPES.RELEASE: this._onRelease(message); break;
      case TYPES.INFORM: this._onInform(message); break;
      default: this._stats.ignored++; break;
    }
  }

  _keyOf(message) {
    const clientId = message.options.get(OPTIONS.CLIENT_ID);
    return clientId ? `id:${clientId.toString('hex')}` : `mac:${message.chaddr}`;
  }

  _inRange(n) {
    return n >= this._first && n <= this._last && n !== toNumber(this._self);
  }

  _free(n, key, now) {
    if (!this._inRange(n)) return false;
    const until = this._declined.get(n);
    if (until !== undefined && until > now) return false;
    const holder = this._byAddress.get(n);
    if (holder === undefined || holder === key) return true;
    const lease = this._leases.get(holder);
    return !lease || lease.expires <= now;
  }

  _take(key, n, message, state, holdMs) {
    const previous = this._leases.get(key);
    if (previous && previous.address !== n) this._byAddress.delete(previous.address);
    const evicted = this._byAddress.get(n);
    if (evicted !== undefined && evicted !== key) this._leases.delete(evicted);
    const hostname = message.options.get(OPTIONS.HOSTNAME);
    const clientId = message.options.get(OPTIONS.CLIENT_ID);
    const lease = {
      address: n, mac: message.chaddr, clientId: clientId ? clientId.toString('hex') : null,
      hostname: hostname ? hostname.toString('latin1') : (previous ? previous.hostname : null),
      state, expires: Date.now() + holdMs,
    };
    this._leases.set(key, lease);
    this._byAddress.set(n, key);
    return lease;
  }

  _onDiscover(message) {
    const key = this._keyOf(message);
    const now = Date.now();
    const existing = this._leases.get(key);
    let n = null;
    if (existing && this._free(existing.address, key, now)) n = existing.address;
    const requested = addressOption(message, OPTIONS.REQUESTED_ADDRESS);
    if (n === null && requested && this._free(toNumber(requested), key, now)) n = toNumber(requested);
    for (let candidate = this._first; n === null && candidate <= this._last; candidate++) {
      if (this._free(candidate, key, now)) n = candidate;
    }
    if (n === null) {
      this._stats.exhausted++;
      return;
    }
    const state = existing && existing.address === n && existing.state === 'bound' && existing.expires > now
      ? 'bound' : 'offered';
    const lease = state === 'bound' ? existing : this._take(key, n, message, 'offered', OFFER_HOLD_MS);
    this._stats.offers++;
    this._reply(message, TYPES.OFFER, lease.address);
  }

  _onRequest(message) {
    const key = this._keyOf(message);
    const now = Date.now();
    const serverId = addressOption(message, OPTIONS.SERVER_ID);
    const requested = addressOption(message, OPTIONS.REQUESTED_ADDRESS);
    if (serverId !== null && serverId !== this._self) {
      // The client took another server's offer: ours is free again.
      const lease = this._leases.get(key);
      if (lease && lease.state === 'offered') {
        this._leases.delete(key);
        this._byAddress.delete(lease.address);
      }
      this._stats.ignored++;
      return;
    }
    const address = requested || (message.ciaddr !== '0.0.0.0' ? message.ciaddr : null);
    if (address === null) {
      this._stats.ignored++;
      return;
    }
    const n = toNumber(address);
    const existing = this._leases.get(key);
    if (serverId !== null && (!existing || existing.address !== n)) {
      this._nak(message);
      return;
    }
    if (!this._free(n, key, now)) {
      this._nak(message);
      return;
    }
    const lease = this._take(key, n, message, 'bound', this._leaseTime * 1000);
    this._stats.acks++;
    this._reply(message, TYPES.ACK, n);
    this.emit('lease', this._public(lease));
  }

  _onDecline(message) {
    const key = this._keyOf(message);
    const lease = this._leases.get(key);
    const requested = addressOption(message, OPTIONS.REQUESTED_ADDRESS);
    if (!lease || requested === null || toNumber(requested) !== lease.address) {
      this._stats.ignored++;
      return;
    }
    this._stats.declines++;
    this._leases.delete(key);
    this._byAddress.delete(lease.address);
    this._declined.set(lease.address, Date.now() + DECLINED_HOLD_MS);
  }

  _onRelease(message) {
    const key = this._keyOf(message);
    const lease = this._leases.get(key);
    if (!lease || message.ciaddr === '0.0.0.0' || toNumber(message.ciaddr) !== lease.address) {
      this._stats.ignored++;
      return;
    }
    this._stats.releases++;
    this._leases.delete(key);
    this._byAddress.delete(lease.address);
    this.emit('release', this._public(lease));
  }

  _onInform(message) {
    if (message.ciaddr === '0.0.0.0') {
      this._stats.ignored++;
      return;
    }
    this._stats.informs++;
    this._reply(message, TYPES.ACK, null);
  }

  _nak(message) {
    this._stats.naks++;
    this._send(message, encode({
      xid: message.xid, flags: message.flags, giaddr: message.giaddr, chaddr: message.chaddr, type: TYPES.NAK,
      options: [[OPTIONS.SERVER_ID, ipBytes(this._self)]],
    }), true);
  }

  _public(lease) {
    return {
      address: toAddress(lease.address), mac: lease.mac, clientId: lease.clientId, hostname: lease.hostname,
      expires: new Date(lease.expires),
    };
  }

  // An OFFER or ACK: `n` the address given, or null (an INFORM's ACK).
  _reply(message, type, n) {
    const options = [[OPTIONS.SERVER_ID, ipBytes(this._self)]];
    if (n !== null) {
      options.push([OPTIONS.LEASE_TIME, be32(this._leaseTime)]);
      options.push([OPTIONS.RENEWAL_TIME, be32(Math.floor(this._leaseTime / 2))]);
      options.push([OPTIONS.REBINDING_TIME, be32(Math.floor(this._leaseTime * 7 / 8))]);
    }
    options.push([OPTIONS.SUBNET_MASK, be32(this._mask)]);
    if (this._router) options.push([OPTIONS.ROUTER, ipBytes(this._router)]);
    if (this._dns.length) options.push([OPTIONS.DNS, this._dns.flatMap(ipBytes)]);
    if (this._domain) options.push([OPTIONS.DOMAIN, Buffer.from(this._domain, 'latin1')]);
    const reply = encode({
      xid: message.xid, flags: message.flags, ciaddr: message.ciaddr, giaddr: message.giaddr,
      yiaddr: n === null ? '0.0.0.0' : toAddress(n), siaddr: '0.0.0.0', chaddr: message.chaddr, type, options,
    });
    this._send(message, reply, false);
  }

  // RFC 2131 4.1: to a relay, to a client that has its address, or broadcast
  // (the stack cannot unicast to a MAC without its ARP entry).
  _send(message, reply, nak) {
    if (this._closed) return;
    let address = BROADCAST;
    let port = CLIENT_PORT;
    if (message.giaddr !== '0.0.0.0') {
      address = message.giaddr;
      port = SERVER_PORT;
    } else if (!nak && message.ciaddr !== '0.0.0.0') {
      address = message.ciaddr;
    }
    this._socket.send(reply, port, address, () => {});
  }
}

module.exports = { DhcpServer };
