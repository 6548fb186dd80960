'use strict';
// Network interfaces of a stack: loopback, TUN (IP packets) and TAP
// (Ethernet frames) whose traffic JS sees and injects.
const {
  EventEmitter, Buffer, isIP, randomBytes, fs, systemErrorInfo, ReadableStream, WritableStream, CountQueuingStrategy,
  name: platformName,
} = require('./platform/node.js');
const errors = require('./errors.js');
const { validateObject, validateBoolean, validateAbortSignal } = require('./validators.js');

const { canonicalAddress } = require('./net/ports.js');
const {
  INTERFACE_KINDS, LIMITS, COMMANDS, DHCP_FLAGS, LEASE_RECORD, ADDRESS_RECORD,
} = require('./backend/contract.js');

/** A running capture: iface.capture(path). */
class Capture {
  /** @internal */
  constructor(iface, path) {
    this.interface = iface;
    this.path = path;
    this._refed = true; // for the stack's count of what keeps the process alive
    this._closed = null;
    this._resolveClosed = null;
  }

  /**
   * Stops capturing; resolves once every record is in the file.
   * @returns {Promise<void>}
   */
  stop() {
    if (!this._closed) {
      this._expectClose();
      const { _stack: stack, _engine: engine, _id: id } = this.interface;
      // Like a pending write to a file, a closing capture keeps the process
      // alive until the engine says its file is complete (CAPTURE_CLOSED,
      // which the stack routes to _onClosed).
      stack._refHandle(this);
      engine.captureStop(id);
    }
    return this._closed;
  }

  // The stack's destroy() completes the file and settles stop().
  _onStackDestroy() {}

  _expectClose() {
    if (this._closed) return;
    this._closed = new Promise((resolve, reject) => {
      this._resolveClosed = (ok) => (ok ? resolve() : reject(errors.simple(Error, 'ERR_TCPIP_CAPTURE_WRITE', `Writing the capture to ${this.path} failed`)));
    });
    // Nobody may be waiting yet: a failure is reported when stop() is awaited.
    this._closed.catch(() => {});
  }

  _onClosed(ok) {
    if (this.interface._capture === this) this.interface._capture = null;
    this.interface._stack._unrefHandle(this);
    this._expectClose();
    this._resolveClosed(ok);
  }
}

// Packets a `.readable` holds for a slow reader before it drops new ones.
const READABLE_QUEUE = 1024;

// lwIP takes the unspecified address for "no address" and would send from
// it; a multicast address is nobody's (Linux refuses both for IPv6).
function isUnspecifiedOrMulticast(address, family) {
  if (family === 4) return address === '0.0.0.0' || (Number(address.split('.')[0]) & 0xf0) === 0xe0;
  const canonical = canonicalAddress(address, 6);
  return canonical === '::' || canonical.startsWith('ff');
}

function parseCidr(value, name) {
  if (typeof value !== 'string') throw errors.invalidArgType(name, 'string', value);
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (!family) throw errors.invalidIpAddress(address);
  if (isUnspecifiedOrMulticast(address, family)) {
    throw errors.invalidArgValue(name, value, 'must be a unicast address');
  }
  const maxPrefix = family === 6 ? 128 : 32;
  let prefix = maxPrefix;
  if (slash !== -1) {
    const text = value.slice(slash + 1);
    prefix = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
    if (!(prefix >= 0 && prefix <= maxPrefix)) {
      throw errors.invalidArgValue(name, value, `has an invalid prefix length (0-${maxPrefix})`);
    }
  }
  return Object.freeze({ address, prefix, family, cidr: `${address}/${prefix}` });
}

// 'dhcp' (alone or beside CIDRs) asks for the IPv4 address by DHCP;
// 'slaac' for IPv6 addresses from router advertisements.
function wants(value, keyword) {
  return value === keyword || (Array.isArray(value) && value.includes(keyword));
}

