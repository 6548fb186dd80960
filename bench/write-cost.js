'use strict';
// What sending costs the JS thread on the native backend: event-loop busy
// time to move 128 MiB through one stack in chunks of each size, and how
// long one 32 MiB write() to a peer that does not read holds the thread,
// with the native heap it adds. TCPIP_ADDON_PATH picks another build to
// compare against.
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');
const { loadAddon } = require('../lib/backend/native.js');
const { createLoopbackStack, listen, closeServer, format } = require('./common.js');

const MiB = 1024 * 1024;

// Busy milliseconds of the JS thread while `bytes` go out in `size` chunks.
async function busyToSend(net, size, bytes) {
  const server = await listen(net, '127.0.0.1');
  const busy = await new Promise((resolve) => {
    let start;
    server.once('connection', (peer) => {
      peer.on('data', () => {});
      peer.on('end', () => resolve(performance.eventLoopUtilization(start).active));
    });
    const client = net.connect(server.address().port, '127.0.0.1', () => {
      start = performance.eventLoopUtilization();
      const chunk = Buffer.alloc(size, 1);
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += size;
          if (!client.write(chunk)) {
            client.once('drain', pump);
            return;
          }
        }
        client.end();
      };
      pump();
    });
  });
  await closeServer(server);
  return busy;
}

// One 32 MiB write() to a paused peer: how long the call takes, the
// longest event-loop delay in the 200 ms after it, and the native heap added.
async function largeWrite(net) {
  const server = await listen(net, '127.0.0.1');
  const accepted = new Promise((resolve) => server.once('connection', (peer) => {
    peer.pause();
    resolve(peer);
  }));
  const client = net.connect(server.address().port, '127.0.0.1');
  const peer = await accepted;
  const big = Buffer.alloc(32 * MiB, 1);
  const heap = () => loadAddon().heapBytesInUse();
  // Earlier transfers' buffers go back to the heap first.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const heapBefore = heap();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  await new Promise((resolve) => setTimeout(resolve, 20)); // the monitor's timer runs
  const start = performance.now();
  client.write(big);
  const callMs = performance.now() - start;
  await new Promise((resolve) => setTimeout(resolve, 200));
  delay.disable();
  const heapAdded = heap() - heapBefore;
  client.destroy();
  peer.destroy();
  await closeServer(server);
  return { callMs, maxDelayMs: delay.max / 1e6, heapAdded };
}

async function main() {
  const bytes = Number(process.env.BENCH_BYTES || 128 * MiB);
  const rounds = Number(process.env.BENCH_ROUNDS || 5);
  const stack = createLoopbackStack('native');
  await busyToSend(stack.net, 64 * 1024, 32 * MiB); // warm-up
  console.log(`native write cost: JS-thread busy ms to send ${bytes / MiB} MiB, best of ${rounds}`);
  for (const size of [4096, 8192, 16384, 32768, 65536, 1024 * 1024]) {
    let best = Infinity;
    for (let round = 0; round < rounds; round++) best = Math.min(best, await busyToSend(stack.net, size, bytes));
    console.log(`  ${`${size / 1024} KiB chunks`.padEnd(16)} ${format(best, 1)} ms`);
  }
  const large = await largeWrite(stack.net);
  console.log(`  one 32 MiB write() to a paused peer: call ${format(large.callMs, 2)} ms, ` +
    `longest event-loop delay ${format(large.maxDelayMs, 1)} ms, native heap +${format(large.heapAdded / MiB, 1)} MiB`);
  stack.destroy();
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main };
