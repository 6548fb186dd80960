'use strict';
// Regression tests for faults a fuzzer found on the wire. JS plays the remote
// peer: it builds IP+TCP segments by hand, injects them into a TUN interface
// (or frames into TAP ports of a bridge), and reads the stack's answers from
// the interface's output. Before the fixes, the first two aborted the
// process (native) or trapped the wasm instance, the third read past the
// packet (AddressSanitizer aborts: npm run test:asan), and the others held
// memory without bound or forwarded frames no port may carry. Each case
// checks that the stack survives AND still behaves correctly afterwards.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Stack } = require('..');
const { withStacks } = require('./helpers/stack.js');
const { TCP, tcpPacket, parseTcpPacket, ipPacket, ethernetFrame, ETHERTYPE } = require('./helpers/packets.js');
const { listen, nextEvent, waitFor, within, delay } = require('./helpers/util.js');
const { loadAddon } = require('../lib/backend/native.js');

const MiB = 1024 * 1024;
const SEQ_HALF = 2 ** 31;
const seqAdd = (a, b) => (a + b) >>> 0;

const FAMILIES = [
  { name: 'IPv4', stackAddress: '10.0.0.1', peerAddress: '10.0.0.2', ipHeader: 20 },
  { name: 'IPv6', stackAddress: 'fd00::1', peerAddress: 'fd00::2', ipHeader: 40 },
];
const SERVER_PORT = 80;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

let lastPeerPort = 40000;
const nextPeerPort = () => ++lastPeerPort;

/**
 * The remote end of one TCP connection, played by hand over a TUN interface.
 * It keeps the two sequence numbers a peer needs (`sndNxt`, what it sends
 * next, which is the stack's rcv_nxt; `rcvNxt`, what it expects from the
 * stack), and collects the stack's segments for this connection in order.
 */
class TcpPeer {
  constructor(tun, family, { port = nextPeerPort(), stackPort = SERVER_PORT } = {}) {
    this.tun = tun;
    this.family = family;
    this.port = port;
    this.stackPort = stackPort;
    this.iss = crypto.randomInt(0, 2 ** 32);
    this.sndNxt = this.iss;
    this.rcvNxt = 0;
    this.segments = []; // everything the stack sent on this connection
    this._cursor = 0; // next() looks at segments from here on
    this._waiter = null;
    tun.on('packet', (packet) => {
      const segment = parseTcpPacket(packet);
      if (!segment || segment.source !== family.stackAddress || segment.sourcePort !== stackPort ||
          segment.destinationPort !== port) return;
      // Copies: a packet's buffer may hold engine memory until it is collected.
      segment.options = Buffer.from(segment.options);
      segment.payload = Buffer.from(segment.payload);
      this.segments.push(segment);
      if (this._waiter) this._waiter();
    });
  }

  /** Injects one segment; seq, ack and flags default to the connection's. */
  send({ seq = this.sndNxt, ack = this.rcvNxt, flags = TCP.ACK, payload = Buffer.alloc(0), options, window = 65535, padOptions } = {}) {
    const accepted = this.tun.send(tcpPacket({
      source: this.family.peerAddress, destination: this.family.stackAddress,
      sourcePort: this.port, destinationPort: this.stackPort,
      seq, ack, flags, window, options, payload, padOptions,
    }));
    assert.equal(accepted, true, 'the interface took the segment');
  }

  /** Sends `bytes` in order in segments of at most `size` bytes. */
  sendData(bytes, size = bytes.length, ack = this.rcvNxt) {
    for (let at = 0; at < bytes.length; at += size) {
      const payload = bytes.subarray(at, at + size);
      this.send({ flags: TCP.ACK | TCP.PSH, payload, ack });
      this.sndNxt = seqAdd(this.sndNxt, payload.length);
    }
  }

  /** Forget the segments received so far: next() only sees later ones. */
  skip() {
    this._cursor = this.segments.length;
  }

