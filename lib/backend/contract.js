'use strict';
// The one contract between lib/ and an engine (native: src/node; wasm:
// lib/backend/wasm.js over src/wasm). Each engine is an object with exactly
// the COMMANDS below as methods, created with a dispatcher
// `(type, id, ...payload)` that receives the EVENTS below. The numbers and
// limits are the core's (src/core/tcpip.h); test/contract.test.js checks
// them against the header and both engines against this file.
//
// Commands are asynchronous: what they cause arrives as events on a later
// task, never during the call. A command that fails says so with an ERROR
// event from the core for its id; no command throws for it, on any engine.

/** tcpip_interface_kind */
const INTERFACE_KINDS = Object.freeze({ loopback: 1, tun: 2, tap: 3, bridge: 4 });

/** The core's limits (TCPIP_* in tcpip.h). */
const LIMITS = Object.freeze({
  MTU_MIN: 576,
  MTU_MAX: 65535,
  MTU_DEFAULT: 1500,
  MTU_DEFAULT_LOOPBACK: 65535,
  MAX_INTERFACES: 64,
  MAX_BRIDGE_PORTS: 32,
  MAX_IPV6_ADDRESSES: 4,
  ADDRSTRLEN: 48,
  CORE_ID_BASE: 0x80000000,
  UDP_DATAGRAM_OVERHEAD: 256,
  UDP_REFUSED_TAG: 0xffffffff,
});

/** tcpip_error, in order; ERROR events carry the name. */
const ERROR_NAMES = Object.freeze([
  'OK', 'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EADDRINUSE', 'EADDRNOTAVAIL',
  'ENETUNREACH', 'ENOBUFS', 'EINVAL', 'EPIPE', 'EMSGSIZE', 'EACCES',
]);

/** tcpip_udp_bind()'s flags (TCPIP_UDP_*). */
const UDP_FLAGS = Object.freeze({ IPV6: 1, IPV6_ONLY: 2, REUSE_ADDR: 4 });

/** tcpip_udp_option. */
const UDP_OPTIONS = Object.freeze({
  TTL: 1, MULTICAST_TTL: 2, MULTICAST_LOOP: 3, BROADCAST: 4, RECV_BUFFER: 5, MULTICAST_INTERFACE: 6,
  BIND_INTERFACE: 7,
});

/** tcpip_interface_dhcp()'s flags (TCPIP_DHCP_*); a LEASE record's layout (TCPIP_LEASE_*). */
const DHCP_FLAGS = Object.freeze({ START: 1, DEFAULT_ROUTE: 2 });
const LEASE_RECORD = Object.freeze({ HEADER: 20, MAX_DNS: 3 });
/** An ADDRESS record's layout (TCPIP_ADDRESS_*). */
const ADDRESS_RECORD = Object.freeze({ RECORD_LENGTH: 20, ADDED: 1 });

// Types of arguments and payload fields, checked by checkValue().
const T = Object.freeze({
  id: 'id', // a 32-bit id, not 0
  kind: 'kind', // an INTERFACE_KINDS value
  uint: 'uint', // an unsigned 32-bit integer
  port: 'port', // 0..65535
  int: 'int', // a signed 32-bit integer
  string: 'string',
  strings: 'strings',
  ids: 'ids',
  bool: 'bool',
  bytes: 'bytes', // a Uint8Array (Buffer)
  byteList: 'byteList', // an array of Uint8Array
  mac: 'mac', // 6 bytes, or undefined for a random one
  optionalString: 'optionalString',
  fd: 'fd', // a file descriptor the engine takes
  count: 'count', // a non-negative safe integer
  error: 'error', // one of ERROR_NAMES but 'OK'
  result: 'result', // one of ERROR_NAMES, 'OK' included
  stats: 'stats', // { packetsIn, bytesIn, packetsOut, bytesOut, dropped: { malformed, oversize, down, noMemory } }
  linkConditions: 'linkConditions', // an object of numbers, `up` a boolean
});

const BOTH = Object.freeze(['native', 'wasm']);

function command(args, { result = 'undefined', engines = BOTH } = {}) {
  return Object.freeze({ args: Object.freeze(args), result, engines });
}

