'use strict';
// The WebSocket gateway (issue 11, first step): an HTTP server whose
// WebSocket connections are the ports of a virtual Ethernet switch (one
// binary message, one Ethernet frame: v86's and websockproxy's framing),
// and behind the switch a stack whose TAP interface is the clients' router,
// with a DHCP server and a DNS server that forwards to the host's resolver.
// Node only: bundles get ./server.browser.js.
const { Buffer } = require('node:buffer');
const http = require('node:http');
const crypto = require('node:crypto');
const nodeDns = require('node:dns');
const { EventEmitter } = require('node:events');
const { WebSocketServer, WebSocket } = require('ws');
const { Stack } = require('../stack.js');
const errors = require('../errors.js');
const {
  validateObject, validateFunction, validateBoolean, validatePort, validateInt32,
} = require('../validators.js');
const { Switch } = require('./switch.js');
const {
  CorkedSender, FRAME_PROTOCOL, BATCH_PROTOCOL, MAX_MESSAGE_BYTES, IDLE_CLOSE_CODE, batching, eachFrame,
} = require('./corked.js');
const { recordOfAnyEntry } = require('../dns/records.js');
const { Nat } = require('./nat.js');
const { UdpNat } = require('./udp-nat.js');
const { EgressPolicy } = require('./policy.js');
const { TokenBucket } = require('./limits.js');
const ipv6 = require('./ipv6.js');
const { ipToNumber: toNumber, numberToIp: toAddress } = require('../dhcp/message.js');

// websockify's subprotocol for binary messages: one frame per message here.
const WEBSOCKIFY_PROTOCOL = 'binary';
const DEFAULT_SUBNET = '10.0.2.0/24';
// The clients' IPv6 prefix, for SLAAC: unique-local, its fourth group the
// third octet of the default IPv4 subnet, as 10.0.2.0/24 has it.
const DEFAULT_IPV6_PREFIX = 'fd0a:0:0:2::/64';
// Unsolicited router advertisements, to each client: well within the
// router lifetime they promise (30 minutes).
const RA_INTERVAL = 10 * 60 * 1000;
const DEFAULT_MTU = 1500;
const DEFAULT_LEASE_TIME = 3600;
const DEFAULT_MAX_CLIENTS = 256;
const DEFAULT_IDLE_TIMEOUT = 5 * 60 * 1000;
const IDLE_CLOSE_REASON = 'idle';
// Every this often each client is pinged, and one that did not answer the
// ping before goes: a half-open connection would otherwise hold its port,
// and its MAC, until idleTimeout, and the client coming back found its MAC
// taken.
const DEFAULT_HEARTBEAT = 30 * 1000;
// What a client's WebSocket may hold unsent before frames to it are dropped:
// a few windows' worth, so that one slow client costs bounded memory.
const DEFAULT_MAX_BUFFERED = 1024 * 1024;
// How long a lease outlives its client's WebSocket: a client that comes
// back within it (a reconnect) keeps its address; past it the address is
// free for others.
const DEFAULT_LEASE_GRACE = 60 * 1000;
// How long close() waits for a client to answer its close frame.
const CLOSE_GRACE_MS = 2000;
// Distinct (remote address, reason) pairs whose refusals are logged: past
// it refusals are only counted, so unauthenticated clients cannot flood the log.
const MAX_REFUSAL_LOGS = 1024;
// How long verifyClient may take before the upgrade is refused: a check
// that never settles must not hold a client slot, or close(), for ever.
const DEFAULT_VERIFY_TIMEOUT = 10 * 1000;
const DNS_PORT = 53;
// DNS questions of one client the upstream may be asked at once: past it
// the client gets REFUSED, so that one client cannot tie up the host's
// resolver (or the gateway's memory) with questions that take long.
const DEFAULT_MAX_DNS_IN_FLIGHT = 32;

// Node's resolver method for each record type the forwarder answers.
const RESOLVE_METHODS = {
  A: 'resolve4', AAAA: 'resolve6', CNAME: 'resolveCname', MX: 'resolveMx', NS: 'resolveNs', PTR: 'resolvePtr',
  SRV: 'resolveSrv', TXT: 'resolveTxt', SOA: 'resolveSoa', CAA: 'resolveCaa', NAPTR: 'resolveNaptr',
  ANY: 'resolveAny',
};
// Node's resolver errors meaning "no such name" and "no such record".
const NO_NAME = new Set([nodeDns.NOTFOUND]);
const NO_DATA = new Set([nodeDns.NODATA]);

/**
 * The subnet, router address and DHCP range: the router by default the
 * subnet's second address (10.0.2.2, as QEMU's user networking has it), the
 * range from the 15th address to the last before the broadcast address.
 */