  /**
   * The next segment from the stack (after the last one next() returned)
   * that `predicate` accepts. One wait at a time, with untilUnread().
   */
  next(predicate = () => true, label = 'a segment from the stack', ms = 5000) {
    const found = new Promise((resolve) => {
      this._waiter = () => {
        while (this._cursor < this.segments.length) {
          const segment = this.segments[this._cursor++];
          if (predicate(segment)) {
            this._waiter = null;
            resolve(segment);
            return;
          }
        }
      };
      this._waiter();
    });
    return within(found, ms, label).finally(() => { this._waiter = null; }).then((segment) => {
      assert.ok(segment.checksumValid, `the stack's segment has a valid TCP checksum (${label})`);
      return segment;
    });
  }

  /** The segments received since the last next() or skip(). */
  unread() {
    return this.segments.slice(this._cursor);
  }

  /** Waits until `count` segments arrived since the last next() or skip(). */
  untilUnread(count, label = `${count} segments from the stack`, ms = 10000) {
    const arrived = new Promise((resolve) => {
      this._waiter = () => {
        if (this.segments.length - this._cursor >= count) {
          this._waiter = null;
          resolve();
        }
      };
      this._waiter();
    });
    return within(arrived, ms, `${label} (have ${this.segments.length - this._cursor})`).finally(() => { this._waiter = null; });
  }

  /** SYN, then the stack's SYN-ACK (returned); the connection is then half open (SYN_RCVD). */
  async open(options = [2, 4, 0x05, 0xb4]) {
    this.send({ seq: this.iss, ack: 0, flags: TCP.SYN, options });
    const synAck = await this.next((s) => s.flags & TCP.SYN, 'SYN-ACK');
    assert.equal(synAck.flags & (TCP.SYN | TCP.ACK | TCP.RST), TCP.SYN | TCP.ACK, 'SYN-ACK flags');
    assert.equal(synAck.ack, seqAdd(this.iss, 1), 'the SYN-ACK acknowledges our SYN');
    this.sndNxt = seqAdd(this.iss, 1);
    this.rcvNxt = seqAdd(synAck.seq, 1);
    return synAck;
  }

  /** The three-way handshake; returns the SYN-ACK. */
  async handshake(options) {
    const synAck = await this.open(options);
    this.send({ flags: TCP.ACK });
    return synAck;
  }
}

/** Gathers what a socket reads; until(n) waits for n bytes in all. */
class Reader {
  constructor(socket) {
    this.chunks = [];
    this.length = 0;
    this.ended = false;
    this._check = null;
    socket.on('data', (chunk) => {
      this.chunks.push(Buffer.from(chunk));
      this.length += chunk.length;
      if (this._check) this._check();
    });
    socket.on('end', () => { this.ended = true; });
  }

  bytes() {
    return Buffer.concat(this.chunks);
  }

  until(length, ms = 5000) {
    return within(new Promise((resolve) => {
      this._check = () => {
        if (this.length >= length) {
          this._check = null;
          resolve(this.bytes());
        }
      };
      this._check();
    }), ms, `${length} bytes read (have ${this.length})`);
  }
}

