'use strict';
// Unmodified Node code on a stack: stack.run(fn) and stack.scope() redirect
// what code does with Node's own `net`, `http`, `https`, `tls` and global
// `fetch` to a stack, for as long as the AsyncLocalStorage scope reaches
// (callbacks and promise continuations included); stack.http, stack.https
// and stack.fetch are the same clients bound to one stack without a scope.
//
// The redirection wraps properties of Node's module objects (and of
// http.Agent.prototype and net.Server.prototype), once, on the first
// scope: code that calls
// `net.connect(...)` through the module object sees the wrapper whenever it
// was loaded. Outside every scope a wrapper calls the original with the same
// `this` and arguments, so kernel code behaves as before.
const { AsyncLocalStorage } = require('node:async_hooks');
const net = require('node:net');
const tls = require('node:tls');
const http = require('node:http');
const https = require('node:https');
const errors = require('./errors.js');

const dispose = Symbol.dispose || Symbol.for('nodejs.dispose');

// The stack a pooled http request belongs to, put in the request's options
// by Agent#addRequest in a scope. The agent copies its options (symbols
// included) to every later step: the pool name, createConnection, the
// 'free' handler. Those steps follow the mark, not the scope current then:
// a socket freed (and pooled by name) in whatever context ended the
// response must go back to its own stack's pool.
const kStack = Symbol('tcpip.stack');

const storage = new AsyncLocalStorage();
// A number per stack, to keep pools of stack sockets apart in an agent.
const stackTags = new WeakMap();
let nextTag = 1;

function tagOf(stack) {
  let tag = stackTags.get(stack);
  if (tag === undefined) {
    tag = nextTag++;
    stackTags.set(stack, tag);
  }
  return tag;
}

// What AsyncLocalStorage carries. A scope() is closed by dispose, and then
// stands for its parent wherever its store was copied to (enterWith reaches
// further than the block that called it: see StackScope).
class Scope {
  constructor(stack, parent) {
    this.stack = stack;
    this.parent = parent;
    this.closed = false;
  }
}

/** The stack of the innermost open scope here, or null (the kernel). */
function currentStack() {
  let scope = storage.getStore();
  while (scope && scope.closed) scope = scope.parent;
  return scope ? scope.stack : null;
}

// The stack a connection made by an http agent (or for one) goes through:
// the request's mark; else, for a call that does not come from an agent's
// pool, the scope.
function stackFor(options) {
  if (options !== null && typeof options === 'object') {
    if (options[kStack]) return options[kStack];
    if (options._agentKey !== undefined) return null;
  }
  return currentStack();
}

function assertUsable(stack) {
  if (stack.destroyed) {
    throw errors.simple(Error, 'ERR_TCPIP_STACK_DESTROYED',
      'Cannot run code on a destroyed stack: its scope would have no network');
  }
}

// --- stack sockets under Node's tls ---------------------------------------

// The TCP half of tls.connect() options: what net.connect() takes.
const TCP_OPTIONS = [
  'port', 'host', 'path', 'localAddress', 'localPort', 'family', 'hints', 'lookup', 'noDelay', 'keepAlive',
  'keepAliveInitialDelay', 'autoSelectFamily', 'autoSelectFamilyAttemptTimeout',
];

function tcpOptions(options) {
  const picked = {};
  for (const key of TCP_OPTIONS) {
    if (options[key] !== undefined && options[key] !== null) picked[key] = options[key];
  }
  // As Node's tls.connect().
  if (picked.path === undefined && picked.host === undefined) picked.host = 'localhost';
  return picked;
}

// Node's tls.connect(port[, host][, options][, cb]) | (options[, cb]) as
// [options, cb] (lib/_tls_wrap.js normalizeConnectArgs).
function normalizeTlsArgs(args) {
  const [options, cb] = net._normalizeArgs(args);
  if (args[1] !== null && typeof args[1] === 'object') Object.assign(options, args[1]);
  else if (args[2] !== null && typeof args[2] === 'object') Object.assign(options, args[2]);
  return [options, cb];
}

// --- the wrappers ---------------------------------------------------------

let originals = null;

function named(name, fn) {
  Object.defineProperty(fn, 'name', { value: name, configurable: true });
  return fn;
}

// A kernel descriptor or handle stays with the kernel: Node itself builds
// process.stdout and child processes' pipes with `new net.Socket({ fd })`.
function ownsKernelHandle(options) {
  return options !== null && typeof options === 'object' && (options.fd !== undefined || options.handle !== undefined);
}

