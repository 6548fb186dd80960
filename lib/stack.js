'use strict';
// A Stack: one isolated lwIP instance (its own worker thread with the
// native backend), its interfaces, and Node's `net` API over it.
const errors = require('./errors.js');
const { EVENTS, createBackend } = require('./backend/index.js');
const { createNet } = require('./net/index.js');
const { createDgram } = require('./dgram/socket.js');
const { createDns } = require('./dns/index.js');
const { ping } = require('./ping.js');
const { DhcpServer } = require('./dhcp/server.js');
const { refuseAccepted } = require('./net/handle.js');
const { ListenPorts, canonicalAddress } = require('./net/ports.js');
const { nextTick, isIP, asyncContext } = require('./platform/node.js');
const { validateObject, validateLookup } = require('./validators.js');
const {
  LoopbackInterface, TunInterface, TapInterface, BridgeInterface,
} = require('./interfaces.js');

const ID_LIMIT = 0x7fffffff;
// Stacks with open servers or sockets, referenced or not: alive whether or
// not anyone holds them, as Node keeps open handles. (A wasm stack with
// nothing open and no holder is garbage; see lib/backend/wasm.js.)
const stacksWithOpenHandles = new Set();
const { LIMITS: { MAX_INTERFACES, UDP_DATAGRAM_OVERHEAD } } = require('./backend/contract.js');

// The events that belong to an interface, and the method each goes to.
const INTERFACE_HANDLERS = {
  [EVENTS.PACKET]: '_onPacket', [EVENTS.LEASE]: '_onLease', [EVENTS.ADDRESS]: '_onAddress', [EVENTS.STATS]: '_onStats',
};

// Loaded on first use: Node-only (AsyncLocalStorage, http, undici).
function scopes() {
  return require('./scope.js');
}

function isLocalhost(hostname) {
  if (typeof hostname !== 'string') return false;
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

// options.hosts: name -> one address or a list, as Map(lower-case name ->
// [{ address, family }]).
function checkHosts(hosts) {
  const map = new Map();
  if (hosts === undefined) return map;
  validateObject(hosts, 'options.hosts');
  for (const [name, value] of Object.entries(hosts)) {
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0) throw errors.invalidArgValue(`options.hosts.${name}`, value, 'must name an address');
    map.set(name.toLowerCase(), list.map((address) => {
      const family = typeof address === 'string' ? isIP(address) : 0;
      if (!family) throw errors.invalidArgValue(`options.hosts.${name}`, address, 'must be an IP address');
      return { address, family };
    }));
  }
  return map;
}

class Stack {
  /**
   * @param {{ backend?: 'native' | 'wasm', thread?: 'worker' | 'js',
   *   dns?: { servers?: string[], timeout?: number, tries?: number },
   *   hosts?: { [name: string]: string | string[] } }} [options] without a backend:
   *   TCPIP_BACKEND from the environment, else native, else wasm; `thread`
   *   (native only): where the core runs, its own worker thread or this JS
   *   thread, by default TCPIP_NATIVE_THREAD from the environment, else 'js'
   *   ('worker' where the JS thread cannot hold several stacks: off Linux);
   *   `dns`: the name servers stack.dns and every name this stack's sockets
   *   connect to go through, with dns.Resolver's timeout and tries;
   *   `hosts`: static names, as /etc/hosts: lookups answer them off the network
   */
  constructor(options = {}) {
    validateObject(options, 'options');
    const dnsOptions = options.dns === undefined ? {} : options.dns;
    validateObject(dnsOptions, 'options.dns');
    this._handles = new Map();
    this._contexts = new Map(); // handle id -> the async context it was opened in
    this._refed = new Set();
    this._nextId = 1;
    this._dnsFromOptions = Array.isArray(dnsOptions.servers) && dnsOptions.servers.length > 0;
    this._hosts = checkHosts(options.hosts);
    this._interfaces = new Map(); // by id, in creation order; ids shared with sockets
    this._captures = new Map(); // interface id -> running or closing Capture
    this._listenPorts = new ListenPorts();
    this._pings = new Map(); // ICMP identifier -> running ping
    this._nextPingIdentifier = 1;
    this.destroyed = false;
    this._clients = null; // stack.http/https/fetch agents (lib/scope.js)
    this._http = null;
    this._https = null;
    this._fetch = null;
    const { name, thread, backend } = createBackend(options.backend,
      (type, id, a, b, c, d, e) => this._dispatch(type, id, a, b, c, d, e), options.thread);
    this._backend = backend;
    this._backendName = name;
    this._thread = thread;
    this.net = createNet(this);
    this.dgram = createDgram(this);
    this.dns = createDns({
      dgram: this.dgram,
      net: this.net,
      servers: dnsOptions.servers,
      timeout: dnsOptions.timeout,
      tries: dnsOptions.tries,
      lookupLocal: (hostname, lookupOptions, callback) => this._lookupLocal(hostname, lookupOptions, callback),
      isHost: (hostname) => this._hosts.has(hostname.toLowerCase()),
    });
  }