describe('wire faults found by fuzzing', function () {
  const make = withStacks();

  /**
   * A stack (of this run's backend unless `backend` says) with a TUN
   * interface on 10.0.0.1/24 and fd00::1/64, and a server on port 80.
   */
  async function tunServer({ mtu = 1500, pauseOnConnect = false, backend } = {}) {
    const stack = make(backend && { backend });
    const tun = stack.createTunInterface({ ipAddress: ['10.0.0.1/24', 'fd00::1/64'], mtu });
    const server = await listen(stack.net.createServer({ pauseOnConnect }), SERVER_PORT);
    return { stack, tun, server };
  }

  describe('a segment 2^31 past rcv_nxt ("insane offset" in tcp_receive)', function () {
    const STATES = ['SYN_RCVD', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2'];
    const UNITS = [
      { name: 'bare FIN', flags: TCP.FIN | TCP.ACK, payload: Buffer.alloc(0) },
      { name: 'single data byte', flags: TCP.ACK | TCP.PSH, payload: Buffer.from('X') },
    ];
    for (const family of FAMILIES) {
      for (const state of STATES) {
        for (const unit of UNITS) {
          it(`${family.name}, ${state}: a ${unit.name} at rcv_nxt + 2^31 gets an ACK of the old rcv_nxt, delivers nothing, and in-order data then arrives intact`, async function () {
            const { tun, server } = await tunServer();
            const accepted = nextEvent(server, 'connection');
            const peer = new TcpPeer(tun, family);
            await peer.open();
            let socket = null;
            let reader = null;
            // The bad segment's ACK field: what a peer would acknowledge in
            // this state (in SYN_RCVD it completes the handshake).
            let ack = peer.rcvNxt;
            if (state !== 'SYN_RCVD') {
              peer.send({ flags: TCP.ACK });
              [socket] = await accepted;
              reader = new Reader(socket);
            }
            if (state.startsWith('FIN_WAIT')) {
              socket.end();
              const fin = await peer.next((s) => s.flags & TCP.FIN, "the server's FIN");
              assert.equal(fin.seq, peer.rcvNxt, 'the FIN follows the SYN-ACK directly');
              ack = fin.seq; // FIN_WAIT_1: the FIN is not acknowledged
              peer.rcvNxt = seqAdd(fin.seq, 1);
              if (state === 'FIN_WAIT_2') {
                peer.send({ flags: TCP.ACK });
                ack = peer.rcvNxt;
              }
            }
            const rcvNxt = peer.sndNxt;
            peer.skip();
            peer.send({ seq: seqAdd(rcvNxt, SEQ_HALF), ack, flags: unit.flags, payload: unit.payload });
            const answer = await peer.next(() => true, 'the answer to the segment 2^31 away');
            assert.equal(answer.flags & TCP.RST, 0, 'no reset');
            assert.ok(answer.flags & TCP.ACK, 'an ACK');
            assert.equal(answer.ack, rcvNxt, 'it still acknowledges the old rcv_nxt');

            const message = Buffer.from(`in order, after a ${unit.name} 2^31 away (${family.name}, ${state})`);
            peer.sendData(message, message.length, ack);
            if (!socket) {
              [socket] = await accepted;
              reader = new Reader(socket);
            }
            assert.deepEqual(await reader.until(message.length), message, 'the server read exactly the in-order bytes');
            const acked = await peer.next((s) => s.ack === peer.sndNxt, 'the ACK of the in-order data');
            assert.equal(acked.flags & TCP.RST, 0);
            assert.equal(reader.ended, false, "no 'end' on the server socket");
            assert.equal(socket.destroyed, false);
          });
        }
      }
    }
  });

  describe('out-of-order segments past the right edge of the window ("ooseq tcplen > rcv_wnd")', function () {
    /**
     * The server does not read (pauseOnConnect), so the window only shrinks.
     * After `unread` bytes in order, B (starting 1000 bytes further) runs
     * past the window's right edge, then A fills the gap. Returns what the
     * stack acknowledged of A+B, after checking what the server reads.
     */
    async function overrunWindow(family, unread) {
      const { tun, server } = await tunServer({ mtu: 65535, pauseOnConnect: true });
      const accepted = nextEvent(server, 'connection');
      const peer = new TcpPeer(tun, family);
      // MSS only, no window scaling: the stack's window is at most 65535.
      const synAck = await peer.handshake([2, 4, 0xff, 0x00]);
      const [socket] = await accepted;
      const reader = new Reader(socket);
      const initialWindow = synAck.window;
      assert.ok(initialWindow > 60000 && initialWindow <= 65535, `the stack offers ${initialWindow} bytes`);
      const start = peer.sndNxt;

      const first = crypto.randomBytes(unread);
      let window = initialWindow;
      if (unread > 0) {
        peer.sendData(first);
        const acked = await peer.next((s) => s.ack === peer.sndNxt, 'the ACK of the unread data');
        assert.equal(acked.window, initialWindow - unread, 'unread data shrank the window by its size');
        window = acked.window;
      }

      // B: from rcv_nxt + 1000 to past the right edge (as far as one packet reaches).
      const rcvNxt = peer.sndNxt;
      const maxPayload = 65535 - family.ipHeader - 20;
      const bLength = Math.min(maxPayload, window - 1000 + 5000);
      assert.ok(1000 + bLength > window, 'B runs past the right edge');
      const a = crypto.randomBytes(1000);
      const b = crypto.randomBytes(bLength);
      peer.skip();
      peer.send({ seq: seqAdd(rcvNxt, 1000), flags: TCP.ACK | TCP.PSH, payload: b });
      const duplicate = await peer.next(() => true, 'the duplicate ACK for B');
      assert.equal(duplicate.ack, rcvNxt, 'B is out of order: rcv_nxt stays');
      peer.send({ seq: rcvNxt, flags: TCP.ACK | TCP.PSH, payload: a });
      const filled = await peer.next((s) => s.ack !== rcvNxt, 'the ACK after A filled the gap');
      const taken = (filled.ack - rcvNxt) >>> 0;
      assert.ok(taken >= a.length, `A was taken (${taken} bytes acknowledged)`);
      assert.ok(taken <= window, `the stack took ${taken} bytes into a ${window}-byte window`);
      peer.sndNxt = filled.ack;

      // Now read: exactly the unread bytes, then a prefix of A+B, as acknowledged.
      socket.resume();
      const expected = Buffer.concat([first, a, b]).subarray(0, unread + taken);
      const read = await reader.until(expected.length);
      assert.equal(read.length, expected.length, 'nothing beyond what was acknowledged');
      assert.ok(read.equals(expected), 'the bytes read are the unread data and a prefix of A+B');

      // The connection still works: more data arrives in order. The window
      // closed (the reader was paused); a peer's persist timer probes it
      // with one byte, and the ACK of the probe shows it open again. (lwIP
      // sends no window update of its own toward a peer without window
      // scaling: its threshold, min(TCP_WND / 4, 4 * TCP_MSS), is larger
      // than such a window can ever grow.)
      const more = crypto.randomBytes(30000);
      peer.skip();
      peer.sendData(more.subarray(0, 1));
      const reopened = await peer.next((s) => s.ack === peer.sndNxt, 'the ACK of a window probe');
      assert.ok(reopened.window >= more.length, `the window reopened (${reopened.window} bytes)`);
      peer.sendData(more.subarray(1), 10000);
      const all = await reader.until(expected.length + more.length);
      assert.ok(all.equals(Buffer.concat([expected, more])), 'later in-order data arrives intact');
      await peer.next((s) => s.ack === peer.sndNxt, 'the ACK of the later data');
      assert.equal(peer.sndNxt, seqAdd(start, all.length));
      assert.equal(reader.ended, false);
      return taken;
    }

    for (const family of FAMILIES) {
      it(`${family.name}: with the whole window open, B (rcv_nxt + 1000, past the right edge) then A (the gap) deliver only a prefix of A+B within the window; the connection goes on`, async function () {
        const taken = await overrunWindow(family, 0);
        assert.ok(taken > 1000, 'B was kept, up to the edge');
      });

      it(`${family.name}: with the window shrunk by 40,000 unread bytes, B past the right edge then A deliver only a prefix of A+B within what is left; the connection goes on`, async function () {
        await overrunWindow(family, 40000);
      });
    }
  });

  // The option's length byte was read from past the options (past the
  // packet, for a SYN without data): silent in a plain build, an abort under
  // AddressSanitizer, which runs this suite too (npm run test:asan).
  describe('a SYN whose last option byte is a kind that needs a length (tcp_parseopt)', function () {
    const KINDS = [[0x02, 'MSS'], [0x03, 'window scale'], [0x08, 'timestamps'], [0xfe, 'experimental']];
    for (const family of FAMILIES) {
      for (const [kind, name] of KINDS) {
        it(`${family.name}: NOP NOP NOP 0x${kind.toString(16).padStart(2, '0')} (${name}, no length byte) is answered with a SYN-ACK or a RST, and the server accepts a normal connection afterwards`, async function () {
          const { tun, server } = await tunServer();
          const bad = new TcpPeer(tun, family);
          bad.send({ seq: bad.iss, ack: 0, flags: TCP.SYN, options: [1, 1, 1, kind], padOptions: false });
          const answer = await bad.next(() => true, 'an answer to the SYN');
          const synAck = (answer.flags & (TCP.SYN | TCP.ACK)) === (TCP.SYN | TCP.ACK) && answer.ack === seqAdd(bad.iss, 1);
          const reset = (answer.flags & TCP.RST) !== 0;
          assert.ok(synAck || reset, `a SYN-ACK or a RST (flags 0x${answer.flags.toString(16)})`);

          const accepted = nextEvent(server, 'connection');
          const peer = new TcpPeer(tun, family);
          await peer.handshake();
          const [socket] = await accepted;
          assert.equal(socket.remotePort, peer.port);
          const reader = new Reader(socket);
          const message = Buffer.from('a normal connection after the bad SYN');
          peer.sendData(message);
          assert.deepEqual(await reader.until(message.length), message);
        });
      }
    }
  });

  describe('many tiny out-of-order segments (a walk of the ooseq list per segment)', function () {
    const COUNT = 20000;
    const BATCH = 2000;

    /**
     * After the handshake, COUNT one-byte segments at rcv_nxt + 2 + 2i (the
     * gap at rcv_nxt never filled), in batches that each wait for their
     * duplicate ACKs, so the injection queue is never what limits the run.
     * `halfway()` runs once half of them were answered.
     */
    async function flood(family, { backend, halfway = async () => {} } = {}) {
      const { stack, tun, server } = await tunServer({ backend });
      const accepted = nextEvent(server, 'connection');
      const peer = new TcpPeer(tun, family);
      await peer.handshake();
      const [socket] = await accepted;
      const reader = new Reader(socket);
      const rcvNxt = peer.sndNxt;
      const expected = crypto.randomBytes(2 + 2 * COUNT);
      peer.skip();
      for (let i = 0; i < COUNT; i += BATCH) {
        for (let j = i; j < i + BATCH; j++) {
          const at = 2 + 2 * j;
          peer.send({ seq: seqAdd(rcvNxt, at), flags: TCP.ACK | TCP.PSH, payload: expected.subarray(at, at + 1) });
        }
        await peer.untilUnread(i + BATCH, `duplicate ACKs for ${i + BATCH} segments`);
        if (i + BATCH === COUNT / 2) await halfway(stack);
      }
      const answers = peer.unread();
      assert.equal(answers.length, COUNT, 'one duplicate ACK per segment');
      assert.ok(answers.every((s) => s.ack === rcvNxt && !(s.flags & TCP.RST)), 'every one acknowledges the old rcv_nxt');
      assert.equal(reader.length, 0, 'nothing was delivered while the gap stayed open');
      peer.skip();
      return { stack, peer, reader, expected };
    }

    for (const family of FAMILIES) {
      it(`${family.name}: ${COUNT.toLocaleString('en')} one-byte segments at rcv_nxt + 2 + 2i each get a duplicate ACK, all within 20 s, and the range resent in order arrives intact`, async function () {
        this.timeout(20000);
        const { peer, reader, expected } = await flood(family);
        // The whole range again, in order: whatever the out-of-order queue
        // kept, the stream must come out exactly as sent.
        peer.sendData(expected, 1000);
        const read = await reader.until(expected.length, 10000);
        assert.ok(read.equals(expected), 'the stream read is exactly the bytes sent');
        await peer.next((s) => s.ack === peer.sndNxt, 'the ACK of the whole range', 10000);
        assert.equal(reader.length, expected.length);
      });
    }

    // The queue's memory, measured where it can be exactly: a wasm stack's
    // own C heap (a native stack shares the process's heap, whose noise
    // here exceeds the signal), in either run.
    it(`wasm engine: of ${COUNT.toLocaleString('en')} one-byte out-of-order segments, the last 10,000 add under 64 KiB of C heap (the queue is capped; uncapped they held ~1 MiB)`, async function () {
      this.timeout(20000);
      let before = 0;
      const { stack } = await flood(FAMILIES[0], {
        backend: 'wasm',
        halfway: async (s) => { before = s._backend.heapBytesInUse(); },
      });
      const growth = stack._backend.heapBytesInUse() - before;
      assert.ok(growth < 64 * 1024, `the C heap grew by ${growth} bytes over the last ${COUNT / 2} segments`);
    });
  });

  describe('fragments waiting for reassembly when the stack is destroyed', function () {
    const DATAGRAMS = 8; // per family; lwIP holds at most 10 pbufs per family
    const FRAGMENT = 60000;

    /** The first fragments (MF set, offset 0) of DATAGRAMS UDP datagrams per family, never completed. */
    function firstFragments() {
      const packets = [];
      for (const family of FAMILIES) {
        for (let id = 1; id <= DATAGRAMS; id++) {
          packets.push(ipPacket({
            source: family.peerAddress, destination: family.stackAddress, protocol: 17,
            identification: id, moreFragments: true, fragmentOffset: 0, payload: crypto.randomBytes(FRAGMENT),
          }));
        }
      }
      return packets;
    }

    async function injectInto(stack, packets) {
      const tun = stack.createTunInterface({ ipAddress: ['10.0.0.1/24', 'fd00::1/64'], mtu: 65535 });
      for (const packet of packets) assert.equal(tun.send(packet), true);
      await waitFor(async () => (await tun.stats()).packetsIn === packets.length, 5000, 'the fragments taken in');
    }

    it(`wasm engine: a stack destroyed holding ${2 * DATAGRAMS} first fragments of 60 KB datagrams (IPv4 and IPv6) ends with the C heap of a stack that never saw them`, async function () {
      const measure = async (packets) => {
        const stack = new Stack({ backend: 'wasm' });
        try {
          await injectInto(stack, packets);
          const held = stack._backend.heapBytesInUse();
          // The instance's exports outlive destroy(): read its heap after the core tore down.
          const core = stack._backend._core;
          stack.destroy();
          return { held, after: core.tcpip_wasm_heap_in_use() };
        } finally {
          stack.destroy();
        }
      };
      const without = await measure([]);
      const withFragments = await measure(firstFragments());
      assert.ok(withFragments.held - without.held >= 2 * DATAGRAMS * FRAGMENT,
        `the fragments were held: ${withFragments.held} bytes in use, against ${without.held}`);
      assert.equal(withFragments.after, without.after,
        `C heap after destroy(): ${withFragments.after} bytes with fragments, ${without.after} without`);
    });

    it(`native engine: 40 stacks, each destroyed holding ${2 * DATAGRAMS} first fragments of 60 KB datagrams (IPv4 and IPv6), grow the process's C heap by less than 8 MiB (~38 MiB if they leaked)`, async function () {
      this.timeout(60000);
      let addon;
      try {
        addon = loadAddon();
      } catch {
        this.skip(); // the native addon is not built here: no native engine to test
      }
      const heap = async () => {
        for (let i = 0; i < 3; i++) {
          gc();
          await delay(10);
        }
        return addon.heapBytesInUse();
      };
      if (!(addon.heapBytesInUse() > 0)) this.skip(); // no mallinfo2 (a sanitizer's allocator, or not glibc): nothing to measure
      const packets = firstFragments();
      let held = 0;
      const cycle = async (measure = false) => {
        const stack = new Stack({ backend: 'native' });
        try {
          await injectInto(stack, packets);
          if (measure) held = await heap();
        } finally {
          stack.destroy();
        }
      };
      for (let i = 0; i < 3; i++) await cycle(); // warm-up: arenas, worker threads
      const before = await heap();
      await cycle(true);
      assert.ok(held - before >= 2 * DATAGRAMS * FRAGMENT,
        `the heap shows the fragments a stack holds (${((held - before) / MiB).toFixed(2)} MiB)`);
      for (let i = 1; i < 40; i++) await cycle();
      const growth = (await heap()) - before;
      console.log(`      C heap change over 40 stacks: ${(growth / MiB).toFixed(2)} MiB`);
      assert.ok(growth < 8 * MiB, `the C heap grew by ${(growth / MiB).toFixed(1)} MiB over 40 stacks`);
    });
  });

  describe('bridge: frame size limits of a port (MTU 1500)', function () {
    it('untagged frames of 1515-1518 bytes are dropped as oversize and not forwarded; a 1514-byte frame and an 802.1Q-tagged 1518-byte frame are forwarded intact', async function () {
      const sw = make();
      const a = sw.createTapInterface({});
      const b = sw.createTapInterface({});
      sw.createBridgeInterface({ ports: [a, b] });
      assert.equal(a.mtu, 1500);
      const out = [];
      const vlanForwarded = new Promise((resolve) => b.on('frame', (frame) => {
        out.push(Buffer.from(frame));
        if (frame.readUInt16BE(12) === 0x8100) resolve();
      }));
      // Unknown unicast: a learning bridge floods it to every other port.
      const frame = (length, vlan) => {
        const header = vlan === undefined ? 14 : 18;
        const ip = ipPacket({
          source: '10.9.0.1', destination: '10.9.0.2', protocol: 17, identification: length,
          payload: crypto.randomBytes(length - header - 20),
        });
        return ethernetFrame({ destination: '02:00:00:00:0b:0b', source: '02:00:00:00:0a:0a', type: ETHERTYPE.ipv4, vlan, payload: ip });
      };
      const oversize = [1515, 1516, 1517, 1518].map((length) => frame(length));
      const fits = frame(1514);
      const tagged = frame(1518, 7);
      assert.deepEqual([...oversize, fits, tagged].map((f) => f.length), [1515, 1516, 1517, 1518, 1514, 1518]);

      const [aBefore, bBefore] = await Promise.all([a.stats(), b.stats()]);
      for (const f of [...oversize, fits, tagged]) assert.equal(a.send(f), true);
      // Frames go through a port in order: once the tagged frame (sent last)
      // is out, the oversize ones would have been out before it.
      await within(vlanForwarded, 5000, 'the tagged frame out of the other port');
      assert.deepEqual(out.map((f) => f.length), [1514, 1518], 'only the 1514-byte and the tagged frame came out');
      assert.ok(out[0].equals(fits), 'the 1514-byte frame is forwarded unchanged');
      assert.ok(out[1].equals(tagged), 'the tagged frame is forwarded unchanged');

      const [aAfter, bAfter] = await Promise.all([a.stats(), b.stats()]);
      assert.equal(aAfter.dropped.oversize - aBefore.dropped.oversize, 4, 'four frames counted as oversize');
      assert.equal(aAfter.dropped.malformed - aBefore.dropped.malformed, 0);
      assert.equal(aAfter.packetsIn - aBefore.packetsIn, 2, 'two frames taken in');
      assert.equal(aAfter.bytesIn - aBefore.bytesIn, 1514 + 1518);
      assert.equal(bAfter.packetsOut - bBefore.packetsOut, 2, 'two frames sent out of the other port');
      assert.equal(bAfter.dropped.oversize, 0);
    });
  });
});