function wrapConstructor(Original, name, stackConstructor) {
  const Wrapper = named(name, function (...args) {
    // Subclasses (`class X extends net.Socket`) keep the kernel: their
    // prototype chain is Node's.
    const plain = new.target ? new.target === Wrapper : !(this instanceof Original);
    if (plain && !ownsKernelHandle(args[0])) {
      const stack = currentStack();
      if (stack) return new (stackConstructor(stack))(...args);
    }
    if (new.target) return Reflect.construct(Original, args, new.target === Wrapper ? Original : new.target);
    return Original.apply(this, args);
  });
  Object.setPrototypeOf(Wrapper, Original);
  // `instanceof net.Socket` keeps its meaning for kernel sockets.
  Wrapper.prototype = Original.prototype;
  return Wrapper;
}

// listen(handle) and listen({ fd | handle }) take a kernel socket: the kernel's.
function listensOnKernelHandle(args) {
  const first = args[0];
  return first !== null && typeof first === 'object' && ('fd' in first || 'handle' in first || '_handle' in first);
}

// The stack server under a Node server (http.Server, https.Server,
// tls.Server, a subclass of net.Server) that listen() was called on in a
// scope: its connections are the Node server's 'connection' events, as if
// its own handle had accepted them.
const kInner = Symbol('tcpip.innerServer');
// The stack a server made by stack.http/stack.https.createServer() listens
// on, scope or not.
const kBoundStack = Symbol('tcpip.boundStack');

function listenOnStack(server, stack, args) {
  const options = {
    // Under Node's TLS (tls.Server, https.Server) a stack socket must stay
    // half-open: the TLS socket decides when to end, as over a kernel handle.
    allowHalfOpen: server instanceof tls.Server ? true : Boolean(server.allowHalfOpen),
    pauseOnConnect: Boolean(server.pauseOnConnect),
  };
  for (const key of ['noDelay', 'keepAlive', 'keepAliveInitialDelay', 'highWaterMark']) {
    if (server[key] !== undefined) options[key] = server[key];
  }
  const inner = stack.net.createServer(options);
  server[kInner] = inner;
  inner.on('connection', (socket) => server.emit('connection', socket));
  inner.on('listening', () => server.emit('listening'));
  inner.on('error', (err) => server.emit('error', err));
  inner.on('close', () => server.emit('close'));
  const last = args[args.length - 1];
  if (typeof last === 'function') {
    server.once('listening', last);
    args = args.slice(0, -1);
  }
  inner.listen(...args);
  return server;
}

