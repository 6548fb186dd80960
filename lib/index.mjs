import tcpip from './index.js';

export const {
  init, Stack, link, Link, Interface, LoopbackInterface, TunInterface, TapInterface, BridgeInterface, Capture,
  openKernelDevice, polyfill, createDns, createDnsServer, DnsServer, DhcpServer,
  createGateway, Gateway, connectTunnel, Tunnel, createNetwork, Network, ToxicProxy, attachV86, V86Adapter,
} = tcpip;
export default tcpip;