function addressPlan(options) {
  const subnet = options.subnet === undefined ? DEFAULT_SUBNET : options.subnet;
  const match = typeof subnet === 'string' ? /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(subnet) : null;
  if (match === null || net4(match[1]) === null || Number(match[2]) < 8 || Number(match[2]) > 29) {
    throw errors.invalidArgValue('options.subnet', subnet, 'must be an IPv4 CIDR with a prefix from 8 to 29');
  }
  const prefix = Number(match[2]);
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  const network = (toNumber(match[1]) & mask) >>> 0;
  const broadcast = (network | ~mask) >>> 0;
  const inside = (address, name) => {
    if (typeof address !== 'string' || net4(address) === null) throw errors.invalidIpAddress(address);
    const n = toNumber(address);
    if (n <= network || n >= broadcast) throw errors.invalidArgValue(name, address, `must be a host address of ${subnet}`);
    return address;
  };
  const router = options.router === undefined ? toAddress(network + 2) : inside(options.router, 'options.router');
  let range;
  if (options.range === undefined) {
    const first = broadcast - network > 32 ? network + 15 : network + 3;
    range = [toAddress(first), toAddress(broadcast - 1)];
  } else {
    if (!Array.isArray(options.range) || options.range.length !== 2) {
      throw errors.invalidArgType('options.range', 'Array of two addresses', options.range);
    }
    range = [inside(options.range[0], 'options.range[0]'), inside(options.range[1], 'options.range[1]')];
  }
  return { subnet: `${toAddress(network)}/${prefix}`, prefix, router, range };
}

// The router's MAC by default: 52:55 and its IPv4 address, as QEMU's user
// networking has it. Stable across restarts, so that clients that come
// back still reach the router through the ARP entries they hold.
function routerMac(address) {
  return ['52', '55', ...address.split('.').map((part) => Number(part).toString(16).padStart(2, '0'))].join(':');
}

function net4(address) {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return address;
}

function validatePositiveInteger(value, name, fallback) {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw errors.outOfRange(name, '>= 0 and an integer', value);
  return value;
}

function digest(text) {
  return crypto.createHash('sha256').update(String(text)).digest();
}

// The token a request presents: `Authorization: Bearer <token>`, or
// `?token=` where a browser's WebSocket cannot set headers.
function presentedToken(req) {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
  }
  try {
    return new URL(req.url, 'http://gateway').searchParams.get('token');
  } catch {
    return null;
  }
}

