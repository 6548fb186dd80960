'use strict';
// 1-byte request/response round trips on one connection.
const { listen, closeServer, compare, format, machineLine } = require('./common.js');

async function measure(net, host, rounds, clientNet = net) {
  const server = await listen(net, host);
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
  });
  const client = clientNet.connect(server.address().port, host);
  client.setNoDelay(true);
  await new Promise((resolve) => client.once('connect', resolve));
  const one = Buffer.from([1]);
  const start = process.hrtime.bigint();
  await new Promise((resolve) => {
    let left = rounds;
    client.on('data', () => {
      if (--left === 0) resolve();
      else client.write(one);
    });
    client.write(one);
  });
  const micros = Number(process.hrtime.bigint() - start) / 1e3 / rounds;
  client.destroy();
  await closeServer(server);
  return micros;
}

async function main() {
  const count = Number(process.env.BENCH_ROUND_TRIPS || 20000);
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  const results = await compare({
    rounds,
    better: 'lower',
    backends: process.env.TCPIP_BACKEND ? [undefined] : ['native', 'native-js', 'wasm'],
    warmup: (env) => measure(env.net, env.host, 2000),
    measure: (env) => measure(env.net, env.host, count),
  });
  const baseline = results[0].value;
  console.log(`1-byte request/response, ${count} round trips, best of ${rounds}; ${machineLine()}`);
  for (const r of results) console.log(`  ${r.name.padEnd(36)} ${format(r.value, 1)} us/round trip  ${format(r.value / baseline)}x`);
  return results;
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main, measure };
