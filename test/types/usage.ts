// Compiled (not run) by test/types.test.js: the declarations must accept
// what users write against Node's net API, and reject misuse.
import { Stack, Socket, Server, link, Link, TapInterface, createDns, createDnsServer, createGateway, connectTunnel, createNetwork, Network, ToxicProxy, attachV86 } from '../..';
import * as kernelDgram from 'node:dgram';
import * as kernelNet from 'node:net';
import tcpipDefault = require('../..');

const stack: Stack = new Stack({ backend: 'native' });
const lo = stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
const first: string = lo.ipAddresses[0];
const server: Server = stack.net.createServer({ allowHalfOpen: true }, (socket: Socket) => {
  socket.setNoDelay(true).setKeepAlive(true, 1000).setTimeout(500);
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
  const port: number | undefined = socket.remotePort;
  void port;
});
server.listen({ port: 80, host: '127.0.0.1' }, () => {
  const address = server.address();
  const client = stack.net.connect({ port: 80, host: 'localhost', lookup: undefined }, () => client.end('x'));
  client.on('close', (hadError: boolean) => void hadError);
  void address;
});
server.listen(0, '::1', 511, () => undefined);
// Unix-domain sockets: a path, an abstract name, a descriptor, a handle.
const pipeServer = stack.net.createServer().listen('/tmp/tcpip.sock', 10, () => undefined);
const pipeAddress: string | null = typeof pipeServer.address() === 'string' ? '/tmp/tcpip.sock' : null;
void pipeAddress;
stack.net.createServer().listen({ path: '\0abstract', backlog: 5 });
stack.net.createServer().listen({ path: '/tmp/tcpip.sock', readableAll: true, writableAll: true });
stack.net.createServer().listen({ fd: 3 });
stack.net.createServer().listen(pipeServer);
stack.net.connect('/tmp/tcpip.sock', () => undefined).end();
stack.net.connect({ path: '/tmp/tcpip.sock', timeout: 100 });
new stack.net.Socket({ fd: 0, readable: true, writable: false }).connect({ path: '/tmp/tcpip.sock' });
void server[Symbol.asyncDispose]();
const tun = stack.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 9000, defaultRoute: true });
tun.on('packet', (packet: Buffer) => tun.send(packet));
const tap = stack.createTapInterface({ ipAddress: ['10.0.1.1/24', 'fd00::1/64'], macAddress: '02:00:00:00:00:01' });
const mac: string = tap.macAddress;
void tap.stats().then((stats) => stats.dropped.malformed + stats.packetsIn);
void tun.readable.pipeTo(tap.writable);
void mac;
const other = new Stack();
const joined: Link = link(tun, other.createTunInterface({ ipAddress: '10.0.0.2/24' }), { latency: 20, loss: 0.01, seed: 7 });
const seed: number = joined.seed;
void seed;
joined.set({ jitter: 2 }).down().up();
const lost: number = joined.stats().aToB.lost;
void lost;
const port = stack.createTapInterface({});
const bridge = stack.createBridgeInterface({ ports: [port], ipAddress: '10.9.0.1/24' });
const ports: TapInterface[] = bridge.ports;
void ports;
const device: string | null = tun.device;
void device;
void tun.capture('/tmp/x.pcap').stop().then(() => undefined);
// @ts-expect-error TUN and TAP cannot be linked
link(tun, tap);
const viaDefault: typeof Stack = tcpipDefault.Stack;
void first;
void viaDefault;
stack.destroy();

// @ts-expect-error the loopback needs an address
stack.createLoopbackInterface({});
// @ts-expect-error ports are numbers or strings
stack.net.connect({ port: true });

