'use strict';
// Bulk TCP between two stacks: over a native link, the JS link engine (on
// native and on wasm stacks) and TUN hooks in JS, next to one stack's
// loopback and the kernel loopback in the same run.
const { compare, twoStacks, format } = require('./common.js');
const { measure, measureWithPacketRate } = require('./throughput.js');
const { link } = require('..');

function tunPair(a, b, mtu) {
  return [a.createTunInterface({ ipAddress: '10.0.0.1/24', mtu }), b.createTunInterface({ ipAddress: '10.0.0.2/24', mtu })];
}

const extra = [
  {
    name: 'two stacks, native TUN link',
    make: () => {
      const { a, b } = twoStacks((x, y) => {
        const [ta, tb] = tunPair(x, y, 65535);
        return link(ta, tb);
      });
      return { net: b.net, clientNet: a.net, host: '10.0.0.2', teardown: () => { a.destroy(); b.destroy(); } };
    },
  },
  // At MTU 1500 the engine's cost per packet weighs more.
  ...[['native', 65535], ['wasm', 65535], ['wasm', 1500]].map(([backend, mtu]) => ({
    name: `two ${backend} stacks, JS link engine, MTU ${mtu}`,
    make: () => {
      const { a, b } = twoStacks((x, y) => {
        const [ta, tb] = tunPair(x, y, mtu);
        return link(ta, tb, { engine: 'js' });
      }, backend);
      return { net: b.net, clientNet: a.net, host: '10.0.0.2', teardown: () => { a.destroy(); b.destroy(); } };
    },
  })),
  {
    name: 'two stacks, TUN hooks in JS',
    make: () => {
      let packets = 0;
      const { a, b } = twoStacks((x, y) => {
        const [ta, tb] = tunPair(x, y, 65535);
        ta.on('packet', (p) => { packets++; tb.send(p); });
        tb.on('packet', (p) => { packets++; ta.send(p); });
      });
      return {
        net: b.net,
        clientNet: a.net,
        host: '10.0.0.2',
        packets: () => packets,
        teardown: () => { a.destroy(); b.destroy(); },
      };
    },
  },
];

async function main() {
  const bytes = Number(process.env.BENCH_BYTES || 512 * 1024 * 1024);
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const packetRates = new Map();
  const results = await compare({
    rounds,
    extra,
    warmup: (env) => measure(env.net, env.host, 32 * 1024 * 1024, env.clientNet),
    measure: measureWithPacketRate(bytes, packetRates),
  });
  const [kernel, loopback] = results;
  console.log(`bulk TCP between stacks, ${bytes / 2 ** 20} MiB per run, best of ${rounds}`);
  for (const r of results) {
    console.log(`  ${r.name.padEnd(45)} ${format(r.value)} Gbit/s  ${format(r.value / kernel.value)}x kernel  ${format(r.value / loopback.value)}x one-stack loopback`);
  }
  for (const rate of packetRates.values()) console.log(`  TUN hooks in JS: ${format(rate / 1000, 0)} kpackets/s (both directions)`);
  return results;
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main };
