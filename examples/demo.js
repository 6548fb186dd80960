'use strict';
// `npm start`: Node's own http module serves and fetches over a tcpip stack,
// once on each backend: native (the addon's lwIP, on this thread by default)
// and wasm (the same lwIP in WebAssembly, on this thread).
const http = require('node:http');
const crypto = require('node:crypto');
const { Stack } = require('..');

const BODY_BYTES = 64 * 1024 * 1024;

function where(stack) {
  if (stack.backend === 'wasm') return 'in its own wasm instance on this thread';
  return stack.thread === 'js' ? 'natively, on this thread' : 'natively, on its own worker thread';
}

async function run(backend) {
  // The stack asks its own DNS server (below) for names.
  const stack = new Stack({ backend, dns: { servers: ['127.0.0.1'] } });
  stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
  const dnsServer = stack.dns.createServer({ zone: { 'web.test': { A: ['127.0.0.1'], AAAA: ['::1'] } } });
  await new Promise((resolve) => dnsServer.listen(53, '127.0.0.1', resolve));
  console.log(`${backend} stack up: loopback 127.0.0.1/8 and ::1/128 ${where(stack)}`);

  const body = crypto.randomBytes(BODY_BYTES);
  const digest = crypto.createHash('sha256').update(body).digest('hex');
  const httpServer = http.createServer((req, res) => {
    if (req.url === '/hello') {
      res.end(`hello from ${req.socket.localAddress}:${req.socket.localPort} (tcpip)\n`);
      return;
    }
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  const server = stack.net.createServer((socket) => httpServer.emit('connection', socket));
  await new Promise((resolve) => server.listen(80, resolve));
  console.log(`stack server listening on [${server.address().address}]:${server.address().port}`);

  const get = (path, host) => new Promise((resolve, reject) => {
    const req = http.request({
      path,
      createConnection: () => stack.net.connect(80, host),
    }, (res) => {
      const hash = crypto.createHash('sha256');
      let bytes = 0;
      const text = [];
      res.on('data', (d) => { bytes += d.length; hash.update(d); if (bytes < 4096) text.push(d); });
      res.on('end', () => resolve({ status: res.statusCode, bytes, digest: hash.digest('hex'), text: Buffer.concat(text).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });

  const hello4 = await get('/hello', '127.0.0.1');
  console.log(`GET http://127.0.0.1/hello -> ${hello4.status}: ${hello4.text.trim()}`);
  const hello6 = await get('/hello', '::1');
  console.log(`GET http://[::1]/hello -> ${hello6.status}: ${hello6.text.trim()}`);
  const byName = await get('/hello', 'web.test');
  console.log(`GET http://web.test/hello (a name the stack's DNS server knows, over its UDP) -> ${byName.status}: ${byName.text.trim()}`);
  const [echo] = await stack.ping('::1');
  console.log(`ping ::1 -> ${echo.bytes} bytes from ${echo.address} in ${echo.time.toFixed(3)} ms`);

  const start = process.hrtime.bigint();
  const big = await get('/big', '127.0.0.1');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const intact = big.digest === digest && big.bytes === BODY_BYTES;
  console.log(`GET /big -> ${big.status}: ${big.bytes} bytes, sha256 ${intact ? 'matches' : 'DIFFERS'}`);
  console.log(`throughput: ${((big.bytes * 8) / seconds / 1e9).toFixed(2)} Gbit/s over http on one ${backend} stack (${(seconds * 1000).toFixed(0)} ms)`);

  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => dnsServer.close(resolve));
  stack.destroy();
  if (!intact) process.exitCode = 1;
}

async function main() {
  for (const backend of ['native', 'wasm']) {
    try {
      await run(backend);
    } catch (error) {
      if (error.code !== 'ERR_TCPIP_NO_ADDON') throw error;
      console.log(`${backend}: not available here (${error.message.split('\n')[0]})`);
    }
    console.log('');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
