'use strict';
// Seed inputs for the fuzz targets, in each target's own input format (see
// the comment at the top of packet.c, tcp.c and wasm_entry.c): a handshake
// both ways, data, FIN, resets, time passing, ARP and neighbour discovery,
// fragments, and the attacks the fuzzers found, so that every later run
// replays them first. Deterministic: the same files every time.
const fs = require('node:fs');
const path = require('node:path');
const {
  ipv4, ipv6, tcpSyn, ethernet, ETHERTYPE, icmpEchoRequest, routerAdvertisement,
} = require('../test/helpers/packets.js');

const u8 = (n) => Buffer.from([n & 0xff]);
const u16 = (n) => Buffer.from([(n >>> 8) & 0xff, n & 0xff]);
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };

// --- packet: [selector][length][bytes] -------------------------------------
const IFACE = { tunBare: 0, tunChecked: 1, tap: 2, portA: 3, portB: 4, app: 5, time: 6, bridge: 7 };
const record = (selector, bytes) => Buffer.concat([u8(selector), u16(bytes.length), bytes]);
const wait = (ms) => Buffer.concat([u8(IFACE.time), u16(Math.ceil(ms / 4))]);

function arp(operation, senderMac, senderIp, targetIp) {
  const body = Buffer.alloc(28);
  body.writeUInt16BE(1, 0);
  body.writeUInt16BE(0x0800, 2);
  body[4] = 6;
  body[5] = 4;
  body.writeUInt16BE(operation, 6);
  Buffer.from(senderMac).copy(body, 8);
  Buffer.from(senderIp).copy(body, 14);
  Buffer.from(targetIp).copy(body, 24);
  return ethernet(ETHERTYPE.arp, body, senderMac);
}

function fragment(id, offsetBytes, more, payload) {
  const packet = ipv4(17, payload);
  packet.writeUInt16BE(id, 4);
  packet.writeUInt16BE((more ? 0x2000 : 0) | (offsetBytes / 8), 6);
  return packet;
}

function ipv6Fragment(id, offsetBytes, more, payload) {
  const header = Buffer.alloc(8);
  header[0] = 17;
  header.writeUInt16BE(offsetBytes | (more ? 1 : 0), 2);
  header.writeUInt32BE(id, 4);
  return ipv6(44, Buffer.concat([header, payload]));
}

function packetSeeds() {
  const peerMac = [2, 0, 0, 0, 0, 0x22];
  const synWithOptions = Buffer.concat([tcpSyn(80), Buffer.from([2, 4, 5, 0xb4, 1, 3, 3, 7])]);
  synWithOptions[12] = 0x70;
  const truncatedOption = Buffer.concat([tcpSyn(80), Buffer.from([1, 1, 1, 2])]);
  truncatedOption[12] = 0x60;
  const oddSource = tcpSyn(443);
  oddSource.writeUInt16BE(40001, 0);
  const hopByHop = Buffer.concat([Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]), tcpSyn(80)]);
  const echo6 = Buffer.from([128, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4]);
  const tooBig = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 50]), ipv6(6, tcpSyn(40000)).subarray(0, 48)]);
  return {
    'syn-v4': record(IFACE.tunBare, ipv4(6, tcpSyn(80))),
    // to an address that is not the stack's: the catch-all takes it (an
    // even source port is answered SYN|ACK, an odd one refused)
    'syn-foreign': record(IFACE.tunBare, ipv4(6, tcpSyn(443), { destination: [198, 51, 100, 7] })),
    'syn-foreign-refused': record(IFACE.tunBare, ipv4(6, oddSource, { destination: [198, 51, 100, 7] })),
    'syn-v6': record(IFACE.tunBare, ipv6(6, tcpSyn(80))),
    'syn-options': record(IFACE.tunBare, ipv4(6, synWithOptions)),
    'syn-option-without-length': Buffer.concat([
      record(IFACE.tunBare, ipv4(6, truncatedOption)), record(IFACE.tunBare, ipv6(6, truncatedOption))]),
    'syn-hop-by-hop': record(IFACE.tunBare, ipv6(0, hopByHop)),
    'echo-v4': record(IFACE.tunChecked, icmpEchoRequest('10.0.1.2', '10.0.1.1')),
    'echo-v6': record(IFACE.tunBare, ipv6(58, echo6)),
    'packet-too-big-v6': Buffer.concat([
      record(IFACE.tunBare, ipv6(6, tcpSyn(80))), record(IFACE.tunBare, ipv6(58, tooBig)), wait(2000)]),
    'arp-request-and-reply': Buffer.concat([
      record(IFACE.tap, arp(1, peerMac, [10, 0, 2, 2], [10, 0, 2, 1])),
      record(IFACE.tap, arp(2, peerMac, [10, 0, 2, 2], [10, 0, 2, 1])), wait(3000)]),
    'bridge-arp': Buffer.concat([
      record(IFACE.portA, arp(1, peerMac, [10, 0, 3, 2], [10, 0, 3, 1])),
      record(IFACE.portB, arp(2, [2, 0, 0, 0, 0, 0x33], [10, 0, 3, 3], [10, 0, 3, 2]))]),
    'fragments-v4': Buffer.concat([
      record(IFACE.tunBare, fragment(7, 0, true, Buffer.alloc(1024, 1))),
      record(IFACE.tunBare, fragment(7, 1024, false, Buffer.alloc(100, 2))),
      record(IFACE.tunBare, fragment(8, 0, true, Buffer.alloc(64, 3))), wait(20000)]),
    'fragments-v6': Buffer.concat([
      record(IFACE.tunBare, ipv6Fragment(9, 0, true, Buffer.alloc(1024, 1))),
      record(IFACE.tunBare, ipv6Fragment(9, 1024, false, Buffer.alloc(100, 2)))]),
    'time-passes': Buffer.concat([wait(60000), wait(200000)]),
    // SLAAC: an address formed (after DAD), then aged out by a second advertisement
    'router-advertisement': Buffer.concat([
      record(IFACE.tap, routerAdvertisement({
        router: 'fe80::22', routerMac: '02:00:00:00:00:22',
        prefixes: [{ prefix: 'fd00:5::', valid: 4, preferred: 2 }, { prefix: 'fd00:6::', length: 48, valid: 9, preferred: 9 }],
      })), wait(3000),
      record(IFACE.tap, routerAdvertisement({
        router: 'fe80::22', routerMac: '02:00:00:00:00:22', routerLifetime: 0,
        prefixes: [{ prefix: 'fd00:5::', valid: 7201, preferred: 0 }],
      })), wait(10000)]),
  };
}

