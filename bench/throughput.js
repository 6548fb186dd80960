'use strict';
// Bulk TCP throughput, socket to socket, one direction: the kernel loopback
// and one stack per engine, each in a process of its own, measured in turn
// (compareInChildren says why).
const { compareInChildren, childTarget, format, machineLine } = require('./common.js');
const { bulk } = require('./bulk.js');

// `net` serves; `clientNet` (the same by default) connects. Gbit/s.
async function measure(net, host, bytes, clientNet = net) {
  const { received, seconds } = await bulk(net, clientNet, host, bytes);
  return (received * 8) / seconds / 1e9;
}

const BYTES = Number(process.env.BENCH_BYTES || 1024 * 1024 * 1024);

async function main() {
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const results = await compareInChildren({
    script: __filename,
    rounds,
    backends: ['kernel', ...(process.env.TCPIP_BACKEND ? [undefined] : ['native', 'native-js', 'wasm'])],
  });
  const baseline = results[0].value;
  console.log(`bulk throughput, ${BYTES / 2 ** 20} MiB per run, best of ${rounds}, a process per target; ${machineLine()}`);
  for (const r of results) console.log(`  ${r.name.padEnd(36)} ${format(r.value)} Gbit/s  ${format(r.value / baseline)}x`);
  return results;
}

/**
 * A compare() round for targets that may count packets (`env.packets()`):
 * Gbit/s of `bytes`, and each target's best packet rate into `packetRates`.
 */
function measureWithPacketRate(bytes, packetRates) {
  return async (env) => {
    const before = env.packets ? env.packets() : 0;
    const start = process.hrtime.bigint();
    const gbps = await measure(env.net, env.host, bytes, env.clientNet);
    if (env.packets) {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      packetRates.set(env, Math.max(packetRates.get(env) || 0, (env.packets() - before) / seconds));
    }
    return gbps;
  };
}

if (require.main === module) {
  const childAt = process.argv.indexOf('--child');
  const run = childAt === -1 ? main() : childTarget(process.argv[childAt + 1] || undefined, {
    warmup: (env) => measure(env.net, env.host, 64 * 1024 * 1024),
    measure: (env) => measure(env.net, env.host, BYTES),
  });
  run.catch((e) => { console.error(e); process.exit(1); });
}
module.exports = { main, measure, measureWithPacketRate };