function parseAddresses(value, name, ethernet) {
  if (value === undefined && ethernet) return [];
  let list = Array.isArray(value) ? value : [value];
  for (const keyword of ['dhcp', 'slaac']) {
    if (!wants(value, keyword)) continue;
    if (list.filter((item) => item === keyword).length > 1) throw errors.invalidArgValue(name, value, `names ${keyword} twice`);
    list = list.filter((item) => item !== keyword);
  }
  const addresses = list.map((item) => parseCidr(item, name));
  if (addresses.filter((a) => a.family === 4).length > 1) {
    throw errors.invalidArgValue(name, value, 'may hold one IPv4 address');
  }
  // A TAP or bridge interface's link-local address takes one of the slots.
  const ipv6Slots = LIMITS.MAX_IPV6_ADDRESSES - (ethernet ? 1 : 0);
  if (addresses.filter((a) => a.family === 6).length > ipv6Slots) {
    throw errors.invalidArgValue(name, value, `may hold at most ${ipv6Slots} IPv6 addresses`);
  }
  return addresses;
}

function publicAddress({ address, prefix, family }) {
  return { address, prefix, family };
}

function parseMac(value) {
  if (value === undefined) {
    const mac = randomBytes(6);
    mac[0] = (mac[0] & 0xfe) | 0x02; // unicast, locally administered
    return mac;
  }
  if (typeof value !== 'string') throw errors.invalidArgType('options.macAddress', 'string', value);
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value)) {
    throw errors.invalidArgValue('options.macAddress', value, 'must look like 02:00:00:00:00:01');
  }
  const mac = Buffer.from(value.split(':').map((part) => parseInt(part, 16)));
  if (mac[0] & 1) throw errors.invalidArgValue('options.macAddress', value, 'must be a unicast address');
  return mac;
}

const DEVICE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

function validateInt32Fd(fd) {
  if (!Number.isInteger(fd)) throw errors.invalidArgType('options.fd', 'integer', fd);
  if (fd < 0 || fd > 2147483647) throw errors.outOfRange('options.fd', '>= 0 && <= 2147483647', fd);
}

/**
 * Opens kernel TUN/TAP device `name` (created if missing, inside the
 * caller's network namespace). Errors are Node's system errors.
 */
function validateDeviceName(name, type) {
  if (typeof name !== 'string') throw errors.invalidArgType('options.device', 'string', name);
  if (!DEVICE_NAME.test(name)) throw errors.invalidArgValue('options.device', name, 'must be 1-15 letters, digits, ".", "_" or "-"');
  if (type === 'loopback') throw errors.invalidArgValue('options.device', name, 'is not for a loopback interface');
}

function openKernelDevice(name, type = 'tap') {
  validateDeviceName(name, type);
  if (platformName === 'browser') throw errors.notSupported('Kernel TUN/TAP devices');
  const { loadAddon } = require('./backend/native.js');
  const [result, syscall] = loadAddon().openKernelDevice(name, type === 'tap');
  if (result >= 0) return result;
  const [code, description] = systemErrorInfo(result);
  const error = new Error(`${syscall} ${code}: ${description}, /dev/net/tun (device ${name})`);
  error.errno = result;
  error.code = code;
  error.syscall = syscall;
  error.path = '/dev/net/tun';
  error.device = name;
  throw error;
}

