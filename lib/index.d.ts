// Type declarations for tcpip: a user-space TCP/IP stack with Node's `net` API.
import type * as nodeNet from 'node:net';
import type * as nodeDns from 'node:dns';
import type * as nodeDgram from 'node:dgram';
import type { Duplex } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { ReadableStream, WritableStream } from 'node:stream/web';
import type * as nodeHttp from 'node:http';
import type * as nodeHttps from 'node:https';
import type { Agent as UndiciAgent } from 'undici';

/** A probe of stack.ping() that was answered: who answered, the payload's bytes, the round trip in ms. */
export interface PingReply {
  sequence: number;
  address: string;
  bytes: number;
  time: number;
}

/** A probe of stack.ping() that was lost (ETIMEDOUT) or could not leave (ENETUNREACH, ...). */
export interface PingLoss {
  sequence: number;
  time: null;
  error: NodeJS.ErrnoException;
}

/** Node's `dgram` module over one stack. */
export interface StackDgram {
  createSocket(type: 'udp4' | 'udp6' | nodeDgram.SocketOptions,
    callback?: (msg: Buffer, rinfo: nodeDgram.RemoteInfo) => void): StackDgramSocket;
  Socket: typeof nodeDgram.Socket;
  readonly stack: Stack;
}

/** A stack's dgram socket: Node's, plus what only a stack offers. */
export interface StackDgramSocket extends nodeDgram.Socket {
  /**
   * Receives and sends through `iface` only (as SO_BINDTODEVICE),
   * broadcasts included; null undoes it. The socket must be bound.
   */
  bindToInterface(iface: Interface | null): void;
}

export interface StackOptions {
  /**
   * Name servers for stack.dns, and for every name this stack's sockets
   * connect to (`localhost` and addresses never leave the stack).
   */
  dns?: { servers?: string[]; timeout?: number; tries?: number };
  /**
   * Static names, as /etc/hosts: lookups (stack.dns.lookup, and every name
   * the stack's sockets connect to) answer them off the network, before any
   * name server; resolve*() still asks the servers.
   */
  hosts?: { [name: string]: string | string[] };
  /**
   * The engine behind the stack: 'native' (the Node-API addon, on this
   * thread or a worker thread of its own: see `thread`) or 'wasm' (the same
   * core in WebAssembly, on this thread). By default TCPIP_BACKEND from the environment, else native, else
   * wasm (with a warning in Node).
   */
  backend?: 'native' | 'wasm';
  /**
   * Where a native stack's core runs: 'js' (this JS thread, as the wasm
   * engine's: no thread hand-off, so round trips and connections cost no
   * thread wake-up; kernel devices are watched by this thread's event loop)
   * or 'worker' (its own worker thread: lwIP's work off this thread, and TCP
   * goes on while this thread is blocked). By default TCPIP_NATIVE_THREAD
   * from the environment, else 'js' on Linux and 'worker' elsewhere. Ignored
   * by the wasm engine, which always runs on this thread.
   */
  thread?: 'worker' | 'js';
}

export interface InitOptions {
  /** Where the wasm module comes from (a WebAssembly.Module, its bytes, a URL to fetch, or a fetch Response); by default the one built into the package. */
  wasm?: ArrayBuffer | ArrayBufferView | string | URL | object;
}

/**
 * Makes the engines ready: compiles the wasm module unless the native addon
 * serves every stack. Required before `new Stack()` in a browser; a no-op
 * with the native addon.
 */
export declare function init(options?: InitOptions): Promise<void>;

export interface LoopbackInterfaceOptions {
  /** One CIDR ('127.0.0.1/8') or several (one IPv4 and up to three IPv6). */
  ipAddress: string | string[];
  /** 576..65535; 65535 by default. */
  mtu?: number;
}

export interface HookInterfaceOptions {
  /**
   * Required for TUN; a TAP that is a bridge port may have none. 'dhcp'
   * (alone, or in the list beside IPv6 CIDRs; TAP only) takes the IPv4
   * address from a DHCP lease; 'slaac' (TAP only) IPv6 addresses from
   * router advertisements. Unspecified and multicast addresses are refused.
   */
  ipAddress?: string | string[];
  /** Attach to kernel TUN/TAP device `name` (Linux, /dev/net/tun; created if missing). */
  device?: string;
  /** Attach to an already open TUN/TAP device descriptor; the stack owns it from then on. */
  fd?: number;
  /** 576..65535; 1500 by default. */
  mtu?: number;
  /** IPv4 next hop for off-link traffic; makes this the default route. */
  gateway?: string;
  /** Route what no other interface matches through this one. */
  defaultRoute?: boolean;
}

export interface TapInterfaceOptions extends HookInterfaceOptions {
  /** 'xx:xx:xx:xx:xx:xx', unicast; random and locally administered by default. */
  macAddress?: string;
}

export interface BridgeInterfaceOptions {
  /** TAP interfaces of the same stack to switch between (at most 32). */
  ports: TapInterface[];
  ipAddress?: string | string[];
  macAddress?: string;
  mtu?: number;
  gateway?: string;
  defaultRoute?: boolean;
}

