'use strict';
// Node's dns API over a dgram/net pair (lib/dns), and the DNS server that
// answers it. Every test runs over each transport of helpers/dns.js; where
// the kernel can reach the server, Node's own dns (c-ares) asks the same
// questions as the oracle for answers and errors.
const assert = require('node:assert/strict');
const nodeDns = require('node:dns');
const util = require('node:util');
const packet = require('dns-packet');
const { createDns, createDnsServer } = require('../lib/dns/index.js');
const {
  TRANSPORTS, rawServer, responseTo, closedUdpPort, exchangeUdp, once,
} = require('./helpers/dns.js');
const { runCommand } = require('./helpers/child.js');
const { within, waitFor } = require('./helpers/util.js');

const ZONE = {
  'example.test': {
    A: ['10.0.0.1', '10.0.0.2'],
    AAAA: ['fd00::1'],
    MX: [{ priority: 10, exchange: 'mx1.example.test' }, { priority: 20, exchange: 'mx2.example.test' }],
    TXT: ['v=spf1 -all', ['two', 'chunks']],
    NS: ['ns1.example.test', 'ns2.example.test'],
    SOA: {
      nsname: 'ns1.example.test', hostmaster: 'admin.example.test', serial: 2026120201,
      refresh: 7200, retry: 900, expire: 1209600, minttl: 120,
    },
    CAA: [{ critical: 0, issue: 'ca.example.test' }, { critical: 128, iodef: 'mailto:sec@example.test' }],
    ttl: 60,
  },
  'www.example.test': { CNAME: 'example.test' },
  'v4only.example.test': { A: '10.0.0.4' },
  'v6only.example.test': { AAAA: ['fd00::6', 'fd00::7'] },
  '_sip._tcp.example.test': { SRV: [{ priority: 1, weight: 5, port: 5060, name: 'sip.example.test' }] },
  '1.0.0.10.in-addr.arpa': { PTR: 'example.test' },
  '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa': { PTR: ['example.test'] },
  '*.wild.example.test': { A: '10.0.0.9' },
  'big.example.test': { TXT: Array.from({ length: 40 }, (_, i) => `record ${i} ${'x'.repeat(30)}`) },
  'empty.example.test': {},
};

const sorted = (list) => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** What a call threw or rejected with, as { code, message, ... }; null if it succeeded. */
async function failure(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  return null;
}

function errorShape(err) {
  return err && {
    name: err.name, code: err.code, message: err.message, errno: err.errno, syscall: err.syscall, hostname: err.hostname,
  };
}

function listenServer(server, address) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => {
      server.removeListener('error', reject);
      resolve(server.address().port);
    });
  });
}

