'use strict';
// A real Linux guest (Debian's i386 kernel, busybox; scripts/v86-guest.js)
// in v86, joined by attachV86 to a TAP interface of a stack that is its
// router: DHCP, DNS, HTTP, TCP and UDP between the guest's own tools and
// the stack, each checked by what arrived. The guest boots once per NIC
// model; ne2k runs against a native stack, virtio against a wasm one. The
// file runs once, not per engine (package.json, scripts/test-asan.sh): it
// picks its engines itself. Without the guest (no Debian mirror reachable
// to fetch it) it fails, saying so.
const assert = require('node:assert');
const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { Stack, attachV86 } = require('../lib/index.js');
const { bootGuest } = require('./helpers/v86.js');
const { namespaceMissing, startNamespaceGateway, forwardToSocketFile } = require('./helpers/namespace.js');
const { pattern } = require('./fixtures/browser/common.js');
const { within, listen, waitFor } = require('./helpers/util.js');

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
const ROUTER = '10.0.2.2';
const GUEST = '10.0.2.15';
const NAME = 'files.stack.test';

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

// What the stack's server receives until `length` bytes came (busybox nc
// does not half-close when its input ends), then closed.
function receiveExactly(socket, length) {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    let received = 0;
    socket.on('data', (chunk) => {
      hash.update(chunk);
      received += chunk.length;
      if (received >= length) {
        socket.destroy();
        resolve({ received, sha256: hash.digest('hex') });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => { if (received < length) reject(new Error(`closed after ${received} of ${length} bytes`)); });
  });
}

// A TFTP server (RFC 1350, no options: the client falls back to 512-byte
// blocks) on the stack's UDP: each transfer from a socket of its own, lock
// step, a block resent after a second without its ACK.
async function tftpServer(stack, files) {
  const uploads = new Map();
  const waiting = new Map();
  const peers = new Set();
  const sockets = new Set();
  const bind = (port) => new Promise((resolve) => {
    const socket = stack.dgram.createSocket('udp4');
    sockets.add(socket);
    socket.bind(port, ROUTER, () => resolve(socket));
  });
  const main = await bind(69);
  const packet = (op, block, data = Buffer.alloc(0)) => {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(op, 0);
    head.writeUInt16BE(block, 2);
    return Buffer.concat([head, data]);
  };
  main.on('message', async (msg, rinfo) => {
    const op = msg.readUInt16BE(0);
    const name = msg.subarray(2).toString('latin1').split('\0')[0];
    peers.add(rinfo.address);
    const socket = await bind(0);
    const send = (buf) => socket.send(buf, rinfo.port, rinfo.address);
    if (op === 1) { // RRQ: DATA blocks, each after the previous one's ACK
      const data = files[name];
      let block = 1;
      let timer = null;
      const sendBlock = () => {
        send(packet(3, block & 0xffff, data.subarray((block - 1) * 512, block * 512)));
        clearTimeout(timer);
        timer = setTimeout(sendBlock, 1000);
      };
      socket.on('message', (ack) => {
        if (ack.readUInt16BE(0) !== 4 || ack.readUInt16BE(2) !== (block & 0xffff)) return;
        if ((block - 1) * 512 + 512 > data.length) { // the short block was ACKed
          clearTimeout(timer);
          socket.close();
          sockets.delete(socket);
          return;
        }
        block++;
        sendBlock();
      });
      sendBlock();
    } else if (op === 2) { // WRQ: ACK 0, then each DATA block
      const chunks = [];
      let expected = 1;
      socket.on('message', (dataMsg) => {
        if (dataMsg.readUInt16BE(0) !== 3) return;
        const block = dataMsg.readUInt16BE(2);
        if (block === (expected & 0xffff)) {
          chunks.push(dataMsg.subarray(4));
          expected++;
        }
        send(packet(4, block));
        if (block === ((expected - 1) & 0xffff) && dataMsg.length < 516) {
          uploads.set(name, Buffer.concat(chunks));
          if (waiting.has(name)) waiting.get(name)(uploads.get(name));
        }
      });
      send(packet(4, 0));
    }
  });
  return {
    received: (name) => (uploads.has(name) ? Promise.resolve(uploads.get(name)) : new Promise((resolve) => waiting.set(name, resolve))),
    peers: () => [...peers],
    close() {
      for (const socket of sockets) socket.close();
      sockets.clear();
    },
  };
}