  /**
   * Sends ICMP echo requests to `host` (IPv4 or IPv6, or a name the stack
   * resolves) and resolves with one result per probe: `{ sequence, address,
   * bytes, time }` (ms) for a reply, `{ sequence, time: null, error }` for a
   * probe lost (ETIMEDOUT) or that could not leave.
   * @param {string} host
   * @param {{ count?: number, timeout?: number, size?: number, interval?: number }} [options]
   *   count 1, timeout 1000 ms, size 56 bytes, interval 1000 ms by default
   */
  ping(host, options) {
    return ping(this, host, options);
  }

  /** The engine this stack runs on: 'native' (a worker thread) or 'wasm' (this thread). */
  get backend() {
    return this._backendName;
  }

  /** Where the stack's core runs: 'worker' (a native stack's own thread) or 'js' (this thread). */
  get thread() {
    return this._thread;
  }

  /**
   * @param {{ ipAddress: string | string[], mtu?: number }} options
   */
  createLoopbackInterface(options) {
    return this._addInterface(LoopbackInterface, options);
  }

  /**
   * An L3 interface: the stack's IP packets come out as 'packet' events (and
   * on `.readable`); send() injects packets.
   * @param {{ ipAddress: string | string[], mtu?: number, gateway?: string, defaultRoute?: boolean }} options
   */
  createTunInterface(options) {
    return this._addInterface(TunInterface, options);
  }

  /**
   * An L2 interface: Ethernet frames with ARP and IPv6 neighbour discovery.
   * @param {{ ipAddress: string | string[], macAddress?: string, mtu?: number, gateway?: string, defaultRoute?: boolean }} options
   */
  createTapInterface(options) {
    return this._addInterface(TapInterface, options);
  }

  /**
   * An L2 switch over TAP interfaces of this stack (`ports`), with an
   * Ethernet interface and addresses of its own, as Linux's br0.
   * @param {{ ports: import('./interfaces.js').TapInterface[], ipAddress?: string | string[], macAddress?: string, mtu?: number }} options
   */
  createBridgeInterface(options) {
    return this._addInterface(BridgeInterface, options);
  }

  /**
   * A DHCP server for the hosts on `iface` (a TAP or bridge interface of
   * this stack with an IPv4 address), answering there alone.
   * @param {import('./interfaces.js').Interface} iface
   * @param {{ range: [string, string], router?: string, dns?: string[], leaseTime?: number, domain?: string }} options
   * @returns {import('./dhcp/server.js').DhcpServer}
   */
  createDhcpServer(iface, options) {
    this._assertAlive();
    return new DhcpServer(this, iface, options);
  }

  _addInterface(Kind, options) {
    this._assertAlive();
    if (this._interfaces.size >= MAX_INTERFACES) {
      throw errors.simple(Error, 'ERR_TCPIP_TOO_MANY_INTERFACES', `A stack has at most ${MAX_INTERFACES} interfaces`);
    }
    const iface = new Kind(this, options);
    this._interfaces.set(iface._id, iface);
    return iface;
  }

  // A DHCP lease's name servers serve stack.dns (and each Resolver made
  // after it), unless the stack was given its own.
  _onDhcpLease(iface, lease) {
    if (!this._dnsFromOptions && lease.dns.length > 0) this.dns.setSystemServers(lease.dns);
  }

  _forgetInterface(iface) {
    this._interfaces.delete(iface._id);
  }

  /** The interfaces in creation order. */
  get interfaces() {
    return [...this._interfaces.values()];
  }