function install() {
  if (originals) return;
  originals = {
    net: {
      connect: net.connect, createConnection: net.createConnection, createServer: net.createServer,
      Socket: net.Socket, Stream: net.Stream, Server: net.Server,
    },
    tls: { connect: tls.connect },
    agent: {
      addRequest: http.Agent.prototype.addRequest,
      getName: http.Agent.prototype.getName,
      createConnection: http.Agent.prototype.createConnection,
    },
    fetch: globalThis.fetch,
    serverProto: {
      listen: net.Server.prototype.listen,
      close: net.Server.prototype.close,
      address: net.Server.prototype.address,
      ref: net.Server.prototype.ref,
      unref: net.Server.prototype.unref,
      getConnections: net.Server.prototype.getConnections,
    },
    listening: Object.getOwnPropertyDescriptor(net.Server.prototype, 'listening'),
  };
  const o = originals;
  const netConnect = (name, original) => named(name, function (...args) {
    const stack = currentStack();
    if (!stack || ownsKernelHandle(args[0])) return original.apply(this, args);
    return stack.net.connect(...args);
  });
  const SocketWrapper = wrapConstructor(o.net.Socket, 'Socket', (stack) => stack.net.Socket);
  const patched = {
    net: {
      connect: netConnect('connect', o.net.connect),
      createConnection: netConnect('createConnection', o.net.createConnection),
      createServer: named('createServer', function (...args) {
        const stack = currentStack();
        return stack ? stack.net.createServer(...args) : o.net.createServer.apply(this, args);
      }),
      Socket: SocketWrapper,
      Stream: o.net.Stream === o.net.Socket ? SocketWrapper : o.net.Stream,
      Server: wrapConstructor(o.net.Server, 'Server', (stack) => stack.net.Server),
    },
    tls: {
      connect: named('connect', function (...args) {
        // Outside scopes, Node's own, arguments untouched (an https agent's
        // call made out of a scope still carries its request's mark).
        const first = args[0];
        const marked = first !== null && typeof first === 'object' && Boolean(first[kStack]);
        if (!marked && !currentStack()) return o.tls.connect.apply(this, args);
        const [options, cb] = normalizeTlsArgs(args);
        const stack = options.socket ? null : stackFor(options);
        if (!stack) return o.tls.connect.apply(this, args);
        return connectTls(stack, options, cb);
      }),
    },
    agent: {
      addRequest: named('addRequest', function (req, options, ...rest) {
        const stack = currentStack();
        if (stack && options !== null && typeof options === 'object' && !options[kStack]) {
          options = { ...options, [kStack]: stack };
        }
        return o.agent.addRequest.call(this, req, options, ...rest);
      }),
      // Stack sockets pool apart from kernel ones and from other stacks'.
      getName: named('getName', function (options, ...rest) {
        const name = o.agent.getName.call(this, options, ...rest);
        const stack = options && options[kStack];
        return stack ? `${name}:tcpip-${tagOf(stack)}` : name;
      }),
      // https.Agent's own createConnection calls tls.connect(), whose
      // wrapper follows the same mark.
      createConnection: named('createConnection', function (...args) {
        const stack = stackFor(args[0]);
        return stack ? stack.net.createConnection(...args) : o.agent.createConnection.apply(this, args);
      }),
    },
  };
  // Node's servers (http, https, tls, and subclasses of net.Server) listen
  // on the stack in a scope; one that did answers from its stack server.
  const sp = o.serverProto;
  patched.serverProto = {
    listen: named('listen', function (...args) {
      const inner = this[kInner];
      if (inner && inner.listening) {
        inner.listen(...args); // throws ERR_SERVER_ALREADY_LISTEN, as Node's
        return this;
      }
      const stack = this[kBoundStack] || currentStack();
      if (!stack || listensOnKernelHandle(args)) {
        if (inner) this[kInner] = null;
        return sp.listen.apply(this, args);
      }
      return listenOnStack(this, stack, args);
    }),
    close: named('close', function (...args) {
      const inner = this[kInner];
      if (!inner) return sp.close.apply(this, args);
      inner.close(...args);
      return this;
    }),
    address: named('address', function (...args) {
      return this[kInner] ? this[kInner].address() : sp.address.apply(this, args);
    }),
    ref: named('ref', function (...args) {
      if (!this[kInner]) return sp.ref.apply(this, args);
      this[kInner].ref();
      return this;
    }),
    unref: named('unref', function (...args) {
      if (!this[kInner]) return sp.unref.apply(this, args);
      this[kInner].unref();
      return this;
    }),
    getConnections: named('getConnections', function (...args) {
      if (!this[kInner]) return sp.getConnections.apply(this, args);
      this[kInner].getConnections(...args);
      return this;
    }),
  };
  const listeningGetter = o.listening.get;
  patched.listening = {
    ...o.listening,
    get: named('get listening', function () {
      return this[kInner] ? this[kInner].listening : listeningGetter.call(this);
    }),
  };
  if (typeof o.fetch === 'function') {
    patched.fetch = named('fetch', function (input, init) {
      const stack = currentStack();
      if (!stack || (init && init.dispatcher)) return o.fetch.call(this, input, init);
      let dispatcher;
      try {
        dispatcher = dispatcherOf(stack);
      } catch (err) {
        return Promise.reject(err);
      }
      return o.fetch.call(this, input, { ...init, dispatcher });
    });
  }
  apply(net, patched.net);
  apply(tls, patched.tls);
  apply(http.Agent.prototype, patched.agent);
  apply(net.Server.prototype, patched.serverProto);
  Object.defineProperty(net.Server.prototype, 'listening', patched.listening);
  if (patched.fetch) globalThis.fetch = patched.fetch;
  originals.patched = patched;
}

function apply(target, values) {
  for (const [key, value] of Object.entries(values)) target[key] = value;
}

// Puts back what install() replaced, where it is still ours.
function restore(target, patched, original) {
  for (const [key, value] of Object.entries(patched)) {
    if (target[key] === value) target[key] = original[key];
  }
}

/**
 * Takes the wrappers off Node's modules again (where nobody replaced them
 * since). Scopes still running after this run on the kernel.
 */
