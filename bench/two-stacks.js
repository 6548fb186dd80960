'use strict';
// Latency-bound work between two stacks: a 1-byte request/response round
// trip and sequential connect+close, over a native link and over TUN hooks
// in JS, on each engine (the native one on a worker thread and on the JS
// thread), next to one stack's loopback and the kernel
// loopback in the same run. BENCH_BUSY=1 and `taskset -c 0` give the busy
// and one-CPU variants (bench/run.js runs both).
const { compare, twoStacks, format, machineLine } = require('./common.js');
const latency = require('./latency.js');
const connectRate = require('./connect-rate.js');
const { link } = require('..');

function tunPair(a, b) {
  return [a.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 65535 }), b.createTunInterface({ ipAddress: '10.0.0.2/24', mtu: 65535 })];
}

function pairTarget(name, backend, join) {
  return {
    name,
    make: () => {
      const { a, b } = twoStacks((x, y) => join(...tunPair(x, y)), backend);
      return { net: b.net, clientNet: a.net, host: '10.0.0.2', teardown: () => { a.destroy(); b.destroy(); } };
    },
  };
}

const hooks = (ta, tb) => {
  ta.on('packet', (p) => tb.send(p));
  tb.on('packet', (p) => ta.send(p));
};

const extra = [
  pairTarget('two native worker stacks, native link', 'native', (ta, tb) => link(ta, tb)),
  pairTarget('two native worker stacks, TUN hooks in JS', 'native', hooks),
  pairTarget('two native JS-thread stacks, native link', 'native-js', (ta, tb) => link(ta, tb)),
  pairTarget('two wasm stacks, link (JS engine)', 'wasm', (ta, tb) => link(ta, tb)),
  pairTarget('two wasm stacks, TUN hooks in JS', 'wasm', hooks),
];

async function main() {
  const roundTrips = Number(process.env.BENCH_ROUND_TRIPS || 5000);
  const connections = Number(process.env.BENCH_CONNECTIONS || 1000);
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  console.log(`between two stacks, best of ${rounds}; ${machineLine()}`);
  const rtt = await compare({
    rounds,
    better: 'lower',
    extra,
    backends: ['native', 'native-js', 'wasm'],
    warmup: (env) => latency.measure(env.net, env.host, 500, env.clientNet),
    measure: (env) => latency.measure(env.net, env.host, roundTrips, env.clientNet),
  });
  console.log(`  1-byte request/response, ${roundTrips} round trips`);
  for (const r of rtt) console.log(`    ${r.name.padEnd(40)} ${format(r.value, 1)} us/round trip  ${format(r.value / rtt[0].value)}x (the time)`);
  const rate = await compare({
    rounds,
    extra,
    backends: ['native', 'native-js', 'wasm'],
    warmup: (env) => connectRate.measure(env.net, env.host, 100, env.clientNet),
    measure: (env) => connectRate.measure(env.net, env.host, connections, env.clientNet),
  });
  console.log(`  sequential connect+close, ${connections} connections`);
  for (const r of rate) console.log(`    ${r.name.padEnd(40)} ${format(r.value, 0)} conn/s  ${format(r.value / rate[0].value)}x`);
  return { rtt, rate };
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main };
