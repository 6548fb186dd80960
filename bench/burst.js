'use strict';
// A burst of clients connecting at once to one server with the default
// backlog (Node's 511): the time until every client is connected and the
// server has seen every connection, then until all are closed.
const { listen, closeServer, compare, format, machineLine } = require('./common.js');

async function measure(net, host, count) {
  const server = await listen(net, host);
  let accepted = 0;
  const sockets = [];
  server.on('connection', (socket) => {
    accepted++;
    sockets.push(socket);
  });
  const { port } = server.address();
  const start = process.hrtime.bigint();
  const clients = [];
  const connected = [];
  for (let i = 0; i < count; i++) {
    const client = net.connect(port, host);
    clients.push(client);
    connected.push(new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    }));
  }
  await Promise.all(connected);
  while (accepted < count) await new Promise((resolve) => setImmediate(resolve));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  await Promise.all(clients.map((client) => new Promise((resolve) => {
    client.once('close', resolve);
    client.destroy();
  })));
  for (const socket of sockets) socket.destroy();
  await closeServer(server);
  return ms;
}

async function main() {
  const counts = (process.env.BENCH_BURST || '500,1000').split(',').map(Number);
  const rounds = Number(process.env.BENCH_ROUNDS || 3);
  console.log(`parallel connects to one server (default backlog), best of ${rounds}; ${machineLine()}`);
  const all = [];
  for (const count of counts) {
    const results = await compare({
      rounds,
      better: 'lower',
      warmup: (env) => measure(env.net, env.host, 100),
      measure: (env) => measure(env.net, env.host, count),
    });
    const baseline = results[0].value;
    console.log(`  ${count} clients at once`);
    for (const r of results) console.log(`    ${r.name.padEnd(30)} ${format(r.value, 1)} ms  ${format(r.value / baseline)}x (the time)`);
    all.push({ count, results });
  }
  return all;
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main };