/**
 * Every command: its arguments in order ([name, type]), what it returns (a
 * typeof, or several joined by |), and
 * the engines that have it (the others do not define the method).
 */
const COMMANDS = Object.freeze({
  createInterface: command([['id', T.id], ['kind', T.kind], ['cidrs', T.strings], ['mtu', T.port],
    ['mac', T.mac], ['gateway', T.optionalString], ['defaultRoute', T.bool], ['ports', T.ids]]),
  removeInterface: command([['id', T.id]]),
  // false: dropped, because too many packets wait already
  interfaceInput: command([['id', T.id], ['bytes', T.bytes]], { result: 'boolean' }),
  interfaceStats: command([['id', T.id]]), // answered by STATS
  setChecksums: command([['id', T.id], ['enabled', T.bool]]),
  // the interface's DHCP client: started (DHCP_FLAGS.START) or stopped; LEASE events follow
  dhcp: command([['id', T.id], ['flags', T.uint]]),
  // IPv6 addresses by SLAAC on the interface, or not (which retires them); ADDRESS events follow
  slaac: command([['id', T.id], ['enabled', T.bool]]),
  // the engine writes the pcap file to fd and closes it; CAPTURE_CLOSED follows stop
  captureStart: command([['id', T.id], ['fd', T.fd]]),
  captureStop: command([['id', T.id]]),
  attachDevice: command([['id', T.id], ['fd', T.fd]], { engines: ['native'] }),
  listen: command([['id', T.id], ['address', T.string], ['port', T.port], ['backlog', T.int], ['ipv6Only', T.bool]]),
  connect: command([['id', T.id], ['address', T.string], ['port', T.port], ['localAddress', T.string],
    ['localPort', T.port]]),
  // true when the engine reads the caller's bytes in place until WRITTEN
  // counts them taken (the caller must not change them before); false when
  // it copied them, or holds them only while more than TCP_SND_BUF waits
  writev: command([['id', T.id], ['chunks', T.byteList]], { result: 'boolean' }),
  write: command([['id', T.id], ['bytes', T.bytes]], { result: 'boolean' }),
  consumed: command([['id', T.id], ['count', T.count]]), // the application read this much
  shutdown: command([['id', T.id]]),
  close: command([['id', T.id]]),
  abort: command([['id', T.id]]),
  // a catch-all listener on interface interfaceId (tcpip_tcp_listen_foreign):
  // LISTENING, then an ACCEPTED at each SYN to a foreign address, local the
  // original destination; acceptSyn answers it, abort or close refuse it
  listenForeign: command([['id', T.id], ['interfaceId', T.id]]),
  acceptSyn: command([['id', T.id]]),
  setNoDelay: command([['id', T.id], ['enabled', T.bool]]),
  setKeepAlive: command([['id', T.id], ['enabled', T.bool], ['idleMs', T.uint]]),
  // UDP: BOUND, or ERROR and no socket
  udpBind: command([['id', T.id], ['address', T.string], ['port', T.port], ['flags', T.uint]]),
  // CONNECTED, or DONE with tag 0 and the error
  udpConnect: command([['id', T.id], ['address', T.string], ['port', T.port]]),
  udpDisconnect: command([['id', T.id]]),
  // bytes copied during the call; address '' is the connected peer. The
  // result, as sendto() gives it: 'OK' or the error's name, when the engine
  // sends at once; undefined when it answers later, with a DONE event for
  // `tag` if the send fails, or succeeds with `report`
  udpSend: command([['id', T.id], ['bytes', T.bytes], ['address', T.string], ['port', T.port], ['tag', T.uint],
    ['report', T.bool]], { result: 'string|undefined' }),
  udpConsumed: command([['id', T.id], ['count', T.count]]), // the application took these datagram bytes
  udpSetOption: command([['id', T.id], ['option', T.uint], ['value', T.uint]]), // a UDP_OPTIONS value
  // joins or leaves a multicast group ('' : every interface); the result
  // as udpSend's, a worker's failures are not reported
  udpMembership: command([['id', T.id], ['group', T.string], ['interfaceAddress', T.string], ['join', T.bool]],
    { result: 'string|undefined' }),
  udpClose: command([['id', T.id]]),
  // an ICMP echo request (identifier not 0); the result as udpSend's, a
  // failure later as an ECHO_REPLY with the error
  icmpEcho: command([['identifier', T.id], ['sequence', T.port], ['address', T.string], ['size', T.port]],
    { result: 'string|undefined' }),
  ref: command([]), // keep the event loop alive
  unref: command([]),
  // bytes of the engine's C heap in use (native: the process's)
  heapBytesInUse: command([], { result: 'number' }),
  // bytes of the instance's linear memory: it grows to the peak and stays
  memoryBytes: command([], { result: 'number', engines: ['wasm'] }),
  destroy: command([]), // stop the engine, free everything; no event follows
});

