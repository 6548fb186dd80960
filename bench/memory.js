'use strict';
// Memory for many idle connections on one stack, against Node's `net` over
// the kernel loopback. Native bytes come from the C heap (glibc mallinfo2);
// the kernel's own socket memory is not visible in the baseline's RSS.
const nodeNet = require('node:net');
const { loadAddon } = require('../lib/backend/native.js');
const { createLoopbackStack, listen, closeServer, format } = require('./common.js');

function gc() {
  if (global.gc) { global.gc(); global.gc(); }
}

async function openIdle(net, host, count) {
  const server = await listen(net, host);
  const accepted = [];
  server.on('connection', (s) => accepted.push(s));
  const { port } = server.address();
  const clients = [];
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const wave = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      wave.push(new Promise((resolve, reject) => {
        const c = net.connect(port, host, resolve);
        c.on('error', reject);
        clients.push(c);
      }));
    }
    await Promise.all(wave);
  }
  while (accepted.length < count) await new Promise((r) => setTimeout(r, 5));
  return { server, clients, accepted };
}

async function closeAll({ server, clients, accepted }) {
  for (const s of [...clients, ...accepted]) s.destroy();
  await closeServer(server);
}

async function measure(makeEnv, count) {
  const env = makeEnv();
  const addon = loadAddon();
  const warm = await openIdle(env.net, env.host, 100);
  await closeAll(warm);
  await new Promise((r) => setTimeout(r, 100));
  gc();
  const heapBefore = addon.heapBytesInUse();
  const rssBefore = process.memoryUsage().rss;
  const open = await openIdle(env.net, env.host, count);
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const native = addon.heapBytesInUse() - heapBefore;
  const rss = process.memoryUsage().rss - rssBefore;
  await closeAll(open);
  env.teardown();
  return { native, rss };
}

async function main() {
  const count = Number(process.env.BENCH_IDLE || 10000);
  // Both ends of a kernel connection hold a file descriptor; stay under the
  // process's descriptor limit (raise it with `ulimit -n` to measure more).
  const kernelCount = Math.min(count, Number(process.env.BENCH_KERNEL_IDLE || 9000));
  const kernel = await measure(() => ({ net: nodeNet, host: '127.0.0.1', teardown() {} }), kernelCount);
  const ours = await measure(() => {
    const stack = createLoopbackStack();
    return { net: stack.net, host: '127.0.0.1', teardown: () => stack.destroy() };
  }, count);
  const perKernel = kernel.rss / kernelCount;
  const perOurs = ours.rss / count;
  console.log('idle connections, both ends in this process');
  console.log(`  kernel loopback (node:net)  ${kernelCount} conns: RSS +${format(kernel.rss / 2 ** 20, 1)} MiB (${format(perKernel / 1024, 1)} KiB/conn), C heap ${format(kernel.native / kernelCount, 0)} B/conn`);
  console.log(`  tcpip, one stack            ${count} conns: RSS +${format(ours.rss / 2 ** 20, 1)} MiB (${format(perOurs / 1024, 1)} KiB/conn), C heap ${format(ours.native / count, 0)} B/conn  ${format(perOurs / perKernel)}x RSS per conn`);
  return { kernel, ours, count };
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
module.exports = { main };
