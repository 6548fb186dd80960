'use strict';
// The engine contract (lib/backend/contract.js): the same numbers as the
// core's header, the same commands on both engines, and events of the
// declared shape, whatever the engine.
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Stack, init, link } = require('..');
const contract = require('../lib/backend/contract.js');
const { WasmBackend } = require('../lib/backend/wasm.js');
const { loadAddon } = require('../lib/backend/native.js');
const { teardown } = require('./helpers/stack.js');
const { listen, connect, closeServer, nextEvent, readAll, waitFor } = require('./helpers/util.js');

const ROOT = path.join(__dirname, '..');
const HEADER = fs.readFileSync(path.join(ROOT, 'src', 'core', 'tcpip.h'), 'utf8');

// `#define NAME value` of the header, numbers resolved through other defines.
function defines() {
  const raw = new Map();
  for (const match of HEADER.matchAll(/^#define (TCPIP_\w+) ([^\n/]+)/gm)) raw.set(match[1], match[2].trim());
  const resolve = (name) => {
    const value = raw.get(name);
    if (value === undefined) return undefined;
    if (raw.has(value)) return resolve(value);
    return Number(value.replace(/u$/, ''));
  };
  return resolve;
}

// The members of `typedef enum name { ... } name;`, numbered as C does.
function enumMembers(name) {
  const match = HEADER.match(new RegExp(`typedef enum ${name} \\{([\\s\\S]*?)\\} ${name};`));
  assert.ok(match, `enum ${name} in tcpip.h`);
  const members = new Map();
  let next = 0;
  for (const line of match[1].replace(/\/\*[\s\S]*?\*\//g, '').split(',')) {
    const member = line.trim().match(/^(\w+)(?:\s*=\s*(\d+))?$/);
    if (!member) continue;
    if (member[2] !== undefined) next = Number(member[2]);
    members.set(member[1], next++);
  }
  return members;
}

// Parameter names of a JS method, from its source.
function parameterNames(fn) {
  const source = fn.toString();
  const list = source.slice(source.indexOf('(') + 1, source.indexOf(')'));
  return list.split(',').map((p) => p.replace(/=.*$/, '').trim()).filter(Boolean);
}

const ENGINES = ['native', 'wasm'];

function enginePrototype(engine) {
  return engine === 'native' ? loadAddon().NativeStack.prototype : WasmBackend.prototype;
}

function methodsOf(prototype) {
  return Object.getOwnPropertyNames(prototype)
    .filter((name) => name !== 'constructor' && !name.startsWith('_') &&
      typeof Object.getOwnPropertyDescriptor(prototype, name).value === 'function')
    .sort();
}

// A stack whose engine checks every command it is given and every event it
// gives against the contract; `events` records them all.
function checkedStack(engine) {
  const stack = new Stack({ backend: engine });
  const engineObject = stack._backend;
  const events = [];
  const violations = [];
  for (const name of contract.commandsOf(engine)) {
    const method = engineObject[name];
    const { result } = contract.COMMANDS[name];
    // Own properties: the addon's prototype methods are read-only.
    Object.defineProperty(engineObject, name, { configurable: true, writable: true, value: (...args) => {
      try {
        contract.checkCommand(engine, name, args);
      } catch (error) {
        violations.push(error);
      }
      const value = method.apply(engineObject, args);
      if (!result.split('|').includes(typeof value)) {
        violations.push(new Error(`${name} returned ${typeof value}, not ${result}`));
      }
      return value;
    } });
  }
  const dispatch = stack._dispatch;
  stack._dispatch = (type, id, ...payload) => {
    events.push({ type, id, payload });
    try {
      contract.checkEvent(type, id, payload);
    } catch (error) {
      violations.push(error);
    }
    return dispatch.call(stack, type, id, ...payload);
  };
  return { stack, events, violations };
}

describe('engine contract', function () {
  before(() => init());

  describe('matches src/core/tcpip.h', function () {
    it('limits and constants', function () {
      const define = defines();
      for (const [name, value] of Object.entries(contract.LIMITS)) {
        assert.strictEqual(define(`TCPIP_${name}`), value, `TCPIP_${name}`);
      }
      assert.strictEqual(define('TCPIP_EV_CAPTURE_CLOSED'), contract.EVENTS.CAPTURE_CLOSED);
      assert.strictEqual(define('TCPIP_EV_DRIVER_BASE'), contract.EVENTS.CAPTURE_CLOSED);
    });

    it('interface kinds', function () {
      const kinds = enumMembers('tcpip_interface_kind');
      const expected = Object.fromEntries(Object.entries(contract.INTERFACE_KINDS)
        .map(([name, value]) => [`TCPIP_INTERFACE_${name.toUpperCase()}`, value]));
      assert.deepStrictEqual(Object.fromEntries(kinds), expected);
    });

    it('UDP flags and options', function () {
      const upper = (values) => Object.fromEntries(Object.entries(values).map(([name, v]) => [`TCPIP_UDP_${name}`, v]));
      assert.deepStrictEqual(Object.fromEntries(enumMembers('tcpip_udp_flag')), upper(contract.UDP_FLAGS));
      assert.deepStrictEqual(Object.fromEntries(enumMembers('tcpip_udp_option')), upper(contract.UDP_OPTIONS));
    });

    it('DHCP flags and the lease record', function () {
      const upper = (values) => Object.fromEntries(Object.entries(values).map(([name, v]) => [`TCPIP_DHCP_${name}`, v]));
      assert.deepStrictEqual(Object.fromEntries(enumMembers('tcpip_dhcp_flag')), upper(contract.DHCP_FLAGS));
      const define = defines();
      for (const [name, value] of Object.entries(contract.LEASE_RECORD)) {
        assert.strictEqual(define(`TCPIP_LEASE_${name}`), value, `TCPIP_LEASE_${name}`);
      }
    });

    it('the SLAAC address record', function () {
      const define = defines();
      for (const [name, value] of Object.entries(contract.ADDRESS_RECORD)) {
        assert.strictEqual(define(`TCPIP_ADDRESS_${name}`), value, `TCPIP_ADDRESS_${name}`);
      }
    });

    it('event types, every one of the core with a payload', function () {
      const types = enumMembers('tcpip_event_type');
      const declared = Object.entries(contract.EVENT_TYPES).filter(([, e]) => e.code < contract.EVENTS.CAPTURE_CLOSED);
      assert.deepStrictEqual(Object.fromEntries(types),
        Object.fromEntries(declared.map(([name, e]) => [`TCPIP_EV_${name}`, e.code])));
    });

    it('error names, in order, as the core spells them', function () {
      const errors = enumMembers('tcpip_error');
      errors.delete('TCPIP_ERROR_COUNT');
      assert.deepStrictEqual([...errors.keys()].map((name) => name.replace(/^TCPIP_/, '')), contract.ERROR_NAMES);
      assert.deepStrictEqual([...errors.values()], contract.ERROR_NAMES.map((_, i) => i));
      const source = fs.readFileSync(path.join(ROOT, 'src', 'core', 'errors.c'), 'utf8');
      const table = source.match(/names\[TCPIP_ERROR_COUNT\] = \{([\s\S]*?)\};/)[1];
      assert.deepStrictEqual([...table.matchAll(/"(\w+)"/g)].map((m) => m[1]), contract.ERROR_NAMES);
    });
  });

  describe('both engines implement exactly the commands', function () {
    for (const engine of ENGINES) {
      it(`${engine}: the methods are the contract's commands`, function () {
        assert.deepStrictEqual(methodsOf(enginePrototype(engine)), contract.commandsOf(engine).sort());
      });
    }

    it('links: the native and the JS link offer exactly the link commands', function () {
      const { JsLink } = require('../lib/link-engine.js');
      const expected = Object.keys(contract.LINK_COMMANDS).sort();
      assert.deepStrictEqual(methodsOf(loadAddon().NativeLink.prototype), expected);
      assert.deepStrictEqual(methodsOf(JsLink.prototype), expected);
      for (const name of expected) {
        assert.deepStrictEqual(parameterNames(JsLink.prototype[name]),
          contract.LINK_COMMANDS[name].args.map(([arg]) => arg), name);
      }
    });

    it('wasm: every command takes the declared arguments, by name', function () {
      for (const name of contract.commandsOf('wasm')) {
        assert.deepStrictEqual(parameterNames(WasmBackend.prototype[name]),
          contract.COMMANDS[name].args.map(([arg]) => arg), name);
      }
    });
  });

  for (const engine of ENGINES) {
    describe(`${engine}: commands and events of the declared shape`, function () {
      let checked;
      let captureDir;
      beforeEach(function () {
        checked = checkedStack(engine);
        captureDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpip-contract-'));
      });
      afterEach(function () {
        teardown(checked.stack);
        fs.rmSync(captureDir, { recursive: true, force: true });
      });

      it('interfaces, packets, statistics, capture, and a connection from connect to close', async function () {
        const { stack, events, violations } = checked;
        stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
        const tun = stack.createTunInterface({ ipAddress: '10.1.0.1/24', mtu: 1400 });
        const tapA = stack.createTapInterface({ ipAddress: '10.2.0.1/24' });
        const port = stack.createTapInterface({});
        stack.createBridgeInterface({ ports: [port], ipAddress: '10.3.0.1/24' });
        const capture = tun.capture(path.join(captureDir, 'tun.pcap'));
        const packet = nextEvent(tun, 'packet');
        const server = stack.net.createServer((socket) => socket.resume().end('pong'));
        await listen(server, 7000, '127.0.0.1');
        const client = await connect(stack.net, 7000, '127.0.0.1');
        client.setNoDelay(true);
        client.setKeepAlive(true, 5000);
        client.cork();
        client.write('pi');
        client.write('ng');
        client.uncork();
        assert.strictEqual(String(await readAll(client)), 'pong');
        // Off-link through the TUN interface: a SYN comes out of it.
        const refused = stack.net.connect(7000, '10.1.0.2');
        refused.on('error', () => {});
        await packet;
        refused.destroy();
        tun.send(Buffer.alloc(20));
        const stats = await tapA.stats();
        assert.strictEqual(stats.packetsIn, 0);
        await capture.stop();
        await closeServer(server);
        const seen = new Set(events.map((e) => e.type));
        for (const name of ['LISTENING', 'ACCEPTED', 'CONNECTED', 'DATA', 'EOF', 'WRITTEN', 'SHUTDOWN', 'PACKET', 'STATS',
          'CAPTURE_CLOSED']) {
          assert.ok(seen.has(contract.EVENTS[name]), `${name} was seen`);
        }
        assert.deepStrictEqual(violations, []);
      });

      it('UDP: bind, datagrams, connect, sends that report, a bind that fails', async function () {
        const { stack, events, violations } = checked;
        stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
        const a = stack.dgram.createSocket('udp4');
        const b = stack.dgram.createSocket('udp6');
        await new Promise((resolve) => a.bind(0, '127.0.0.1', resolve));
        await new Promise((resolve) => b.bind(0, resolve));
        const received = nextEvent(a, 'message');
        b.setTTL(9);
        await new Promise((resolve) => b.connect(a.address().port, '::ffff:127.0.0.1', resolve));
        b.send('x', (error) => assert.ifError(error));
        const [message] = await received;
        assert.strictEqual(String(message), 'x');
        const taken = stack.dgram.createSocket('udp4');
        taken.bind(a.address().port, '127.0.0.1');
        const [error] = await nextEvent(taken, 'error');
        assert.strictEqual(error.code, 'EADDRINUSE');
        const sent = await new Promise((resolve) => a.send(Buffer.alloc(70000), 9, '127.0.0.1', resolve));
        assert.strictEqual(sent.code, 'EMSGSIZE');
        const unroutable = await new Promise((resolve) => taken.connect(9, '10.99.0.1', resolve));
        assert.strictEqual(unroutable.code, 'ENETUNREACH');
        await new Promise((resolve) => a.close(resolve));
        b.close();
        taken.close();
        const seen = new Set(events.map((e) => e.type));
        for (const name of ['BOUND', 'DATAGRAM', 'CONNECTED', 'DONE', 'ERROR']) {
          assert.ok(seen.has(contract.EVENTS[name]), `${name} was seen`);
        }
        assert.deepStrictEqual(violations, []);
      });

      it('a refused connection is an ERROR event with the code', async function () {
        const { stack, events, violations } = checked;
        stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
        const socket = stack.net.connect(9, '127.0.0.1');
        const [error] = await nextEvent(socket, 'error');
        assert.strictEqual(error.code, 'ECONNREFUSED');
        assert.deepStrictEqual(events.filter((e) => e.type === contract.EVENTS.ERROR).map((e) => e.payload[0]),
          ['ECONNREFUSED']);
        assert.deepStrictEqual(violations, []);
      });

      it('a catch-all listener: ACCEPTED at the SYN with the original destination, acceptSyn, abort', async function () {
        const { stack, events, violations } = checked;
        const router = stack.createTunInterface({ ipAddress: '10.4.0.1/24' });
        const peer = new Stack({ backend: engine });
        try {
          const tun = peer.createTunInterface({ ipAddress: '10.4.0.2/24', gateway: '10.4.0.1', defaultRoute: true });
          link(router, tun);
          const accepted = [];
          const server = stack.net.createServer({ pauseOnConnect: true }, (socket) => {
            socket.on('error', () => {});
            accepted.push(socket);
          });
          server.listen({ foreignInterface: router });
          await nextEvent(server, 'listening');
          const taken = peer.net.connect(80, '192.0.2.7');
          const refused = peer.net.connect(81, '198.51.100.9');
          refused.on('error', () => {});
          await waitFor(() => accepted.length === 2, 5000, 'two SYNs');
          const byPort = (port) => accepted.find((a) => a.localPort === port);
          assert.strictEqual(byPort(80).localAddress, '192.0.2.7');
          assert.strictEqual(byPort(81).localAddress, '198.51.100.9');
          assert.strictEqual(byPort(80).remoteAddress, '10.4.0.2');
          // Unanswered, the client is not connected yet.
          assert.strictEqual(taken.connecting, true);
          byPort(81).destroy();
          const [error] = await nextEvent(refused, 'error');
          assert.strictEqual(error.code, 'ECONNREFUSED');
          byPort(80)._acceptSyn();
          await nextEvent(taken, 'connect');
          assert.strictEqual(taken.remoteAddress, '192.0.2.7');
          taken.end('ping');
          assert.strictEqual(String(await readAll(byPort(80).resume())), 'ping');
          byPort(80).destroy();
          await closeServer(server);
          const accepts = events.filter((e) => e.type === contract.EVENTS.ACCEPTED);
          assert.deepStrictEqual(accepts.map((e) => e.payload.slice(1, 3)).sort(), [['192.0.2.7', 80], ['198.51.100.9', 81]]);
          assert.deepStrictEqual(violations, []);
        } finally {
          teardown(peer);
        }
      });

      it('a catch-all listener takes IPv6 too (lwIP patch 0036), with the original destination', async function () {
        const { stack, violations } = checked;
        const router = stack.createTunInterface({ ipAddress: ['10.4.0.1/24', 'fd04::1/64'] });
        const peer = new Stack({ backend: engine });
        try {
          const tun = peer.createTunInterface({ ipAddress: ['10.4.0.2/24', 'fd04::2/64'] });
          link(router, tun);
          const accepted = [];
          const server = stack.net.createServer({ pauseOnConnect: true }, (socket) => {
            socket.on('error', () => {});
            accepted.push(socket);
          });
          server.listen({ foreignInterface: router });
          await nextEvent(server, 'listening');
          const taken = peer.net.connect(443, '2001:db8::7');
          await waitFor(() => accepted.length === 1, 5000, 'the SYN');
          assert.deepStrictEqual([accepted[0].localAddress, accepted[0].localPort, accepted[0].remoteAddress],
            ['2001:db8::7', 443, 'fd04::2']);
          accepted[0]._acceptSyn();
          await nextEvent(taken, 'connect');
          assert.strictEqual(taken.remoteAddress, '2001:db8::7');
          taken.end('six');
          assert.strictEqual(String(await readAll(accepted[0].resume())), 'six');
          accepted[0].destroy();
          await closeServer(server);
          assert.deepStrictEqual(violations, []);
        } finally {
          teardown(peer);
        }
      });

      it('an interface the core cannot create: an ERROR event for its id, nothing thrown', async function () {
        const { stack, events, violations } = checked;
        const id = stack._allocateId();
        // Below the core's smallest MTU: the core refuses it, the engine does not.
        assert.strictEqual(stack._backend.createInterface(id, contract.INTERFACE_KINDS.tun, ['10.9.0.1/24'],
          contract.LIMITS.MTU_MIN - 1, undefined, undefined, false, []), undefined);
        await waitFor(() => events.some((e) => e.id === id), 5000, 'the error event');
        const forId = events.filter((e) => e.id === id);
        assert.deepStrictEqual(forId.map((e) => [e.type, e.payload[0]]), [[contract.EVENTS.ERROR, 'EINVAL']]);
        assert.deepStrictEqual(violations, []);
      });
    });
  }
});
