'use strict';
// lib/platform/browser.js, run in Node against Node's own implementations:
// what the browser build of lib/ uses in place of Node's built-ins.
const assert = require('node:assert/strict');
const net = require('node:net');
const os = require('node:os');
const util = require('node:util');
const fs = require('node:fs');
const path = require('node:path');
const browser = require('../lib/platform/browser.js');
const node = require('../lib/platform/node.js');

// xorshift32: a seeded sequence in [0, 1), the same on every run.
function makeRandom(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

describe('platform', function () {
  it('node.js and browser.js export the same names', function () {
    assert.deepEqual(Object.keys(browser).sort(), Object.keys(node).sort());
    assert.equal(node.name, 'node');
    assert.equal(browser.name, 'browser');
    assert.equal(browser.fs, null);
  });

  it('lib/ takes Node built-ins from platform/node.js only', function () {
    const { builtinModules } = require('node:module');
    // Files a bundle replaces (package.json "browser") may use Node.
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    const replaced = new Set(Object.keys(pkg.browser).map((file) => path.resolve(__dirname, '..', file)));
    replaced.add(path.resolve(__dirname, '..', 'lib', 'platform', 'browser.js')); // the replacement itself
    const offenders = [];
    const walk = (dir) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.js') && !replaced.has(file)) {
          const source = fs.readFileSync(file, 'utf8');
          if (/require\(['"]node:/.test(source)) offenders.push(`${file}: requires a node: module`);
          for (const [, name] of source.matchAll(/require\(['"]([^'"./][^'"]*)['"]\)/g)) {
            if (builtinModules.includes(name)) offenders.push(`${file}: requires the built-in '${name}'`);
          }
          if (/(^|[^.\w])process\.nextTick\b/m.test(source)) offenders.push(`${file}: process.nextTick`);
          if (/(^|[^.\w])setImmediate\(/m.test(source)) offenders.push(`${file}: setImmediate`);
        }
      }
    };
    walk(path.join(__dirname, '..', 'lib'));
    assert.deepEqual(offenders, []);
  });

  describe('isIP / isIPv4 / isIPv6', function () {
    const cases = [
      '', '::', ':::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '1:2:3:4:5:6::7:8',
      '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3.4', '1.2.3.4::', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
      '1:2:3:4:5::1.2.3.4', '1:2:3:4:5:6::1.2.3.4', 'fe80::1%eth0', 'fe80::1%', '::1.2.3.4%x', '1.2.3.4',
      '01.2.3.4', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '0.0.0.0', '::ffff:01.2.3.4',
      ':1::2', '1::2:', '12345::', 'abcd::ABCD', 'g::1', '[::1]', '1::2::3', ' 1.2.3.4', '::1.2.3',
      '1::1.2.3.4', '::ffff:1.2.3.4:5', 'localhost', '1.2.3.4%eth0', '::%1', 'fe80::1%a.b-c:d',
    ];

    it('agree with node:net on hand-picked addresses', function () {
      for (const input of cases) {
        assert.equal(browser.isIP(input), net.isIP(input), input);
        assert.equal(browser.isIPv4(input), net.isIPv4(input), input);
        assert.equal(browser.isIPv6(input), net.isIPv6(input), input);
      }
      for (const input of [undefined, null, 4, {}, { toString: () => '::1' }]) {
        assert.equal(browser.isIP(input), net.isIP(input), String(input));
      }
    });

    it('agree with node:net on 200,000 random strings of address parts', function () {
      const random = makeRandom(0x1eaf);
      const parts = ['0', '1', '9', '01', 'a', 'f', 'F', 'g', ':', ':', ':', '::', '.', '.', '%', '25', '255', '256',
        'ffff', '12345', '1.2.3.4', 'e0'];
      let valid = 0;
      for (let i = 0; i < 200000; i++) {
        let input = '';
        const count = 1 + Math.floor(random() * 14);
        for (let j = 0; j < count; j++) input += parts[Math.floor(random() * parts.length)];
        const expected = net.isIP(input);
        if (expected) valid++;
        if (browser.isIP(input) !== expected) assert.fail(`isIP(${JSON.stringify(input)}): node says ${expected}`);
      }
      assert.ok(valid > 1000, `only ${valid} valid addresses generated`);
    });
  });

  it('inspect formats values as util.inspect does in error messages', function () {
    const values = ['abc', "it's", 'a\nb', 1, -0, 1n, NaN, null, undefined, true, Symbol('x'), {}, { port: 1, host: 'x' },
      [1, 'a'], [], { a: { b: { c: { d: 1 } } } }, function foo() {}, () => {}, { 'a-b': 1 }, Object.create(null)];
    for (const value of values) assert.equal(browser.inspect(value), util.inspect(value));
    assert.equal(browser.inspect({ a: 1 }, { depth: -1 }), util.inspect({ a: 1 }, { depth: -1 }));
  });

  it('errno numbers are those Node reports on Linux', function () {
    if (process.platform !== 'linux') this.skip();
    assert.deepEqual({ ...browser.errno }, { ...os.constants.errno });
    assert.deepEqual(browser.systemErrorInfo(-111)[0], 'ECONNREFUSED');
  });

  it('randomBytes gives a Buffer of fresh bytes, any size', function () {
    const a = browser.randomBytes(6);
    assert.ok(Buffer.isBuffer(a) || a instanceof Uint8Array);
    assert.equal(a.length, 6);
    const big = browser.randomBytes(200000);
    assert.equal(big.length, 200000);
    assert.notDeepEqual(big.subarray(0, 32), big.subarray(100000, 100032));
  });

  it('nextTick runs callbacks in order, with arguments, before timers and immediates', async function () {
    const order = [];
    let pending = 2;
    await new Promise((resolve) => {
      const done = () => { pending -= 1; if (pending === 0) resolve(); };
      setTimeout(() => { order.push('timeout'); done(); }, 0);
      browser.setImmediate((x) => { order.push(`immediate ${x}`); done(); }, 1);
      browser.nextTick((a, b) => {
        order.push(`tick ${a} ${b}`);
        browser.nextTick(() => order.push('nested tick'));
      }, 1, 2);
      browser.nextTick(() => order.push('tick 2'));
      order.push('sync');
    });
    assert.deepEqual(order.slice(0, 4), ['sync', 'tick 1 2', 'tick 2', 'nested tick']);
    assert.ok(order.includes('immediate 1'));
  });

  it('clearImmediate cancels; Timeout objects refresh and clear', async function () {
    let ran = false;
    browser.clearImmediate(browser.setImmediate(() => { ran = true; }));
    let fired = 0;
    const started = Date.now();
    // Wide margins: a loaded CI machine delays timers by tens of ms.
    const timer = browser.setTimeout(() => { fired++; }, 800);
    assert.equal(timer.unref(), timer);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(fired, 0);
    timer.refresh();
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(fired, 0, 'refresh() pushed the deadline back');
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(fired, 1);
    assert.ok(Date.now() - started >= 990);
    const cleared = browser.setTimeout(() => { fired++; }, 10);
    browser.clearTimeout(cleared);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(fired, 1);
    assert.equal(ran, false);
  });

  it('Duplex, EventEmitter and Buffer come from the browser packages', function () {
    assert.equal(browser.Duplex, require('readable-stream').Duplex);
    assert.equal(browser.EventEmitter, require('events'));
    // (In Node, 'buffer' and 'events' name the built-ins; bundles take the packages.)
    assert.equal(browser.Buffer, require('buffer').Buffer);
  });
});
