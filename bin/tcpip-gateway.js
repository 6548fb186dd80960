#!/usr/bin/env node
'use strict';
// tcpip-gateway: a WebSocket gateway (see createGateway in the README) from
// the command line. Stops cleanly on SIGINT and SIGTERM.
const { parseArgs } = require('node:util');
const { createGateway } = require('../lib/index.js');

const USAGE = `Usage: tcpip-gateway [--port 8080] [--host 127.0.0.1] [--path /] [--token T] [--subnet 10.0.2.0/24]
                     [--origin O ...] [--max-clients N] [--no-isolate] [--mtu N]
                     [--dns-server ADDR[:PORT] ... | --no-dns] [--max-dns-in-flight N]
                     [--allow CIDR ...] [--allow-port P[-Q] ...] [--deny-port P[-Q] ...]
                     [--max-flows N] [--bytes-per-second N] [--connect-timeout MS]
                     [--tcp-idle-timeout MS] [--udp-idle-timeout MS] [--idle-timeout MS]
                     [--heartbeat MS] [--lease-grace MS] [--ipv6 PREFIX/64 | --no-ipv6]
                     [--no-nat]

Every WebSocket connection is a port of a virtual Ethernet switch (one binary
message, one Ethernet frame); behind it a router gives clients addresses by
DHCP, answers DNS through this host's resolver, and re-originates their TCP
connections from this host (NAT). Loopback, private, link-local, CGNAT,
multicast and this host's own addresses are denied unless --allow lists
them; --allow-port admits only the ports listed, --deny-port refuses those.
--bytes-per-second holds each client to a rate each way (by back-pressure);
a TCP flow idle for --tcp-idle-timeout ms (2 hours; 0: never) is reset.
A client with no frame either way for --idle-timeout ms (5 minutes; 0: never)
and no flow open is closed (4000 'idle'; connectTunnel comes back on demand);
one that does not answer a ping (every --heartbeat ms, 30 s) is closed too. A
gone client's lease waits --lease-grace ms (60 s) for it to come back. The host
connects a flow within --connect-timeout ms (15 s). --no-dns: no DNS server.
/healthz and /metrics answer without the token: bind --host to a trusted
interface, or put the gateway behind a proxy, if that matters.
Clients get IPv6 addresses by SLAAC in --ipv6 (fd0a:0:0:2::/64), NATed too.
The token may also come from TCPIP_GATEWAY_TOKEN.`;

function fail(message) {
  process.stderr.write(`tcpip-gateway: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      path: { type: 'string', default: '/' },
      token: { type: 'string' },
      subnet: { type: 'string' },
      origin: { type: 'string', multiple: true },
      'max-clients': { type: 'string' },
      'no-isolate': { type: 'boolean', default: false },
      mtu: { type: 'string' },
      'dns-server': { type: 'string', multiple: true },
      'no-dns': { type: 'boolean', default: false },
      allow: { type: 'string', multiple: true },
      'allow-port': { type: 'string', multiple: true },
      'deny-port': { type: 'string', multiple: true },
      'max-flows': { type: 'string' },
      'bytes-per-second': { type: 'string' },
      'tcp-idle-timeout': { type: 'string' },
      'udp-idle-timeout': { type: 'string' },
      'max-dns-in-flight': { type: 'string' },
      'connect-timeout': { type: 'string' },
      'idle-timeout': { type: 'string' },
      heartbeat: { type: 'string' },
      'lease-grace': { type: 'string' },
      ipv6: { type: 'string' },
      'no-ipv6': { type: 'boolean', default: false },
      'no-nat': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (error) {
  fail(error.message);
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
// An empty value is no number: Number('') would be 0 (a random port, "never").
const shown = (value) => (value.trim() === '' ? `'${value}'` : value);
const port = Number(values.port);
if (values.port.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid port: ${shown(values.port)}`);
if (values['no-dns'] && values['dns-server']) fail('--no-dns and --dns-server: choose one');
const token = values.token || process.env.TCPIP_GATEWAY_TOKEN || undefined;
const options = {
  port,
  host: values.host,
  path: values.path,
  token,
  subnet: values.subnet,
  origin: values.origin,
  isolate: !values['no-isolate'],
  dns: values['no-dns'] ? false : (values['dns-server'] ? { servers: values['dns-server'] } : undefined),
  nat: !values['no-nat'],
  ipv6: values['no-ipv6'] ? false : values.ipv6,
  allow: values.allow,
  ports: { allow: values['allow-port'], deny: values['deny-port'] },
  log: (message) => process.stderr.write(`tcpip-gateway: ${message}\n`),
};
const NUMBERS = {
  'max-clients': 'maxClients',
  mtu: 'mtu',
  'max-flows': 'maxFlows',
  'bytes-per-second': 'bytesPerSecond',
  'tcp-idle-timeout': 'tcpIdleTimeout',
  'udp-idle-timeout': 'udpIdleTimeout',
  'max-dns-in-flight': 'maxDnsInFlight',
  'connect-timeout': 'connectTimeout',
  'idle-timeout': 'idleTimeout',
  heartbeat: 'heartbeat',
  'lease-grace': 'leaseGrace',
};
for (const [flag, option] of Object.entries(NUMBERS)) {
  if (values[flag] === undefined) continue;
  if (values[flag].trim() === '') fail(`invalid ${flag}: ${shown(values[flag])}`);
  options[option] = Number(values[flag]);
}

let gateway;
try {
  gateway = createGateway(options);
} catch (error) {
  fail(error.message);
}
gateway.on('error', (error) => {
  process.stderr.write(`tcpip-gateway: ${error.message}\n`);
  process.exitCode = 1;
  gateway.close();
});
gateway.on('listening', () => {
  const { address, port: bound } = gateway.address();
  const host = address.includes(':') ? `[${address}]` : address;
  process.stdout.write(`tcpip-gateway listening on ws://${host}:${bound}${values.path} `
    + `(router ${gateway.router.addresses[0].address}, health http://${host}:${bound}/healthz)\n`);
  if (!token) process.stderr.write('tcpip-gateway: no --token: any client that reaches this port may join\n');
});

let stopping = false;
function stop(signal) {
  if (stopping) {
    // A second signal: the user wants out now.
    process.stdout.write(`tcpip-gateway: ${signal} again: exiting\n`);
    process.exit(1);
  }
  stopping = true;
  process.stdout.write(`tcpip-gateway: ${signal}: closing\n`);
  gateway.close().then(() => {
    process.stdout.write('tcpip-gateway: closed\n');
    process.exit();
  });
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