/**
 * A link between two interfaces: the addon's NativeLink between two native
 * stacks, lib/link-engine.js's JsLink otherwise. Both are made with
 * (a, b, headerBytes, seed), where a and b name the ends (native: stack
 * binding and interface id each), and offer exactly these methods.
 */
const LINK_COMMANDS = Object.freeze({
  // { latency, jitter, loss, duplicate, reorder, rate, mtu, queue, up }, checked by lib/link.js
  setConditions: command([['conditions', T.linkConditions]]),
  // { aToB, bToA }: each { packets, bytes, lost, duplicated, reordered, droppedDown, droppedMtu, droppedQueue }
  stats: command([], { result: 'object' }),
  // drops what is in flight and gives both interfaces back to their stacks
  detach: command([]),
});

function event(code, payload) {
  return Object.freeze({ code, payload: Object.freeze(payload) });
}

/**
 * Every event: its number (tcpip_event_type, or a driver's from
 * TCPIP_EV_DRIVER_BASE) and its payload after (type, id), in order.
 */
const EVENT_TYPES = Object.freeze({
  LISTENING: event(1, [['localAddress', T.string], ['localPort', T.port]]),
  // `id` is the new connection's, chosen by the core
  ACCEPTED: event(2, [['listenerId', T.id], ['localAddress', T.string], ['localPort', T.port],
    ['remoteAddress', T.string], ['remotePort', T.port]]),
  CONNECTED: event(3, [['localAddress', T.string], ['localPort', T.port], ['remoteAddress', T.string],
    ['remotePort', T.port]]),
  DATA: event(4, [['bytes', T.bytes]]),
  EOF: event(5, []),
  WRITTEN: event(6, [['count', T.count]]),
  SHUTDOWN: event(7, []),
  // a socket, listener or interface failed and is gone
  ERROR: event(8, [['code', T.error]]),
  PACKET: event(9, [['bytes', T.bytes]]),
  STATS: event(10, [['stats', T.stats]]),
  BOUND: event(11, [['localAddress', T.string], ['localPort', T.port]]),
  DATAGRAM: event(12, [['bytes', T.bytes], ['remoteAddress', T.string], ['remotePort', T.port]]),
  // the send tagged `tag` (or, tag 0, a connect) ended: 'OK' and the bytes sent, or the error
  DONE: event(13, [['tag', T.uint], ['code', T.result], ['count', T.count]]),
  // `id` is the ping's ICMP identifier: a reply ('OK') from remoteAddress, or a request that failed
  ECHO_REPLY: event(14, [['sequence', T.port], ['remoteAddress', T.string], ['bytes', T.count], ['code', T.result]]),
  CAPTURE_CLOSED: event(100, [['ok', T.bool]]),
  // the interface's DHCP client bound or lost a lease: the record (tcpip.h's TCPIP_LEASE_*)
  LEASE: event(15, [['record', T.bytes]]),
  // SLAAC made an address usable or lost one: the record (tcpip.h's TCPIP_ADDRESS_*)
  ADDRESS: event(16, [['record', T.bytes]]),
});

/** Event numbers by name, for dispatchers. */
const EVENTS = Object.freeze(Object.fromEntries(Object.entries(EVENT_TYPES).map(([name, e]) => [name, e.code])));

const STATS_COUNTERS = ['packetsIn', 'bytesIn', 'packetsOut', 'bytesOut'];
const STATS_DROPPED = ['malformed', 'oversize', 'down', 'noMemory'];

