// Compiled (not run) by test/polyfill.test.js with bundler resolution, as a
// browser app's code is: 'tcpip' and 'tcpip/polyfill/net' through the
// package's "exports".
import { init, polyfill, Stack } from 'tcpip';
import * as net from 'tcpip/polyfill/net';
import { Socket, Server } from 'tcpip/polyfill/net';

async function main(): Promise<void> {
  await init();
  const stack: Stack = polyfill(new Stack());
  const fresh: Stack = polyfill();
  const cleared: null = polyfill(null);
  void fresh;
  void cleared;
  const server: Server = net.createServer((socket: Socket) => socket.pipe(socket));
  server.listen(7, '127.0.0.1', () => {
    const client: Socket = net.connect({ port: 7, host: '127.0.0.1' }, () => client.end('x'));
    const other = new net.Socket();
    other.connect(7, '127.0.0.1');
  });
  const family: number = net.isIP('::1');
  const v4: boolean = net.isIPv4('127.0.0.1');
  if (net.BlockList) new net.BlockList().addAddress('127.0.0.1');
  class Echo extends net.Server {}
  void new Echo();
  void family;
  void v4;
  void stack;
  // @ts-expect-error polyfill takes a Stack
  polyfill({});
  // @ts-expect-error createServer's listener takes a Socket
  net.createServer((socket: string) => socket);
}
void main;