for (const transportKind of TRANSPORTS) {
  describe(`dns over ${transportKind.name}`, function () {
    let transport;
    let server;
    let port;
    let dns;
    let cleanups;

    // A dns object over the transport, asking `servers` (the zone server by default).
    const makeDns = (options = {}) => createDns({
      dgram: transport.dgram,
      net: transport.net,
      servers: [`${transport.address}:${port}`],
      ...options,
    });
    const at = (p) => `${transport.address}:${p}`;
    const later = (fn) => cleanups.push(fn);

    beforeEach(async function () {
      cleanups = [];
      transport = await transportKind.create();
      server = createDnsServer({ dgram: transport.dgram, net: transport.net }, { zone: ZONE });
      port = await listenServer(server, transport.address);
      dns = makeDns();
    });

    afterEach(async function () {
      for (const fn of cleanups.reverse()) await fn();
      await new Promise((resolve) => server.close(resolve));
      await transport.close();
    });

    describe('resolve', function () {
      it('answers every record type from the zone', async function () {
        const p = dns.promises;
        assert.deepEqual(await p.resolve4('example.test'), ['10.0.0.1', '10.0.0.2']);
        assert.deepEqual(await p.resolve6('example.test'), ['fd00::1']);
        assert.deepEqual(await p.resolveMx('example.test'), [
          { exchange: 'mx1.example.test', priority: 10 }, { exchange: 'mx2.example.test', priority: 20 }]);
        assert.deepEqual(await p.resolveTxt('example.test'), [['v=spf1 -all'], ['two', 'chunks']]);
        assert.deepEqual(await p.resolveNs('example.test'), ['ns1.example.test', 'ns2.example.test']);
        assert.deepEqual(await p.resolveSoa('example.test'), {
          nsname: 'ns1.example.test', hostmaster: 'admin.example.test', serial: 2026120201,
          refresh: 7200, retry: 900, expire: 1209600, minttl: 120,
        });
        assert.deepEqual(await p.resolveCaa('example.test'), [
          { critical: 0, issue: 'ca.example.test' }, { critical: 128, iodef: 'mailto:sec@example.test' }]);
        assert.deepEqual(await p.resolveCname('www.example.test'), ['example.test']);
        assert.deepEqual(await p.resolveSrv('_sip._tcp.example.test'), [
          { name: 'sip.example.test', port: 5060, priority: 1, weight: 5 }]);
        assert.deepEqual(await p.resolvePtr('1.0.0.10.in-addr.arpa'), ['example.test']);
        assert.deepEqual(await p.reverse('10.0.0.1'), ['example.test']);
        assert.deepEqual(await p.reverse('fd00::1'), ['example.test']);
        assert.deepEqual(await p.resolve4('www.example.test'), ['10.0.0.1', '10.0.0.2'], 'through the CNAME');
        assert.deepEqual(await p.resolve4('anything.wild.example.test'), ['10.0.0.9'], 'a wildcard');
        assert.deepEqual(await p.resolve4('EXAMPLE.Test.'), ['10.0.0.1', '10.0.0.2'], 'case and a trailing dot');
      });

      it('gives TTLs with { ttl: true }, and resolveAny every record', async function () {
        assert.deepEqual(await dns.promises.resolve4('example.test', { ttl: true }),
          [{ address: '10.0.0.1', ttl: 60 }, { address: '10.0.0.2', ttl: 60 }]);
        const viaCallback = await new Promise((resolve, reject) => {
          dns.resolve6('example.test', { ttl: true }, (err, a) => (err ? reject(err) : resolve(a)));
        });
        assert.deepEqual(viaCallback, [{ address: 'fd00::1', ttl: 60 }]);
        const any = await dns.promises.resolveAny('example.test');
        assert.deepEqual(sorted(any.map((r) => r.type)),
          sorted(['A', 'A', 'AAAA', 'MX', 'MX', 'TXT', 'TXT', 'NS', 'NS', 'SOA', 'CAA', 'CAA']));
        assert.deepEqual(any.find((r) => r.type === 'AAAA'), { address: 'fd00::1', ttl: 60, type: 'AAAA' });
        assert.deepEqual(any.find((r) => r.type === 'TXT'), { entries: ['v=spf1 -all'], type: 'TXT' });
        assert.deepEqual(any.find((r) => r.type === 'NS'), { value: 'ns1.example.test', type: 'NS' });
      });

      it('resolve(name, rrtype) and the callback forms, on a later tick', async function () {
        let sync = true;
        const answers = await new Promise((resolve, reject) => {
          dns.resolve('example.test', 'MX', (err, a) => {
            assert.equal(sync, false);
            if (err) reject(err);
            else resolve(a);
          });
          sync = false;
        });
        assert.equal(answers.length, 2);
        const a = await util.promisify(dns.resolve)('example.test');
        assert.deepEqual(a, ['10.0.0.1', '10.0.0.2']);
        assert.deepEqual(await dns.promises.resolve('example.test', 'AAAA'), ['fd00::1']);
        assert.deepEqual(await util.promisify(dns.reverse)('10.0.0.1'), ['example.test']);
      });

      it("fails with Node's errors: ENOTFOUND, ENODATA, EBADNAME, EINVAL", async function () {
        assert.deepEqual(errorShape(await failure(() => dns.promises.resolve4('nope.example.test'))), {
          name: 'Error', code: 'ENOTFOUND', message: 'queryA ENOTFOUND nope.example.test',
          errno: undefined, syscall: 'queryA', hostname: 'nope.example.test',
        });
        assert.deepEqual(errorShape(await failure(() => dns.promises.resolveMx('v4only.example.test'))), {
          name: 'Error', code: 'ENODATA', message: 'queryMx ENODATA v4only.example.test',
          errno: undefined, syscall: 'queryMx', hostname: 'v4only.example.test',
        });
        assert.equal((await failure(() => dns.promises.resolve4('empty.example.test'))).code, 'ENODATA');
        const badName = await new Promise((resolve) => dns.resolve4('a..b', (err) => resolve(err)));
        assert.deepEqual(errorShape(badName), {
          name: 'Error', code: 'EBADNAME', message: 'queryA EBADNAME a..b', errno: undefined, syscall: 'queryA', hostname: 'a..b',
        });
        assert.equal((await failure(() => dns.promises.resolve4(`${'a'.repeat(64)}.test`))).code, 'EBADNAME');
        assert.deepEqual(errorShape(await failure(() => dns.reverse('not-an-ip', () => {}))), {
          name: 'Error', code: 'EINVAL', message: 'getHostByAddr EINVAL not-an-ip', errno: -22, syscall: 'getHostByAddr', hostname: 'not-an-ip',
        });
        assert.equal((await failure(() => dns.promises.reverse('not-an-ip'))).code, 'EINVAL');
        assert.equal(server.stats().udpQueries, 3, 'the bad names never left the host');
      });

      it('answers the same as Node\'s own dns asking the same server', async function () {
        if (!transportKind.kernel) this.skip(); // Node's dns reaches only the kernel's sockets
        const oracle = new nodeDns.promises.Resolver({ timeout: 2000, tries: 1 });
        oracle.setServers([at(port)]);
        const questions = [
          ['resolve4', 'example.test'], ['resolve4', 'example.test', { ttl: true }], ['resolve6', 'example.test', { ttl: true }],
          ['resolveMx', 'example.test'], ['resolveTxt', 'example.test'], ['resolveNs', 'example.test'],
          ['resolveSoa', 'example.test'], ['resolveCaa', 'example.test'], ['resolveCname', 'www.example.test'],
          ['resolveSrv', '_sip._tcp.example.test'], ['resolvePtr', '1.0.0.10.in-addr.arpa'], ['reverse', '10.0.0.1'],
          ['reverse', 'fd00::1'], ['resolveTxt', 'big.example.test'], ['resolve4', 'www.example.test'],
          ['resolve4', 'nope.example.test'], ['resolveMx', 'v4only.example.test'], ['resolve6', 'v4only.example.test'],
          ['resolve4', 'a..b'], ['resolveAny', 'v6only.example.test'], ['resolve4', 'x.wild.example.test'],
          ['resolveAny', '_sip._tcp.example.test'],
        ];
        for (const [method, name, options] of questions) {
          const ours = await dns.promises[method](name, options).catch(errorShape);
          const theirs = await oracle[method](name, options).catch(errorShape);
          assert.deepEqual(ours, theirs, `${method}('${name}')`);
        }
      });
    });

    describe('lookup', function () {
      const lookup = (d, hostname, options) => new Promise((resolve, reject) => {
        const done = (err, address, family) => (err ? reject(err) : resolve({ address, family }));
        if (options === undefined) d.lookup(hostname, done);
        else d.lookup(hostname, options, done);
      });

      it('resolves A and AAAA through the servers, with every family and order', async function () {
        assert.deepEqual(await lookup(dns, 'example.test'), { address: '10.0.0.1', family: 4 });
        assert.deepEqual(await lookup(dns, 'example.test', 6), { address: 'fd00::1', family: 6 });
        assert.deepEqual(await lookup(dns, 'example.test', { family: 'IPv6' }), { address: 'fd00::1', family: 6 });
        assert.deepEqual(await lookup(dns, 'example.test', { family: 'IPv4' }), { address: '10.0.0.1', family: 4 });
        assert.deepEqual((await lookup(dns, 'example.test', { all: true })).address, [
          { address: '10.0.0.1', family: 4 }, { address: '10.0.0.2', family: 4 }, { address: 'fd00::1', family: 6 }]);
        assert.deepEqual((await lookup(dns, 'example.test', { all: true, order: 'ipv6first' })).address, [
          { address: 'fd00::1', family: 6 }, { address: '10.0.0.1', family: 4 }, { address: '10.0.0.2', family: 4 }]);
        assert.deepEqual((await lookup(dns, 'www.example.test', { all: true, family: 4, verbatim: false })).address, [
          { address: '10.0.0.1', family: 4 }, { address: '10.0.0.2', family: 4 }]);
        assert.deepEqual(await lookup(dns, 'v6only.example.test'), { address: 'fd00::6', family: 6 });
        assert.deepEqual(await dns.promises.lookup('v6only.example.test', { all: true }), [
          { address: 'fd00::6', family: 6 }, { address: 'fd00::7', family: 6 }]);
        assert.deepEqual(await dns.promises.lookup('v4only.example.test'), { address: '10.0.0.4', family: 4 });
        assert.deepEqual(await util.promisify(dns.lookup)('v4only.example.test'), { address: '10.0.0.4', family: 4 });
        dns.setDefaultResultOrder('ipv6first');
        assert.equal(dns.getDefaultResultOrder(), 'ipv6first');
        assert.deepEqual(await lookup(dns, 'example.test'), { address: 'fd00::1', family: 6 });
      });

      it('maps IPv4 answers with V4MAPPED for family 6', async function () {
        const mapped = await lookup(dns, 'v4only.example.test', { family: 6, hints: dns.V4MAPPED });
        assert.deepEqual(mapped, { address: '::ffff:10.0.0.4', family: 6 });
        const native = await lookup(dns, 'example.test', { family: 6, hints: dns.V4MAPPED, all: true });
        assert.deepEqual(native.address, [{ address: 'fd00::1', family: 6 }]);
        const both = await lookup(dns, 'example.test', { family: 6, hints: dns.V4MAPPED | dns.ALL, all: true });
        assert.equal(both.address.length, 3);
        assert.equal((await lookup(dns, 'example.test', { hints: dns.ADDRCONFIG })).address, '10.0.0.1');
      });

      it('fails with getaddrinfo ENOTFOUND, as Node does', async function () {
        const err = await failure(() => lookup(dns, 'nope.example.test'));
        assert.deepEqual(errorShape(err), {
          name: 'Error', code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND nope.example.test',
          errno: -3008, syscall: 'getaddrinfo', hostname: 'nope.example.test',
        });
        assert.equal((await failure(() => lookup(dns, 'v4only.example.test', 6))).code, 'ENOTFOUND');
        assert.equal((await failure(() => dns.promises.lookup('empty.example.test'))).code, 'ENOTFOUND');
      });

      it('leaves localhost, *.localhost and addresses to lookupLocal, off the network', async function () {
        const calls = [];
        const local = makeDns({
          lookupLocal(hostname, options, callback) {
            calls.push({ hostname, options });
            process.nextTick(callback, null, [{ address: '127.0.0.7', family: 4 }]);
          },
        });
        const before = server.stats().udpQueries;
        assert.deepEqual(await lookup(local, 'localhost'), { address: '127.0.0.7', family: 4 });
        assert.deepEqual(await local.promises.lookup('app.localhost', { all: true }), [{ address: '127.0.0.7', family: 4 }]);
        await lookup(local, '10.1.2.3', { family: 4 });
        assert.deepEqual(calls.map((c) => c.hostname), ['localhost', 'app.localhost', '10.1.2.3']);
        assert.equal(calls[2].options.family, 4);
        assert.equal(server.stats().udpQueries, before, 'nothing went to the server');
        assert.equal(local.stats().queries, 0);
        // Without lookupLocal: the loopback addresses, and literals as they are.
        assert.deepEqual(await dns.promises.lookup('localhost', { all: true }), [
          { address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
        assert.deepEqual(await lookup(dns, 'fd00::9'), { address: 'fd00::9', family: 6 });
      });

      it('answers an empty hostname as Node does', async function () {
        assert.deepEqual(await lookup(dns, '', 6), { address: null, family: 6 });
        assert.deepEqual(await lookup(dns, undefined, { all: false }), { address: null, family: 4 });
        assert.deepEqual(await dns.promises.lookup('', { all: true }), []);
      });
    });

    describe('servers, retries and failures', function () {
      it('times out with ETIMEOUT after `tries` rounds on a server that never answers', async function () {
        const silent = await rawServer(transport, () => {});
        later(() => silent.close());
        const resolver = new dns.promises.Resolver({ timeout: 50, tries: 3 });
        resolver.setServers([at(silent.port)]);
        const err = await within(failure(() => resolver.resolve4('example.test')), 10000, 'the timeout');
        assert.deepEqual(errorShape(err), {
          name: 'Error', code: 'ETIMEOUT', message: 'queryA ETIMEOUT example.test',
          errno: undefined, syscall: 'queryA', hostname: 'example.test',
        });
        assert.equal(silent.queries.length, 3, 'one query per try');
        const ids = new Set(silent.queries.map((q) => q.query.id));
        const ports = new Set(silent.queries.map((q) => q.rinfo.port));
        assert.equal(ids.size + ports.size, 6, 'a fresh id and source port each time');
        // lookup() reports a server that does not answer as getaddrinfo does.
        const d = makeDns({ servers: [at(silent.port)], timeout: 20, tries: 1 });
        const lookupErr = await failure(() => d.promises.lookup('example.test'));
        assert.deepEqual(errorShape(lookupErr), {
          name: 'Error', code: 'EAI_AGAIN', message: 'getaddrinfo EAI_AGAIN example.test',
          errno: -3001, syscall: 'getaddrinfo', hostname: 'example.test',
        });
      });

      it('goes on to the next server when one does not answer or fails', async function () {
        const silent = await rawServer(transport, () => {});
        const failing = await rawServer(transport, (q, raw, rinfo, reply) => reply(responseTo(q, { rcode: 'SERVFAIL' })));
        later(() => silent.close());
        later(() => failing.close());
        const resolver = new dns.Resolver({ timeout: 50, tries: 4 });
        resolver.setServers([at(silent.port), at(failing.port), at(port)]);
        const answers = await new Promise((resolve, reject) => {
          resolver.resolve4('example.test', (err, a) => (err ? reject(err) : resolve(a)));
        });
        assert.deepEqual(answers, ['10.0.0.1', '10.0.0.2']);
        // (Once each, unless a slow machine made the zone server miss its
        // first try's 50 ms: then the silent one is asked again, never the
        // failing one.)
        assert.ok(silent.queries.length >= 1);
        assert.equal(failing.queries.length, 1);
      });

      it('takes a late answer to an earlier try while the next one waits', async function () {
        // The server holds the first query and answers it only when the
        // retry arrives: the answer to the first try is the one taken.
        let held = null;
        const slow = await rawServer(transport, (q, raw, rinfo, reply) => {
          if (held === null) {
            held = () => reply(responseTo(q, { answers: [{ type: 'A', name: q.questions[0].name, data: '10.3.3.1' }] }));
            return;
          }
          held();
        });
        later(() => slow.close());
        const resolver = new dns.promises.Resolver({ timeout: 20, tries: 4 });
        resolver.setServers([at(slow.port)]);
        assert.deepEqual(await resolver.resolve4('late.test'), ['10.3.3.1']);
        // Only the first query's id is ever answered (again on each retry).
        assert.ok(slow.queries.length >= 2);
      });

      it('reports ESERVFAIL, EREFUSED, ENOTIMP, EFORMERR when every server says so', async function () {
        for (const [rcode, code] of [['SERVFAIL', 'ESERVFAIL'], ['REFUSED', 'EREFUSED'], ['NOTIMP', 'ENOTIMP'], ['FORMERR', 'EFORMERR']]) {
          const bad = await rawServer(transport, (q, raw, rinfo, reply) => reply(responseTo(q, { rcode })));
          const resolver = new dns.promises.Resolver({ timeout: 1000, tries: 4 });
          resolver.setServers([at(bad.port)]);
          const err = await failure(() => resolver.resolveTxt('example.test'));
          await bad.close();
          assert.equal(err.code, code);
          assert.equal(err.message, `queryTxt ${code} example.test`);
          assert.equal(bad.queries.length, 1, `${rcode}: the server is not asked again`);
        }
      });

      it('reports ECONNREFUSED for a port nobody listens on', async function () {
        const closed = await closedUdpPort(transport);
        const resolver = new dns.promises.Resolver({ timeout: 5000, tries: 2 });
        resolver.setServers([at(closed)]);
        const err = await within(failure(() => resolver.resolve4('example.test')), 10000, 'the refusal');
        assert.deepEqual(errorShape(err), {
          name: 'Error', code: 'ECONNREFUSED', message: 'queryA ECONNREFUSED example.test',
          errno: undefined, syscall: 'queryA', hostname: 'example.test',
        });
        const none = new dns.Resolver();
        none.setServers([]);
        let sync = true;
        const noServers = new Promise((resolve) => none.resolve4('example.test', (e) => resolve({ e, sync })));
        sync = false;
        const { e, sync: wasSync } = await noServers;
        assert.equal(e.code, 'ECONNREFUSED');
        assert.equal(wasSync, false, 'on a later tick');
      });

      it('cancel() ends the queries under way with ECANCELLED', async function () {
        const silent = await rawServer(transport, () => {});
        later(() => silent.close());
        const resolver = new dns.Resolver({ timeout: 5000, tries: 1 });
        resolver.setServers([at(silent.port)]);
        let cancelling = false;
        const pending = new Promise((resolve) => resolver.resolveMx('example.test', (err) => resolve([err, cancelling])));
        const promises = new dns.promises.Resolver({ timeout: 5000 });
        promises.setServers([at(silent.port)]);
        const pendingPromise = failure(() => promises.resolve4('example.test'));
        cancelling = true;
        resolver.cancel();
        promises.cancel();
        cancelling = false;
        const [cancelled, insideCancel] = await pending;
        assert.equal(insideCancel, false, 'the callback comes after cancel() returns');
        assert.deepEqual(errorShape(cancelled), {
          name: 'Error', code: 'ECANCELLED', message: 'queryMx ECANCELLED example.test',
          errno: undefined, syscall: 'queryMx', hostname: 'example.test',
        });
        assert.equal((await pendingPromise).code, 'ECANCELLED');
      });

      it('setServers/getServers take and show servers as Node does', async function () {
        const forms = ['10.0.0.53', '10.0.0.53:53', '10.0.0.53:5353', 'fd00::53', '[fd00::53]:53', '[fd00::53]:5353', '[10.0.0.53]:54'];
        const oracle = new nodeDns.Resolver();
        const ours = new dns.Resolver();
        oracle.setServers(forms);
        ours.setServers(forms);
        assert.deepEqual(ours.getServers(), oracle.getServers());
        assert.deepEqual(ours.getServers(), ['10.0.0.53', '10.0.0.53:5353', 'fd00::53', '[fd00::53]:5353', '10.0.0.53:54']);
        assert.deepEqual(dns.getServers(), [at(port)]);
        const d = makeDns({ servers: ['10.9.9.9'] });
        d.setServers([at(port)]);
        assert.deepEqual(d.getServers(), [at(port)]);
        assert.deepEqual(await d.promises.resolve4('v4only.example.test'), ['10.0.0.4']);
        assert.deepEqual(new d.Resolver().getServers(), ['10.9.9.9'], 'a new Resolver starts from the configured servers');
      });
    });

    describe('truncation and malformed replies', function () {
      it('asks again over TCP when the UDP answer is truncated', async function () {
        const answers = await dns.promises.resolveTxt('big.example.test');
        assert.equal(answers.length, 40);
        assert.deepEqual(answers[39], [`record 39 ${'x'.repeat(30)}`]);
        const stats = server.stats();
        assert.equal(stats.truncated, 1);
        assert.equal(stats.tcpQueries, 1);
        assert.equal(dns.stats().tcpAttempts, 1);
        // The TCP answer is the one used, whatever the UDP one said.
        const split = await rawServer(transport,
          (q, raw, rinfo, reply) => reply(responseTo(q, { flags: packet.TRUNCATED_RESPONSE, answers: [{ type: 'A', name: q.questions[0].name, data: '10.6.6.6' }] })),
          { tcp: (q, raw, reply) => reply(responseTo(q, { answers: [{ type: 'A', name: q.questions[0].name, data: '10.7.7.7' }] })) });
        later(() => split.close());
        const resolver = new dns.promises.Resolver({ timeout: 2000 });
        resolver.setServers([at(split.port)]);
        assert.deepEqual(await resolver.resolve4('tc.test'), ['10.7.7.7']);
        assert.deepEqual(split.queries.map((q) => q.via), ['udp', 'tcp']);
      });

      it('drops malformed, mismatched and stray replies, counting them, and takes the real one', async function () {
        const valid = (q) => responseTo(q, { answers: [{ type: 'A', name: q.questions[0].name, data: '10.5.5.5' }] });
        const garbage = [];
        const liar = await rawServer(transport, (q, raw, rinfo, reply) => {
          const good = packet.encode(valid(q));
          const truncated = good.subarray(0, good.length - 3);
          const lyingLength = Buffer.from(good);
          lyingLength.writeUInt16BE(200, good.length - 6); // the A record's length
          const hugeCounts = Buffer.from(good);
          hugeCounts.writeUInt16BE(0xffff, 6);
          hugeCounts.writeUInt16BE(0xffff, 10);
          // A question name that points at itself: a compression loop.
          const loop = Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
          loop.writeUInt16BE(0, 6);
          const wrongId = packet.encode({ ...valid(q), id: (q.id + 1) & 0xffff });
          const wrongQuestion = packet.encode({ ...valid(q), questions: [{ name: 'other.test', type: 'A', class: 'IN' }] });
          garbage.push(truncated, lyingLength, hugeCounts, loop, Buffer.from([1, 2, 3]), wrongId, wrongQuestion);
          for (const bytes of garbage) reply(bytes);
          reply(good);
        });
        later(() => liar.close());
        const d = makeDns({ servers: [at(liar.port)], timeout: 5000 });
        assert.deepEqual(await d.promises.resolve4('liar.test'), ['10.5.5.5']);
        const stats = d.stats();
        assert.equal(stats.malformed, 5);
        assert.equal(stats.mismatched, 2);
        // A reply from another port of the same host is not the server's.
        const stray = transport.dgram.createSocket('udp4');
        later(() => new Promise((resolve) => stray.close(resolve)));
        const forwarder = await rawServer(transport, (q, raw, rinfo) => {
          stray.send(packet.encode(valid(q)), rinfo.port, rinfo.address);
        });
        later(() => forwarder.close());
        // (A connected socket never even sees it; one without connect() counts it.)
        const e = makeDns({ servers: [at(forwarder.port)], timeout: 50, tries: 1 });
        assert.equal((await failure(() => e.promises.resolve4('stray.test'))).code, 'ETIMEOUT');
        assert.equal(forwarder.queries.length, 1);
      });

      it('settles whatever scrambled replies come first, never throwing', async function () {
        // Each query gets 100 copies of its answer scrambled (cut short and
        // bytes overwritten past the id), then the answer itself. A copy
        // may still be a well-formed answer to the question, and is then
        // taken as one; every other is counted and dropped. Nothing throws
        // out of the socket's handler, and every query settles.
        const valid = (q) => responseTo(q, {
          answers: [
            { type: 'CNAME', name: q.questions[0].name, data: 'target.test' },
            { type: 'A', name: 'target.test', ttl: 5, data: '10.4.4.4' },
            { type: 'TXT', name: 'target.test', data: ['some text'] },
          ],
        });
        let seed = 1;
        const random = () => {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          return seed;
        };
        const scrambler = await rawServer(transport, (q, raw, rinfo, reply) => {
          const good = packet.encode(valid(q));
          // 100 at a time: well within a socket's receive buffer, so the
          // real reply after them is not dropped for want of room.
          for (let i = 0; i < 100; i++) {
            const bytes = Buffer.from(good.subarray(0, 2 + (random() % (good.length - 1))));
            for (let j = 0, n = 1 + (random() % 6); j < n; j++) bytes[2 + (random() % (bytes.length - 2))] = random() & 0xff;
            reply(bytes);
          }
          reply(good);
        });
        later(() => scrambler.close());
        const d = makeDns({ servers: [at(scrambler.port)], timeout: 5000, tries: 1 });
        const codes = new Set(Object.values(nodeDns).filter((v) => typeof v === 'string'));
        let real = 0;
        for (let i = 0; i < 10; i++) {
          const outcome = await d.promises.resolve4(`scrambled${i}.test`, { ttl: true }).catch((err) => err);
          if (outcome instanceof Error) assert.ok(codes.has(outcome.code), outcome.stack);
          else assert.ok(Array.isArray(outcome));
          if (!(outcome instanceof Error) && outcome.length === 1 && outcome[0].address === '10.4.4.4') real++;
        }
        assert.ok(real > 0, 'the real answers come through');
        const { malformed, mismatched } = d.stats();
        assert.ok(malformed + mismatched >= 500, `the scrambled replies were counted (${malformed} + ${mismatched})`);
      });

      it('works over a dgram without connect(), telling stray replies by their port', async function () {
        // A dgram module whose sockets have no connect(): the client names
        // the server on every send and checks where each reply came from.
        const unconnected = {
          createSocket(type) {
            const socket = transport.dgram.createSocket(type);
            socket.connect = undefined;
            return socket;
          },
        };
        const d = createDns({ dgram: unconnected, net: transport.net, servers: [at(port)], timeout: 2000 });
        assert.deepEqual(await d.promises.resolve4('example.test'), ['10.0.0.1', '10.0.0.2']);
        assert.equal((await d.promises.resolveTxt('big.example.test')).length, 40);
        // The stray socket is bound first and the real reply waits for its
        // send to complete, so that the stray one comes first on any transport.
        const stray = transport.dgram.createSocket('udp4');
        stray.bind(0, transport.address);
        await once(stray, 'listening');
        later(() => new Promise((resolve) => stray.close(resolve)));
        const forwarder = await rawServer(transport, (q, raw, rinfo, reply) => {
          stray.send(packet.encode(responseTo(q, { answers: [{ type: 'A', name: q.questions[0].name, data: '10.6.6.6' }] })),
            rinfo.port, rinfo.address,
            () => reply(responseTo(q, { answers: [{ type: 'A', name: q.questions[0].name, data: '10.2.2.2' }] })));
        });
        later(() => forwarder.close());
        const e = createDns({ dgram: unconnected, net: transport.net, servers: [at(forwarder.port)], timeout: 2000 });
        assert.deepEqual(await e.promises.resolve4('stray.test'), ['10.2.2.2']);
        assert.equal(e.stats().mismatched, 1);
      });

      it('asks a server on IPv6', async function () {
        const v6 = createDnsServer({ dgram: transport.dgram, net: transport.net }, { zone: ZONE });
        await listenServer(v6, '::1');
        later(() => new Promise((resolve) => v6.close(resolve)));
        const d = makeDns({ servers: [`[::1]:${v6.address().port}`] });
        assert.deepEqual(d.getServers(), [`[::1]:${v6.address().port}`]);
        assert.deepEqual(await d.promises.resolve6('example.test'), ['fd00::1']);
        assert.equal((await d.promises.resolveTxt('big.example.test')).length, 40, 'TCP over IPv6 too');
      });

      it('reports EBADRESP when a server answers only garbage', async function () {
        const junk = await rawServer(transport, (q, raw, rinfo, reply) => reply(Buffer.from([0, 1, 2, 3, 4])));
        later(() => junk.close());
        const resolver = new dns.promises.Resolver({ timeout: 30, tries: 2 });
        resolver.setServers([at(junk.port)]);
        const err = await failure(() => resolver.resolve4('junk.test'));
        assert.equal(err.code, 'EBADRESP');
        assert.equal(err.message, 'queryA EBADRESP junk.test');
      });
    });

    describe('server', function () {
      it('answers FORMERR or drops malformed queries, counts them, and goes on serving', async function () {
        const good = packet.encode({ type: 'query', id: 7, flags: packet.RECURSION_DESIRED, questions: [{ name: 'example.test', type: 'A' }] });
        const loop = Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
        const hugeCounts = Buffer.from(good);
        hugeCounts.writeUInt16BE(0xffff, 4);
        const twoQuestions = packet.encode({ type: 'query', id: 8, questions: [{ name: 'a.test', type: 'A' }, { name: 'b.test', type: 'A' }] });
        const formerr = [good.subarray(0, good.length - 2), loop, hugeCounts];
        for (const bytes of formerr) {
          const reply = packet.decode(await exchangeUdp(transport, port, bytes));
          assert.equal(reply.rcode, 'FORMERR');
          assert.equal(reply.id, 7);
        }
        assert.equal(packet.decode(await exchangeUdp(transport, port, twoQuestions)).rcode, 'FORMERR');
        assert.equal(await exchangeUdp(transport, port, Buffer.from([1, 2, 3]), 100), null, 'too short to answer');
        const response = packet.encode({ type: 'response', id: 9, questions: [{ name: 'a.test', type: 'A' }] });
        assert.equal(await exchangeUdp(transport, port, response, 100), null, 'a response is never answered');
        // Scrambled queries, all at once: whatever each is, the server lives on.
        const before = server.stats().udpQueries;
        const sender = transport.dgram.createSocket('udp4');
        sender.bind(0, transport.address);
        await once(sender, 'listening');
        for (let i = 0; i < 100; i++) {
          const bytes = Buffer.from(good);
          for (let j = 0; j < 4; j++) bytes[(i * 7 + j * 13) % bytes.length] = (i * 31 + j * 17) & 0xff;
          sender.send(bytes, port, transport.address);
        }
        await waitFor(() => server.stats().udpQueries === before + 100, 5000, 'the scrambled queries');
        sender.close();
        // A TCP peer whose frame has no header is cut off, unanswered.
        const tcp = transport.net.connect(port, transport.address);
        await once(tcp, 'connect');
        const received = [];
        tcp.on('data', (d) => received.push(d));
        tcp.write(Buffer.from([0, 5, 1, 2, 3, 4, 5]));
        await once(tcp, 'close');
        assert.deepEqual(received, []);
        const stats = server.stats();
        assert.ok(stats.malformed >= 5, `malformed counted (${stats.malformed})`);
        assert.ok(stats.formerr >= 4);
        assert.deepEqual(await dns.promises.resolve4('example.test'), ['10.0.0.1', '10.0.0.2'], 'still serving');
      });

      it('answers from a handler: returned, responded, async, failing', async function () {
        const askers = [];
        const handler = createDnsServer({ dgram: transport.dgram, net: transport.net }, {
          handler(question, respond) {
            const name = question.name;
            askers.push(question);
            if (name === 'sync.test') return [{ type: 'A', data: '10.1.1.1' }];
            if (name === 'respond.test') {
              setImmediate(() => respond({ answers: [{ type: 'TXT', data: ['later', 'in two chunks'] }] }));
              return undefined;
            }
            if (name === 'async.test') return Promise.resolve([{ type: 'AAAA', data: 'fd00::a' }]);
            if (name === 'throws.test') throw new Error('handler bug');
            if (name === 'rejects.test') return Promise.reject(new Error('handler bug'));
            if (name === 'refused.test') return { rcode: 'REFUSED' };
            if (name === 'mx.test') return [{ type: 'MX', ttl: 5, data: { priority: 7, exchange: 'mail.test' } }];
            if (name === 'broken.test') return [{ type: 'A', data: 'not-an-address' }];
            return null;
          },
        });
        const handlerPort = await listenServer(handler, transport.address);
        later(() => new Promise((resolve) => handler.close(resolve)));
        const d = makeDns({ servers: [at(handlerPort)], timeout: 2000, tries: 1 });
        assert.deepEqual(await d.promises.resolve4('sync.test'), ['10.1.1.1']);
        // A handler's record is one record: a TXT's strings are its chunks, as resolveTxt gives them.
        assert.deepEqual(await d.promises.resolveTxt('respond.test'), [['later', 'in two chunks']]);
        assert.deepEqual(await d.promises.resolve6('async.test'), ['fd00::a']);
        assert.equal((await failure(() => d.promises.resolve4('throws.test'))).code, 'ESERVFAIL');
        assert.equal((await failure(() => d.promises.resolve4('rejects.test'))).code, 'ESERVFAIL');
        assert.equal((await failure(() => d.promises.resolve4('refused.test'))).code, 'EREFUSED');
        assert.equal((await failure(() => d.promises.resolve4('unknown.test'))).code, 'ENOTFOUND');
        assert.deepEqual(await d.promises.resolveMx('mx.test'), [{ exchange: 'mail.test', priority: 7 }]);
        assert.equal((await failure(() => d.promises.resolve4('broken.test'))).code, 'ESERVFAIL');
        assert.equal(handler.stats().handlerErrors, 3);
        // The handler is told who asked: the resolver's UDP socket.
        const [first] = askers;
        assert.deepEqual({ name: first.name, type: first.type, class: first.class, transport: first.transport },
          { name: 'sync.test', type: 'A', class: 'IN', transport: 'udp' });
        assert.equal(first.remoteAddress, transport.address);
        assert.ok(Number.isInteger(first.remotePort) && first.remotePort > 0, `remotePort ${first.remotePort}`);
      });

      it('fits an EDNS0 client\'s larger UDP size before truncating', async function () {
        const query = (edns) => packet.encode({
          type: 'query', id: 11, questions: [{ name: 'big.example.test', type: 'TXT' }],
          additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] : [],
        });
        const plain = packet.decode(await exchangeUdp(transport, port, query(false)));
        assert.equal(plain.flag_tc, true);
        assert.equal(plain.answers.length, 0);
        const large = packet.decode(await exchangeUdp(transport, port, query(true)));
        assert.equal(large.flag_tc, false);
        assert.equal(large.answers.length, 40);
        assert.equal(large.additionals.find((r) => r.type === 'OPT').udpPayloadSize, 1232);
      });

      it('refuses zones it cannot serve, and emits listening, error and close', async function () {
        const make = (zone) => createDnsServer({ dgram: transport.dgram, net: transport.net }, { zone });
        assert.throws(() => make({ 'a.test': { A: ['not-an-address'] } }), { code: 'ERR_INVALID_ARG_VALUE' });
        assert.throws(() => make({ 'a.test': { BOGUS: ['x'] } }), { code: 'ERR_INVALID_ARG_VALUE' });
        assert.throws(() => createDnsServer({ dgram: transport.dgram, net: transport.net }, {}), { code: 'ERR_MISSING_ARGS' });
        const second = make({});
        const [err] = await new Promise((resolve) => {
          second.once('error', (e) => resolve([e]));
          second.listen(port, transport.address);
        });
        assert.equal(err.code, 'EADDRINUSE');
        const third = make({});
        await listenServer(third, transport.address);
        assert.equal(typeof third.address().port, 'number');
        await new Promise((resolve) => third.close(resolve));
        assert.equal(third.address(), null);
      });
    });

    describe('dig', function () {
      let digAvailable;
      before(async function () {
        digAvailable = await runCommand('dig', ['-v']).then((r) => r.code === 0, () => false);
      });

      // dig's output as { status, flags, answers: [[name, ttl, class, type, data]] }.
      async function dig(args) {
        const { code, stdout } = await runCommand('dig', [`@${transport.address}`, '-p', String(port), '+time=2', '+tries=1', ...args]);
        assert.equal(code, 0, stdout);
        const status = /status: (\w+)/.exec(stdout)[1];
        const flags = /;; flags: ([a-z ]+);/.exec(stdout)[1].split(' ');
        const section = /;; ANSWER SECTION:\n([\s\S]*?)\n\n/.exec(stdout);
        const answers = section ? section[1].split('\n').map((line) => line.split(/\s+/)) : [];
        return { status, flags, answers, via: /\((UDP|TCP)\)/.exec(stdout)[1], truncatedRetry: stdout.includes('Truncated, retrying in TCP mode'), stdout };
      }

      it('queries the server over UDP and TCP', async function () {
        if (!digAvailable) this.skip(); // needs dig (dnsutils, from scripts/setup.sh)
        if (!transportKind.kernel) this.skip(); // dig runs on the kernel's sockets
        const a = await dig(['example.test', 'A']);
        assert.equal(a.status, 'NOERROR');
        assert.equal(a.via, 'UDP');
        assert.ok(a.flags.includes('aa'));
        assert.deepEqual(a.answers, [
          ['example.test.', '60', 'IN', 'A', '10.0.0.1'], ['example.test.', '60', 'IN', 'A', '10.0.0.2']]);
        const mx = await dig(['+tcp', 'example.test', 'MX']);
        assert.equal(mx.via, 'TCP');
        assert.deepEqual(mx.answers.map((r) => r.slice(3).join(' ')), ['MX 10 mx1.example.test.', 'MX 20 mx2.example.test.']);
        const cname = await dig(['www.example.test', 'AAAA']);
        assert.deepEqual(cname.answers.map((r) => r.slice(3).join(' ')), ['CNAME example.test.', 'AAAA fd00::1']);
        const srv = await dig(['+tcp', '_sip._tcp.example.test', 'SRV']);
        assert.deepEqual(srv.answers[0].slice(3), ['SRV', '1', '5', '5060', 'sip.example.test.']);
        const nx = await dig(['nope.example.test', 'A']);
        assert.equal(nx.status, 'NXDOMAIN');
        assert.match(nx.stdout, /AUTHORITY SECTION:\nexample\.test\.\s+60\s+IN\s+SOA\s+ns1\.example\.test\. admin\.example\.test\. 2026120201/);
        const ptr = await dig(['-x', '10.0.0.1']);
        assert.deepEqual(ptr.answers[0].slice(3), ['PTR', 'example.test.']);
      });

      it('retries a truncated answer over TCP, as a real client does', async function () {
        if (!digAvailable) this.skip(); // needs dig (dnsutils, from scripts/setup.sh)
        if (!transportKind.kernel) this.skip(); // dig runs on the kernel's sockets
        const big = await dig(['+noedns', 'big.example.test', 'TXT']);
        assert.equal(big.truncatedRetry, true);
        assert.equal(big.via, 'TCP');
        assert.equal(big.answers.length, 40);
        assert.equal(server.stats().truncated, 1);
      });
    });
  });
}

describe("dns argument checks, as Node's", function () {
  const dns = createDns({ dgram: require('node:dgram'), net: require('node:net'), servers: ['127.0.0.1:9'] });

  // Calls `fn` on Node's dns and on ours and compares what each throws.
  function same(label, fn) {
    const caught = (d) => {
      try {
        const result = fn(d);
        if (result && typeof result.catch === 'function') result.catch(() => {});
        return null;
      } catch (err) {
        return { name: err.name, code: err.code, message: err.message };
      }
    };
    const theirs = caught(nodeDns);
    assert.ok(theirs, `${label}: Node's dns throws`);
    assert.deepEqual(caught(dns), theirs, label);
  }

  it('lookup', function () {
    same('hostname type', (d) => d.lookup(5, () => {}));
    same('no callback', (d) => d.lookup('x', {}));
    same('no callback, options function-less', (d) => d.lookup('x'));
    same('options string', (d) => d.lookup('x', 'str', () => {}));
    same('family 5', (d) => d.lookup('x', 5, () => {}));
    same('options.family 5', (d) => d.lookup('x', { family: 5 }, () => {}));
    same('options.family string', (d) => d.lookup('x', { family: 'IPv5' }, () => {}));
    same('hints', (d) => d.lookup('x', { hints: 99999 }, () => {}));
    same('hints type', (d) => d.lookup('x', { hints: '1' }, () => {}));
    same('all type', (d) => d.lookup('x', { all: 1 }, () => {}));
    same('verbatim type', (d) => d.lookup('x', { verbatim: 'yes' }, () => {}));
    same('order', (d) => d.lookup('x', { order: 'random' }, () => {}));
    same('promises family IPv4', (d) => d.promises.lookup('x', { family: 'IPv4' }));
    same('promises hostname', (d) => d.promises.lookup(5));
    same('promises options', (d) => d.promises.lookup('x', 'str'));
    same('setDefaultResultOrder', (d) => d.setDefaultResultOrder('x'));
  });

  it('resolve, reverse and Resolver', function () {
    same('name type', (d) => d.resolve4(1, () => {}));
    same('no callback', (d) => d.resolve4('x'));
    same('rrtype value', (d) => d.resolve('x', 'BOGUS', () => {}));
    same('rrtype type', (d) => d.resolve('x', 5, () => {}));
    same('promises rrtype', (d) => d.promises.resolve('x', 'BOGUS'));
    same('promises rrtype type', (d) => d.promises.resolve('x', 5));
    same('promises name', (d) => d.promises.resolveMx(5));
    same('reverse name', (d) => d.reverse(5, () => {}));
    same('reverse bad address', (d) => d.reverse('bad', () => {}));
    same('timeout range', (d) => new d.Resolver({ timeout: -2 }));
    same('timeout type', (d) => new d.Resolver({ timeout: '1' }));
    same('timeout integer', (d) => new d.Resolver({ timeout: 1.5 }));
    same('tries range', (d) => new d.Resolver({ tries: 0 }));
    same('tries type', (d) => new d.promises.Resolver({ tries: 'a' }));
    same('setServers type', (d) => new d.Resolver().setServers('1.2.3.4'));
    same('setServers entry type', (d) => new d.Resolver().setServers([1]));
    same('setServers address', (d) => new d.Resolver().setServers(['example.test']));
    same('setServers bracketed', (d) => new d.Resolver().setServers(['[example]:53']));
    same('dns.setServers', (d) => d.setServers(['1.2.3']));
  });

  it('exports the constants and methods of Node\'s dns', function () {
    for (const key of Object.keys(nodeDns)) {
      if (['lookupService', 'resolveTlsa'].includes(key)) continue; // not over a stack
      assert.ok(key in dns, `dns.${key}`);
      if (typeof nodeDns[key] === 'string' || typeof nodeDns[key] === 'number') assert.equal(dns[key], nodeDns[key], key);
    }
    for (const key of Object.keys(nodeDns.promises)) {
      if (['lookupService', 'resolveTlsa'].includes(key)) continue;
      assert.ok(key in dns.promises, `dns.promises.${key}`);
    }
    assert.equal(dns.Resolver.name, 'Resolver');
    assert.equal(dns.promises.Resolver.name, 'Resolver');
    assert.equal(dns.resolve4.name, 'bound queryA');
  });
});

describe('stack.dns between stacks', function () {
  const { Stack, link } = require('..');
  const stacks = [];
  afterEach(() => {
    for (const stack of stacks.splice(0)) stack.destroy();
  });

  it('over a link that loses 30% of packets, queries retry until answered', async function () {
    this.timeout(60000);
    const server = new Stack();
    const client = new Stack({ dns: { servers: ['10.53.0.1'], timeout: 100, tries: 8 } });
    stacks.push(server, client);
    // Seeded: the same packets are lost on every run.
    const l = link(server.createTunInterface({ ipAddress: '10.53.0.1/24' }), client.createTunInterface({ ipAddress: '10.53.0.2/24' }),
      { loss: 0.3, seed: 20261202 });
    const dnsServer = server.dns.createServer({ zone: ZONE });
    await new Promise((resolve) => dnsServer.listen(53, '10.53.0.1', resolve));
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await client.dns.promises.resolve4('example.test'));
    assert.deepEqual(answers, new Array(6).fill(['10.0.0.1', '10.0.0.2']));
    const stats = client.dns.stats();
    assert.ok(stats.timeouts > 0, 'some tries were lost and retried');
    const { aToB, bToA } = l.stats();
    assert.ok(aToB.lost + bToA.lost > 0, 'the link lost packets');
  });

  it('a server with no route fails the query (ECONNREFUSED), no exception escapes', async function () {
    const stack = new Stack({ dns: { servers: ['10.9.9.9'] } });
    stacks.push(stack);
    stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
    await assert.rejects(stack.dns.promises.resolve4('example.test'), { code: 'ECONNREFUSED' });
    await assert.rejects(stack.dns.promises.lookup('example.test'), (e) => typeof e.code === 'string');
  });

  it('queries under way when the stack is destroyed end with ECANCELLED', async function () {
    const stack = new Stack({ dns: { servers: ['127.0.0.1'], timeout: 5000 } });
    stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
    // A server that never answers.
    const silent = stack.dgram.createSocket('udp4');
    await new Promise((resolve) => silent.bind(53, '127.0.0.1', resolve));
    const pending = stack.dns.promises.resolve4('example.test');
    await new Promise((resolve) => setTimeout(resolve, 50));
    stack.destroy();
    await assert.rejects(pending, { code: 'ECANCELLED' });
  });

  it('a server spelled another way is the same server, and getServers() says it as Node does', async function () {
    const stack = new Stack();
    stacks.push(stack);
    stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
    const dnsServer = stack.dns.createServer({ zone: ZONE });
    await new Promise((resolve) => dnsServer.listen(5353, '::1', resolve));
    stack.dns.setServers(['[0:0:0:0:0:0:0:1]:5353']);
    assert.deepEqual(stack.dns.getServers(), ['[::1]:5353']);
    assert.deepEqual(await stack.dns.promises.resolve4('example.test'), ['10.0.0.1', '10.0.0.2']);
  });

  it('a DNS server closed while it binds leaves nothing open', async function () {
    const stack = new Stack();
    stacks.push(stack);
    stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
    const dnsServer = stack.dns.createServer({ zone: ZONE });
    dnsServer.listen(0, '127.0.0.1');
    await new Promise((resolve) => dnsServer.close(resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(stack._handles.size, 0);
    assert.equal(dnsServer.listening, false);
  });

  it('a name the stack connects to resolves through its servers', async function () {
    const server = new Stack();
    const client = new Stack({ dns: { servers: ['10.53.0.1'] } });
    stacks.push(server, client);
    link(server.createTunInterface({ ipAddress: '10.53.0.1/24' }), client.createTunInterface({ ipAddress: '10.53.0.2/24' }));
    const dnsServer = server.dns.createServer({ zone: { 'web.test': { A: ['10.53.0.1'] } } });
    await new Promise((resolve) => dnsServer.listen(53, resolve));
    await new Promise((resolve) => server.net.createServer((socket) => socket.end('hello')).listen(80, resolve));
    const text = await new Promise((resolve, reject) => {
      const socket = client.net.connect(80, 'web.test');
      let received = '';
      socket.on('data', (d) => { received += d; });
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });
    assert.equal(text, 'hello');
    await assert.rejects(new Promise((resolve, reject) => client.net.connect(80, 'nowhere.test').on('error', reject).on('connect', resolve)),
      { code: 'ENOTFOUND' });
  });
});