// --- tcp: [setup][op]... ----------------------------------------------------
const OP = { segment: 0, time: 1, app: 2, connect: 3, raw: 4 };
const FLAG = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10 };
// seq/ack "relative" encodings: mode byte, then the delta it announces
const exact = () => u8(0);
const plus16 = (delta) => Buffer.concat([u8(2), u16(delta & 0xffff)]);
const halfway = () => u8(4);

function segment(conn, flags, { seq = exact(), ack = exact(), isn = 1000, window = 65535, options = [], payload = 0, fill = 0x61 } = {}) {
  const words = Math.ceil(options.length / 4);
  const optionBytes = Buffer.alloc(words * 4);
  Buffer.from(options).copy(optionBytes);
  const seqBytes = (flags & (FLAG.syn | FLAG.ack)) === FLAG.syn ? u32(isn) : seq;
  return Buffer.concat([u8(OP.segment), u8(conn), u8(flags), seqBytes, ack, u16(window), u8(words),
    optionBytes, u16(payload), u8(fill)]);
}
const time = (ms) => Buffer.concat([u8(OP.time), u16(Math.ceil(ms / 8))]);
const app = (slot, action, amount = 0) => Buffer.concat([u8(OP.app), u8(slot), u8(action), u16(amount)]);
const APP = { readOn: 0, readOff: 1, write: 2, shutdown: 3, close: 4, abort: 5, readSome: 9 };
const handshake = (conn, options = [2, 4, 0x05, 0xb4]) => Buffer.concat([
  segment(conn, FLAG.syn, { options }), segment(conn, FLAG.ack)]);
const setup = (mtuChoice, reading = true) => u8(mtuChoice | (reading ? 0 : 4));

