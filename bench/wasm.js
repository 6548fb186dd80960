'use strict';
// The wasm backend against the native one on the same workloads, interleaved
// round by round in one run, next to the kernel loopback: one stack's
// loopback socket to socket, and two stacks joined by TUN hooks in JS. Also
// the module's size and the linear memory the wasm stacks end with.
const fs = require('node:fs');
const path = require('node:path');
const { compare, twoStacks, format, TCPIP_JS_GBPS } = require('./common.js');
const { measure, measureWithPacketRate } = require('./throughput.js');

const BACKENDS = ['native', 'wasm'];
const WASM_PATH = process.env.TCPIP_WASM_PATH
  ? path.resolve(process.env.TCPIP_WASM_PATH)
  : path.join(__dirname, '..', 'dist', 'wasm', 'tcpip.wasm');
const TARGET_GBPS = 1;

// Linear memory of each wasm target's stacks after its latest run (it grows
// to the peak in use and stays, so after the last run it is the peak).
const memoryAfter = new Map();

function recordMemory(env) {
  const stacks = env.stacks || (env.stack ? [env.stack] : []);
  if (stacks.length && stacks.every((s) => s.backend === 'wasm')) {
    memoryAfter.set(env, stacks.map((s) => s._backend.memoryBytes()));
  }
}

function joinedInJs(backend) {
  return {
    name: `tcpip ${backend}, two stacks, TUN hooks in JS`,
    make: () => {
      let packets = 0;
      const { a, b } = twoStacks((x, y) => {
        const ta = x.createTunInterface({ ipAddress: '10.0.0.1/24', mtu: 65535 });
        const tb = y.createTunInterface({ ipAddress: '10.0.0.2/24', mtu: 65535 });
        ta.on('packet', (p) => { packets++; tb.send(p); });
        tb.on('packet', (p) => { packets++; ta.send(p); });
      }, backend);
      return {
        net: b.net,
        clientNet: a.net,
        host: '10.0.0.2',
        stacks: [a, b],
        packets: () => packets,
        teardown: () => { a.destroy(); b.destroy(); },
      };
    },
  };
}

async function main() {
  let moduleBytes;
  try {
    moduleBytes = fs.statSync(WASM_PATH).size;
  } catch {
    console.log(`wasm backend: skipped, the module is not built (${WASM_PATH}; run npm run build:wasm)`);
    return null;
  }
  const bytes = Number(process.env.BENCH_BYTES || 1024 * 1024 * 1024);
  const rounds = Number(process.env.BENCH_ROUNDS || 5);
  const packetRates = new Map();
  const measureRound = measureWithPacketRate(bytes, packetRates);
  const results = await compare({
    rounds,
    backends: BACKENDS,
    extra: BACKENDS.map(joinedInJs),
    warmup: (env) => measure(env.net, env.host, 32 * 1024 * 1024, env.clientNet),
    measure: async (env) => {
      const gbps = await measureRound(env);
      recordMemory(env);
      return gbps;
    },
  });

  const [kernel, nativeLoop, wasmLoop, nativeJoined, wasmJoined] = results;
  const line = (r, rest = '') =>
    console.log(`  ${r.name.padEnd(44)} ${format(r.value).padStart(6)} Gbit/s  ${format(r.value / kernel.value)}x kernel${rest}`);
  const kpps = (r) => format(packetRates.get(r.env) / 1000, 0);

  console.log(`wasm backend against native, ${bytes / 2 ** 20} MiB per run, best of ${rounds}, interleaved`);
  line(kernel);
  line(nativeLoop);
  line(wasmLoop);
  console.log(`    one stack loopback, native / wasm: ${format(nativeLoop.value / wasmLoop.value)}x`);
  line(nativeJoined, `  ${kpps(nativeJoined)} kpackets/s`);
  line(wasmJoined, `  ${kpps(wasmJoined)} kpackets/s`);
  console.log(`    two stacks in JS, native / wasm: ${format(nativeJoined.value / wasmJoined.value)}x`);
  const factor = wasmJoined.value / TCPIP_JS_GBPS;
  console.log(`    wasm, two stacks in JS: ${format(factor, 1)}x tcpip.js's ${TCPIP_JS_GBPS} Gbit/s ` +
    `(a stated reference from issue 4, not measured here; target 4x = ${TARGET_GBPS} Gbit/s: ` +
    `${wasmJoined.value >= TARGET_GBPS ? 'met' : 'NOT met'})`);
  console.log(`  wasm module: ${moduleBytes} bytes (${path.relative(process.cwd(), WASM_PATH) || WASM_PATH})`);
  for (const r of results) {
    const list = memoryAfter.get(r.env);
    if (list) console.log(`  wasm linear memory after the run, ${r.name}: ${list.map((b) => `${format(b / 2 ** 20, 1)} MiB`).join(' + ')}`);
  }
  return results;
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main };
