'use strict';
// 1-byte request/response round trips on one connection.
const { targets, listen, closeServer, format } = require('./common.js');

async function measure(net, host, rounds) {
  const server = await listen(net, host);
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
  });
  const client = net.connect(server.address().port, host);
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
  const rounds = Number(process.env.BENCH_ROUNDS || 20000);
  const results = [];
  for (const target of targets()) {
    const env = target.make();
    await measure(env.net, env.host, 2000);
    const micros = Math.min(await measure(env.net, env.host, rounds), await measure(env.net, env.host, rounds));
    env.teardown();
    results.push({ name: target.name, micros });
  }
  const baseline = results[0].micros;
  console.log(`1-byte request/response, ${rounds} round trips, best of 2`);
  for (const r of results) console.log(`  ${r.name.padEnd(30)} ${format(r.micros, 1)} us/round trip  ${format(r.micros / baseline)}x`);
  return results;
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main };