// dns over a dgram/net pair, and its server.
const dns = createDns({ dgram: kernelDgram, net: kernelNet, servers: ['127.0.0.1:5353'], timeout: 100 });
dns.lookup('example.test', { all: true }, (err, addresses) => void (err || addresses.map((a) => a.address)));
dns.resolveMx('example.test', (err, records) => void records.map((r) => r.exchange + r.priority));
const resolver = new dns.Resolver({ timeout: 50, tries: 2 });
resolver.setServers(['[::1]:53']);
void dns.promises.resolve4('example.test', { ttl: true }).then((a) => a.map((r) => r.ttl));
void dns.promises.lookup('example.test').then(({ address, family }) => address + family);
const queries: number = dns.stats().queries;
void queries;
const dnsServer = createDnsServer({ dgram: kernelDgram, net: kernelNet }, {
  zone: { 'example.test': { A: ['10.0.0.1'], MX: [{ priority: 10, exchange: 'mx.example.test' }], TXT: ['x'], ttl: 60 } },
  handler: async (question) => (question.type === 'A' ? [{ type: 'A', data: '10.0.0.2' }] : null),
});
dnsServer.listen(0, '127.0.0.1', () => dnsServer.address()?.port);
dns.createServer({ handler: (q, respond) => respond({ rcode: 'REFUSED' }) }).close();
// @ts-expect-error a dns object needs its transport
createDns({ servers: [] });

// DHCP: a client on a TAP interface, a server on another stack's.
async function dhcpUsage(): Promise<void> {
  const server = new Stack();
  const port = server.createTapInterface({ ipAddress: '10.0.0.1/24' });
  const dhcp = server.createDhcpServer(port, { range: ['10.0.0.100', '10.0.0.199'], router: '10.0.0.1', dns: ['10.0.0.1'], leaseTime: 600, domain: 'test' });
  dhcp.on('lease', (lease) => console.log(lease.address, lease.mac, lease.expires.getTime()));
  const counts: number = dhcp.stats().malformed + dhcp.leases().length;
  const client = new Stack();
  const tap = client.createTapInterface({ ipAddress: 'dhcp' });
  tap.on('lease', (lease) => console.log(lease === null ? 'lost' : lease.dns.join(',')));
  const lease = await tap.dhcp({ defaultRoute: false, signal: AbortSignal.timeout(3000) });
  const prefix: number = lease.prefix + counts;
  console.log(prefix, tap.lease?.router);
  tap.dhcpStop();
  const socket = server.dgram.createSocket('udp4');
  socket.bind(67, () => socket.bindToInterface(port));
  dhcp.close(() => server.destroy());
}
void dhcpUsage;

// SLAAC: IPv6 addresses from router advertisements.
async function slaacUsage(): Promise<void> {
  const stack = new Stack();
  const tap = stack.createTapInterface({ ipAddress: ['10.0.0.2/24', 'slaac'] });
  tap.on('address', (change) => console.log(change.action, change.address, change.prefix));
  const formed = await tap.slaac();
  const family: 6 = formed.family;
  console.log(family, tap.ipAddresses);
  tap.slaacStop();
  const bridge = stack.createBridgeInterface({ ports: [] });
  await bridge.slaac({ signal: new AbortController().signal });
  // @ts-expect-error a signal is an AbortSignal
  await bridge.slaac({ signal: 3000 });
  stack.destroy();
}
void slaacUsage;

// The WebSocket gateway and its client.
async function gatewayUsage(): Promise<void> {
  const gateway = createGateway({ port: 0, token: 'secret', subnet: '10.0.2.0/24', isolate: true, dns: { servers: ['127.0.0.1:5353'] } });
  gateway.on('refused', (refusal) => console.log(refusal.reason, refusal.status));
  gateway.on('refused', (refusal) => {
    const protocol: 'tcp' | 'udp' | 'dns' | undefined = refusal.destination?.protocol;
    console.log(protocol, refusal.destination?.name);
  });
  gateway.on('disconnect', (client, { code }) => console.log(client.mac, code));
  gateway.on('listening', () => console.log(gateway.address()));
  const drops: number = Object.values(gateway.metrics().drops).reduce((a, b) => a + b, 0);
  gateway.stack.net.createServer().listen(80, '10.0.2.2');
  const client = new Stack({ backend: 'wasm' });
  const tap = client.createTapInterface({ ipAddress: 'dhcp' });
  const tunnel = await connectTunnel(tap, 'ws://127.0.0.1:8080/', {
    token: 'secret', backoff: { initial: 100 }, signal: AbortSignal.timeout(5000),
  });
  tunnel.on('state', (state) => console.log(state === 'open' || state === 'idle', drops, tunnel.stats.held));
  await tap.dhcp();
  await tunnel.close();
  await gateway.close();
  // @ts-expect-error the tunnel joins a TAP interface
  await connectTunnel(client.createTunInterface({ ipAddress: '10.0.0.1/24' }), 'ws://127.0.0.1:8080/');
}
void gatewayUsage;

