'use strict';
// Sequential connect + close: connections per second.
const { listen, closeServer, compare, format, machineLine } = require('./common.js');

async function measure(net, host, count, clientNet = net) {
  const server = await listen(net, host);
  server.on('connection', (socket) => socket.on('end', () => socket.end()));
  const { port } = server.address();
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await new Promise((resolve, reject) => {
      const c = clientNet.connect(port, host, () => c.end());
      c.on('error', reject);
      c.on('close', resolve);
      c.resume();
    });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await closeServer(server);
  return count / seconds;
}

async function main() {
  const count = Number(process.env.BENCH_CONNECTIONS || 3000);
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const results = await compare({
    rounds,
    warmup: (env) => measure(env.net, env.host, 300),
    measure: (env) => measure(env.net, env.host, count),
  });
  const baseline = results[0].value;
  console.log(`sequential connect+close, ${count} connections, best of ${rounds}; ${machineLine()}`);
  for (const r of results) console.log(`  ${r.name.padEnd(30)} ${format(r.value, 0)} conn/s  ${format(r.value / baseline)}x`);
  return results;
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main, measure };