function isCount(value) {
  return Number.isSafeInteger(value) && value >= 0;
}

/** Whether `value` is of contract type `type`. */
function checkValue(type, value) {
  switch (type) {
    case T.id: return Number.isInteger(value) && value > 0 && value <= 0xffffffff;
    case T.kind: return Object.values(INTERFACE_KINDS).includes(value);
    case T.uint: return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
    case T.port: return Number.isInteger(value) && value >= 0 && value <= 0xffff;
    case T.int: return Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
    case T.string: return typeof value === 'string';
    case T.optionalString: return value === undefined || typeof value === 'string';
    case T.strings: return Array.isArray(value) && value.every((s) => typeof s === 'string');
    case T.ids: return Array.isArray(value) && value.every((id) => checkValue(T.id, id));
    case T.bool: return typeof value === 'boolean';
    case T.bytes: return value instanceof Uint8Array;
    case T.byteList: return Array.isArray(value) && value.every((b) => b instanceof Uint8Array);
    case T.mac: return value === undefined || (value instanceof Uint8Array && value.length === 6);
    case T.fd: return Number.isInteger(value) && value >= 0;
    case T.count: return isCount(value);
    case T.error: return ERROR_NAMES.includes(value) && value !== 'OK';
    case T.result: return ERROR_NAMES.includes(value);
    case T.linkConditions:
      return typeof value === 'object' && value !== null &&
        Object.entries(value).every(([key, v]) => (key === 'up' ? typeof v === 'boolean' : typeof v === 'number'));
    case T.stats:
      return typeof value === 'object' && value !== null && STATS_COUNTERS.every((k) => isCount(value[k])) &&
        typeof value.dropped === 'object' && value.dropped !== null &&
        STATS_DROPPED.every((k) => isCount(value.dropped[k]));
    default: return false;
  }
}

function violation(message) {
  const error = new Error(`engine contract: ${message}`);
  error.code = 'ERR_TCPIP_CONTRACT';
  return error;
}

/**
 * Checks one event as a dispatcher receives it; throws ERR_TCPIP_CONTRACT.
 * @param {number} type
 * @param {number} id
 * @param {unknown[]} payload
 */
function checkEvent(type, id, payload) {
  const entry = Object.entries(EVENT_TYPES).find(([, e]) => e.code === type);
  if (!entry) throw violation(`unknown event type ${type}`);
  const [name, { payload: fields }] = entry;
  if (!checkValue(T.id, id)) throw violation(`${name}: id ${id}`);
  fields.forEach(([field, type_], i) => {
    if (!checkValue(type_, payload[i])) throw violation(`${name}: ${field} is ${String(payload[i])}`);
  });
  for (let i = fields.length; i < payload.length; i++) {
    if (payload[i] !== undefined) throw violation(`${name}: payload has more than ${fields.length} values`);
  }
}

/**
 * Checks one command's arguments before it goes to an engine; throws
 * ERR_TCPIP_CONTRACT.
 * @param {string} engine 'native' or 'wasm'
 * @param {string} name
 * @param {unknown[]} args
 */
function checkCommand(engine, name, args) {
  const entry = COMMANDS[name];
  if (!entry) throw violation(`unknown command ${name}`);
  if (!entry.engines.includes(engine)) throw violation(`${name} is not a command of the ${engine} engine`);
  if (args.length > entry.args.length) throw violation(`${name}: ${args.length} arguments, at most ${entry.args.length}`);
  entry.args.forEach(([arg, type], i) => {
    if (!checkValue(type, args[i])) throw violation(`${name}: ${arg} is ${String(args[i])}`);
  });
}

/**
 * The command names an engine must define, and nothing else.
 * @param {string} engine
 */
function commandsOf(engine) {
  return Object.keys(COMMANDS).filter((name) => COMMANDS[name].engines.includes(engine));
}

module.exports = {
  INTERFACE_KINDS, LIMITS, ERROR_NAMES, UDP_FLAGS, UDP_OPTIONS, DHCP_FLAGS, LEASE_RECORD, ADDRESS_RECORD, COMMANDS, LINK_COMMANDS, EVENT_TYPES, EVENTS, TYPES: T,
  checkValue, checkEvent, checkCommand, commandsOf,
};
