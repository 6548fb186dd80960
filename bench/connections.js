'use strict';
// A 1-byte round trip on the oldest of N open connections, for N idle
// connections held open beside it: on one stack, and on the kernel loopback
// (which finds a segment's connection by hash) in the same run.
//
// Both ends of every connection live in the measuring system: on the stack,
// a client and a server pcb each; on the kernel, two sockets. The process's
// file-descriptor limit (20,000 here) cannot hold 2 x 50,000 kernel sockets,
// so the kernel's idle connections are held by child processes, at most
// PER_CHILD each (both ends in the child); the timed connection is the
// parent's own, opened before any idle one.
//
// BENCH_CONNECTION_COUNTS=0,1000,10000,50000 (the default) sets N, in
// increasing order; BENCH_ROUND_TRIPS round trips per measurement,
// BENCH_ROUNDS measurements per N and target, the best kept.
const os = require('node:os');
const nodeNet = require('node:net');
const { fork } = require('node:child_process');
const { createLoopbackStack, listen, closeServer, format } = require('./common.js');

const PER_CHILD = 8000;
// Below the stack's listen backlog (255): a SYN past it is dropped and resent.
const BATCH = 200;

function connectOne(net, options) {
  return new Promise((resolve, reject) => {
    const c = net.connect(options, () => resolve(c));
    c.once('error', reject);
  });
}

// Opens `count` idle connections to `port`, `BATCH` at a time.
async function openIdle(net, count, optionsFor, sockets) {
  for (let i = 0; i < count; i += BATCH) {
    const wave = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) wave.push(connectOne(net, optionsFor(j)));
    sockets.push(...(await Promise.all(wave)));
  }
}

async function echoPair(net, host) {
  const server = await listen(net, host);
  const accepted = [];
  server.on('connection', (socket) => {
    accepted.push(socket);
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
  });
  const client = await connectOne(net, { port: server.address().port, host });
  client.setNoDelay(true);
  return { server, client, accepted };
}

function roundTrips(client, count) {
  const one = Buffer.from([1]);
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    let left = count;
    const onData = () => {
      if (--left > 0) {
        client.write(one);
        return;
      }
      client.off('data', onData);
      resolve(Number(process.hrtime.bigint() - start) / 1e3 / count);
    };
    client.on('data', onData);
    client.write(one);
  });
}

// The child: `count` idle kernel connections, both ends here; says 'ready'.
async function child() {
  const count = Number(process.argv[3]);
  // Node's default backlog (511) overflows now and then under a wave of
  // connects, and each SYN dropped costs a second.
  const server = nodeNet.createServer();
  await new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const held = [];
  server.on('connection', (s) => held.push(s));
  await openIdle(nodeNet, count, () => ({ port: server.address().port, host: '127.0.0.1' }), held);
  while (held.length < 2 * count) await new Promise((r) => setTimeout(r, 5));
  process.send('ready');
  process.on('disconnect', () => process.exit(0));
}

class KernelTarget {
  constructor() {
    this.name = 'kernel loopback (node:net)';
    this.children = [];
    this.open = 0;
  }
  async start() {
    this.pair = await echoPair(nodeNet, '127.0.0.1');
  }
  async grow(total) {
    while (this.open < total) {
      const count = Math.min(PER_CHILD, total - this.open);
      const proc = fork(__filename, ['child', String(count)], { stdio: 'inherit' });
      this.children.push(proc);
      await new Promise((resolve, reject) => {
        proc.once('message', resolve);
        proc.once('exit', (code) => reject(new Error(`kernel child exited with ${code}`)));
      });
      this.open += count;
    }
  }
  async stop() {
    for (const proc of this.children) proc.disconnect();
    this.pair.client.destroy();
    await closeServer(this.pair.server);
  }
}

class StackTarget {
  constructor() {
    this.name = 'tcpip, one stack';
    this.idle = [];
  }
  async start() {
    this.stack = createLoopbackStack();
    this.pair = await echoPair(this.stack.net, '127.0.0.1');
    this.server = await listen(this.stack.net, '127.0.0.1');
    // Explicit local ports: lwIP picks ephemeral ones from 16,384 only.
    const taken = new Set([this.pair.server.address().port, this.pair.client.address().port, this.server.address().port]);
    this.ports = [];
    for (let p = 1024; p <= 65535; p++) if (!taken.has(p)) this.ports.push(p);
  }
  async grow(total) {
    const have = this.idle.length;
    const port = this.server.address().port;
    await openIdle(this.stack.net, total - have, (j) => ({ port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort: this.ports[have + j] }), this.idle);
  }
  async stop() {
    this.stack.destroy();
  }
}

async function main() {
  const counts = (process.env.BENCH_CONNECTION_COUNTS || '0,1000,10000,50000').split(',').map(Number);
  const count = Number(process.env.BENCH_ROUND_TRIPS || 5000);
  const rounds = Number(process.env.BENCH_ROUNDS || 5);
  const started = Date.now();
  console.log(`round trip on the oldest of N open connections, ${count} round trips, best of ${rounds}`);
  console.log(`  ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => format(l)).join(' ')}`);
  const targets = [new KernelTarget(), new StackTarget()];
  for (const target of targets) await target.start();
  for (const target of targets) await roundTrips(target.pair.client, 1000);
  const results = [];
  for (const n of counts) {
    const setupStart = Date.now();
    const setup = [];
    for (const target of targets) {
      const t = Date.now();
      await target.grow(n);
      setup.push(Date.now() - t);
    }
    const best = targets.map(() => Infinity);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < targets.length; i++) best[i] = Math.min(best[i], await roundTrips(targets[i].pair.client, count));
    }
    results.push({ n, best, setup, setupMs: Date.now() - setupStart });
  }
  for (const target of targets) await target.stop();
  const base = results[0].best;
  console.log(`  ${'N'.padStart(6)}  ${'kernel us'.padStart(10)} ${'vs N=0'.padStart(7)}  ${'stack us'.padStart(10)} ${'vs N=0'.padStart(7)}  ${'stack/kernel'.padStart(12)}  setup s (kernel, stack)`);
  for (const r of results) {
    console.log(`  ${String(r.n).padStart(6)}  ${format(r.best[0], 1).padStart(10)} ${(format(r.best[0] / base[0]) + 'x').padStart(7)}  ` +
      `${format(r.best[1], 1).padStart(10)} ${(format(r.best[1] / base[1]) + 'x').padStart(7)}  ${(format(r.best[1] / r.best[0]) + 'x').padStart(12)}  ` +
      `${format(r.setup[0] / 1000, 1)}, ${format(r.setup[1] / 1000, 1)}`);
  }
  console.log(`  load average ${os.loadavg().map((l) => format(l)).join(' ')}, ${format((Date.now() - started) / 1000, 0)} s in all`);
  return results;
}

if (process.argv[2] === 'child') {
  child().catch((e) => { console.error(e); process.exit(1); });
} else if (require.main === module) {
  main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
module.exports = { main };
