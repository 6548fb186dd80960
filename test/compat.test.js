'use strict';
// Corners of Node's net semantics found in review, each checked against
// node:net over the kernel loopback.
const assert = require('node:assert/strict');
const { withStack } = require('./helpers/stack.js');
const { runBoth } = require('./helpers/oracle.js');
const { listen, closeServer, delay, within } = require('./helpers/util.js');

/** An echo-less server that ends every connection with `text`. */
async function greeter(net, host, text) {
  const server = net.createServer((s) => s.end(text));
  await listen(server, 0, host);
  return server;
}

describe('Node compatibility corners', function () {
  const t = withStack();

  it("a socket read with for await, or in 'readable' mode, gets its data and 'end'", async function () {
    const result = await runBoth(t.stack, async ({ net, host }) => {
      const server = await greeter(net, host, 'hello');
      const { port } = server.address();
      let iterated = '';
      for await (const chunk of net.connect(port, host)) iterated += chunk;
      const readable = net.connect(port, host);
      let viaReadable = '';
      readable.on('readable', () => {
        let chunk;
        while ((chunk = readable.read()) !== null) viaReadable += chunk;
      });
      await within(new Promise((resolve) => readable.once('end', resolve)), 3000, "'end' in readable mode");
      await closeServer(server);
      return { iterated, viaReadable };
    });
    assert.deepEqual(result.stack, result.node);
    assert.deepEqual(result.node, { iterated: 'hello', viaReadable: 'hello' });
  });

  it('a closed socket connects again with fresh state: data, end, and errors of the second connection', async function () {
    const result = await runBoth(t.stack, async ({ net, host }) => {
      const log = [];
      const server = await greeter(net, host, 'conn');
      const { port } = server.address();
      const socket = net.connect(port, host);
      for (let round = 1; round <= 2; round++) {
        await new Promise((resolve) => {
          socket.on('data', (d) => log.push(`data ${d}`));
          socket.once('end', () => log.push('end'));
          socket.once('close', (hadError) => { log.push(`close ${hadError}`); socket.removeAllListeners('data'); resolve(); });
          if (round === 2) socket.connect(port, host);
        });
      }
      await closeServer(server);
      // Refused twice: both attempts report their error.
      const refused = net.connect(port, host);
      for (let round = 1; round <= 2; round++) {
        await new Promise((resolve) => {
          refused.once('error', (e) => log.push(`error ${e.code}`));
          refused.once('close', resolve);
          if (round === 2) refused.connect(port, host);
        });
      }
      return log;
    });
    assert.deepEqual(result.stack, result.node);
  });

  it('maxConnections = 0 means no limit', async function () {
    const result = await runBoth(t.stack, async ({ net, host }) => {
      const server = net.createServer((s) => s.end('in'));
      server.maxConnections = 0;
      let dropped = false;
      server.on('drop', () => { dropped = true; });
      await listen(server, 0, host);
      const text = await new Promise((resolve) => {
        let got = '';
        const c = net.connect(server.address().port, host);
        c.on('data', (d) => { got += d; });
        c.on('close', () => resolve(got));
      });
      await closeServer(server);
      return { text, dropped };
    });
    assert.deepEqual(result.stack, result.node);
  });

  it('listen() takes any backlog, as Node does', async function () {
    for (const backlog of ['x', null, true, -5, 1e9]) {
      const server = t.net.createServer();
      await listen(server, { port: 0, backlog });
      assert.equal(server.listening, true, `backlog ${backlog}`);
      await closeServer(server);
    }
  });

  it('connecting to an IPv4-mapped address reaches the IPv4 peer and reports it mapped', async function () {
    const server = t.net.createServer((s) => s.end(s.remoteAddress));
    await listen(server, 80);
    const c = t.net.connect(80, '::ffff:127.0.0.1');
    let text = '';
    c.on('data', (d) => { text += d; });
    await within(new Promise((resolve) => c.once('close', resolve)), 3000, 'mapped connection');
    assert.equal(c.remoteAddress, '::ffff:127.0.0.1');
    assert.equal(c.remoteFamily, 'IPv6');
    assert.equal(text, '::ffff:127.0.0.1');
    await closeServer(server);
  });

  it('setKeepAlive with a negative or huge delay leaves a healthy idle connection alone', async function () {
    this.timeout(10000);
    const server = t.net.createServer((s) => s.setKeepAlive(true, 2 ** 40));
    await listen(server, 80);
    const c = t.net.connect(80, '127.0.0.1');
    c.setKeepAlive(true, -674000);
    await new Promise((resolve) => c.once('connect', resolve));
    await delay(3000);
    assert.equal(c.destroyed, false);
    c.destroy();
    await closeServer(server);
  });

  it('connect() on a connecting socket fails it with EALREADY; end() before connect waits for the connection', async function () {
    const result = await runBoth(t.stack, async ({ net, host }) => {
      const server = await greeter(net, host, '');
      const { port } = server.address();
      const twice = net.connect(port, host);
      twice.connect(port, host);
      const code = await new Promise((resolve) => twice.once('error', (e) => resolve(e.code)));
      const early = new net.Socket();
      early.end();
      await delay(50);
      const finishedEarly = early.writableFinished;
      early.destroy();
      await closeServer(server);
      return { code, finishedEarly };
    });
    assert.deepEqual(result.stack, result.node);
    assert.deepEqual(result.node, { code: 'EALREADY', finishedEarly: false });
  });
});