// A v86 NIC joined to a TAP interface.
function v86Usage(emulator: { bus: { register(n: string, f: (v: any) => void): void; unregister(n: string, f: (v: any) => void): void; send(n: string, v?: unknown): void } }): void {
  const stack = new Stack();
  const adapter = attachV86(emulator, stack.createTapInterface({ ipAddress: '10.0.2.2/24' }), { nic: 'net0' });
  adapter.on('mac', (mac) => console.log(mac === null ? 'unknown' : mac.toUpperCase()));
  const dropped: number = adapter.stats().dropped;
  console.log(dropped, adapter.guestMac);
  adapter.detach();
  // @ts-expect-error the adapter joins a TAP interface
  attachV86(emulator, stack.createTunInterface({ ipAddress: '10.0.0.1/24' }));
}
void v86Usage;

// v86's own V86 class, whose types (they need the DOM's) do not declare its bus, is
// taken as it is: shaped here as v86.d.ts has it.
declare class V86 {
  network_adapter: unknown;
  add_listener(event: string, listener: (value: unknown) => void): void;
  destroy(): Promise<void>;
}
function v86InstanceUsage(emulator: V86): void {
  attachV86(emulator, new Stack().createTapInterface({ ipAddress: '10.0.2.2/24' })).detach();
}
void v86InstanceUsage;

// Unmodified Node code on a stack, and clients bound to one.
async function scopeUsage(): Promise<void> {
  const stack = new Stack();
  const sum: number = stack.run((a: number, b: number) => a + b, 1, 2);
  const text: string = await stack.run(async () => (await fetch('http://10.0.0.2/')).text());
  {
    using scope = stack.scope();
    const same: Stack = scope.stack;
    console.log(same === stack, scope.closed);
  }
  const res: Response = await stack.fetch('http://10.0.0.2/');
  const dispatcher = stack.createDispatcher({ connect: { ca: 'PEM', servername: 'db' } });
  await fetch('https://db/', { dispatcher } as RequestInit);
  stack.http.get('http://10.0.0.2/', (r) => r.resume());
  stack.https.request({ host: 'db', ca: 'PEM' }).end();
  const agent = new stack.https.Agent({ keepAlive: false });
  stack.https.createServer({ key: 'PEM', cert: 'PEM' }, (req, res) => res.end(req.url)).listen(443);
  console.log(sum, text, res.status, agent.maxSockets, stack.http.globalAgent.maxSockets);
  // @ts-expect-error run() needs a function
  stack.run(42);
  stack.destroy();
}
void scopeUsage;

// createNetwork: hosts, partitions, toxics.
async function networkUsage(): Promise<void> {
  const network: Network = createNetwork({ hosts: { db: '10.0.0.2', app: '10.0.0.3' }, conditions: { latency: 1 } });
  const db: Stack = network.host('db');
  db.net.createServer().listen(6379);
  network.partition(['db'], ['app']).heal().degrade('db', { loss: 0.1 }).degrade(['db', 'app'], { latency: 5 });
  const proxy: ToxicProxy = await network.proxy({
    listen: 'app:7000',
    upstream: 'db:6379',
    toxics: [{ type: 'slicer', stream: 'upstream', attributes: { average_size: 10, delay: 1000 } }],
  });
  proxy.add({ type: 'reset_peer', name: 'rst', toxicity: 0.5, attributes: { timeout: 100 } });
  proxy.remove('rst');
  const size: number = proxy.toxics.length + proxy.connections + proxy.port;
  proxy.close();
  new Stack({ hosts: { db: ['10.0.0.2', 'fd00::2'] } }).destroy();
  network.destroy();
  void size;
}
void networkUsage;