// A promise that `waiters` settle ({ resolve, reject } pushed there). An
// aborted `signal` takes it out and rejects it with an AbortError, then
// calls onAbort(); once settled, the signal is no longer listened to.
function waitUnlessAborted(waiters, signal, onAbort) {
  return new Promise((resolve, reject) => {
    if (signal === undefined) {
      waiters.push({ resolve, reject });
      return;
    }
    const abort = () => {
      const index = waiters.indexOf(waiter);
      if (index !== -1) waiters.splice(index, 1);
      reject(errors.abortError(signal));
      onAbort();
    };
    const waiter = {
      resolve: (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      reject: (error) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    };
    signal.addEventListener('abort', abort, { once: true });
    waiters.push(waiter);
  });
}

function removedError() {
  return errors.simple(Error, 'ERR_TCPIP_INTERFACE_REMOVED', 'The interface has been removed');
}

function nativeOnly(what) {
  return errors.simple(Error, 'ERR_TCPIP_NOT_SUPPORTED', `${what} need the native backend`);
}

// Kernel devices are read by a native stack's worker thread.
function checkDeviceEngine(stack) {
  if (!COMMANDS.attachDevice.engines.includes(stack.backend)) throw nativeOnly('Kernel TUN/TAP devices');
}

function checkPorts(stack, ports) {
  if (!Array.isArray(ports)) throw errors.invalidArgType('options.ports', 'Array', ports);
  if (ports.length > LIMITS.MAX_BRIDGE_PORTS) {
    throw errors.invalidArgValue('options.ports', ports.length, `may hold at most ${LIMITS.MAX_BRIDGE_PORTS} interfaces`);
  }
  ports.forEach((port, index) => {
    if (!(port instanceof TapInterface)) throw errors.invalidArgType(`options.ports[${index}]`, 'TapInterface', port);
    if (port._stack !== stack) throw errors.invalidArgValue(`options.ports[${index}]`, port.macAddress, 'must belong to this stack');
    if (port.removed) throw errors.invalidArgValue(`options.ports[${index}]`, port.macAddress, 'has been removed');
    if (port._bridge) throw errors.invalidArgValue(`options.ports[${index}]`, port.macAddress, 'is already a bridge port');
    if (ports.indexOf(port) !== index) throw errors.invalidArgValue(`options.ports[${index}]`, port.macAddress, 'is listed twice');
  });
  return [...ports];
}

function formatMac(mac) {
  return [...mac].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

function validateMtu(value) {
  if (value === undefined) return 0;
  if (!Number.isInteger(value)) throw errors.invalidArgType('options.mtu', 'integer', value);
  if (value < LIMITS.MTU_MIN || value > LIMITS.MTU_MAX) {
    throw errors.outOfRange('options.mtu', `>= ${LIMITS.MTU_MIN} && <= ${LIMITS.MTU_MAX}`, value);
  }
  return value;
}

class Interface extends EventEmitter {
  /** @internal */
  constructor(stack, type, options) {
    super();
    validateObject(options, 'options');
    this._stack = stack;
    this._engine = stack._backend;
    this._type = type;
    // A TAP port of a bridge, like a Linux bridge port, may have no address.
    const ethernet = type === 'tap' || type === 'bridge';
    const dhcp = wants(options.ipAddress, 'dhcp');
    if (dhcp && !ethernet) throw errors.invalidArgValue('options.ipAddress', options.ipAddress, 'may be dhcp only on a TAP or bridge interface');
    const slaac = wants(options.ipAddress, 'slaac');
    if (slaac && !ethernet) throw errors.invalidArgValue('options.ipAddress', options.ipAddress, 'may be slaac only on a TAP or bridge interface');
    if (dhcp && options.gateway !== undefined) throw errors.invalidArgValue('options.gateway', options.gateway, 'comes from the DHCP lease');
    this._addresses = parseAddresses(options.ipAddress, 'options.ipAddress', ethernet);
    this._mtu = validateMtu(options.mtu) || (type === 'loopback' ? LIMITS.MTU_DEFAULT_LOOPBACK : LIMITS.MTU_DEFAULT);
    this._mac = type === 'tap' || type === 'bridge' ? parseMac(options.macAddress) : null;
    const ports = type === 'bridge' ? checkPorts(stack, options.ports) : [];
    let gateway = '';
    if (options.gateway !== undefined) {
      if (type === 'loopback') throw errors.invalidArgValue('options.gateway', options.gateway, 'is not for a loopback interface');
      if (isIP(options.gateway) !== 4) throw errors.invalidIpAddress(options.gateway);
      gateway = options.gateway;
    }
    if (options.defaultRoute !== undefined) validateBoolean(options.defaultRoute, 'options.defaultRoute');
    if (options.device !== undefined && options.fd !== undefined) {
      throw errors.invalidArgValue('options.fd', options.fd, 'cannot be combined with options.device');
    }
    let deviceFd = -1;
    if (options.device !== undefined) {
      validateDeviceName(options.device, type);
      checkDeviceEngine(stack);
      deviceFd = openKernelDevice(options.device, type);
    }
    if (options.fd !== undefined) {
      if (type === 'loopback' || type === 'bridge') throw errors.invalidArgValue('options.fd', options.fd, `is not for a ${type} interface`);
      validateInt32Fd(options.fd);
      checkDeviceEngine(stack);
      if (platformName === 'browser') throw errors.notSupported('Kernel TUN/TAP devices');
      deviceFd = options.fd;
    }
    this._gateway = gateway || null;
    this._defaultRoute = options.defaultRoute !== undefined ? options.defaultRoute : Boolean(gateway) || dhcp;
    this._dhcp = null; // { defaultRoute, waiters } while the DHCP client runs
    this._lease = null;
    this._slaac = null; // { waiters } while SLAAC is on
    this._id = stack._allocateId();
    this._removed = false;
    this._statsWaiters = [];
    this._jsDrops = { queueFull: 0, readableFull: 0 };
    this._link = null;
    this._linkSink = null; // a JS-engine link's direction: takes what leaves
    this._bridge = null;
    this._ports = [];
    this._capture = null;
    this._readable = null;
    this._readableController = null;
    this._writable = null;
    this._engine.createInterface(this._id, INTERFACE_KINDS[type], this._addresses.map((a) => a.cidr), this._mtu,
      this._mac || undefined, gateway || undefined, this._defaultRoute, ports.map((port) => port._id));
    for (const port of ports) port._bridge = this;
    this._ports = ports;
    this._device = options.device === undefined ? (options.fd === undefined ? null : `fd:${options.fd}`) : options.device;
    if (deviceFd >= 0) {
      try {
        this._engine.attachDevice(this._id, deviceFd);
      } catch (error) {
        // A JS-thread stack's event loop could not watch the descriptor
        // (closed by then): the interface goes too.
        this._engine.removeInterface(this._id);
        throw error;
      }
    }
    if (dhcp) this.dhcp({ defaultRoute: this._defaultRoute }).catch(() => {});
    if (slaac) this.slaac().catch(() => {});
  }

  /**
   * Turns on IPv6 stateless address autoconfiguration (TAP and bridge
   * interfaces): the interface asks the link's routers (a router
   * solicitation), and forms an address from each /64 prefix a router
   * advertisement offers for it. Once it passed duplicate address detection
   * the address is the interface's (`addresses`), with an 'address' event
   * ({ action: 'add', address, prefix, family: 6 }); when its lifetime ends,
   * or on slaacStop(), it goes, with an 'address' event of action 'remove'.
   * The advertising routers become default routers for IPv6. Resolves with
   * the first address. With no router on the link it waits (after three
   * solicitations, for a periodic advertisement): `signal` bounds the wait. Its abort rejects the promise with
   * an AbortError and, if this call turned SLAAC on, turns it off again
   * (as slaacStop() does); SLAAC that was on already stays on.
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<{ address: string, prefix: number, family: 6 }>}
   */
  slaac(options = {}) {
    validateObject(options, 'options');
    const { signal } = options;
    validateAbortSignal(signal, 'options.signal');
    if (this._type !== 'tap' && this._type !== 'bridge') {
      throw errors.simple(Error, 'ERR_TCPIP_NOT_SUPPORTED', 'SLAAC needs a TAP or bridge interface');
    }
    if (signal !== undefined && signal.aborted) return Promise.reject(errors.abortError(signal));
    if (this._removed) return Promise.reject(removedError());
    const started = this._slaac === null;
    if (started) {
      this._slaac = { waiters: [] };
      this._engine.slaac(this._id, true);
    }
    const formed = this._addresses.find((a) => a.slaac);
    if (formed) return Promise.resolve(publicAddress(formed));
    const session = this._slaac;
    return waitUnlessAborted(session.waiters, signal, () => {
      if (started && this._slaac === session) this.slaacStop();
    });
  }

  /** Turns SLAAC off: the addresses it formed go (each an 'address' event). */
  slaacStop() {
    if (!this._slaac || this._removed) return;
    const { waiters } = this._slaac;
    this._slaac = null;
    this._engine.slaac(this._id, false);
    for (const waiter of waiters) waiter.reject(errors.simple(Error, 'ERR_TCPIP_SLAAC_STOPPED', 'SLAAC was stopped'));
  }

  // ADDRESS: the core's record (tcpip.h, TCPIP_ADDRESS_*).
  _onAddress(record) {
    const groups = [];
    for (let i = 0; i < 16; i += 2) groups.push(((record[i] << 8) | record[i + 1]).toString(16));
    const address = canonicalAddress(groups.join(':'), 6);
    const prefix = record[16];
    const cidr = `${address}/${prefix}`;
    this._addresses = this._addresses.filter((a) => !(a.slaac && a.cidr === cidr));
    if (!(record[17] & ADDRESS_RECORD.ADDED)) {
      this.emit('address', { action: 'remove', ...publicAddress({ address, prefix, family: 6 }) });
      return;
    }
    const formed = Object.freeze({ address, prefix, family: 6, cidr, slaac: true });
    this._addresses = [...this._addresses, formed];
    const waiters = this._slaac ? this._slaac.waiters.splice(0) : [];
    for (const waiter of waiters) waiter.resolve(publicAddress(formed));
    this.emit('address', { action: 'add', ...publicAddress(formed) });
  }

  /**
   * Starts the interface's DHCP client (TAP and bridge interfaces): it asks
   * for an IPv4 address, renews it, and gives it back (RELEASE) on
   * remove() or dhcpStop(). Each lease bound (renewals too) is a 'lease'
   * event ({ address, prefix, router, dns, leaseTime, server }), each lost
   * one a 'lease' event with null. The lease's router becomes the default
   * route unless `defaultRoute` is false; its DNS servers become stack.dns's
   * unless the stack was given servers. Resolves with the first lease.
   * The client asks again and again until a server answers: `signal`
   * bounds the wait. Its abort rejects the promise with an AbortError and,
   * if this call started the client, stops it (as dhcpStop() does); a
   * client that was running already keeps running.
   * @param {{ defaultRoute?: boolean, signal?: AbortSignal }} [options]
   * @returns {Promise<object>}
   */
  dhcp(options = {}) {
    validateObject(options, 'options');
    if (options.defaultRoute !== undefined) validateBoolean(options.defaultRoute, 'options.defaultRoute');
    const { signal } = options;
    validateAbortSignal(signal, 'options.signal');
    if (this._type !== 'tap' && this._type !== 'bridge') {
      throw errors.simple(Error, 'ERR_TCPIP_NOT_SUPPORTED', 'DHCP needs a TAP or bridge interface');
    }
    if (signal !== undefined && signal.aborted) return Promise.reject(errors.abortError(signal));
    if (this._removed) return Promise.reject(removedError());
    const defaultRoute = options.defaultRoute !== undefined ? options.defaultRoute : true;
    if (this._addresses.some((a) => a.family === 4) && !this._dhcp) {
      // The lease's address replaces a static one.
      this._addresses = this._addresses.filter((a) => a.family !== 4);
    }
    const started = this._dhcp === null;
    if (started) this._dhcp = { defaultRoute, waiters: [] };
    this._dhcp.defaultRoute = defaultRoute;
    this._engine.dhcp(this._id, DHCP_FLAGS.START | (defaultRoute ? DHCP_FLAGS.DEFAULT_ROUTE : 0));
    if (this._lease) return Promise.resolve(this._lease);
    const client = this._dhcp;
    return waitUnlessAborted(client.waiters, signal, () => {
      if (started && this._dhcp === client) this.dhcpStop();
    });
  }

  /** Stops the DHCP client, giving its lease back (RELEASE). */
  dhcpStop() {
    if (!this._dhcp || this._removed) return;
    const { waiters } = this._dhcp;
    this._dhcp = null;
    this._engine.dhcp(this._id, 0);
    for (const waiter of waiters) waiter.reject(errors.simple(Error, 'ERR_TCPIP_DHCP_STOPPED', 'The DHCP client was stopped'));
  }

  /**
   * A DHCP client still without a lease asks again now rather than at its
   * next retry (seconds away): for a link that has just come up, such as a
   * gateway's tunnel, whose first DISCOVER went nowhere. Pending dhcp()
   * promises carry on.
   * @internal
   */
  _dhcpRediscover() {
    if (!this._dhcp || this._lease || this._removed || this._dhcp.removing) return;
    this._engine.dhcp(this._id, 0);
    this._engine.dhcp(this._id, DHCP_FLAGS.START | (this._dhcp.defaultRoute ? DHCP_FLAGS.DEFAULT_ROUTE : 0));
  }

  /** The DHCP lease the interface holds, or null. */
  get lease() {
    return this._lease;
  }

  // LEASE: the core's record (tcpip.h, TCPIP_LEASE_*).
  _onLease(record) {
    const ip = (offset) => `${record[offset]}.${record[offset + 1]}.${record[offset + 2]}.${record[offset + 3]}`;
    const address = ip(0);
    const others = this._addresses.filter((a) => a.family !== 4);
    if (address === '0.0.0.0') {
      this._addresses = others;
      this._gateway = null;
      const had = this._lease !== null;
      this._lease = null;
      if (had) this.emit('lease', null);
      if (this._dhcp && this._dhcp.removing) {
        // A native link hands the release over on a later turn of the loop.
        setTimeout(() => {
          if (this._dhcp && this._dhcp.removing) this._finishRemove();
        }, 0);
      }
      return;
    }
    const prefix = record[4];
    const dnsCount = Math.min(record[5], LEASE_RECORD.MAX_DNS, Math.floor((record.length - LEASE_RECORD.HEADER) / 4));
    const router = ip(8) === '0.0.0.0' ? null : ip(8);
    const dns = [];
    for (let i = 0; i < dnsCount; i++) dns.push(ip(LEASE_RECORD.HEADER + 4 * i));
    const lease = Object.freeze({
      address, prefix, router, dns: Object.freeze(dns),
      leaseTime: ((record[12] << 24) | (record[13] << 16) | (record[14] << 8) | record[15]) >>> 0,
      server: ip(16),
    });
    this._addresses = [parseCidr(`${address}/${prefix}`, 'lease'), ...others];
    this._gateway = router;
    this._lease = lease;
    this._stack._onDhcpLease(this, lease);
    const waiters = this._dhcp ? this._dhcp.waiters.splice(0) : [];
    for (const waiter of waiters) waiter.resolve(lease);
    this.emit('lease', lease);
  }

  get type() {
    return this._type;
  }

  /** The addresses in CIDR notation. */
  get ipAddresses() {
    return this._addresses.map((a) => a.cidr);
  }

  get addresses() {
    return this._addresses.map(publicAddress);
  }

  get ipAddress() {
    return this._addresses.length ? this._addresses[0].cidr : undefined;
  }

  get mtu() {
    return this._mtu;
  }

  get gateway() {
    return this._gateway;
  }

  /** The kernel device this interface is attached to, or null. */
  get device() {
    return this._device;
  }

  get removed() {
    return this._removed;
  }

  /**
   * Counters kept by the engine, plus drops on the JS side.
   * @returns {Promise<object>}
   */
  stats() {
    if (this._removed) return Promise.reject(removedError());
    return new Promise((resolve, reject) => {
      this._statsWaiters.push({ resolve, reject });
      this._engine.interfaceStats(this._id);
    });
  }

  _onStats(stats) {
    const waiter = this._statsWaiters.shift();
    if (!waiter) return;
    stats.dropped.queueFull = this._jsDrops.queueFull;
    stats.dropped.readableFull = this._jsDrops.readableFull;
    waiter.resolve(stats);
  }

  /**
   * Writes every packet (or frame) in and out of this interface to a pcap
   * file that tshark and Wireshark read. Native links included.
   * @param {string} path
   * @returns {Capture}
   */
  capture(path) {
    if (typeof path !== 'string') throw errors.invalidArgType('path', 'string', path);
    if (this._removed) throw removedError();
    if (this._capture) throw errors.simple(Error, 'ERR_TCPIP_CAPTURE_RUNNING', 'The interface is already being captured');
    if (!fs) throw errors.notSupported('Capture to a file');
    // The engine owns the file from here and writes all of it, header too.
    const fd = fs.openSync(path, 'w');
    this._engine.captureStart(this._id, fd);
    this._capture = new Capture(this, path);
    this._stack._captures.set(this._id, this._capture);
    return this._capture;
  }

  /** The link this interface is joined by, or null. */
  get link() {
    return this._link;
  }

  remove() {
    if (this._removed) return;
    this._removed = true;
    if (this._dhcp && this._lease && !this._stack.destroyed) {
      // The DHCP RELEASE leaves by the interface's link or hooks, which the
      // rest of the removal takes away: it waits for the core's word that
      // the release left (the lost lease, on a later task).
      this._dhcp.removing = true;
      this._engine.dhcp(this._id, 0);
      return;
    }
    this._finishRemove();
  }

  _finishRemove() {
    if (this._link) this._link.destroy();
    if (this._bridge) this._bridge._ports = this._bridge._ports.filter((port) => port !== this);
    for (const port of this._ports) port._bridge = null;
    // The engine completes the file; the stack settles the capture then.
    if (this._capture) this._capture.stop();
    this._stack._forgetInterface(this);
    if (!this._stack.destroyed) this._engine.removeInterface(this._id);
    if (this._readableController) {
      try { this._readableController.close(); } catch { /* already closed */ }
    }
    for (const waiter of this._statsWaiters.splice(0)) waiter.reject(removedError());
    if (this._dhcp) {
      for (const waiter of this._dhcp.waiters.splice(0)) waiter.reject(removedError());
      this._dhcp = null;
    }
    if (this._slaac) {
      for (const waiter of this._slaac.waiters.splice(0)) waiter.reject(removedError());
      this._slaac = null;
    }
    this.emit('close');
  }

  // The stack goes, and its interfaces with it, at once. A leased
  // interface does not wait for its RELEASE to leave, as remove() does:
  // the core's word would never come from the destroyed engine (and no
  // engine hands a frame out before it stops), so the lease stays the
  // server's until it expires.
  _onStackDestroy() {
    if (this._removed && !(this._dhcp && this._dhcp.removing)) return;
    this._removed = true;
    this._finishRemove();
  }

  // The engine could not create the interface: it never existed. As a
  // socket's, the error comes before 'close'.
  _onError(code) {
    if (this._removed) return;
    try {
      this.emit('error', errors.systemError(code, 'createInterface'));
    } finally {
      this.remove();
    }
  }
}

class LoopbackInterface extends Interface {
  constructor(stack, options) {
    super(stack, 'loopback', options);
  }
}

// The part TUN and TAP share: traffic out of the stack arrives as events and
// on `.readable`; traffic into it goes through send() or `.writable`.
class HookInterface extends Interface {
  /**
   * Injects one packet (TUN) or frame (TAP). Returns false when it was
   * dropped because too much injected traffic is already waiting.
   * @param {Buffer|Uint8Array} data
   */
  send(data) {
    if (!(data instanceof Uint8Array)) throw errors.invalidArgType('data', ['Buffer', 'Uint8Array'], data);
    if (this._removed) throw removedError();
    const accepted = this._engine.interfaceInput(this._id, data);
    if (!accepted) this._jsDrops.queueFull++;
    return accepted;
  }

  /** A web ReadableStream of what the stack sends out of this interface. */
  get readable() {
    if (!this._readable) {
      this._readable = new ReadableStream({
        start: (controller) => { this._readableController = controller; },
        cancel: () => { this._readableController = null; },
      }, new CountQueuingStrategy({ highWaterMark: READABLE_QUEUE }));
    }
    return this._readable;
  }

  /** A web WritableStream whose chunks are injected with send(). */
  get writable() {
    if (!this._writable) {
      this._writable = new WritableStream({ write: (chunk) => { this.send(chunk); } });
    }
    return this._writable;
  }

  _onPacket(buffer) {
    // Joined by a JS-engine link: the packet is the link's, as with a native one.
    if (this._linkSink !== null) {
      this._linkSink.send(buffer);
      return;
    }
    const controller = this._readableController;
    if (controller) {
      if (controller.desiredSize > 0) controller.enqueue(buffer);
      else this._jsDrops.readableFull++;
    }
    this.emit(this._eventName, buffer);
  }
}

class TunInterface extends HookInterface {
  constructor(stack, options) {
    super(stack, 'tun', options);
    this._eventName = 'packet';
  }
}

class TapInterface extends HookInterface {
  constructor(stack, options) {
    super(stack, 'tap', options);
    this._eventName = 'frame';
  }

  get macAddress() {
    return formatMac(this._mac);
  }

  /** The bridge this interface is a port of, or null. */
  get bridge() {
    return this._bridge;
  }
}

/** An L2 switch over TAP ports of the same stack, with an address of its own. */
class BridgeInterface extends Interface {
  constructor(stack, options) {
    super(stack, 'bridge', options);
  }

  get macAddress() {
    return formatMac(this._mac);
  }

  /** The TAP interfaces it switches between. */
  get ports() {
    return [...this._ports];
  }
}

module.exports = {
  Interface, LoopbackInterface, TunInterface, TapInterface, BridgeInterface, Capture, openKernelDevice,
};