const SETUPS = [
  { nic: 'ne2k', backend: 'native' },
  { nic: 'virtio', backend: 'wasm' },
];

describe('v86: a Linux guest joined to a stack by attachV86', function () {
  this.timeout(120000);

  for (const { nic, backend } of SETUPS) {
    describe(`${nic} NIC, ${backend} stack`, function () {
      let guest = null;
      let stack = null;
      let tap = null;
      let adapter = null;
      let dhcp = null;
      let pcapFile = null;
      let capture = null;

      before(async function () {
        guest = await bootGuest({ nic });
        stack = new Stack({ backend });
        assert.strictEqual(stack.backend, backend);
        tap = stack.createTapInterface({ ipAddress: `${ROUTER}/24` });
        // Joined first: every frame the interface counts passes the adapter.
        adapter = attachV86(guest.bus, tap);
        pcapFile = path.join(os.tmpdir(), `tcpip-v86-${nic}-${process.pid}.pcap`);
        capture = tap.capture(pcapFile);
        dhcp = stack.createDhcpServer(tap, { range: [GUEST, '10.0.2.30'], router: ROUTER, dns: [ROUTER] });
        const dnsServer = stack.dns.createServer({ zone: { [NAME]: { A: [ROUTER] } } });
        await new Promise((resolve) => dnsServer.listen(53, ROUTER, resolve));
      });

      after(async function () {
        if (adapter) adapter.detach();
        if (guest) await guest.close();
        if (stack) stack.destroy();
        if (pcapFile) fs.rmSync(pcapFile, { force: true });
      });

      it('the guest takes its address, router and DNS server from the stack by DHCP', async function () {
        const leases = [];
        dhcp.on('lease', (lease) => leases.push(lease));
        await guest.check('udhcpc -i eth0 -n -q -t 10 -T 1 -s /etc/udhcpc.script', { timeout: 30000 });
        assert.strictEqual(await guest.check('cat /tmp/lease'), `LEASE ${GUEST}/24 router=${ROUTER} dns=${ROUTER}`);
        assert.match(await guest.check('ip -4 addr show dev eth0'), new RegExp(`inet ${GUEST.replace(/\./g, '\\.')}/24`));
        assert.match(await guest.check('ip route'), new RegExp(`default via ${ROUTER.replace(/\./g, '\\.')} dev eth0`));
        assert.strictEqual(await guest.check('cat /etc/resolv.conf'), `nameserver ${ROUTER}`);
        assert.strictEqual(leases.length, 1);
        assert.strictEqual(leases[0].address, GUEST);
        // The stack's side of the lease names the MAC v86 announced.
        assert.strictEqual(leases[0].mac.toLowerCase(), guest.mac.toLowerCase());
        assert.strictEqual(adapter.guestMac === null || adapter.guestMac === guest.mac, true);
      });

      it('the guest pings the stack, and the stack pings the guest', async function () {
        const out = await guest.check(`ping -c 3 -W 5 ${ROUTER}`, { timeout: 30000 });
        assert.match(out, /3 packets transmitted, 3 packets received, 0% packet loss/);
        const results = await stack.ping(GUEST, { count: 3, interval: 100, timeout: 5000 });
        assert.strictEqual(results.length, 3);
        for (const r of results) {
          assert.strictEqual(r.address, GUEST, JSON.stringify(r));
          assert.ok(r.time > 0);
        }
      });

      it('the guest fetches 16 MiB from an http.Server on the stack; sha256sum in the guest agrees', async function () {
        const body = crypto.randomBytes(16 * MiB);
        const server = stack.http.createServer((req, res) => {
          res.writeHead(200, { 'content-length': body.length });
          res.end(body);
        });
        await listen(server, 80, ROUTER);
        try {
          const out = await guest.check(`timeout 100 wget -q -O - http://${ROUTER}/blob | sha256sum`, { timeout: 110000 });
          assert.strictEqual(out.split(/\s+/)[0], sha256(body));
        } finally {
          server.close();
        }
      });

      it("the stack fetches a file from the guest's busybox httpd", async function () {
        await guest.check('mkdir -p /www && dd if=/dev/urandom of=/www/blob bs=1024 count=512 2>/dev/null && httpd -p 80 -h /www');
        const expected = (await guest.check('sha256sum /www/blob')).split(/\s+/)[0];
        const body = await within(new Promise((resolve, reject) => {
          stack.http.get({ host: GUEST, port: 80, path: '/blob', agent: false }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, data: Buffer.concat(chunks) }));
            res.on('error', reject);
          }).on('error', reject);
        }), 60000, 'GET from the guest');
        assert.strictEqual(body.status, 200);
        assert.strictEqual(body.data.length, 512 * 1024);
        assert.strictEqual(sha256(body.data), expected);
      });

      it("TCP both ways, each more than the guest's and the stack's windows, byte-exact", async function () {
        // Each way more than the receiver's window: lwIP's is 1 MiB
        // (deps/port/lwipopts.h), the guest's at most its tcp_rmem maximum.
        const upLength = 2 * MiB;
        const downLength = 8 * MiB;
        const rmem = Number((await guest.check('cat /proc/sys/net/ipv4/tcp_rmem')).split(/\s+/)[2]);
        assert.ok(rmem > 0 && downLength > rmem, `${downLength} bytes past the guest's window (${rmem})`);
        // Guest to stack.
        let length = upLength;
        let upload;
        const server = stack.net.createServer((socket) => { upload = receiveExactly(socket, length); });
        await listen(server, 9000, ROUTER);
        await guest.check(`dd if=/dev/urandom of=/tmp/up bs=65536 count=${length / 65536} 2>/dev/null`);
        const sent = (await guest.check('sha256sum /tmp/up')).split(/\s+/)[0];
        await guest.sh(`timeout 100 nc ${ROUTER} 9000 < /tmp/up`, { timeout: 110000 });
        const got = await within(upload, 10000, 'the upload');
        assert.deepStrictEqual(got, { received: length, sha256: sent });
        server.close();
        await guest.check('rm /tmp/up');
        // Stack to guest.
        length = downLength;
        const data = crypto.randomBytes(length);
        const source = stack.net.createServer((socket) => socket.end(data));
        await listen(source, 9001, ROUTER);
        const out = await guest.check(`timeout 100 nc ${ROUTER} 9001 </dev/null | sha256sum`, { timeout: 110000 });
        assert.strictEqual(out.split(/\s+/)[0], sha256(data));
        source.close();
      });

      it("the guest resolves a name with the stack's DNS server", async function () {
        const out = await guest.check(`nslookup ${NAME}`, { timeout: 30000 });
        assert.match(out, new RegExp(`Server:\\s+${ROUTER.replace(/\./g, '\\.')}`));
        assert.match(out, new RegExp(`Name:\\s+${NAME.replace(/\./g, '\\.')}\\s+Address(?: 1)?:\\s+${ROUTER.replace(/\./g, '\\.')}`));
        const missing = await guest.sh('nslookup missing.stack.test', { timeout: 30000 });
        assert.notStrictEqual(missing.status, 0);
        assert.match(missing.output, /NXDOMAIN|can't find/);
      });

      it("UDP both ways: the guest's busybox tftp puts a file to a TFTP server on the stack and gets one back", async function () {
        const down = crypto.randomBytes(40 * 1024 + 123);
        const server = await tftpServer(stack, { 'down.bin': down });
        try {
          await guest.check('dd if=/dev/urandom of=/tmp/up.bin bs=1024 count=30 2>/dev/null');
          const upHash = (await guest.check('sha256sum /tmp/up.bin')).split(/\s+/)[0];
          await guest.check(`timeout 60 tftp -p -l /tmp/up.bin -r up.bin ${ROUTER}`, { timeout: 70000 });
          const up = await within(server.received('up.bin'), 10000, 'the upload');
          assert.strictEqual(up.length, 30 * 1024);
          assert.strictEqual(sha256(up), upHash);
          await guest.check(`timeout 60 tftp -g -r down.bin -l /tmp/down.bin ${ROUTER}`, { timeout: 70000 });
          assert.strictEqual((await guest.check('sha256sum /tmp/down.bin')).split(/\s+/)[0], sha256(down));
          assert.deepStrictEqual(server.peers(), [GUEST]);
        } finally {
          server.close();
        }
      });

      it("the guest's traffic is in a pcap capture that tshark decodes; the adapter and the interface counted the same frames", async function () {
        // The guest keeps talking (ARP, IPv6): the interface's count falls
        // between the adapter's before and after it.
        const before = adapter.stats();
        const ifStats = await tap.stats();
        // A frame the stack counted may still be on its way to the adapter.
        await waitFor(() => adapter.stats().framesOut >= ifStats.packetsOut, 5000, 'the frames counted out reach the adapter');
        const after = adapter.stats();
        assert.strictEqual(after.dropped, 0);
        // 16 + 8 MiB to the guest and 2 MiB from it, in frames of at most 1514 bytes.
        assert.ok(before.framesIn > 1400 && before.framesOut > 16000, JSON.stringify(before));
        const ifDrops = Object.values(ifStats.dropped).reduce((a, b) => a + b, 0);
        assert.ok(before.framesIn <= ifStats.packetsIn + ifDrops && ifStats.packetsIn + ifDrops <= after.framesIn,
          `${before.framesIn} <= ${ifStats.packetsIn} + ${ifDrops} <= ${after.framesIn}`);
        assert.ok(before.framesOut <= ifStats.packetsOut && ifStats.packetsOut <= after.framesOut,
          `${before.framesOut} <= ${ifStats.packetsOut} <= ${after.framesOut}`);
        await capture.stop();
        capture = null;
        const { stdout } = await execFileAsync('tshark', ['-r', pcapFile, '-n', '-Y', 'dhcp || dns || icmp || http.request', '-T', 'fields',
          '-e', 'eth.src', '-e', 'ip.src', '-e', '_ws.col.Protocol', '-e', '_ws.col.Info'], { maxBuffer: 64 * MiB });
        const lines = stdout.trim().split('\n');
        const fromGuest = lines.filter((l) => l.startsWith(guest.mac.toLowerCase()));
        const protocols = new Set(fromGuest.map((l) => l.split('\t')[2]));
        for (const p of ['DHCP', 'DNS', 'ICMP', 'HTTP']) assert.ok(protocols.has(p), `${p} from the guest in ${[...protocols]}`);
        assert.ok(fromGuest.some((l) => /DHCP Request/.test(l)));
        assert.ok(fromGuest.some((l) => l.includes('GET /blob') && l.includes(GUEST)));
        assert.ok(fromGuest.some((l) => l.includes(NAME)));
      });
    });
  }
  // Item 3 of issue 12: v86's built-in websockproxy client (`relay_url`)
  // joins the gateway unchanged, and the guest reaches a kernel server in a
  // network namespace through the gateway's NAT. Only a process inside the
  // namespace reaches its addresses, so the gateway runs there too
  // (test/helpers/namespace.js), and v86 reaches it through a 127.0.0.1
  // port piped to the gateway's socket file.
  describe("v86's own relay_url against the gateway", function () {
    const size = 4 * MiB;
    const seed = 0x5eed86;
    let child = null;
    let forward = null;
    let guest = null;

    before(async function () {
      const missing = await namespaceMissing();
      if (missing) {
        console.log(`      skipped: the gateway in a namespace: ${missing}`);
        this.skip();
      }
      child = await startNamespaceGateway({ backend: 'native', size, seed });
      forward = await forwardToSocketFile(child.socketPath);
      guest = await bootGuest({ nic: 'virtio', relayUrl: `ws://127.0.0.1:${forward.port}/` });
    });

    after(async function () {
      if (guest) await guest.close();
      if (forward) await forward.close();
      if (child) await child.stop();
    });

    it('the guest takes a lease from the gateway and fetches 4 MiB from a kernel HTTP server in a namespace through its NAT', async function () {
      await guest.check('udhcpc -i eth0 -n -q -t 10 -T 1 -s /etc/udhcpc.script', { timeout: 30000 });
      assert.match(await guest.check('cat /tmp/lease'), /^LEASE 10\.0\.2\.\d+\/24 router=10\.0\.2\.2 dns=$/); // dns: false
      const out = await guest.check(`timeout 60 wget -q -O - http://${child.allowed}:${child.port}/ | sha256sum`, { timeout: 70000 });
      assert.strictEqual(out.split(/\s+/)[0], sha256(pattern(size, seed)));
      assert.deepStrictEqual(child.served.map(({ local, method, bytes }) => [local, method, bytes]), [[child.allowed, 'GET', size]]);
      const metrics = await child.metricsText();
      assert.match(metrics, /^tcpip_gateway_connections_total 1$/m);
      assert.match(metrics, /^tcpip_gateway_flows_total\{protocol="tcp"\} 1$/m);
      assert.doesNotMatch(metrics, /^tcpip_gateway_refusals_total\{/m);
    });
  });
});
