// `tcpip/polyfill/net`: Node's `net` module over the stack given to
// polyfill(stack) from 'tcpip'. Using it before polyfill() throws
// ERR_TCPIP_NO_POLYFILL.
import type * as nodeNet from 'node:net';
import type { StackNet } from '../lib/index';

export { Socket, Server, Socket as Stream } from '../lib/index';
export type {
  SocketConstructorOptions, TcpSocketConnectOptions, ServerOptions, ListenOptions,
} from '../lib/index';

export declare const createServer: StackNet['createServer'];
export declare const connect: StackNet['connect'];
export declare const createConnection: StackNet['connect'];
export declare function isIP(input: string): 0 | 4 | 6;
export declare function isIPv4(input: string): boolean;
export declare function isIPv6(input: string): boolean;
/** Node's own in Node; undefined in a browser build. */
export declare const BlockList: typeof nodeNet.BlockList | undefined;
/** Node's own in Node; undefined in a browser build. */
export declare const SocketAddress: typeof nodeNet.SocketAddress | undefined;
/** Always false: the stack tries one address at a time. */
export declare function getDefaultAutoSelectFamily(): boolean;
export declare function setDefaultAutoSelectFamily(value: boolean): void;
export declare function getDefaultAutoSelectFamilyAttemptTimeout(): number;
export declare function setDefaultAutoSelectFamilyAttemptTimeout(value: number): void;