export interface InterfaceAddress {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

export interface InterfaceStats {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  dropped: {
    malformed: number;
    oversize: number;
    down: number;
    noMemory: number;
    /** send() refused: too much injected traffic was waiting. */
    queueFull: number;
    /** `.readable` was full: its reader fell behind. */
    readableFull: number;
  };
}

/** An L2 learning switch over TAP ports, with an address of its own (like br0). */
export declare interface BridgeInterface extends DhcpClient, SlaacClient {}
export declare class BridgeInterface extends Interface {
  readonly type: 'bridge';
  readonly macAddress: string;
  readonly ports: TapInterface[];
}

/** A running capture: `iface.capture(path)`. */
export declare class Capture {
  readonly interface: Interface;
  readonly path: string;
  /** Stops capturing; resolves once every record is in the file. */
  stop(): Promise<void>;
}

export declare class Interface extends EventEmitter {
  readonly type: 'loopback' | 'tun' | 'tap' | 'bridge';
  /** The addresses in CIDR notation. */
  readonly ipAddresses: string[];
  readonly ipAddress: string | undefined;
  readonly addresses: InterfaceAddress[];
  readonly mtu: number;
  readonly gateway: string | null;
  /** The kernel device this interface is attached to, or null. */
  readonly device: string | null;
  readonly removed: boolean;
  /** The link joining this interface, or null. */
  readonly link: Link | null;
  stats(): Promise<InterfaceStats>;
  /** Writes every packet or frame in and out to a pcap file (tshark, Wireshark). */
  capture(path: string): Capture;
  /**
   * Removes the interface. With a DHCP lease, the RELEASE leaves first and
   * the removal completes on a later task ('close').
   */
  remove(): void;
}

/** A DHCP lease the client holds. */
export interface DhcpLease {
  readonly address: string;
  readonly prefix: number;
  /** The router option, or null. */
  readonly router: string | null;
  readonly dns: readonly string[];
  /** Seconds. */
  readonly leaseTime: number;
  /** The server that gave it. */
  readonly server: string;
}

/** The DHCP client of TAP and bridge interfaces. */
interface DhcpClient {
  /**
   * Starts the DHCP client; resolves with the first lease. The lease's
   * router becomes the default route unless `defaultRoute` is false, its DNS
   * servers stack.dns's unless the stack was given servers. The client
   * asks until a server answers; an abort of `signal` rejects with an
   * AbortError (code 'ABORT_ERR', the signal's reason as `cause`) and stops
   * the client if this call started it.
   */
  dhcp(options?: { defaultRoute?: boolean; signal?: AbortSignal }): Promise<DhcpLease>;
  /** Stops the client, giving the lease back (RELEASE); a 'lease' event with null follows. */
  dhcpStop(): void;
  /** The lease held, or null. */
  readonly lease: DhcpLease | null;
}

/** An address SLAAC formed or retired. */
export interface AddressChange {
  readonly action: 'add' | 'remove';
  readonly address: string;
  readonly prefix: number;
  readonly family: 6;
}

/** IPv6 stateless address autoconfiguration of TAP and bridge interfaces. */
interface SlaacClient {
  /**
   * Solicits the link's routers and forms an address from each /64 prefix
   * they advertise for autoconfiguration (after duplicate address
   * detection); resolves with the first. The routers become IPv6 default
   * routers. Addresses go when their lifetime ends. With no router on the
   * link it waits (for a periodic advertisement after three solicitations); an abort of `signal` rejects with an AbortError
   * (code 'ABORT_ERR', the signal's reason as `cause`) and turns SLAAC off
   * if this call turned it on.
   */
  slaac(options?: { signal?: AbortSignal }): Promise<{ address: string; prefix: number; family: 6 }>;
  /** Turns SLAAC off; the addresses it formed go ('address' events). */
  slaacStop(): void;
}

export declare class LoopbackInterface extends Interface {
  readonly type: 'loopback';
}

export declare class TunInterface extends Interface {
  readonly type: 'tun';
  /** Injects one IPv4 or IPv6 packet; false when dropped for a full queue. */
  send(packet: Uint8Array): boolean;
  readonly readable: ReadableStream<Buffer>;
  readonly writable: WritableStream<Uint8Array>;
  on(event: 'packet', listener: (packet: Buffer) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export declare interface TapInterface extends DhcpClient, SlaacClient {}
export declare class TapInterface extends Interface {
  readonly type: 'tap';
  readonly macAddress: string;
  /** The bridge this interface is a port of, or null. */
  readonly bridge: BridgeInterface | null;
  /** Injects one Ethernet frame; false when dropped for a full queue. */
  send(frame: Uint8Array): boolean;
  readonly readable: ReadableStream<Buffer>;
  readonly writable: WritableStream<Uint8Array>;
  on(event: 'frame', listener: (frame: Buffer) => void): this;
  /** A lease bound or renewed; null: the lease was lost or given back. */
  on(event: 'lease', listener: (lease: DhcpLease | null) => void): this;
  /** SLAAC formed an address, or one went. */
  on(event: 'address', listener: (change: AddressChange) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export interface TcpSocketConnectOptions {
  port: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: 0 | 4 | 6;
  hints?: number;
  lookup?: nodeNet.LookupFunction;
  autoSelectFamily?: boolean;
  autoSelectFamilyAttemptTimeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
}

/** A Unix-domain socket (an abstract one on Linux with a leading '\0'), served through the kernel. */
export interface IpcSocketConnectOptions {
  path: string;
  timeout?: number;
}

export interface SocketConstructorOptions {
  /** A kernel Unix-domain socket or pipe descriptor (not a TCP one: it is no socket of the stack). */
  fd?: number;
  readable?: boolean;
  writable?: boolean;
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  signal?: AbortSignal;
}

/** Node's net.Socket, over a tcpip stack. */
export declare class Socket extends Duplex {
  constructor(options?: SocketConstructorOptions);
  connect(options: TcpSocketConnectOptions | IpcSocketConnectOptions, connectionListener?: () => void): this;
  connect(port: number, host: string, connectionListener?: () => void): this;
  connect(port: number, connectionListener?: () => void): this;
  connect(path: string, connectionListener?: () => void): this;
  setEncoding(encoding?: BufferEncoding): this;
  setTimeout(timeout: number, callback?: () => void): this;
  setNoDelay(noDelay?: boolean): this;
  setKeepAlive(enable?: boolean, initialDelay?: number): this;
  address(): nodeNet.AddressInfo | {};
  destroySoon(): void;
  resetAndDestroy(): this;
  ref(): this;
  unref(): this;
  readonly bufferSize: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly connecting: boolean;
  readonly pending: boolean;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly localFamily?: string;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly remoteFamily?: string;
  readonly readyState: nodeNet.SocketReadyState;
  /** What setTimeout() was last given; a plain property, as in Node. */
  timeout?: number;
  /** The addresses autoSelectFamily tried, as `address:port`. */
  autoSelectFamilyAttemptedAddresses?: string[];
}

export interface ServerOptions {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
}

export interface ListenOptions {
  port?: number | string;
  host?: string;
  /** A Unix-domain socket, served through the kernel. */
  path?: string;
  readableAll?: boolean;
  writableAll?: boolean;
  /** A listening Unix-domain socket's descriptor (a TCP one fails with EINVAL). */
  fd?: number;
  backlog?: number;
  exclusive?: boolean;
  ipv6Only?: boolean;
  signal?: AbortSignal;
  /**
   * tcpip: a catch-all on this TAP or TUN interface (IPv4), as the gateway's NAT uses: every TCP
   * connection to an address not the stack's own arriving there is a 'connection', its socket's
   * localAddress and localPort the original destination. Its SYN is answered only by the
   * socket's internal `_acceptSyn()`; destroying the socket before refuses it with an RST.
   */
  foreignInterface?: Interface;
}

/** Node's net.Server, over a tcpip stack. */
export declare class Server extends EventEmitter {
  constructor(connectionListener?: (socket: Socket) => void);
  constructor(options?: ServerOptions, connectionListener?: (socket: Socket) => void);
  listen(port?: number, hostname?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, hostname?: string, listeningListener?: () => void): this;
  listen(port?: number, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, listeningListener?: () => void): this;
  listen(path: string, backlog?: number, listeningListener?: () => void): this;
  listen(path: string, listeningListener?: () => void): this;
  listen(options: ListenOptions, listeningListener?: () => void): this;
  /** A server, socket or handle whose `fd` is a Unix-domain socket's. */
  listen(handle: Server | Socket | { fd: number }, backlog?: number, listeningListener?: () => void): this;
  listen(handle: Server | Socket | { fd: number }, listeningListener?: () => void): this;
  close(callback?: (err?: Error) => void): this;
  /** The address, or the path of a Unix-domain socket. */
  address(): nodeNet.AddressInfo | string | null;
  getConnections(cb: (error: Error | null, count: number) => void): this;
  ref(): this;
  unref(): this;
  maxConnections?: number;
  readonly listening: boolean;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Node's `net` module bound to one stack. */
export interface StackNet {
  Socket: typeof Socket;
  Stream: typeof Socket;
  Server: typeof Server;
  createServer(connectionListener?: (socket: Socket) => void): Server;
  createServer(options?: ServerOptions, connectionListener?: (socket: Socket) => void): Server;
  connect(options: TcpSocketConnectOptions | IpcSocketConnectOptions, connectionListener?: () => void): Socket;
  connect(port: number, host?: string, connectionListener?: () => void): Socket;
  connect(port: number, connectionListener?: () => void): Socket;
  connect(path: string, connectionListener?: () => void): Socket;
  createConnection: StackNet['connect'];
  isIP(input: string): number;
  isIPv4(input: string): boolean;
  isIPv6(input: string): boolean;
  /** Node's own in Node; undefined in a browser. */
  BlockList: typeof nodeNet.BlockList | undefined;
  SocketAddress: typeof nodeNet.SocketAddress | undefined;
  getDefaultAutoSelectFamily(): boolean;
  setDefaultAutoSelectFamily(value: boolean): void;
  getDefaultAutoSelectFamilyAttemptTimeout(): number;
  setDefaultAutoSelectFamilyAttemptTimeout(value: number): void;
  _normalizeArgs(args: unknown[]): [object, ((...args: unknown[]) => void) | null];
  /** Deprecated in Node (DEP0121); a no-op that warns once. */
  _setSimultaneousAccepts(handle?: unknown): void;
  /** cluster's internal in Node; a stack answers UV_EINVAL. */
  _createServerHandle(...args: unknown[]): number;
  readonly stack: Stack;
}

export interface LinkConditions {
  /** One-way delay, ms. */
  latency?: number;
  /** Extra random delay, 0..jitter ms. */
  jitter?: number;
  /** Probability that a packet is lost, 0..1. */
  loss?: number;
  /** Probability that a packet arrives twice, 0..1. */
  duplicate?: number;
  /** Probability that a packet is held back so later ones overtake it, 0..1. */
  reorder?: number;
  /** Bits per second; 0 for no limit. */
  rate?: number;
  /** Largest IP packet the link carries; 0 for no limit beyond the interfaces'. */
  mtu?: number;
  /** Bytes that may wait behind a rate limit before packets are dropped; 0: automatic. */
  queue?: number;
}

export interface LinkOptions extends LinkConditions {
  /** Seeds the link's random numbers (0 to Number.MAX_SAFE_INTEGER): the same seed and packets, the same fates on either engine. Random when absent. */
  seed?: number;
}

export interface LinkDirectionStats {
  packets: number;
  bytes: number;
  lost: number;
  duplicated: number;
  reordered: number;
  droppedDown: number;
  droppedMtu: number;
  droppedQueue: number;
}

/** A link between two TUN or two TAP interfaces, under conditions: native (no JS on the data path) between two native stacks, a JS engine with the same conditions and counters otherwise. */
export declare class Link {
  readonly a: TunInterface | TapInterface;
  readonly b: TunInterface | TapInterface;
  readonly conditions: LinkConditions & { up: boolean };
  /** The seed of the link's random numbers, given or chosen. */
  readonly seed: number;
  readonly destroyed: boolean;
  set(conditions: LinkConditions): this;
  down(): this;
  up(): this;
  stats(): { aToB: LinkDirectionStats; bToA: LinkDirectionStats };
  destroy(): void;
}

/** Joins two TUN or two TAP interfaces (of two stacks of either backend, usually). */
export declare function link(a: TunInterface, b: TunInterface, options?: LinkOptions): Link;
export declare function link(a: TapInterface, b: TapInterface, options?: LinkOptions): Link;

/**
 * Opens kernel TUN/TAP device `name` (Linux) and returns its descriptor, for
 * `createTapInterface({ fd })` here or in a less privileged process.
 */
export declare function openKernelDevice(name: string, type?: 'tap' | 'tun'): number;

/** One isolated TCP/IP stack: an lwIP instance on its own worker thread (native) or wasm instance. */
export declare class Stack {
  constructor(options?: StackOptions);
  /** Node's `net` API over this stack. */
  readonly net: StackNet;
  /** Node's `dgram` API over this stack's UDP. */
  readonly dgram: StackDgram;
  /** Node's `dns` API over this stack's UDP and TCP, with the name servers of `options.dns`. */
  readonly dns: DnsModule;
  /**
   * ICMP echo requests to `host` (an address, or a name the stack resolves): one result per
   * probe, in order. Defaults: count 1, timeout 1000 ms, size 56 bytes, interval 1000 ms.
   */
  ping(host: string, options?: { count?: number; timeout?: number; size?: number; interval?: number }):
    Promise<Array<PingReply | PingLoss>>;
  readonly interfaces: Interface[];
  readonly destroyed: boolean;
  /** The engine this stack runs on. */
  readonly backend: 'native' | 'wasm';
  /** Where its core runs: 'worker' (a native stack's own thread) or 'js' (this thread). */
  readonly thread: 'worker' | 'js';
  createLoopbackInterface(options: LoopbackInterfaceOptions): LoopbackInterface;
  createTunInterface(options: HookInterfaceOptions): TunInterface;
  createTapInterface(options: TapInterfaceOptions): TapInterface;
  createBridgeInterface(options: BridgeInterfaceOptions): BridgeInterface;
  /** A DHCP server for the hosts on `iface` (TAP or bridge, with an IPv4 address), answering there alone. */
  createDhcpServer(iface: TapInterface | BridgeInterface, options: DhcpServerOptions): DhcpServer;
  /**
   * Runs `fn(...args)` so that Node's own `net`, `http`/`https` (default agents included),
   * `tls.connect` and global `fetch`, used by fn and by everything it starts (callbacks,
   * timers, promise continuations), go through this stack; code outside keeps the kernel.
   * Returns what fn returns. Throws ERR_TCPIP_STACK_DESTROYED on a destroyed stack.
   */
  run<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R;
  /**
   * The redirection of run(), entered for the rest of the calling function and what it
   * starts, until disposed: `using scope = stack.scope()`.
   */
  scope(): StackScope;
  /** Node's `http` bound to this stack: request, get, Agent, globalAgent, createServer. */
  readonly http: StackHttp<typeof nodeHttp>;
  /** Node's `https` bound to this stack: request, get, Agent, globalAgent, createServer. */
  readonly https: StackHttp<typeof nodeHttps>;
  /** The global fetch() with its connections on this stack (a `dispatcher` in init wins). */
  readonly fetch: typeof globalThis.fetch;
  /**
   * An undici Agent whose connections go through this stack, for fetch's `dispatcher`
   * option; `connect` holds TLS options (ca, rejectUnauthorized, servername, ...).
   */
  createDispatcher(options?: StackDispatcherOptions): UndiciAgent;
  /** Ends every socket and server, stops the engine (joins the worker, or drops the wasm instance) and frees its memory. */
  destroy(): void;
}

/** A scope from stack.scope(): disposing it ends the redirection, also where its context reached. */
export interface StackScope {
  [Symbol.dispose](): void;
  readonly stack: Stack;
  readonly closed: boolean;
  /** The same as [Symbol.dispose](). */
  close(): void;
}

/** stack.http / stack.https: Node's functions with agents and servers of one stack. */
export interface StackHttp<Module extends typeof nodeHttp | typeof nodeHttps> {
  request: Module['request'];
  get: Module['get'];
  /** Node's server, listening on the stack (its `listen()` binds the stack's addresses). */
  createServer: Module['createServer'];
  /** An agent class whose connections go through the stack. */
  Agent: Module['Agent'];
  /** This stack's default agent (keepAlive, as Node's). */
  globalAgent: InstanceType<Module['Agent']>;
  METHODS: string[];
  STATUS_CODES: Record<number, string | undefined>;
  readonly stack: Stack;
}

/** Options of stack.createDispatcher(): undici Agent options, with TLS options as `connect`. */
export interface StackDispatcherOptions {
  connect?: import('node:tls').ConnectionOptions;
  keepAliveTimeout?: number;
  keepAliveMaxTimeout?: number;
  connections?: number | null;
  [option: string]: unknown;
}

/**
 * Makes `stack` the one behind `tcpip/polyfill/net` (the `net` module a
 * bundler gives to code that imports 'net') and returns it. Without an
 * argument, creates a stack with a loopback interface (127.0.0.1/8, ::1/128);
 * `null` takes the polyfilled stack away.
 */
export declare function polyfill(stack?: Stack): Stack;
export declare function polyfill(stack: null): null;

/** What createDns() needs of a dgram module: Node's `dgram` API, or a stack's. */
export interface DnsDgram {
  createSocket(type: 'udp4' | 'udp6'): EventEmitter & {
    bind(port?: number, address?: string, callback?: () => void): unknown;
    send(msg: Uint8Array, ...args: unknown[]): void;
    connect?(port: number, address: string, callback?: () => void): void;
    address(): nodeNet.AddressInfo;
    close(callback?: () => void): unknown;
  };
}

/** What createDns() needs of a net module: Node's `net` API, or a stack's. */
export interface DnsNet {
  connect(options: { port: number; host: string }): Duplex;
  createServer(connectionListener?: (socket: Duplex) => void): EventEmitter & {
    listen(port: number, host: string, callback?: () => void): unknown;
    close(callback?: (err?: Error) => void): unknown;
  };
}

/** The options a lookupLocal function is called with. */
export interface DnsLocalLookupOptions {
  family: 0 | 4 | 6;
  all: true;
  hints: number;
  order: 'verbatim' | 'ipv4first' | 'ipv6first';
}

export interface DnsOptions {
  dgram: DnsDgram;
  net: DnsNet;
  /** Name servers as dns.setServers() takes them ('10.0.0.53', '[fd00::53]:5353'); none by default. */
  servers?: string[];
  /**
   * Answers localhost, *.localhost and address literals without the network
   * (a stack's own addresses); loopback (127.0.0.1, ::1) by default.
   */
  lookupLocal?: (
    hostname: string,
    options: DnsLocalLookupOptions,
    callback: (err: NodeJS.ErrnoException | null, addresses?: nodeDns.LookupAddress[]) => void,
  ) => void;
  /** The default resolver's first-try timeout in ms (-1: 2000), as dns.Resolver's. */
  timeout?: number;
  /** The default resolver's rounds over the servers (4), as dns.Resolver's. */
  tries?: number;
}

/** What a dns object's resolvers sent and dropped. */
export interface DnsClientStats {
  queries: number;
  udpAttempts: number;
  tcpAttempts: number;
  timeouts: number;
  /** Answers with TC set, asked again over TCP. */
  truncated: number;
  /** Replies that did not decode, or lied about their lengths or counts. */
  malformed: number;
  /** Well-formed replies with another id or question, or from elsewhere. */
  mismatched: number;
}

type NotOverAStack = 'lookupService' | 'resolveTlsa' | 'promises';

/** Node's `dns` module over a dgram/net pair. */
export type DnsModule = Omit<typeof nodeDns, NotOverAStack> & {
  promises: Omit<typeof nodeDns.promises, NotOverAStack>;
  /** A DNS server on the same dgram/net pair. */
  createServer(options: DnsServerOptions): DnsServer;
  stats(): DnsClientStats;
};

/**
 * A record as a zone or a handler gives it. `data` takes the zone's forms
 * (an address, a name, { priority, exchange }, { priority, weight, port,
 * name }, { nsname, hostmaster, serial, ... }, { critical, issue }, a
 * string or string[] for TXT) or dns-packet's.
 */
export interface DnsRecord {
  type: string;
  name?: string;
  ttl?: number;
  class?: string;
  data: unknown;
}

/** One name's records in a zone, by type; `ttl` for all of them (300 by default). */
export interface DnsZoneEntry {
  A?: string | string[];
  AAAA?: string | string[];
  CNAME?: string;
  NS?: string | string[];
  PTR?: string | string[];
  MX?: { priority: number; exchange: string } | Array<{ priority: number; exchange: string }>;
  TXT?: string | Array<string | string[]>;
  SRV?: nodeDns.SrvRecord | nodeDns.SrvRecord[];
  SOA?: Partial<nodeDns.SoaRecord> & { nsname: string; hostmaster: string };
  CAA?: nodeDns.CaaRecord | nodeDns.CaaRecord[];
  NAPTR?: nodeDns.NaptrRecord | nodeDns.NaptrRecord[];
  ttl?: number;
}

export interface DnsQuestion {
  name: string;
  type: string;
  class: string;
}

/** What a DNS server's handler is asked, and by whom. */
export interface DnsServerQuestion extends DnsQuestion {
  transport: 'udp' | 'tcp';
  remoteAddress: string;
  remotePort: number;
}

/** A handler's answer: records, or an rcode with sections; null is NXDOMAIN. */
export type DnsHandlerResult = DnsRecord[] | {
  rcode?: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'NOTIMP' | 'FORMERR';
  answers?: DnsRecord[];
  authorities?: DnsRecord[];
  additionals?: DnsRecord[];
  /** The AA flag; true unless false. */
  authoritative?: boolean;
} | null;

export interface DnsServerOptions {
  /** Names (case aside, '*.' wildcards) and their records; unknown names get NXDOMAIN. */
  zone?: Record<string, DnsZoneEntry>;
  /** Asked for what the zone does not have (or everything, without a zone); a throw or rejection is SERVFAIL. */
  handler?: (
    question: DnsServerQuestion,
    respond: (result: DnsHandlerResult) => void,
  ) => DnsHandlerResult | Promise<DnsHandlerResult> | void;
}

export interface DnsServerStats {
  udpQueries: number;
  tcpQueries: number;
  answered: number;
  truncated: number;
  malformed: number;
  formerr: number;
  dropped: number;
  handlerErrors: number;
}

/** A DNS server answering over UDP and TCP on one port. */
export declare class DnsServer extends EventEmitter {
  readonly listening: boolean;
  /** Port 0 picks one free for both UDP and TCP; the address defaults to 0.0.0.0. */
  listen(port?: number, address?: string, callback?: () => void): this;
  listen(port: number, callback: () => void): this;
  listen(callback: () => void): this;
  close(callback?: () => void): this;
  address(): nodeNet.AddressInfo | null;
  stats(): DnsServerStats;
  ref(): this;
  unref(): this;
}

/** Node's `dns` module whose queries go over `dgram` (and `net` for truncated answers). */
export declare function createDns(options: DnsOptions): DnsModule;

/** A DNS server over a dgram/net pair (Node's own, or a stack's). */
export declare function createDnsServer(transport: { dgram: DnsDgram; net: DnsNet }, options: DnsServerOptions): DnsServer;

export interface DhcpServerOptions {
  /** The first and last address to hand out, inside the interface's subnet. */
  range: [string, string];
  router?: string;
  dns?: string[];
  /** Seconds; 3600 by default. */
  leaseTime?: number;
  /** Milliseconds a gone client's lease outlives its WebSocket (a client back within it keeps its address): 60000 by default, 0 at once. */
  leaseGrace?: number;
  domain?: string;
}

export interface DhcpServerLease {
  address: string;
  mac: string;
  /** The client identifier (option 61), hex, or null. */
  clientId: string | null;
  hostname: string | null;
  expires: Date;
}

export interface DhcpServerStats {
  received: number;
  /** Messages that did not decode: counted and dropped. */
  malformed: number;
  ignored: number;
  offers: number;
  acks: number;
  naks: number;
  releases: number;
  declines: number;
  informs: number;
  /** DISCOVERs left unanswered: no address free. */
  exhausted: number;
}

/** `stack.createDhcpServer()`. */
export declare class DhcpServer extends EventEmitter {
  readonly interface: TapInterface | BridgeInterface;
  readonly listening: boolean;
  /** The leases bound and not expired, by address. */
  leases(): DhcpServerLease[];
  /** Ends the lease of `address` as if its client released it ('release' follows for a bound one); false if none. */
  release(address: string): boolean;
  stats(): DhcpServerStats;
  close(callback?: () => void): this;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'lease' | 'release', listener: (lease: DhcpServerLease) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** The gateway's upstream resolver, instead of the host's: records for a question, null for NXDOMAIN. */
export type GatewayResolve = (name: string, type: string) =>
  DnsHandlerResult | null | undefined | Promise<DnsHandlerResult | null | undefined>;

export interface GatewayOptions {
  /** Where the HTTP server listens: port 0 and 127.0.0.1 by default. */
  port?: number;
  host?: string;
  /** An HTTP server to attach to instead: the gateway takes its upgrades, and neither listens, closes it nor answers its requests (/healthz, /metrics). */
  server?: import('node:http').Server;
  /** The path where upgrades are taken ('/' by default; the query, ?token=, aside): elsewhere 404 on the gateway's own server, or left to a caller's server's other 'upgrade' listeners. */
  path?: string;
  /** The clients' IPv4 subnet, '10.0.2.0/24' by default. */
  subnet?: string;
  /** The clients' IPv6 /64 prefix, advertised (router advertisements) for SLAAC, the router its ::2 and its EUI-64 link-local address: 'fd0a:0:0:2::/64' by default; false: no IPv6 beyond link-local. */
  ipv6?: string | false;
  /** The router's address inside it: the subnet's second address by default (10.0.2.2). */
  router?: string;
  /** The router's MAC: 52:55 and its IPv4 address by default (52:55:0a:00:02:02), the same across restarts. */
  routerMac?: string;
  /** The DHCP range: from the 15th address to the last before broadcast by default. */
  range?: [string, string];
  /** The router's MTU: 1500 by default. */
  mtu?: number;
  /** Seconds; 3600 by default. */
  leaseTime?: number;
  /** Milliseconds a gone client's lease outlives its WebSocket (a client back within it keeps its address): 60000 by default, 0 at once. */
  leaseGrace?: number;
  /** Clients present it as `Authorization: Bearer <token>` or `?token=`; others get 401 at the upgrade. */
  token?: string;
  /** Decides at the upgrade: anything but true refuses with 401. */
  verifyClient?: (req: import('node:http').IncomingMessage) => boolean | Promise<boolean>;
  /** Milliseconds verifyClient may take before the upgrade is refused (401); default 10000. */
  verifyTimeout?: number;
  /** Allowed Origin headers: others get 403. Unchecked when absent. */
  origin?: string | string[];
  /** 256 by default; past it 503. */
  maxClients?: number;
  /** Milliseconds without a frame either way, and no NAT flow open, before a client is closed as idle (close code 4000, reason 'idle': connectTunnel reconnects on demand): 5 minutes by default, 0 never. */
  idleTimeout?: number;
  /** Milliseconds between pings to each client; one that did not answer the last goes (0: none). Default 30000. */
  heartbeat?: number;
  /** What a client's WebSocket may hold unsent before frames to it are dropped: 1 MiB by default. */
  maxBufferedBytes?: number;
  /**
   * Clients reach the router only (true, the default), or each other too. Isolated, the switch
   * answers a client's ARP and neighbour solicitations for another address of the subnet (or
   * IPv6 prefix) with the router's MAC, and the NAT refuses what it sends there ('isolated':
   * an RST, or ICMP prohibited).
   */
  isolate?: boolean;
  /** The DNS forwarder's upstream: servers for Node's resolver, or a resolve function; false: no DNS server. */
  dns?: false | { servers?: string[]; timeout?: number; tries?: number; resolve?: GatewayResolve };
  /** A client's DNS questions at the upstream at once: 32 by default; past it REFUSED, counted as 'dns-in-flight'. */
  maxDnsInFlight?: number;
  /** The router's stack: native by default. */
  backend?: 'native' | 'wasm';
  thread?: 'worker' | 'js';
  /** Refusals and each client's first drop of a kind. Silent by default. */
  log?: (message: string, details: Record<string, unknown>) => void;
  /** NAT of the clients' TCP connections and UDP flows to outside addresses (IPv4 and IPv6) from this host: true by default. */
  nat?: boolean;
  /** CIDRs the egress policy lets through whatever else it says (loopback, private, link-local, CGNAT, multicast, reserved, IPv6 ULA/link-local/loopback and the host's own addresses are denied by default). */
  allow?: string[];
  /** Destination ports (numbers, or "from-to" ranges): only those `allow` lists, never those `deny` lists. */
  ports?: { allow?: Array<number | string>; deny?: Array<number | string> };
  /** The host's own addresses the policy denies: os.networkInterfaces()'s by default. */
  hostAddresses?: string[];
  /** Concurrent NAT flows per client: 256 by default; past it the client's SYN gets an RST. */
  maxFlows?: number;
  /** Milliseconds the host's connect may take: 15000 by default. */
  connectTimeout?: number;
  /** Milliseconds a UDP flow lives without traffic: 60000 by default. */
  udpIdleTimeout?: number;
  /** Milliseconds a TCP flow may carry no byte either way before it is reset on both sides (counted as 'tcp-idle'): 7200000 (2 hours) by default, 0 never. */
  tcpIdleTimeout?: number;
  /** Each client's rate, each way, in bytes per second (a token bucket, a second's worth of burst): what it sends waits unread in its WebSocket, what the NAT brings it waits in the host's sockets (UDP replies past it are dropped). Unlimited by default. */
  bytesPerSecond?: number;
  /** Where the host connects for a client's destination instead (null: the destination itself); the policy judges the result. */
  redirect?: (destination: { address: string; port: number; protocol: 'tcp' | 'udp' }) => { address: string; port: number } | null;
}

export interface GatewayClient {
  id: number;
  /** Pinned by the client's first frame, or null before it. */
  mac: string | null;
  /** From its DHCP lease, or null. */
  address: string | null;
  remoteAddress: string | undefined;
}

export interface GatewayClientDetails extends GatewayClient {
  /** The IPv6 addresses the client sends from (link-local, SLAAC's), as the switch pinned them. */
  ipv6: string[];
  in: { frames: number; bytes: number };
  out: { frames: number; bytes: number };
  drops: Record<string, number>;
}

export interface GatewayMetrics {
  clients: number;
  connections: number;
  in: { frames: number; bytes: number };
  out: { frames: number; bytes: number };
  /** Frames dropped, by reason: spoofed-mac, spoofed-ip, no-lease, isolated, backpressure, ... */
  drops: Record<string, number>;
  /** Connections refused at the upgrade (token, origin, verify-client, max-clients, closing, path) NAT flows refused (egress-loopback, egress-private, egress-port, egress-host-address, ..., max-flows, isolated) and DNS questions refused (dns-in-flight), by reason. */
  refusals: Record<string, number>;
  /** NAT flows the gateway ended, by reason: tcp-idle, udp-idle. */
  closures: Record<string, number>;
  /** Times a client's WebSocket (in) or a NAT flow to one (out) was held back to bytesPerSecond. */
  throttled: { in: number; out: number };
  leases: number;
  /** NAT flows: open now, opened since start, and those whose host connection failed, by error code. */
  flows: {
    open: number; total: number; failures: Record<string, number>;
    /** UDP flows: open now, opened since start, datagrams dropped by reason (udp-fragment, udp-oversize, udp-queue, udp-rate). */
    udp: { open: number; total: number; dropped: Record<string, number> };
  };
}

export interface GatewayRefusal {
  reason: string;
  /** The HTTP status of a refused upgrade. */
  status?: number;
  remoteAddress: string | undefined | null;
  /** A refused NAT flow's (or DNS question's) client id and destination. */
  client?: number | null;
  /** A DNS question refused (dns-in-flight) has protocol 'dns' and the name asked. */
  destination?: { address: string; port: number; protocol: 'tcp' | 'udp' | 'dns'; name?: string };
}

/** A WebSocket gateway: `createGateway()`. */
export declare class Gateway extends EventEmitter {
  /** The router's stack: listen on it to serve the clients. */
  readonly stack: Stack;
  /** The router: the stack's TAP interface behind the switch. */
  readonly router: TapInterface;
  readonly dhcp: DhcpServer;
  readonly dnsServer: DnsServer | null;
  readonly server: import('node:http').Server;
  /** The egress policy: null when a flow to address:port may go, else why not ('loopback', 'private', 'port', 'host-address', ...). */
  readonly policy: { check(address: string, port: number): string | null };
  address(): nodeNet.AddressInfo | string | null;
  clients(): GatewayClientDetails[];
  disconnect(id: number, code?: number, reason?: string): boolean;
  metrics(): GatewayMetrics;
  capture(path: string): Capture;
  close(): Promise<void>;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'connection', listener: (client: GatewayClient) => void): this;
  on(event: 'disconnect', listener: (client: GatewayClient, info: { code: number; reason: string }) => void): this;
  on(event: 'refused', listener: (refusal: GatewayRefusal) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * A WebSocket gateway: each WebSocket connection a port of a virtual Ethernet switch
 * (one binary message, one frame), a router with DHCP, DNS and TCP NAT behind it. Node only.
 */
export declare function createGateway(options?: GatewayOptions): Gateway;

/** 'idle': the gateway closed the tunnel as idle (4000); it reconnects when the stack next sends a frame. */
export type TunnelState = 'connecting' | 'open' | 'reconnecting' | 'idle' | 'closed';

export interface TunnelOptions {
  token?: string;
  /** The WebSocket class: the npm `ws` package's in Node, globalThis.WebSocket in a browser. */
  WebSocket?: unknown;
  /** Reconnection delays in ms: initial 250, max 10000, factor 2, jitter 0.5 (a fraction) by default. */
  backoff?: { initial?: number; max?: number; factor?: number; jitter?: number };
  /** What the WebSocket may hold unsent before frames are dropped: 1 MiB by default. */
  maxBufferedBytes?: number;
  /** Bounds the wait for the first open: aborting it before then rejects connectTunnel() with an AbortError (code 'ABORT_ERR', cause the signal's reason) and stops reconnecting; after the open it is not listened to (close the tunnel with close()). */
  signal?: AbortSignal;
}

/** A TAP interface joined to a gateway: `connectTunnel()`. */
export declare class Tunnel extends EventEmitter {
  readonly interface: TapInterface;
  readonly url: string;
  readonly state: TunnelState;
  /**
   * Frames and WebSocket messages each way: a page's tunnel asks the gateway
   * for frames batched into messages (subprotocol `tcpip.batch.v1`), so
   * there it has fewer messages than frames. `held`: frames the stack sent
   * while the tunnel was not open, sent at the open (up to 32 frames and
   * 64 KiB at a time; the oldest past them are `dropped`).
   */
  readonly stats: {
    framesIn: number; framesOut: number; bytesIn: number; bytesOut: number;
    messagesIn: number; messagesOut: number; dropped: number; connects: number; held: number;
  };
  close(): Promise<void>;
  /** `why`: the WebSocket's close ({ code, reason }) or a refused upgrade's { status }, where one caused the change. */
  on(event: 'state', listener: (state: TunnelState, why?: { code?: number; reason?: string; status?: number }) => void): this;
  on(event: 'close', listener: () => void): this;
  /** After the first open, the gateway refused the tunnel for good (ERR_TCPIP_TUNNEL_REFUSED: an HTTP 401/403/404 `status`, or a close with 1008, `closeCode` and `reason`): no reconnect follows. Before it, connectTunnel() rejects instead. */
  on(event: 'error', listener: (error: Error & { status?: number; closeCode?: number; reason?: string }) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** Joins `tap` to the gateway at `url` (ws://, wss://, or ws+unix:///socket/path:/request/path with npm ws); resolves once first open, and keeps it joined. Rejects on a final refusal (ERR_TCPIP_TUNNEL_REFUSED) or options.signal's abort (AbortError); a 503 or an unreachable gateway is retried. */
export declare function connectTunnel(tap: TapInterface, url: string | URL, options?: TunnelOptions): Promise<Tunnel>;

/** Options of createNetwork(). */
export interface NetworkOptions {
  /** Host name -> IPv4 address ('10.0.0.2', or '10.0.0.2/16'; /24 by default), all in one subnet. */
  hosts: { [name: string]: string };
  /** Conditions every host's link to the switch starts with. */
  conditions?: LinkConditions;
  backend?: 'native' | 'wasm';
  thread?: 'worker' | 'js';
}

/** A toxic, in Toxiproxy's shape, names and units. */
export type Toxic =
  | ToxicBase<'latency', { latency?: number; jitter?: number }>
  | ToxicBase<'slicer', { average_size?: number; size_variation?: number; /** microseconds */ delay?: number }>
  | ToxicBase<'limit_data', { bytes?: number }>
  | ToxicBase<'timeout', { timeout?: number }>
  | ToxicBase<'reset_peer', { timeout?: number }>
  | ToxicBase<'slow_close', { delay?: number }>;

export interface ToxicBase<Type extends string, Attributes> {
  type: Type;
  /** `${type}_${stream}` by default; unique in a proxy. */
  name?: string;
  /** 'upstream' (client to server) or 'downstream' (server to client, the default). */
  stream?: 'upstream' | 'downstream';
  /** The chance (0 to 1) that the toxic applies to a connection; 1 by default. */
  toxicity?: number;
  attributes?: Attributes;
}

/** A TCP proxy on a host of a network, with toxics: from network.proxy(). */
export declare class ToxicProxy extends EventEmitter {
  /** The port it listens on, on its host. */
  readonly port: number;
  /** The toxics in force, in the order added, with every attribute. */
  readonly toxics: Required<Toxic>[];
  /** How many connections it carries. */
  readonly connections: number;
  /** Adds a toxic, to the connections already open too. */
  add(toxic: Toxic): Required<Toxic>;
  /** Removes a toxic by name (ERR_TCPIP_UNKNOWN_TOXIC when there is none). */
  remove(name: string): void;
  /** Stops listening and ends every connection. */
  close(): void;
}

/** Hosts on a switch: createNetwork(). */
export declare class Network {
  /** The host names, in the order given. */
  readonly hosts: string[];
  readonly destroyed: boolean;
  /** The stack of a host (ERR_TCPIP_UNKNOWN_HOST for a name no host has). */
  host(name: string): Stack;
  address(name: string): string;
  /** The link of a host to the switch. */
  link(name: string): Link;
  /** Groups that stop reaching each other; hosts in no group make one more. Replaces the partition in force. */
  partition(...groups: string[][]): this;
  heal(): this;
  /** Conditions on the links of these hosts, for all their traffic. */
  degrade(hosts: string | string[], conditions: LinkConditions): this;
  /** Writes a host's frames to a pcap file. */
  capture(host: string, path: string): Capture;
  proxy(options: { listen: string; upstream: string; toxics?: Toxic[] }): Promise<ToxicProxy>;
  destroy(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** One stack per host, joined by a switch, the hosts named on every stack. */
export declare function createNetwork(options: NetworkOptions): Network;

/** v86's bus, as `emulator.bus` is: what the adapter needs of it. */
export interface V86Bus {
  register(name: string, fn: (value: any) => void, thisValue?: unknown): void;
  unregister(name: string, fn: (value: any) => void): void;
  send(name: string, value?: unknown): void;
}

export interface V86AdapterOptions {
  /** The NIC's bus prefix: 'net0' (the default), 'net1', ... */
  nic?: string;
}

export interface V86AdapterStats {
  /** Frames and bytes from the guest. */
  framesIn: number;
  bytesIn: number;
  /** Frames and bytes to the guest. */
  framesOut: number;
  bytesOut: number;
  /** Frames the stack's injection queue refused, or that came after detach(). */
  dropped: number;
  /**
   * Frames held back from a virtio NIC whose guest driver had not set it up (v86 would write
   * them into guest memory at random); seen only when attachV86 was given the emulator.
   */
  notReady: number;
}

/**
 * A v86 NIC joined to a TAP interface; shaped as v86's network adapters are, so it can be an
 * emulator's `network_adapter`. Events: 'mac' (the guest's MAC), 'detach'.
 */
export declare class V86Adapter extends EventEmitter {
  constructor(bus: V86Bus, tapInterface: TapInterface, options?: V86AdapterOptions);
  readonly nic: string;
  readonly bus: V86Bus;
  readonly interface: TapInterface;
  /** The guest's MAC as v86 last reported it, or null. */
  readonly guestMac: string | null;
  readonly attached: boolean;
  /** A frame from the guest into the stack (copied); false when dropped. */
  send(frame: Uint8Array): boolean;
  /** A frame from the stack to the guest. */
  receive(frame: Uint8Array): void;
  stats(): V86AdapterStats;
  detach(): void;
  destroy(): void;
  on(event: 'mac', listener: (mac: string | null) => void): this;
  on(event: 'detach', listener: () => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * Joins a v86 emulator's NIC to a TAP interface of any stack. `emulator`: a `V86` instance
 * (v86's own types do not declare its `bus`, hence `object`) or its bus (a `V86Bus`); any
 * other value throws ERR_INVALID_ARG_TYPE.
 */
export declare function attachV86(emulator: object, tapInterface: TapInterface, options?: V86AdapterOptions): V86Adapter;