  // Name resolution, as dns.lookup(hostname, options, callback) with an
  // options object: the same validation (thrown), the answer on a later
  // tick. IP addresses and `localhost` are answered here; other names go to
  // the stack's name servers (stack.dns), and without any fail as unknown
  // (a `lookup` option still wins, as in Node).
  _lookup(hostname, options, callback) {
    if (isIP(hostname) || isLocalhost(hostname) || this._hosts.has(String(hostname).toLowerCase()) ||
      this.dns.getServers().length === 0) {
      this._lookupLocal(hostname, options, callback);
      return;
    }
    this.dns.lookup(hostname, options, callback);
  }

  // `localhost` (and names under it) is this stack's loopback addresses, in
  // the order the interfaces have them.
  _lookupLocal(hostname, options, callback) {
    const { family, all } = validateLookup(hostname, options);
    const answer = (err, addresses) => {
      if (err) callback(err);
      else if (all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    };
    const addressType = isIP(hostname);
    if (addressType) {
      nextTick(answer, null, [{ address: hostname, family: addressType }]);
      return;
    }
    nextTick(() => {
      const addresses = [];
      for (const a of this._hosts.get(hostname.toLowerCase()) || []) {
        if (!family || a.family === family) addresses.push({ ...a });
      }
      if (isLocalhost(hostname) && addresses.length === 0) {
        for (const iface of this._interfaces.values()) {
          if (iface.type !== 'loopback') continue;
          for (const a of iface._addresses) {
            if (!family || a.family === family) addresses.push({ address: a.address, family: a.family });
          }
        }
      }
      if (addresses.length === 0) answer(errors.notFound(hostname));
      else answer(null, addresses);
    });
  }

  // Whether `address` (canonical, as ports.js makes it) is one of the
  // interfaces' own: a listener can bind only those, or a wildcard.
  _isLocalAddress(address, family) {
    return this._interfaceWithAddress(address, family) !== null;
  }

  // The interface that has `address` (canonical) as its own, or null.
  _interfaceWithAddress(address, family) {
    for (const iface of this._interfaces.values()) {
      if (iface._addresses.some((a) => a.family === family && canonicalAddress(a.address, family) === address)) return iface;
    }
    return null;
  }

  _assertAlive() {
    if (this.destroyed) throw errors.simple(Error, 'ERR_TCPIP_STACK_DESTROYED', 'The stack has been destroyed');
  }

  _allocateId() {
    for (;;) {
      const id = this._nextId;
      this._nextId = id >= ID_LIMIT ? 1 : id + 1;
      if (!this._handles.has(id) && !this._interfaces.has(id) && !this._captures.has(id)) return id;
    }
  }

  _register(id, handle) {
    this._handles.set(id, handle);
    const context = asyncContext();
    if (context) this._contexts.set(id, context);
    stacksWithOpenHandles.add(this);
  }

  _unregister(id) {
    const context = this._contexts.get(id);
    if (context) {
      this._contexts.delete(id);
      context.emitDestroy();
    }
    if (this._handles.delete(id) && this._handles.size === 0) stacksWithOpenHandles.delete(this);
  }

  // The process stays alive while any referenced server or socket is open.
  _refHandle(handle) {
    if (this.destroyed || !handle._refed || this._refed.has(handle)) return;
    this._refed.add(handle);
    if (this._refed.size === 1) this._backend.ref();
  }

  _unrefHandle(handle) {
    if (!this._refed.delete(handle)) return;
    if (this._refed.size === 0 && !this.destroyed) this._backend.unref();
  }

  // A handle's events run in the async context it was opened in (an
  // accepted connection's in its listener's), as a Node handle's callbacks
  // do: AsyncLocalStorage stores (stack.run's scope among them) reach the
  // 'data', 'connect', 'connection' ... listeners of the code that made it.
  _dispatch(type, id, a, b, c, d, e) {
    const context = this._contexts.get(type === EVENTS.ACCEPTED ? a : id);
    if (context === undefined) {
      this._dispatchEvent(type, id, a, b, c, d, e);
      return;
    }
    context.runInAsyncScope(this._dispatchEvent, this, type, id, a, b, c, d, e);
  }

  _dispatchEvent(type, id, a, b, c, d, e) {
    const handle = this._handles.get(id);
    switch (type) {
      case EVENTS.DATA:
        if (handle) handle._onData(a);
        break;
      case EVENTS.WRITTEN:
        if (handle) handle._onWritten(a);
        break;
      case EVENTS.ACCEPTED: {
        const listener = this._handles.get(a);
        if (listener) listener._onAccepted(id, { address: b, port: c }, { address: d, port: e });
        else refuseAccepted(this, id);
        break;
      }
      case EVENTS.CONNECTED:
        if (handle) handle._onConnected({ address: a, port: b }, { address: c, port: d });
        break;
      case EVENTS.LISTENING:
        if (handle) handle._onListening({ address: a, port: b });
        break;
      case EVENTS.BOUND:
        if (handle) handle._onBound({ address: a, port: b });
        break;
      case EVENTS.DATAGRAM:
        if (handle) handle._onDatagram(a, b, c);
        else this._backend.udpConsumed(id, a.length + UDP_DATAGRAM_OVERHEAD);
        break;
      case EVENTS.DONE:
        if (handle) handle._onDone(a, b, c);
        break;
      case EVENTS.ECHO_REPLY: {
        const running = this._pings.get(id);
        if (running) running._onReply(a, b, c, d);
        break;
      }
      case EVENTS.EOF:
        if (handle) handle._onEof();
        break;
      case EVENTS.SHUTDOWN:
        if (handle) handle._onShutdown();
        break;
      case EVENTS.ERROR: {
        if (handle) {
          handle._onError(a);
          break;
        }
        const iface = this._interfaces.get(id);
        if (iface) iface._onError(a);
        break;
      }
      case EVENTS.PACKET:
      case EVENTS.LEASE:
      case EVENTS.ADDRESS:
      case EVENTS.STATS: {
        const iface = this._interfaces.get(id);
        if (iface) iface[INTERFACE_HANDLERS[type]](a);
        break;
      }
      case EVENTS.CAPTURE_CLOSED:
        this._settleCapture(id, a);
        break;
      default:
        break;
    }
  }

  /**
   * Runs fn(...args) so that Node's own `net`, `http`, `https`, `tls` and
   * global `fetch`, used by fn and everything it starts (callbacks, promise
   * continuations), go through this stack; returns what fn returns.
   * @template T
   * @param {(...args: any[]) => T} fn
   * @param {...any} args
   * @returns {T}
   */
  run(fn, ...args) {
    return scopes().run(this, fn, args);
  }

  /**
   * The same redirection as run(), entered for the rest of the current
   * function and what it starts, until the returned scope is disposed
   * (`using scope = stack.scope()`).
   */
  scope() {
    const { StackScope } = scopes();
    return new StackScope(this);
  }

  /** Node's `http` (request, get, Agent, globalAgent, createServer) over this stack. */
  get http() {
    if (!this._http) {
      this._assertAlive();
      this._http = scopes().createHttpModule(this, 'http');
    }
    return this._http;
  }

  /** Node's `https` (request, get, Agent, globalAgent, createServer) over this stack. */
  get https() {
    if (!this._https) {
      this._assertAlive();
      this._https = scopes().createHttpModule(this, 'https');
    }
    return this._https;
  }

  /** The global fetch() with its connections on this stack. */
  get fetch() {
    if (!this._fetch) this._fetch = scopes().createFetch(this);
    return this._fetch;
  }

  /**
   * An undici Agent whose connections go through this stack, for fetch's
   * `dispatcher` option; `options.connect` holds TLS options (ca, ...).
   * @param {object} [options]
   */
  createDispatcher(options) {
    return scopes().createDispatcher(this, options);
  }

  /**
   * Ends every socket and server, stops the worker and frees the engine.
   * Sockets with data still in flight end with an ECONNABORTED error.
   */
  destroy() {
    if (this.destroyed) return;
    if (this._clients) scopes().destroyBindings(this);
    for (const handle of new Set([...this._handles.values(), ...this._refed])) handle._onStackDestroy();
    for (const iface of [...this._interfaces.values()]) iface._onStackDestroy();
    for (const running of [...this._pings.values()]) running._onStackDestroy();
    this.dns.cancelAll();
    this.destroyed = true;
    this._handles.clear();
    for (const context of this._contexts.values()) context.emitDestroy();
    this._contexts.clear();
    stacksWithOpenHandles.delete(this);
    this._refed.clear();
    this._backend.destroy();
    // Both engines complete their capture files as they stop.
    for (const id of [...this._captures.keys()]) this._settleCapture(id, true);
  }

  // A capture's file is complete (CAPTURE_CLOSED), whether or not its
  // interface is still there.
  _settleCapture(id, ok) {
    const capture = this._captures.get(id);
    if (!capture) return;
    this._captures.delete(id);
    capture._onClosed(ok);
  }
}

module.exports = { Stack };
