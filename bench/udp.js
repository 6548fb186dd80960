'use strict';
// UDP: datagrams per second and Mbit/s between two sockets, 1472-byte and
// 64-byte datagrams, with loss counted: on the kernel loopback (node:dgram,
// the baseline), on one stack per engine and between two stacks over a
// link. A window of datagrams in flight keeps the receiver's buffer from
// overflowing by design, so loss shows what a path drops under load, as
// for the kernel. Then DNS queries per second against a DNS server: Node's
// resolver against one on the kernel's sockets, and a stack's against one
// on the stack.
const nodeDgram = require('node:dgram');
const nodeDns = require('node:dns');
const { link, createDnsServer } = require('..');
const { newStack, format, machineLine } = require('./common.js');

const WINDOW = 64;
const STALL_MS = 20;

function bound(socket, host) {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve(socket.address().port));
  });
}

// Sends `count` datagrams of `size` bytes from a to b, at most WINDOW ahead
// of what arrived; a window that does not drain in STALL_MS is counted lost.
async function transfer(sender, receiver, size, count, host) {
  const port = await bound(receiver, host);
  let received = 0;
  let wake = null;
  receiver.on('message', () => {
    received++;
    if (wake !== null && sentCount - received < WINDOW / 2) {
      const resolve = wake;
      wake = null;
      resolve();
    }
  });
  await bound(sender); // the wildcard: a sender on another stack has another address
  const payload = Buffer.alloc(size, 7);
  let sentCount = 0;
  let lostWindows = 0;
  const started = process.hrtime.bigint();
  while (sentCount < count) {
    while (sentCount < count && sentCount - received < WINDOW) {
      sender.send(payload, port, host);
      sentCount++;
    }
    const drained = await new Promise((resolve) => {
      wake = () => resolve(true);
      setTimeout(() => resolve(false), STALL_MS);
    });
    wake = null;
    if (!drained) {
      lostWindows++;
      received = Math.max(received, sentCount - WINDOW / 2); // move on: what is missing is lost
    }
  }
  await new Promise((resolve) => setTimeout(resolve, STALL_MS));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, lostWindows };
}

async function measure(make, size, count) {
  const env = make();
  const sender = env.dgram.createSocket('udp4');
  const receiver = env.dgram.createSocket('udp4');
  let arrived = 0;
  receiver.on('message', () => arrived++);
  const { seconds } = await transfer(sender, receiver, size, count, env.host);
  sender.close();
  receiver.close();
  await new Promise((resolve) => setTimeout(resolve, 5));
  env.teardown();
  return { perSecond: arrived / seconds, mbits: (arrived * size * 8) / seconds / 1e6, lost: count - arrived };
}

function oneStack(backend) {
  return () => {
    const stack = newStack(backend);
    stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
    return { dgram: stack.dgram, host: '127.0.0.1', teardown: () => stack.destroy() };
  };
}

// Two stacks over a link: the receiver's end of the pair is b, the sender's a.
function twoStacks(backend) {
  return () => {
    const a = newStack(backend);
    const b = newStack(backend);
    link(a.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 65535 }), b.createTunInterface({ ipAddress: '10.0.0.2/24', mtu: 65535 }));
    // Sockets of a pair live on different stacks: the receiver on b.
    let made = 0;
    const dgram = { createSocket: (type) => (made++ === 0 ? a : b).dgram.createSocket(type) };
    return {
      dgram,
      host: '10.0.0.2',
      teardown: () => {
        a.destroy();
        b.destroy();
      },
    };
  };
}

const TARGETS = [
  ['kernel loopback (node:dgram)', () => ({ dgram: nodeDgram, host: '127.0.0.1', teardown() {} })],
  ['tcpip native (JS thread), one stack', oneStack('native-js')],
  ['tcpip native (worker), one stack', oneStack('native')],
  ['tcpip wasm, one stack', oneStack('wasm')],
  ['two native JS-thread stacks, native link', twoStacks('native-js')],
  ['two wasm stacks, link (JS engine)', twoStacks('wasm')],
];

// Sequential queries for one name: `resolve` is (name, cb) of a resolver.
async function queriesPerSecond(resolve4, count) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await new Promise((done, fail) => resolve4('bench.test', (error) => (error ? fail(error) : done())));
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

// Each target is measured `rounds` times, in turn, and its best kept: the
// first queries of a process compile the DNS code, which would otherwise
// count against whichever target ran first.
async function dnsFigures(count, rounds) {
  const zone = { 'bench.test': { A: ['10.0.0.1'] } };
  const kernel = async () => {
    const server = createDnsServer({ dgram: nodeDgram, net: require('node:net') }, { zone });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const resolver = new nodeDns.Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([`127.0.0.1:${server.address().port}`]);
    const value = await queriesPerSecond((name, cb) => resolver.resolve4(name, cb), count);
    server.close();
    return value;
  };
  const onStack = (backend) => async () => {
    const stack = newStack(backend);
    stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
    const server = stack.dns.createServer({ zone });
    await new Promise((resolve) => server.listen(53, '127.0.0.1', resolve));
    stack.dns.setServers(['127.0.0.1']);
    const value = await queriesPerSecond((name, cb) => stack.dns.resolve4(name, cb), count);
    server.close();
    stack.destroy();
    return value;
  };
  const targets = [
    ['Node resolver, server on the kernel loopback', kernel],
    ['stack.dns against stack.dns.createServer, native (JS thread)', onStack('native-js')],
    ['stack.dns against stack.dns.createServer, wasm', onStack('wasm')],
  ];
  const best = targets.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (const [i, [, measureOne]] of targets.entries()) best[i] = Math.max(best[i], await measureOne());
  }
  return targets.map(([name], i) => [name, best[i]]);
}

async function main() {
  const count = Number(process.env.BENCH_DATAGRAMS || 20000);
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  console.log(`UDP, ${count} datagrams at most ${WINDOW} in flight, best of ${rounds}; ${machineLine()}`);
  for (const size of [1472, 64]) {
    console.log(`  ${size}-byte datagrams`);
    const best = TARGETS.map(() => null);
    for (let round = 0; round < rounds; round++) {
      for (const [i, [, make]] of TARGETS.entries()) {
        const result = await measure(make, size, count);
        if (best[i] === null || result.perSecond > best[i].perSecond) best[i] = result;
      }
    }
    for (const [i, [name]] of TARGETS.entries()) {
      const r = best[i];
      console.log(`    ${name.padEnd(42)} ${format(r.perSecond, 0).padStart(9)} datagrams/s ${format(r.mbits, 0).padStart(6)} Mbit/s ` +
        `${format(r.perSecond / best[0].perSecond)}x  lost ${r.lost}`);
    }
  }
  const queries = Number(process.env.BENCH_DNS_QUERIES || 2000);
  console.log(`  DNS: ${queries} sequential A queries, best of ${rounds}`);
  const dns = await dnsFigures(queries, rounds);
  for (const [name, value] of dns) console.log(`    ${name.padEnd(58)} ${format(value, 0).padStart(7)} queries/s  ${format(value / dns[0][1])}x`);
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main };