// 'address:port', with an IPv6 address in brackets.
function endpoint({ address, port }) {
  return typeof address === 'string' && address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

// The path of an upgrade's request, without its query (?token=), or null.
function upgradePath(req) {
  try {
    return new URL(req.url, 'http://gateway').pathname;
  } catch {
    return null;
  }
}

/**
 * A WebSocket gateway: see createGateway().
 * Events: 'listening', 'connection' (client), 'disconnect' (client, { code, reason }),
 * 'refused' ({ reason, status, remoteAddress }), 'error', 'close'.
 */
class Gateway extends EventEmitter {
  constructor(options = {}) {
    super();
    validateObject(options, 'options');
    const plan = addressPlan(options);
    const mtu = validatePositiveInteger(options.mtu, 'options.mtu', DEFAULT_MTU);
    if (mtu < 576 || mtu > 65535) throw errors.outOfRange('options.mtu', '>= 576 && <= 65535', mtu);
    if (options.token !== undefined && typeof options.token !== 'string') {
      throw errors.invalidArgType('options.token', 'string', options.token);
    }
    if (options.token === '') throw errors.invalidArgValue('options.token', options.token, 'must not be empty');
    if (options.verifyClient !== undefined) validateFunction(options.verifyClient, 'options.verifyClient');
    if (options.log !== undefined) validateFunction(options.log, 'options.log');
    if (options.isolate !== undefined) validateBoolean(options.isolate, 'options.isolate');
    const origins = options.origin === undefined ? null : [].concat(options.origin);
    if (origins !== null && !origins.every((o) => typeof o === 'string')) {
      throw errors.invalidArgType('options.origin', ['string', 'Array'], options.origin);
    }
    const dnsOptions = options.dns === undefined ? {} : options.dns;
    if (dnsOptions !== false) {
      validateObject(dnsOptions, 'options.dns');
      if (dnsOptions.resolve !== undefined) validateFunction(dnsOptions.resolve, 'options.dns.resolve');
    }
    if (options.port !== undefined) validatePort(options.port, 'options.port');
    if (options.path !== undefined && (typeof options.path !== 'string' || !options.path.startsWith('/'))) {
      throw errors.invalidArgValue('options.path', options.path, "must be a string starting with '/'");
    }
    this._path = options.path === undefined ? '/' : options.path;
    if (options.nat !== undefined) validateBoolean(options.nat, 'options.nat');
    if (options.maxFlows !== undefined) validateInt32(options.maxFlows, 'options.maxFlows', 1);
    if (options.connectTimeout !== undefined) validateInt32(options.connectTimeout, 'options.connectTimeout', 1);
    if (options.redirect !== undefined) validateFunction(options.redirect, 'options.redirect');
    if (options.udpIdleTimeout !== undefined) validateInt32(options.udpIdleTimeout, 'options.udpIdleTimeout', 1);
    if (options.tcpIdleTimeout !== undefined) validateInt32(options.tcpIdleTimeout, 'options.tcpIdleTimeout', 0);
    if (options.bytesPerSecond !== undefined) validateInt32(options.bytesPerSecond, 'options.bytesPerSecond', 1);
    this._bytesPerSecond = options.bytesPerSecond === undefined ? null : options.bytesPerSecond;
    if (options.ipv6 !== undefined && options.ipv6 !== false && ipv6.parsePrefix(options.ipv6) === null) {
      throw errors.invalidArgValue('options.ipv6', options.ipv6, 'must be a global or unique-local IPv6 /64 prefix, or false');
    }
    this._ipv6Prefix = options.ipv6 === false ? null : ipv6.parsePrefix(options.ipv6 === undefined ? DEFAULT_IPV6_PREFIX : options.ipv6);
    // Before the stack, as the upstream: a bad CIDR throws with nothing to undo.
    this.policy = new EgressPolicy({ allow: options.allow, ports: options.ports, hostAddresses: options.hostAddresses });
    if (options.verifyTimeout !== undefined) validateInt32(options.verifyTimeout, 'options.verifyTimeout', 1);
    this._verifyTimeout = options.verifyTimeout === undefined ? DEFAULT_VERIFY_TIMEOUT : options.verifyTimeout;
    // Before the stack: an upstream option Node's resolver refuses throws
    // with nothing to undo.
    this._upstream = dnsOptions === false ? null : dnsOptions.resolve || this._nodeResolver(dnsOptions);
    this._plan = plan;
    this._tokenDigest = options.token === undefined ? null : digest(options.token);
    this._verifyClient = options.verifyClient || null;
    this._origins = origins;
    if (options.maxClients !== undefined) validateInt32(options.maxClients, 'options.maxClients', 1);
    this._maxClients = options.maxClients === undefined ? DEFAULT_MAX_CLIENTS : options.maxClients;
    this._idleTimeout = validatePositiveInteger(options.idleTimeout, 'options.idleTimeout', DEFAULT_IDLE_TIMEOUT);
    this._heartbeat = validatePositiveInteger(options.heartbeat, 'options.heartbeat', DEFAULT_HEARTBEAT);
    this._heartbeatTimer = null;
    this._leaseGrace = validatePositiveInteger(options.leaseGrace, 'options.leaseGrace', DEFAULT_LEASE_GRACE);
    this._releases = new Map(); // MAC of a gone client -> its lease's release timer
    if (options.maxDnsInFlight !== undefined) validateInt32(options.maxDnsInFlight, 'options.maxDnsInFlight', 1);
    this._maxDnsInFlight = options.maxDnsInFlight === undefined ? DEFAULT_MAX_DNS_IN_FLIGHT : options.maxDnsInFlight;
    this._dnsInFlight = new Map(); // asker's address -> questions at the upstream
    this._maxBuffered = validatePositiveInteger(options.maxBufferedBytes, 'options.maxBufferedBytes', DEFAULT_MAX_BUFFERED);
    this._log = options.log || (() => {});
    this._clients = new Map(); // ws -> client
    this._clientOfPort = new Map(); // switch port -> client
    this._pending = new Set(); // sockets of upgrades being verified
    this._nextId = 1;
    this._refusals = new Map(); // reason -> count
    this._refusalsLogged = new Set(); // `${remoteAddress} ${reason}` already logged
    this._closures = new Map(); // reason -> flows the gateway ended
    this._throttled = { in: 0, out: 0 }; // times a client's port, or a flow to it, was held back
    this._connections = 0;
    this._closing = null;
    this._quiet = false; // frames sent now keep no client from idleness

    this.stack = new Stack({ backend: options.backend || 'native', thread: options.thread });
    try {
      this._build(options, plan, mtu, dnsOptions);
    } catch (error) {
      // An option refused past this point: the stack made for it goes.
      this.stack.destroy();
      throw error;
    }
    this._start(options);
  }

  // The router, its DHCP and DNS servers, the switch and the HTTP side.
  _build(options, plan, mtu, dnsOptions) {
    const macAddress = options.routerMac || routerMac(plan.router);
    const addresses = [`${plan.router}/${plan.prefix}`];
    this._router6 = null;
    if (this._ipv6Prefix !== null) {
      // A link-local address to advertise from (clients take the router
      // only from one), and the prefix's ::2 for the NAT's answers to be
      // on-link.
      const linkLocal = ipv6.linkLocalOf(macAddress);
      const inPrefix = ipv6.addressText(Buffer.concat([this._ipv6Prefix, Buffer.from([0, 0, 0, 0, 0, 0, 0, 2])]));
      addresses.push(`${linkLocal}/64`, `${inPrefix}/64`);
      this._router6 = { linkLocal, address: inPrefix };
    }
    this.router = this.stack.createTapInterface({ ipAddress: addresses, mtu, macAddress });
    this.dhcp = this.stack.createDhcpServer(this.router, {
      range: plan.range, router: plan.router, dns: dnsOptions === false ? [] : [plan.router],
      leaseTime: options.leaseTime === undefined ? DEFAULT_LEASE_TIME : options.leaseTime,
    });
    this._udpNat = null;
    this._switch = new Switch({
      router: this.router,
      intercept: (port, frame) => {
        const client = this._clientOfPort.get(port);
        return this._udpNat !== null && client !== undefined && this._udpNat.input(client, port, frame);
      },
      interceptGroup: (port, frame) => this._solicited(port, frame),
      ipv6Prefix: this._ipv6Prefix,
      isolate: options.isolate !== false,
      mtu,
      leaseOf: (mac) => {
        const lease = this.dhcp.leases().find((l) => l.mac === mac);
        return lease ? lease.address : null;
      },
      onDrop: (port, reason) => this._onDrop(port, reason),
    });
    if (this._router6 !== null) {
      this._switch.reserveIpv6(this._router6.linkLocal);
      this._switch.reserveIpv6(this._router6.address);
    }
    this.dhcp.on('lease', (lease) => this._switch.leased(lease.mac, lease.address));
    this.dhcp.on('release', (lease) => this._switch.released(lease.mac));
    this.dhcp.on('error', (error) => this.emit('error', error));

    this._nat = null;
    if (options.nat !== false) {
      this._nat = new Nat({
        stack: this.stack,
        router: this.router,
        policy: this.policy,
        maxFlows: options.maxFlows,
        connectTimeout: options.connectTimeout,
        redirect: options.redirect,
        clientOf: (address) => this._clientOfAddress(address),
        refuse: (client, reason, destination) => this._refuseFlow(client, reason, destination),
        idleTimeout: options.tcpIdleTimeout,
        closed: (client, reason, destination) => this._closeFlow(client, reason, destination),
        downstream: (client) => client.down,
        held: () => {
          this._throttled.out++;
        },
        isolated: (address) => this._switch.isolated(address),
      });
      this._nat.on('error', (error) => this.emit('error', error));
      const mask = (0xffffffff << (32 - plan.prefix)) >>> 0;
      const network = (toNumber(plan.router) & mask) >>> 0;
      this._udpNat = new UdpNat({
        policy: this.policy,
        router: { address: plan.router, mac: this.router.macAddress },
        isLocal: (address) => ((toNumber(address) & mask) >>> 0) === network,
        send: (port, frame) => this._switch.send(port, frame),
        refuse: (client, reason, destination) => this._refuseFlow(client, reason, destination),
        maxFlows: options.maxFlows === undefined ? 256 : options.maxFlows,
        idleTimeout: options.udpIdleTimeout,
        redirect: options.redirect,
        mtu,
        closed: (client, reason, destination) => this._closeFlow(client, reason, destination),
        downstream: (client) => client.down,
        router6: this._router6,
        isLocal6: (bytes) => bytes[0] === 0xff || ipv6.isLinkLocal(bytes) || ipv6.isUnspecified(bytes)
          || (this._ipv6Prefix !== null && bytes.subarray(0, 8).equals(this._ipv6Prefix))
          || bytes.equals(ipv6.addressBytes('::1')),
        isolated: (address) => this._switch.isolated(address),
      });
    }

    this.dnsServer = null;
    if (dnsOptions !== false) {
      this.dnsServer = this.stack.dns.createServer({ handler: (question) => this._forward(question) });
      this.dnsServer.on('error', (error) => this.emit('error', error));
    }

    this._wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      // Frames batched into messages for a client that asks (corked.js);
      // one frame per message for every other: websockify's 'binary'
      // (noVNC-style clients offer only it, and fail if none is picked)
      // has the same framing. A client that offers none gets none.
      handleProtocols: (protocols) => {
        if (protocols.has(BATCH_PROTOCOL)) return BATCH_PROTOCOL;
        if (protocols.has(FRAME_PROTOCOL)) return FRAME_PROTOCOL;
        return protocols.has(WEBSOCKIFY_PROTOCOL) ? WEBSOCKIFY_PROTOCOL : false;
      },
    });
    this._wss.on('error', (error) => this.emit('error', error));
    this._ownServer = options.server === undefined;
    this.server = this._ownServer ? http.createServer() : options.server;
    this._onRequest = (req, res) => this._request(req, res);
    this._onUpgrade = (req, socket, head) => this._upgrade(req, socket, head);
    // A server of the caller's answers its own requests: /healthz and
    // /metrics are the gateway's own server's (metrics() serves the rest).
    if (this._ownServer) this.server.on('request', this._onRequest);
    this.server.on('upgrade', this._onUpgrade);
  }

  // Listens: the DHCP and DNS servers on the router, then HTTP; 'listening'
  // once all are up.
  _start(options) {
    const waits = [new Promise((resolve) => {
      if (this.dhcp.listening) resolve();
      else this.dhcp.once('listening', resolve);
    })];
    if (this._nat) waits.push(this._nat.listening());
    if (this.dnsServer) {
      waits.push(new Promise((resolve) => this.dnsServer.listen(DNS_PORT, this._plan.router, resolve)));
    }
    if (this._ownServer) {
      this.server.on('error', (error) => this.emit('error', error));
      waits.push(new Promise((resolve) => {
        this.server.listen(options.port === undefined ? 0 : options.port, options.host || '127.0.0.1', resolve);
      }));
    }
    Promise.all(waits).then(() => {
      if (!this._closing) this.emit('listening');
    }, (error) => this.emit('error', error));
    if (this._heartbeat > 0) {
      this._heartbeatTimer = setInterval(() => this._beat(), this._heartbeat);
      this._heartbeatTimer.unref();
    }
    this._advertTimer = null;
    if (this._router6 !== null) {
      this._advertTimer = setInterval(() => {
        // Unsolicited: they keep no client from idleness.
        this._quiet = true;
        try {
          for (const port of this._switch.ports) if (port.mac !== null) this._advertise(port);
        } finally {
          this._quiet = false;
        }
      }, RA_INTERVAL);
      this._advertTimer.unref();
    }
  }

  _beat() {
    for (const [ws, client] of this._clients) {
      // Held back by its rate, a client's pong waits unread: not its fault.
      if (client.paused) continue;
      if (!client.answered) {
        this._log(`client ${client.port.id} (${client.remoteAddress}) did not answer a ping: closing`,
          { client: client.port.id, reason: 'heartbeat' });
        ws.terminate();
        continue;
      }
      client.answered = false;
      ws.ping();
    }
  }

  /** The HTTP server's address, as server.address(). */
  address() {
    return this.server.address();
  }

  /** The connected clients: { id, mac, address, ipv6, remoteAddress, in, out, drops }. */
  clients() {
    return [...this._clients.values()].map((client) => ({
      id: client.port.id,
      mac: client.port.mac,
      address: client.port.address,
      ipv6: [...client.port.ipv6].map((key) => ipv6.addressText(Buffer.from(key, 'hex'))),
      remoteAddress: client.remoteAddress,
      in: { ...client.port.in },
      out: { ...client.port.out },
      drops: Object.fromEntries(client.port.drops),
    }));
  }

  /** Closes client `id`'s WebSocket (1008 unless `code` says otherwise). */
  disconnect(id, code = 1008, reason = 'disconnected by the gateway') {
    for (const [ws, client] of this._clients) {
      if (client.port.id === id) {
        ws.close(code, reason);
        return true;
      }
    }
    return false;
  }

  /**
   * Counters: clients, connections ever, frames and bytes in (from clients)
   * and out (to clients), drops and refusals by reason, DHCP leases.
   */
  metrics() {
    return {
      clients: this._clients.size,
      connections: this._connections,
      in: { ...this._switch.in },
      out: { ...this._switch.out },
      drops: Object.fromEntries(this._switch.drops),
      refusals: Object.fromEntries(this._refusals),
      closures: Object.fromEntries(this._closures),
      throttled: { ...this._throttled },
      leases: this.dhcp.leases().length,
      flows: {
        open: this._nat ? this._nat.open : 0,
        total: this._nat ? this._nat.total : 0,
        failures: this._nat ? Object.fromEntries(this._nat.failures) : {},
        udp: {
          open: this._udpNat ? this._udpNat.open : 0,
          total: this._udpNat ? this._udpNat.total : 0,
          dropped: this._udpNat ? Object.fromEntries(this._udpNat.dropped) : {},
        },
      },
    };
  }

  /** Writes every frame through the router's TAP interface to a pcap file. */
  capture(path) {
    return this.router.capture(path);
  }

  /**
   * Closes every client's WebSocket (1001, going away), the HTTP server if
   * the gateway made it, the DHCP and DNS servers and the stack.
   * @returns {Promise<void>}
   */
  close() {
    if (this._closing) return this._closing;
    this._closing = this._shutdown().then(() => this.emit('close'));
    return this._closing;
  }

  async _shutdown() {
    clearInterval(this._heartbeatTimer);
    clearInterval(this._advertTimer);
    for (const timer of this._releases.values()) clearTimeout(timer);
    this._releases.clear();
    const goodbyes = [...this._clients.keys()].map((ws) => new Promise((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) {
        resolve();
        return;
      }
      const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1001, 'gateway shutting down');
    }));
    await Promise.all(goodbyes);
    // Upgrades still being verified end now, rather than keep close() waiting.
    for (const socket of this._pending) socket.destroy();
    this.server.off('request', this._onRequest);
    this.server.off('upgrade', this._onUpgrade);
    this._wss.close();
    if (this._ownServer) {
      await new Promise((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    }
    if (this._nat) await this._nat.close();
    if (this._udpNat) this._udpNat.close();
    this._switch.detach();
    await new Promise((resolve) => this.dhcp.close(resolve));
    if (this.dnsServer) await new Promise((resolve) => this.dnsServer.close(resolve));
    this.stack.destroy();
  }

  // ------------------------------------------------------------------ HTTP

  _request(req, res) {
    let pathname;
    try {
      ({ pathname } = new URL(req.url, 'http://gateway'));
    } catch {
      // A request line no URL parser takes ('GET // HTTP/1.1'): anyone may send one.
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    } else if (pathname === '/healthz') {
      const ok = !this._closing && !this.stack.destroyed;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'closing\n');
    } else if (pathname === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this._prometheus());
    } else {
      res.writeHead(426, { upgrade: 'websocket', 'content-type': 'text/plain' }).end('a WebSocket gateway: connect with ws://\n');
    }
  }

  _prometheus() {
    const m = this.metrics();
    const lines = [];
    const metric = (name, type, help, samples) => {
      lines.push(`# HELP tcpip_gateway_${name} ${help}`, `# TYPE tcpip_gateway_${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`tcpip_gateway_${name}${labels} ${value}`);
    };
    const byReason = (counts) => Object.entries(counts).map(([reason, n]) => [`{reason="${reason}"}`, n]);
    metric('clients', 'gauge', 'Clients connected now.', [['', m.clients]]);
    metric('connections_total', 'counter', 'Clients accepted since start.', [['', m.connections]]);
    metric('leases', 'gauge', 'DHCP leases bound.', [['', m.leases]]);
    metric('frames_total', 'counter', 'Ethernet frames from clients (in) and to them (out).',
      [['{direction="in"}', m.in.frames], ['{direction="out"}', m.out.frames]]);
    metric('bytes_total', 'counter', 'Bytes of those frames.',
      [['{direction="in"}', m.in.bytes], ['{direction="out"}', m.out.bytes]]);
    metric('drops_total', 'counter', 'Frames dropped, by reason.', byReason(m.drops));
    metric('refusals_total', 'counter', 'Connections refused, by reason.', byReason(m.refusals));
    metric('closures_total', 'counter', 'NAT flows the gateway ended, by reason.', byReason(m.closures));
    metric('throttled_total', 'counter', 'Times a client (in) or a flow to one (out) was held to its rate.',
      [['{direction="in"}', m.throttled.in], ['{direction="out"}', m.throttled.out]]);
    metric('flows', 'gauge', 'NAT flows open now.',
      [['{protocol="tcp"}', m.flows.open], ['{protocol="udp"}', m.flows.udp.open]]);
    metric('flows_total', 'counter', 'NAT flows opened since start.',
      [['{protocol="tcp"}', m.flows.total], ['{protocol="udp"}', m.flows.udp.total]]);
    metric('udp_dropped_total', 'counter', 'Datagrams the UDP NAT dropped, by reason.', byReason(m.flows.udp.dropped));
    metric('flow_failures_total', 'counter', 'NAT flows whose host connection failed, by error code.',
      byReason(m.flows.failures));
    return `${lines.join('\n')}\n`;
  }

  // ------------------------------------------------------------- upgrades

  // Every check happens before the handshake completes: a refused client
  // gets an HTTP status, never a WebSocket.
  async _upgrade(req, socket, head) {
    socket.on('error', () => {});
    const remoteAddress = req.socket.remoteAddress;
    if (upgradePath(req) !== this._path) {
      // On a caller's server another 'upgrade' listener may serve that path.
      if (!this._ownServer && this.server.listenerCount('upgrade') > 1) return undefined;
      return this._refuse(socket, 404, 'path', remoteAddress);
    }
    if (this._closing) return this._refuse(socket, 503, 'closing', remoteAddress);
    if (this._origins !== null && !this._origins.includes(req.headers.origin)) {
      return this._refuse(socket, 403, 'origin', remoteAddress);
    }
    if (this._clients.size + this._pending.size >= this._maxClients) {
      return this._refuse(socket, 503, 'max-clients', remoteAddress);
    }
    if (this._tokenDigest !== null) {
      const token = presentedToken(req);
      if (token === null || !crypto.timingSafeEqual(digest(token), this._tokenDigest)) {
        return this._refuse(socket, 401, 'token', remoteAddress);
      }
    }
    if (this._verifyClient !== null) {
      this._pending.add(socket);
      let timer;
      let verdict;
      try {
        verdict = await Promise.race([
          this._verifyClient(req),
          new Promise((resolve) => {
            timer = setTimeout(() => resolve('timeout'), this._verifyTimeout);
            socket.once('close', () => resolve(false));
          }),
        ]);
      } catch {
        verdict = false;
      } finally {
        clearTimeout(timer);
        this._pending.delete(socket);
      }
      if (socket.destroyed) return undefined;
      if (verdict === 'timeout') return this._refuse(socket, 401, 'verify-timeout', remoteAddress);
      if (verdict !== true) return this._refuse(socket, 401, 'verify-client', remoteAddress);
      if (this._closing) return this._refuse(socket, 503, 'closing', remoteAddress);
      if (socket.destroyed) return undefined;
    }
    this._wss.handleUpgrade(req, socket, head, (ws) => this._accept(ws, remoteAddress));
    return undefined;
  }

  _refuse(socket, status, reason, remoteAddress) {
    this._refusals.set(reason, (this._refusals.get(reason) || 0) + 1);
    const key = `${remoteAddress} ${reason}`;
    if (!this._refusalsLogged.has(key) && this._refusalsLogged.size < MAX_REFUSAL_LOGS) {
      this._refusalsLogged.add(key);
      this._log(`refused ${remoteAddress}: ${reason}`, { reason, status, remoteAddress });
    }
    this.emit('refused', { reason, status, remoteAddress });
    const extra = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${extra}Connection: close\r\nContent-Length: 0\r\n\r\n`,
      () => socket.destroy());
    return undefined;
  }

  // ------------------------------------------------------------- clients

  _accept(ws, remoteAddress) {
    this._connections++;
    const sender = new CorkedSender(ws);
    // A frame either way keeps the client from idleness; the router's
    // unsolicited advertisements (_quiet) do not.
    let idle = null;
    const port = this._switch.addPort(this._nextId++, (frame) => {
      if (ws.readyState !== WebSocket.OPEN) return 'port-closed';
      if (ws.bufferedAmount + sender.pendingBytes > this._maxBuffered) return 'backpressure';
      sender.send(frame);
      if (idle !== null && !this._quiet) idle.refresh();
      return null;
    });
    const client = {
      port, remoteAddress, idle: null, resting: false, logged: new Set(), answered: true, paused: false, resume: null,
      // Its rate limits: what it sends (its port paused past the rate), what
      // the NAT brings it (host sockets read no faster).
      up: this._bytesPerSecond === null ? null : new TokenBucket(this._bytesPerSecond),
      down: this._bytesPerSecond === null ? null : new TokenBucket(this._bytesPerSecond),
    };
    ws.on('pong', () => {
      client.answered = true;
    });
    this._clients.set(ws, client);
    this._clientOfPort.set(port, client);
    if (this._idleTimeout > 0) {
      // Idle: no frame either way for idleTimeout, and no NAT flow open (a
      // quiet flow, an SSH session, is tcpIdleTimeout's or udpIdleTimeout's
      // to end). The close is not a refusal: the client comes back when it
      // has something to send.
      idle = setTimeout(() => {
        if (this._flowsOf(client) > 0) {
          idle.refresh();
          return;
        }
        this._log(`client ${port.id} (${remoteAddress}) idle: closing`, { client: port.id, reason: 'idle' });
        client.resting = true;
        ws.close(IDLE_CLOSE_CODE, IDLE_CLOSE_REASON);
      }, this._idleTimeout);
      idle.unref();
      client.idle = idle;
    }
    const batched = batching(ws);
    const onFrame = (frame) => this._switch.input(port, frame);
    ws.on('message', (data, isBinary) => {
      if (client.idle) client.idle.refresh();
      if (client.up !== null && client.up.take(data.length) > 0) this._holdBack(ws, client);
      if (!isBinary) {
        this._switch.drop(port, 'text');
        return;
      }
      if (!batched) this._switch.input(port, data);
      else if (!eachFrame(data, onFrame)) this._switch.drop(port, 'malformed');
    });
    ws.on('error', (error) => this._log(`client ${port.id} (${remoteAddress}): ${error.message}`, { client: port.id, error }));
    ws.on('close', (code, reason) => {
      if (client.idle) clearTimeout(client.idle);
      clearTimeout(client.resume);
      // Its flows go with it: nothing of a gone client stays open on the host.
      if (this._nat) this._nat.dropClient(client);
      if (this._udpNat) this._udpNat.dropClient(client);
      this._switch.removePort(port);
      // A client sent to rest keeps its lease for the lease's time: its DHCP
      // client renews it (a frame, which brings the tunnel back) or it ends.
      if (!client.resting) this._releaseLater(port.mac);
      this._clients.delete(ws);
      this._clientOfPort.delete(port);
      this.emit('disconnect', this._describe(client), { code, reason: reason.toString() });
    });
    this.emit('connection', this._describe(client));
  }

  // A client past its rate: its WebSocket is not read until its bucket is
  // out of debt, so that what it sends waits in its own TCP connection
  // (and its tunnel's buffer) rather than being dropped here.
  _holdBack(ws, client) {
    if (client.paused) return;
    client.paused = true;
    this._throttled.in++;
    ws.pause();
    const check = () => {
      const wait = client.up.wait();
      if (wait > 0) {
        client.resume = setTimeout(check, wait);
        return;
      }
      client.paused = false;
      client.resume = null;
      if (client.idle) client.idle.refresh();
      if (ws.readyState === WebSocket.OPEN) ws.resume();
    };
    client.resume = setTimeout(check, client.up.wait());
  }

  // A flow the gateway ended (tcp-idle, udp-idle): counted, logged once
  // per client and reason.
  _closeFlow(client, reason, destination) {
    this._closures.set(reason, (this._closures.get(reason) || 0) + 1);
    if (client && !client.logged.has(`closed ${reason}`)) {
      client.logged.add(`closed ${reason}`);
      this._log(`client ${client.port.id} (${client.remoteAddress}): closing flows: ${reason} (${endpoint(destination)})`,
        { client: client.port.id, reason, destination });
    }
  }

  // The lease of a gone client's MAC ends after leaseGrace, unless a client
  // with that MAC is back by then: addresses do not stay taken by clients
  // that never return.
  _releaseLater(mac) {
    if (mac === null || this._closing) return;
    clearTimeout(this._releases.get(mac));
    const timer = setTimeout(() => {
      this._releases.delete(mac);
      if (this._closing || this._switch.ports.some((p) => p.mac === mac)) return;
      for (const lease of this.dhcp.leases()) if (lease.mac === mac) this.dhcp.release(lease.address);
    }, this._leaseGrace);
    timer.unref();
    this._releases.set(mac, timer);
  }

  // The NAT flows, TCP and UDP, that `client` has open now.
  _flowsOf(client) {
    return (this._nat ? this._nat.flowsOf(client) : 0) + (this._udpNat ? this._udpNat.flowsOf(client) : 0);
  }

  _describe(client) {
    return { id: client.port.id, remoteAddress: client.remoteAddress, mac: client.port.mac, address: client.port.address };
  }

  // A router solicitation is answered here, the router's stack being a
  // host: an advertisement of the prefix, to the soliciting port only.
  _solicited(port, frame) {
    if (this._router6 === null || !ipv6.isRouterSolicitation(frame)) return false;
    const source = ipv6.sourceOf(frame);
    this._advertise(port, ipv6.isUnspecified(source) ? ipv6.ALL_NODES : Buffer.from(source));
    return true;
  }

  _advertise(port, destination) {
    const mac = (text) => Buffer.from(text.split(':').map((part) => parseInt(part, 16)));
    this._switch.send(port, ipv6.routerAdvertisement({
      toMac: mac(port.mac), routerMac: mac(this.router.macAddress), routerLinkLocal: ipv6.addressBytes(this._router6.linkLocal),
      prefix: this._ipv6Prefix, mtu: this.router.mtu, destination,
    }));
  }

  // The client whose port holds `address` (its lease, or an IPv6 address
  // it sends from), or null.
  _clientOfAddress(address) {
    if (typeof address === 'string' && address.includes(':')) {
      const port = this._switch.portOfIpv6(address);
      return (port && this._clientOfPort.get(port)) || null;
    }
    for (const [port, client] of this._clientOfPort) {
      if (port.address === address) return client;
    }
    return null;
  }

  // A NAT flow or DNS question refused: counted, logged once per (client,
  // reason), and answered (by the NAT: an RST or ICMP unreachable; DNS:
  // REFUSED).
  _refuseFlow(client, reason, destination) {
    this._refusals.set(reason, (this._refusals.get(reason) || 0) + 1);
    const to = endpoint(destination);
    const remoteAddress = client ? client.remoteAddress : null;
    if (client && !client.logged.has(`refused ${reason}`)) {
      client.logged.add(`refused ${reason}`);
      this._log(`client ${client.port.id} (${client.remoteAddress}): refusing: ${reason} (${to})`,
        { client: client.port.id, reason, destination });
    }
    this.emit('refused', { reason, remoteAddress, client: client ? client.port.id : null, destination });
  }

  // Each reason is logged once per client; the counters have the rest.
  _onDrop(port, reason) {
    if (port === null) return;
    const client = this._clientOfPort.get(port);
    if (!client || client.logged.has(reason)) return;
    client.logged.add(reason);
    this._log(`client ${port.id} (${client.remoteAddress}): dropping frames: ${reason}`, { client: port.id, reason });
  }

  // ------------------------------------------------------------------ DNS

  _nodeResolver({ servers, timeout, tries }) {
    const resolver = new nodeDns.promises.Resolver({ timeout: timeout ?? 2000, tries: tries ?? 2 });
    if (servers !== undefined) resolver.setServers(servers);
    return async (name, type) => {
      const method = RESOLVE_METHODS[type];
      if (method === undefined) return { rcode: 'NOTIMP' };
      try {
        if (type === 'ANY') {
          return (await resolver.resolveAny(name)).map(recordOfAnyEntry).filter((record) => record !== null);
        }
        if (type === 'A' || type === 'AAAA') {
          const found = await resolver[method](name, { ttl: true });
          return found.map(({ address, ttl }) => ({ type, data: address, ttl }));
        }
        const found = await resolver[method](name);
        return [].concat(found).map((data) => ({ type, data }));
      } catch (error) {
        if (NO_NAME.has(error.code)) return null;
        if (NO_DATA.has(error.code)) return [];
        return { rcode: 'SERVFAIL' };
      }
    };
  }

  // The DNS server's handler: the upstream's records, null for NXDOMAIN,
  // or { rcode }; what throws is SERVFAIL (the server's own rule).
  async _forward({ name, type, remoteAddress }) {
    const asking = this._dnsInFlight.get(remoteAddress) || 0;
    if (asking >= this._maxDnsInFlight) {
      this._refuseFlow(this._clientOfAddress(remoteAddress), 'dns-in-flight',
        { address: this._plan.router, port: DNS_PORT, protocol: 'dns', name });
      return { rcode: 'REFUSED', authoritative: false };
    }
    this._dnsInFlight.set(remoteAddress, asking + 1);
    let answer;
    try {
      answer = await this._upstream(name, type);
    } finally {
      const left = this._dnsInFlight.get(remoteAddress) - 1;
      if (left === 0) this._dnsInFlight.delete(remoteAddress);
      else this._dnsInFlight.set(remoteAddress, left);
    }
    if (answer === null || answer === undefined) return null;
    if (Array.isArray(answer)) return { answers: answer, authoritative: false };
    return { authoritative: false, ...answer };
  }
}