function tcpSeeds() {
  return {
    'handshake-data-fin-v4': Buffer.concat([setup(1), handshake(0), segment(0, FLAG.ack | FLAG.psh, { payload: 1000 }),
      segment(0, FLAG.ack | FLAG.fin), app(0, APP.write, 100), app(0, APP.close), segment(0, FLAG.ack), time(3000)]),
    'handshake-data-fin-v6': Buffer.concat([setup(0), handshake(2), segment(2, FLAG.ack | FLAG.psh, { payload: 30000 }),
      app(0, APP.shutdown), segment(2, FLAG.ack | FLAG.fin), time(3000)]),
    // the stack's ACK moves on after each segment, and seq follows it: 18
    // full segments close the 1 MiB window of an application not reading
    'window-scale-zero-window': Buffer.concat([setup(0, false), handshake(1, [2, 4, 0xff, 0xd7, 1, 3, 3, 7]),
      ...Array.from({ length: 18 }, () => segment(1, FLAG.ack, { payload: 65000 })),
      time(5000), app(0, APP.readSome, 100), time(1000), app(0, APP.readOn), time(1000)]),
    // a window closes only with new data or a new ack (RFC 9293's SND.WL1/2)
    'persist-probe-acknowledged': Buffer.concat([setup(1), handshake(0),
      segment(0, FLAG.ack, { payload: 1 }), segment(0, FLAG.ack, { window: 0 }), app(0, APP.write, 0), time(400),
      segment(0, FLAG.ack, { window: 0 }), time(2000)]),
    'insane-offset-fin': Buffer.concat([setup(1), handshake(0), segment(0, FLAG.ack | FLAG.fin, { seq: halfway() }),
      segment(0, FLAG.ack | FLAG.psh, { payload: 10 })]),
    'insane-offset-syn-received': Buffer.concat([setup(1), segment(3, FLAG.syn),
      segment(3, FLAG.ack | FLAG.psh, { seq: halfway(), payload: 1 })]),
    'ooseq-past-window': Buffer.concat([setup(0, false), handshake(0, [2, 4, 0xff, 0xd7]),
      segment(0, FLAG.ack, { seq: plus16(1000), payload: 65000 }), segment(0, FLAG.ack, { payload: 1000 }), time(100)]),
    // a closed window, then FIN and data 2^31 - 1 ahead; a partial read; a byte at rcv_nxt
    'zero-window-half-space': Buffer.concat([setup(0, false), handshake(0, [2, 4, 0xff, 0xd7]),
      segment(0, FLAG.ack, { payload: 65495 }), segment(0, FLAG.ack, { payload: 40 }),
      segment(0, FLAG.ack | FLAG.fin, { seq: Buffer.from([0x05, 0xff]), payload: 60000 }),
      app(0, APP.readSome, 1024), segment(0, FLAG.ack, { payload: 1 }), time(100)]),
    'ooseq-tiny': Buffer.concat([setup(1), handshake(1),
      ...Array.from({ length: 64 }, (_, i) => segment(1, FLAG.ack, { seq: plus16(2 + 2 * i), payload: 1 })),
      segment(1, FLAG.ack, { payload: 200 })]),
    'syn-option-without-length': Buffer.concat([setup(1), segment(0, FLAG.syn, { options: [1, 1, 1, 2] }),
      segment(2, FLAG.syn, { options: [1, 1, 1, 8] })]),
    'active-open': Buffer.concat([setup(1), Buffer.from([OP.connect, 1]),
      segment(1, FLAG.syn | FLAG.ack, { seq: Buffer.concat([u8(0x83), u32(5000)]) }), app(0, APP.write, 500),
      segment(1, FLAG.ack, { payload: 100 }), app(0, APP.close), segment(1, FLAG.ack | FLAG.fin), time(5000)]),
    'retransmit-and-give-up': Buffer.concat([setup(1), handshake(0), app(0, APP.write, 2000), time(60000), time(400000)]),
    'reset-in-window': Buffer.concat([setup(1), handshake(0), segment(0, FLAG.rst, { seq: plus16(10) }),
      segment(0, FLAG.rst)]),
  };
}

// --- wasm_entry: [op | id << 4][arguments]... -------------------------------
function wasmSeeds() {
  const scratch = (bytes) => Buffer.concat([u8(0), u16(bytes.length), bytes]);
  const create = (id, kind, cidrCount, mtu) => Buffer.concat([u8(1 | ((id - 1) << 4)), u8(kind), u8(cidrCount), u16(mtu), u8(0)]);
  const input = (id, length) => Buffer.concat([u8(2 | ((id - 1) << 4)), u16(length)]);
  const listen = (id, port) => Buffer.concat([u8(3 | ((id - 1) << 4)), u16(port), u8(8)]);
  const poll = () => u8(5);
  const syn = ipv4(6, tcpSyn(80));
  return {
    'tun-listen-syn': Buffer.concat([scratch(Buffer.from('10.0.0.1/24\0fd00::1/64\0\0')), create(1, 2, 2, 1500),
      scratch(Buffer.from('::\0')), listen(9, 80), scratch(syn), input(1, syn.length), poll(), poll()]),
    'tap-arp': Buffer.concat([scratch(Buffer.from('10.0.2.1/24\0\0')), create(2, 3, 1, 1500),
      scratch(arp(1, [2, 0, 0, 0, 0, 0x22], [10, 0, 2, 2], [10, 0, 2, 1])), input(2, 42), poll()]),
    'unterminated-strings': Buffer.concat([scratch(Buffer.from('10.0.0.1/24')), create(1, 2, 3, 1500),
      Buffer.from([4]), u16(80), u16(0), input(1, 60000)]),
  };
}

function writeSeeds(dir) {
  const sets = { packet: packetSeeds(), tcp: tcpSeeds(), wasm_entry: wasmSeeds() };
  for (const [target, seeds] of Object.entries(sets)) {
    const targetDir = path.join(dir, target);
    fs.rmSync(targetDir, { recursive: true, force: true });
    fs.mkdirSync(targetDir, { recursive: true });
    for (const [name, bytes] of Object.entries(seeds)) fs.writeFileSync(path.join(targetDir, name), bytes);
  }
}

module.exports = { writeSeeds };

if (require.main === module) writeSeeds(process.argv[2] || path.join(__dirname, '..', 'build-fuzz', 'seeds'));
