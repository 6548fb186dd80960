'use strict';
// A Linux guest in v86 (test/helpers/v86.js; each NIC model in turn) joined
// by attachV86 to a native stack: TCP throughput guest -> stack and stack ->
// guest (busybox nc), and the round trip (busybox ping), next to what the
// emulated NIC allows in the same run with no stack at all: frames blasted
// at the guest and counted by its kernel (/proc/net/dev), and ping answered
// by a plain echo of the frame in JS on the same NIC.
const crypto = require('node:crypto');
const { Stack, attachV86 } = require('..');
const { bootGuest } = require('../test/helpers/v86.js');
const { format, machineLine } = require('./common.js');

const MiB = 1024 * 1024;
const ROUTER = '10.0.2.2';
const GUEST = '10.0.2.15';
const ECHO = '10.0.2.3';
const ECHO_MAC = Buffer.from([0x02, 0, 0, 0, 0xec, 0x40]);
const LENGTH = Number(process.env.BENCH_V86_MIB || 8) * MiB;

const ip = (text) => Buffer.from(text.split('.').map(Number));

// Answers ARP for ECHO and ICMP echo requests to it, by turning the frame
// around in JS: the round trip the NIC and the IPC allow.
function frameEcho(bus) {
  const onSend = (frame) => {
    const f = Buffer.from(frame);
    const type = f.readUInt16BE(12);
    if (type === 0x0806 && f.readUInt16BE(20) === 1 && f.subarray(38, 42).equals(ip(ECHO))) {
      const reply = Buffer.from(f);
      f.copy(reply, 0, 6, 12);
      ECHO_MAC.copy(reply, 6);
      reply.writeUInt16BE(2, 20);
      ECHO_MAC.copy(reply, 22);
      ip(ECHO).copy(reply, 28);
      f.copy(reply, 32, 22, 32);
      bus.send('net0-receive', reply);
    } else if (type === 0x0800 && f[23] === 1 && f.subarray(30, 34).equals(ip(ECHO)) && f[34] === 8) {
      const reply = Buffer.from(f);
      f.copy(reply, 0, 6, 12);
      ECHO_MAC.copy(reply, 6);
      f.copy(reply, 26, 30, 34);
      f.copy(reply, 30, 26, 30);
      reply[34] = 0; // echo reply: the checksum grows by 8 in the high byte
      let sum = reply.readUInt16BE(36) + 0x0800;
      sum = (sum & 0xffff) + (sum >>> 16);
      reply.writeUInt16BE(sum, 36);
      bus.send('net0-receive', reply);
    }
  };
  bus.register('net0-send', onSend);
  return () => bus.unregister('net0-send', onSend);
}

async function rxBytes(guest) {
  const line = (await guest.check('grep eth0 /proc/net/dev')).split(':')[1].trim().split(/\s+/);
  return Number(line[0]);
}

