'use strict';
const { Stack } = require('./stack.js');
const { init } = require('./backend/index.js');
const { link, Link } = require('./link.js');
const { polyfill } = require('./polyfill.js');
const { createNetwork, Network } = require('./network.js');
const { ToxicProxy } = require('./toxics.js');
const { createDns, createDnsServer, DnsServer } = require('./dns/index.js');
const { DhcpServer } = require('./dhcp/server.js');
const { createGateway, Gateway } = require('./gateway/server.js');
const { connectTunnel, Tunnel } = require('./gateway/client.js');
const { attachV86, V86Adapter } = require('./v86.js');
const {
  Interface, LoopbackInterface, TunInterface, TapInterface, BridgeInterface, Capture, openKernelDevice,
} = require('./interfaces.js');

module.exports = {
  init, Stack, link, Link, Interface, LoopbackInterface, TunInterface, TapInterface, BridgeInterface, Capture,
  openKernelDevice, polyfill, createDns, createDnsServer, DnsServer, DhcpServer,
  createGateway, Gateway, connectTunnel, Tunnel, createNetwork, Network, ToxicProxy, attachV86, V86Adapter,
};