function uninstall() {
  if (!originals) return;
  const { patched } = originals;
  restore(net, patched.net, originals.net);
  restore(tls, patched.tls, originals.tls);
  restore(http.Agent.prototype, patched.agent, originals.agent);
  const serverProto = originals.net.Server.prototype;
  restore(serverProto, patched.serverProto, originals.serverProto);
  if (Object.getOwnPropertyDescriptor(serverProto, 'listening').get === patched.listening.get) {
    Object.defineProperty(serverProto, 'listening', originals.listening);
  }
  if (patched.fetch && globalThis.fetch === patched.fetch) globalThis.fetch = originals.fetch;
  originals = null;
}

function isInstalled() {
  return originals !== null;
}

// The untouched Node functions, whether or not the wrappers are in.
function original(path) {
  const [moduleName, key] = path.split('.');
  if (originals) return originals[moduleName][key];
  return { net, tls, fetch: { fetch: globalThis.fetch } }[moduleName][key];
}

// tls.connect(options, cb) over a new socket of `stack`; Node's TLS takes
// any duplex as options.socket, checks the certificate against
// options.servername || options.host as for its own sockets, passes the
// duplex's errors (ECONNREFUSED) on and destroys it with the TLS socket.
function connectTls(stack, options, cb) {
  const socket = stack.net.connect(tcpOptions(options));
  return original('tls.connect')({ ...options, socket }, cb);
}

// --- scopes ---------------------------------------------------------------

/**
 * stack.run(fn, ...args): fn(...args) in a scope on `stack`; returns what fn
 * returns (its promise too). The scope follows everything fn starts.
 */
function run(stack, fn, args) {
  if (typeof fn !== 'function') throw errors.invalidArgType('fn', 'function', fn);
  assertUsable(stack);
  install();
  return storage.run(new Scope(stack, storage.getStore()), fn, ...args);
}

/**
 * A scope entered for the rest of the current synchronous code and what it
 * starts (AsyncLocalStorage#enterWith), until disposed.
 */
class StackScope {
  constructor(stack) {
    assertUsable(stack);
    install();
    this._previous = storage.getStore();
    this._scope = new Scope(stack, this._previous);
    storage.enterWith(this._scope);
  }

  /** The scope's stack. */
  get stack() {
    return this._scope.stack;
  }

  /** Whether dispose() has ended the scope. */
  get closed() {
    return this._scope.closed;
  }

  /**
   * Ends the scope: here, and wherever its context was copied (a timer or
   * promise started in it), code falls back to the enclosing scope, or the
   * kernel.
   */
  [dispose]() {
    if (this._scope.closed) return;
    this._scope.closed = true;
    if (storage.getStore() === this._scope) storage.enterWith(this._previous);
  }

  /** The same as [Symbol.dispose](), for code without `using`. */
  close() {
    this[dispose]();
  }
}

// --- clients bound to one stack -------------------------------------------

let undici = null;

// An undici connector: plain TCP or TLS (options.tls) over `stack`.
function stackConnector(stack, tlsOptions) {
  return function connect(opts, callback) {
    const { hostname, protocol, port, servername, localAddress, httpSocket } = opts;
    const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    const secure = protocol === 'https:';
    const portNumber = Number(port) || (secure ? 443 : 80);
    let socket;
    try {
      if (!secure) {
        socket = stack.net.connect({ host, port: portNumber, localAddress: localAddress || undefined });
      } else {
        const options = {
          ...tlsOptions,
          host,
          port: portNumber,
          servername: servername || tlsOptions.servername || (net.isIP(host) ? undefined : host),
          localAddress: localAddress || undefined,
          ALPNProtocols: ['http/1.1'],
        };
        // Through a proxy's CONNECT tunnel, TLS goes over the tunnel.
        socket = httpSocket ? original('tls.connect')({ ...options, socket: httpSocket }) : connectTls(stack, options);
      }
    } catch (err) {
      callback(err);
      return;
    }
    socket.setNoDelay(true);
    const onError = (err) => {
      socket.removeListener(secure ? 'secureConnect' : 'connect', onConnect);
      callback(err);
    };
    const onConnect = () => {
      socket.removeListener('error', onError);
      callback(null, socket);
    };
    socket.once('error', onError);
    socket.once(secure ? 'secureConnect' : 'connect', onConnect);
  };
}

/**
 * An undici Agent whose connections go through `stack`: for fetch's
 * `dispatcher` option, or undici's own request().
 * @param {object} stack
 * @param {object} [options] undici Agent options; `connect` holds TLS
 *   options (ca, rejectUnauthorized, ...), not a function
 */
