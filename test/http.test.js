'use strict';
// Node's own http module over stack sockets.
const assert = require('node:assert/strict');
const http = require('node:http');
const crypto = require('node:crypto');
const { withStack } = require('./helpers/stack.js');
const { randomStream } = require('./helpers/random.js');
const { listen, closeServer, within, waitFor } = require('./helpers/util.js');

const MiB = 1024 * 1024;

/**
 * An http.Server whose connections come from a stack server on `port`.
 * Resolves { http: httpServer, tcp: stackServer, connections: [] }.
 */
async function httpOverStack(net, port, handler) {
  const httpServer = http.createServer(handler);
  const connections = [];
  const tcp = net.createServer((socket) => {
    connections.push(socket);
    httpServer.emit('connection', socket);
  });
  await listen(tcp, port);
  return { http: httpServer, tcp, connections };
}

/** http.request over a stack connection; resolves { res, body }. */
function request(net, options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: 80,
      method: 'GET',
      path: '/',
      createConnection: () => net.connect(options.port || 80, options.host || '127.0.0.1'),
      ...options,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body && typeof body.pipe === 'function') body.pipe(req);
    else req.end(body);
  });
}

async function shutdown(server) {
  server.http.closeAllConnections();
  for (const s of server.connections) s.destroy();
  await within(closeServer(server.tcp), 5000, 'tcp server close');
}

describe('http over stack sockets', function () {
  const t = withStack();

  it('an http.Server fed from a stack server answers http.request made with createConnection', async function () {
    const server = await httpOverStack(t.net, 80, (req, res) => {
      res.setHeader('x-remote', req.socket.remoteAddress);
      res.end(`${req.method} ${req.url} ${req.headers['x-test']}`);
    });
    const { res, body } = await request(t.net, { path: '/hello?x=1', headers: { 'x-test': 'yes' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-remote'], '::ffff:127.0.0.1');
    assert.equal(String(body), 'GET /hello?x=1 yes');
    await shutdown(server);
  });

  it('POST bodies, status codes and headers round-trip; IPv6 too', async function () {
    const server = await httpOverStack(t.net, 8080, (req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (d) => { text += d; });
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'text/plain', 'x-len': String(text.length) });
        res.end(text.toUpperCase());
      });
    });
    for (const host of ['127.0.0.1', '::1']) {
      const { res, body } = await request(t.net, {
        method: 'POST', port: 8080, host, headers: { 'content-type': 'text/plain' },
      }, 'déjà vu');
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers['x-len'], '7');
      assert.equal(String(body), 'DÉJÀ VU');
    }
    await shutdown(server);
  });

  it('a keep-alive agent reuses one stack connection for a sequence of requests', async function () {
    const server = await httpOverStack(t.net, 80, (req, res) => res.end(`reply ${req.url}`));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agent.createConnection = (opts, cb) => {
      const socket = t.net.connect(80, '127.0.0.1');
      if (cb) socket.once('connect', () => cb(null, socket));
      return socket;
    };
    const replies = [];
    const sockets = new Set();
    for (let i = 0; i < 6; i++) {
      const out = await new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: 80, path: `/${i}`, agent }, (res) => {
          sockets.add(res.socket);
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => { text += d; });
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
      });
      replies.push(out);
    }
    assert.deepEqual(replies, [0, 1, 2, 3, 4, 5].map((i) => `reply /${i}`));
    assert.equal(sockets.size, 1, 'one client socket');
    assert.equal(server.connections.length, 1, 'one server connection');
    agent.destroy();
    await shutdown(server);
  });

  it('without an agent, several keep-alive requests written on one socket are all answered on it', async function () {
    let served = 0;
    const server = await httpOverStack(t.net, 80, (req, res) => {
      served++;
      res.setHeader('content-length', Buffer.byteLength(`r${req.url}`));
      res.end(`r${req.url}`);
    });
    const socket = t.net.connect(80, '127.0.0.1');
    let buffered = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => { buffered += d; });
    // Reads one response (headers + Content-Length body) off the buffer.
    const readResponse = async () => {
      let head;
      await waitFor(() => {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return false;
        head = buffered.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)[1]);
        return buffered.length >= end + 4 + length;
      }, 3000, 'a full response');
      const end = buffered.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(head)[1]);
      const bodyText = buffered.slice(end + 4, end + 4 + length);
      buffered = buffered.slice(end + 4 + length);
      return { status: head.split('\r\n')[0], keepAlive: /connection: keep-alive/i.test(head), body: bodyText };
    };
    const results = [];
    for (let i = 0; i < 5; i++) {
      socket.write(`GET /${i} HTTP/1.1\r\nHost: stack\r\nConnection: keep-alive\r\n\r\n`);
      results.push(await readResponse());
    }
    // Two pipelined requests in one write.
    socket.write('GET /a HTTP/1.1\r\nHost: stack\r\n\r\nGET /b HTTP/1.1\r\nHost: stack\r\n\r\n');
    results.push(await readResponse(), await readResponse());
    assert.deepEqual(results.map((r) => r.body), ['r/0', 'r/1', 'r/2', 'r/3', 'r/4', 'r/a', 'r/b']);
    assert.ok(results.every((r) => r.status === 'HTTP/1.1 200 OK' && r.keepAlive));
    assert.equal(served, 7);
    assert.equal(server.connections.length, 1);
    socket.end();
    await shutdown(server);
  });

  it('a 4 MiB request body and a 4 MiB response body arrive intact (sha256)', async function () {
    const server = await httpOverStack(t.net, 80, (req, res) => {
      const hash = crypto.createHash('sha256');
      let size = 0;
      req.on('data', (d) => { size += d.length; hash.update(d); });
      req.on('end', () => {
        const reply = randomStream(4 * MiB);
        res.setHeader('x-received-sha256', hash.digest('hex'));
        res.setHeader('x-received-size', String(size));
        reply.on('end', () => res.addTrailers({ 'x-sent-sha256': reply.digest() }));
        res.setHeader('trailer', 'x-sent-sha256');
        reply.pipe(res);
      });
    });
    const upload = randomStream(4 * MiB);
    const { res, body } = await within(request(t.net, { method: 'POST', path: '/upload' }, upload), 15000, '4 MiB exchange');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-received-size'], String(4 * MiB));
    assert.equal(res.headers['x-received-sha256'], upload.digest());
    assert.equal(body.length, 4 * MiB);
    assert.equal(crypto.createHash('sha256').update(body).digest('hex'), res.trailers['x-sent-sha256']);
    await shutdown(server);
  });

  it('the http.Server sees the request socket close when the client goes away', async function () {
    let serverSocket;
    const server = await httpOverStack(t.net, 80, (req, res) => {
      serverSocket = req.socket;
      res.writeHead(200);
      res.write('partial');
    });
    const req = http.get({ host: '127.0.0.1', port: 80, createConnection: () => t.net.connect(80, '127.0.0.1') });
    const res = await new Promise((resolve, reject) => { req.on('response', resolve); req.on('error', reject); });
    await new Promise((resolve) => res.once('data', resolve));
    const closed = new Promise((resolve) => serverSocket.once('close', resolve));
    req.destroy();
    await within(closed, 3000, 'server-side close');
    await shutdown(server);
  });
});