/**
 * Starts a WebSocket gateway: every WebSocket connection is a port of a
 * virtual Ethernet switch (each binary message one Ethernet frame), behind
 * which a stack routes for the clients, gives them addresses by DHCP and
 * answers their DNS questions from the host's resolver, and re-originates
 * their TCP connections to outside addresses from the host (NAT), within
 * an egress policy that denies private, loopback and the host's own
 * addresses unless `allow` lists them.
 * @param {object} [options] port (0), host ('127.0.0.1') or server (an
 *   http.Server to attach to), path ('/': where upgrades are taken); subnet ('10.0.2.0/24'), router, routerMac, range,
 *   mtu, leaseTime, leaseGrace (60000 ms a gone client's lease outlives
 *   it); token, verifyClient(req), origin, maxClients, idleTimeout
 *   (ms without a frame either way and no NAT flow: closed with 4000
 *   'idle'), heartbeat (ms), maxBufferedBytes; isolate (true); dns ({ servers, timeout, tries }
 *   for the upstream, or resolve(name, type), or false), maxDnsInFlight
 *   (32 questions per client at the upstream, REFUSED past it); nat (true), allow
 *   ([CIDR...]), ports ({ allow, deny }: ports or "from-to" ranges),
 *   maxFlows (256 per client, each of TCP and UDP), connectTimeout (15000
 *   ms), udpIdleTimeout (60000 ms), tcpIdleTimeout (7200000 ms without a
 *   byte either way: the flow is reset both sides; 0 never), bytesPerSecond
 *   (per client and direction, unlimited by default), redirect({ address,
 *   port }) (where the host connects instead, or null: a client's
 *   destination mapped to a host service, as QEMU's user networking maps
 *   10.0.2.2 to the host's loopback; the policy judges the result);
 *   backend, thread;
 *   log(message, details)
 * @returns {Gateway}
 */
function createGateway(options) {
  return new Gateway(options);
}

module.exports = { createGateway, Gateway };