function createDispatcher(stack, options = {}) {
  assertUsable(stack);
  if (options === null || typeof options !== 'object') throw errors.invalidArgType('options', 'Object', options);
  if (options.connect !== undefined && (options.connect === null || typeof options.connect !== 'object')) {
    throw errors.invalidArgType('options.connect', 'Object', options.connect);
  }
  if (!undici) undici = require('undici');
  const dispatcher = new undici.Agent({ ...options, connect: stackConnector(stack, options.connect || {}) });
  bindings(stack).dispatchers.add(dispatcher);
  return dispatcher;
}

function dispatcherOf(stack) {
  const bound = bindings(stack);
  if (!bound.dispatcher) bound.dispatcher = createDispatcher(stack);
  return bound.dispatcher;
}

// What a stack's bound clients hold, released by stack.destroy().
function bindings(stack) {
  if (!stack._clients) stack._clients = { dispatcher: null, dispatchers: new Set(), agents: new Set() };
  return stack._clients;
}

function destroyBindings(stack) {
  const bound = stack._clients;
  if (!bound) return;
  stack._clients = null;
  for (const agent of bound.agents) agent.destroy();
  for (const dispatcher of bound.dispatchers) dispatcher.destroy().catch(() => {});
}

/**
 * stack.fetch: the global fetch (Response, Headers and all) with its
 * connections on `stack`. A `dispatcher` in init wins.
 */
function createFetch(stack) {
  return function fetch(input, init) {
    const fetchImpl = original('fetch.fetch') || (undici || (undici = require('undici'))).fetch;
    if (init && init.dispatcher) return fetchImpl(input, init);
    // As fetch: every failure is a rejection (a destroyed stack's too).
    let dispatcher;
    try {
      dispatcher = dispatcherOf(stack);
    } catch (err) {
      return Promise.reject(err);
    }
    return fetchImpl(input, { ...init, dispatcher });
  };
}

// The request options in http.request(url[, options][, cb]) | (options[, cb])
// with an agent of this stack unless the caller chose one (or a
// createConnection); `agent: false` is a fresh agent of this stack, as it
// is a fresh default agent in Node.
function withAgent(args, Agent, globalAgent) {
  const pick = (options) => {
    if (typeof options.createConnection === 'function') return options;
    if (options.agent === undefined || options.agent === null) return { ...options, agent: globalAgent };
    if (options.agent === false) return { ...options, agent: new Agent() };
    return options;
  };
  const [first, second] = args;
  if (typeof first === 'string' || first instanceof URL) {
    if (second !== null && typeof second === 'object') return [first, pick(second), ...args.slice(2)];
    return [first, pick({}), ...args.slice(1)];
  }
  if (first !== null && typeof first === 'object') return [pick(first), ...args.slice(1)];
  return args;
}

// stack.http / stack.https (`which`): Node's module with request(), get(),
// Agent, globalAgent and createServer() bound to `stack`.
function createHttpModule(stack, which) {
  const secure = which === 'https';
  const base = secure ? https : http;
  const BaseAgent = base.Agent;
  class Agent extends BaseAgent {
    createConnection(...args) {
      if (!secure) return stack.net.createConnection(...args);
      // https.Agent#createConnection(options) | (port, host, options)
      // caches TLS sessions; it gets the TCP half as options.socket.
      const [first, host, third] = args;
      let options = first !== null && typeof first === 'object' ? first : third;
      options = { ...options };
      if (typeof first === 'number') options.port = first;
      if (typeof host === 'string') options.host = host;
      const socket = stack.net.connect(tcpOptions(options));
      return super.createConnection({ ...options, socket });
    }
  }
  Object.defineProperty(Agent, 'name', { value: 'Agent' });
  // Node's default agents' options.
  const globalAgent = new Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });
  bindings(stack).agents.add(globalAgent);
  const request = (...args) => base.request(...withAgent(args, Agent, globalAgent));
  const get = (...args) => {
    const req = request(...args);
    req.end();
    return req;
  };
  // Node's server, listening on the stack (through the listen() wrapper).
  const createServer = (...args) => {
    install();
    const server = base.createServer(...args);
    server[kBoundStack] = stack;
    return server;
  };
  return {
    createServer,
    METHODS: base.METHODS || http.METHODS,
    STATUS_CODES: base.STATUS_CODES || http.STATUS_CODES,
    Agent,
    globalAgent,
    request,
    get,
    stack,
  };
}

module.exports = {
  run,
  StackScope,
  currentStack,
  install,
  uninstall,
  isInstalled,
  createDispatcher,
  createFetch,
  createHttpModule,
  destroyBindings,
};
