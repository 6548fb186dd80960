// Type declarations for tcpip: a user-space TCP/IP stack with Node's `net` API.
import type * as nodeNet from 'node:net';
import type { Duplex } from 'node:stream';
import type { EventEmitter } from 'node:events';

export interface StackOptions {
  /** The engine behind the stack. Only 'native' (the Node-API addon) exists today. */
  backend?: 'native';
}

export interface LoopbackInterfaceOptions {
  /** One CIDR ('127.0.0.1/8') or several (one IPv4 and up to three IPv6). */
  ipAddress: string | string[];
}

export interface InterfaceAddress {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

export interface LoopbackInterface {
  readonly type: 'loopback';
  /** The addresses in CIDR notation. */
  readonly ipAddresses: readonly string[];
  readonly addresses: readonly InterfaceAddress[];
}

export interface TcpSocketConnectOptions {
  port: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: 0 | 4 | 6;
  hints?: number;
  lookup?: nodeNet.LookupFunction;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
}

export interface SocketConstructorOptions {
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
  connect(options: TcpSocketConnectOptions, connectionListener?: () => void): this;
  connect(port: number, host: string, connectionListener?: () => void): this;
  connect(port: number, connectionListener?: () => void): this;
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
  readonly timeout?: number;
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
  backlog?: number;
  exclusive?: boolean;
  ipv6Only?: boolean;
  signal?: AbortSignal;
}

/** Node's net.Server, over a tcpip stack. */
export declare class Server extends EventEmitter {
  constructor(connectionListener?: (socket: Socket) => void);
  constructor(options?: ServerOptions, connectionListener?: (socket: Socket) => void);
  listen(port?: number, hostname?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, hostname?: string, listeningListener?: () => void): this;
  listen(port?: number, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, listeningListener?: () => void): this;
  listen(options: ListenOptions, listeningListener?: () => void): this;
  close(callback?: (err?: Error) => void): this;
  address(): nodeNet.AddressInfo | null;
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
  connect(options: TcpSocketConnectOptions, connectionListener?: () => void): Socket;
  connect(port: number, host?: string, connectionListener?: () => void): Socket;
  connect(port: number, connectionListener?: () => void): Socket;
  createConnection: StackNet['connect'];
  isIP(input: string): number;
  isIPv4(input: string): boolean;
  isIPv6(input: string): boolean;
  BlockList: typeof nodeNet.BlockList;
  SocketAddress: typeof nodeNet.SocketAddress;
  getDefaultAutoSelectFamily(): boolean;
  setDefaultAutoSelectFamily(value: boolean): void;
  readonly stack: Stack;
}

/** One isolated TCP/IP stack: an lwIP instance on its own worker thread. */
export declare class Stack {
  constructor(options?: StackOptions);
  /** Node's `net` API over this stack. */
  readonly net: StackNet;
  readonly interfaces: LoopbackInterface[];
  readonly destroyed: boolean;
  createLoopbackInterface(options: LoopbackInterfaceOptions): LoopbackInterface;
  /** Ends every socket and server, joins the worker, frees all native memory. */
  destroy(): void;
}
