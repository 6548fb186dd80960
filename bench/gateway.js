'use strict';
// The WebSocket gateway (issue 11): one TCP flow client -> gateway -> host
// server, for a native-stack and a wasm-stack client in Node, next to the
// same transfer over the kernel loopback in the same run; connect+close
// flows per second through the gateway against the kernel's; and the
// gateway's CPU per gigabyte against the kernel transfer's.
//
// The gateway runs in a child process of its own (`--gateway`), so that its
// CPU (process.cpuUsage(): every thread of the process) is measured apart
// from the clients' and the host server's, which run here. As the NAT tests
// do, the clients connect to a documentation address that the gateway
// redirects to the host server on 127.0.0.1, and `allow` lets loopback pass.
const nodeNet = require('node:net');
const { fork } = require('node:child_process');
const { Stack, createGateway, connectTunnel } = require('..');
const { format, machineLine } = require('./common.js');

const MiB = 1024 * 1024;
const SERVICE = '198.51.100.1';
const TOKEN = 'bench-token';
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

// ------------------------------------------------------------ the gateway

function gatewayChild(mtu) {
  const gateway = createGateway({
    mtu,
    port: 0,
    host: '127.0.0.1',
    token: TOKEN,
    dns: false,
    allow: ['127.0.0.0/8'],
    redirect: ({ address, port }) => (address === SERVICE ? { address: '127.0.0.1', port } : null),
    backend: process.env.BENCH_GATEWAY_BACKEND || 'native',
  });
  gateway.once('listening', () => process.send({ port: gateway.address().port }));
  gateway.on('error', (error) => {
    console.error(error);
    process.exit(1);
  });
  process.on('message', (request) => {
    if (request === 'cpu') process.send({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => gateway.close().then(() => process.exit(0)));
}

// The gateway in its child: { url, cpu() (its user+system µs so far), end() }.
function startGateway(mtu) {
  const child = fork(__filename, ['--gateway', String(mtu)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let waiting = null;
  child.on('message', (message) => {
    const settle = waiting;
    waiting = null;
    if (settle) settle(message);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const next = () => new Promise((resolve) => { waiting = resolve; });
  return next().then(({ port }) => ({
    url: `ws://127.0.0.1:${port}/`,
    async cpu() {
      const answer = next();
      child.send('cpu');
      const { cpu } = await answer;
      return cpu.user + cpu.system;
    },
    end() {
      child.disconnect();
      return exited;
    },
  }));
}

// ------------------------------------------------------------ the clients

async function joinClient(gateway, backend, mtu) {
  const stack = new Stack({ backend }); // a native one on the JS thread, the default
  const tap = stack.createTapInterface({ ipAddress: 'dhcp', mtu });
  const tunnel = await connectTunnel(tap, gateway.url, { token: TOKEN });
  await tap.dhcp();
  return {
    net: stack.net,
    host: SERVICE,
    gateway,
    async teardown() {
      await tunnel.close();
      stack.destroy();
    },
  };
}

// The host server on 127.0.0.1: counts what each connection sends and
// answers its end with its own.
async function hostServer() {
  const server = nodeNet.createServer((socket) => {
    let received = 0;
    const started = performance.now();
    socket.on('data', (chunk) => { received += chunk.length; });
    socket.on('end', () => {
      server.emit('transfer', { received, seconds: (performance.now() - started) / 1000 });
      socket.end();
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

// One flow sending `bytes` to the host server: Gbit/s, as the server saw it.
function upload(client, server, bytes) {
  return new Promise((resolve, reject) => {
    server.once('transfer', ({ received, seconds }) => {
      if (received !== bytes) reject(new Error(`received ${received} of ${bytes} bytes`));
      else resolve((received * 8) / seconds / 1e9);
    });
    const socket = client.net.connect(server.address().port, client.host);
    socket.on('error', reject);
    socket.resume();
    socket.once('connect', () => {
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          const chunk = bytes - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, bytes - sent);
          sent += chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      pump();
    });
  });
}

// Sequential connect + close: flows per second.
async function flows(client, server, count) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await new Promise((resolve, reject) => {
      const socket = client.net.connect(server.address().port, client.host, () => socket.end());
      socket.on('error', reject);
      socket.on('close', resolve);
      socket.resume();
    });
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main() {
  const bytes = Number(process.env.BENCH_BYTES || 256 * MiB);
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const flowCount = Number(process.env.BENCH_CONNECTIONS || 500);
  const startLine = machineLine();
  const server = await hostServer();
  // A gateway per MTU (its option and the clients' TAP's): 1500, what every
  // client speaks, and 9000, jumbo frames for clients that set it too.
  const mtus = (process.env.BENCH_GATEWAY_MTUS || '1500,9000').split(',').map(Number);
  const gateways = [];
  const kernel = { name: 'kernel loopback (node:net)', net: nodeNet, host: '127.0.0.1', gateway: null, teardown() {} };
  const targets = [kernel];
  try {
    for (const mtu of mtus) {
      const gateway = await startGateway(mtu);
      gateways.push(gateway);
      for (const backend of (process.env.BENCH_GATEWAY_CLIENTS || 'native,wasm').split(',')) {
        targets.push({ name: `${backend} stack, MTU ${mtu}`, ...(await joinClient(gateway, backend, mtu)) });
      }
    }
    for (const target of targets) {
      await upload(target, server, 32 * MiB);
      await flows(target, server, 50);
      target.gbps = 0;
      target.flows = 0;
      target.cpuPerGB = Infinity;
      target.clientCpuPerGB = Infinity;
    }
    // Round after round, each target in turn: a noisy neighbour hits them
    // alike. CPU per GB: the gateway's process for a gateway target, this
    // process (client and server both) for the kernel's.
    for (let round = 0; round < rounds; round++) {
      for (const target of targets) {
        const before = target.gateway ? await target.gateway.cpu() : 0;
        const here = cpuHere();
        target.gbps = Math.max(target.gbps, await upload(target, server, bytes));
        const ownUsed = cpuHere() - here;
        const used = target.gateway ? await target.gateway.cpu() - before : ownUsed;
        target.cpuPerGB = Math.min(target.cpuPerGB, used / 1e6 / (bytes / 1e9));
        target.clientCpuPerGB = Math.min(target.clientCpuPerGB, ownUsed / 1e6 / (bytes / 1e9));
        target.flows = Math.max(target.flows, await flows(target, server, flowCount));
      }
    }
  } finally {
    for (const target of targets) await target.teardown();
    for (const gateway of gateways) await gateway.end();
    server.close();
  }
  const [base] = targets;
  console.log(`gateway: one TCP flow client -> gateway (a child process) -> host server on 127.0.0.1, ${bytes / MiB} MiB`
    + ` per run, ${flowCount} connect+close flows, best of ${rounds}; at start: ${startLine}; at end: load average`
    + ` ${require('node:os').loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`  ${'target'.padEnd(36)} ${'Gbit/s'.padStart(8)}  ratio  ${'flows/s'.padStart(8)}  ratio`
    + '  CPU s/GB: gateway process (kernel: both ends); client and host server process');
  for (const t of targets) {
    console.log(`  ${t.name.padEnd(36)} ${format(t.gbps).padStart(8)}  ${format(t.gbps / base.gbps)}x`
      + ` ${format(t.flows, 0).padStart(8)}  ${format(t.flows / base.flows)}x  ${format(t.cpuPerGB)}`
      + ` (${format(t.cpuPerGB / base.cpuPerGB)}x); ${format(t.clientCpuPerGB)}`);
  }
}

function cpuHere() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

if (require.main === module) {
  const at = process.argv.indexOf('--gateway');
  if (at !== -1) gatewayChild(Number(process.argv[at + 1]));
  else main().catch((e) => { console.error(e); process.exit(1); });
}
module.exports = { main };