// Frames to the guest's MAC at a paced rate for a second each, rates
// doubling: what its kernel counts received, at the best rate, is the NIC's
// ceiling toward the guest. (Unpaced, the frames pile up in the IPC channel
// and the NIC's ring and the guest gets fewer: no back-pressure exists.)
async function blast(guest) {
  const mac = Buffer.from(guest.mac.split(':').map((h) => parseInt(h, 16)));
  const frame = Buffer.alloc(1514);
  mac.copy(frame, 0);
  ECHO_MAC.copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12); // local experimental: no protocol takes it
  let best = 0;
  for (let rate = 1000; rate <= 64000; rate *= 2) {
    const before = await rxBytes(guest);
    const start = process.hrtime.bigint();
    let sent = 0;
    for (;;) {
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      if (elapsed >= 1) break;
      while (sent < elapsed * rate) {
        guest.bus.send('net0-receive', frame);
        sent++;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const received = ((await rxBytes(guest)) - before) / seconds;
    best = Math.max(best, received);
    if (received < 0.5 * best) break; // past the ceiling: it only drops more
  }
  return best;
}

async function pingAverage(guest, host, count) {
  const out = await guest.check(`ping -c ${count} -i 0.05 -s 56 ${host}`, { timeout: 60000 });
  return Number(/min\/avg\/max = [\d.]+\/([\d.]+)\//.exec(out)[1]);
}

async function measure(nic) {
  const guest = await bootGuest({ nic });
  const stack = new Stack({ backend: 'native' });
  try {
    const tap = stack.createTapInterface({ ipAddress: `${ROUTER}/24` });
    attachV86(guest.bus, tap);
    const stopEcho = frameEcho(guest.bus);
    await guest.check(`ip addr add ${GUEST}/24 dev eth0`);
    await guest.check(`ping -c 2 ${ECHO} && ping -c 2 ${ROUTER}`);
    const result = { nic };
    result.rttEcho = await pingAverage(guest, ECHO, 50);
    result.rttStack = await pingAverage(guest, ROUTER, 50);
    stopEcho();

    // Guest -> stack: from a file in the guest's RAM, timed on the stack.
    await guest.check(`dd if=/dev/urandom of=/tmp/up bs=65536 count=${LENGTH / 65536} 2>/dev/null`);
    let done;
    const upload = stack.net.createServer((socket) => {
      let received = 0;
      let start = 0;
      socket.on('data', (chunk) => {
        if (start === 0) start = process.hrtime.bigint();
        received += chunk.length;
        if (received >= LENGTH) {
          done(LENGTH / (Number(process.hrtime.bigint() - start) / 1e9));
          socket.destroy();
        }
      });
    });
    await new Promise((resolve) => upload.listen(9000, ROUTER, resolve));
    const up = new Promise((resolve) => { done = resolve; });
    const { status } = await guest.sh(`timeout 60 nc ${ROUTER} 9000 < /tmp/up`, { timeout: 70000 });
    result.up = status === 0 ? await up : NaN; // NaN: stalled (ne2k; README: limits)
    upload.close();
    await guest.check('rm /tmp/up');

    // Stack -> guest: into /dev/null, timed on the stack until the guest
    // closed (nc reads to the end, then exits).
    const data = crypto.randomBytes(LENGTH);
    let start = 0n;
    const closed = new Promise((resolve) => {
      const server = stack.net.createServer((socket) => {
        start = process.hrtime.bigint();
        socket.end(data);
        socket.on('close', () => {
          resolve(LENGTH / (Number(process.hrtime.bigint() - start) / 1e9));
          server.close();
        });
        socket.on('error', () => {});
      });
      server.listen(9001, ROUTER);
    });
    await guest.check(`timeout 120 nc ${ROUTER} 9001 </dev/null >/dev/null`, { timeout: 130000 });
    result.down = await closed;
    // Last: frames past the ceiling overrun the NIC's ring, after which
    // ne2k's transmit stalls (README: limits).
    result.ceilingIn = await blast(guest);
    return result;
  } finally {
    await guest.close();
    stack.destroy();
  }
}

async function main() {
  console.log(`v86 guest (Linux, busybox) <-> a native stack over attachV86; ${machineLine()}`);
  const nics = (process.env.BENCH_V86_NICS || 'ne2k,virtio').split(',');
  for (const nic of nics) {
    const r = await measure(nic);
    const mbps = (bytesPerSecond) => `${format((bytesPerSecond * 8) / 1e6, 1)} Mbit/s`;
    console.log(`  ${nic}:`);
    console.log(`    frames paced at the guest (the NIC's ceiling)  ${mbps(r.ceilingIn).padStart(16)}`);
    console.log(`    TCP stack -> guest, ${LENGTH / MiB} MiB               ${mbps(r.down).padStart(16)}  ${format(r.down / r.ceilingIn)}x the ceiling`);
    // The guest's emulated CPU making the segments bounds this way.
    console.log(`    TCP guest -> stack, ${LENGTH / MiB} MiB               ${mbps(r.up).padStart(16)}  ${format(r.up / r.down)}x the other way`);
    console.log(`    ping, frame echo in JS (the NIC's round trip)  ${format(r.rttEcho, 3).padStart(9)} ms`);
    console.log(`    ping, the stack                                ${format(r.rttStack, 3).padStart(9)} ms  ${format(r.rttStack / r.rttEcho)}x (the time)`);
  }
  console.log(`  ${machineLine()} (at the end)`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
