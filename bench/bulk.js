'use strict';
// One bulk TCP transfer, written once for every benchmark that moves bytes:
// Node's (bench/throughput.js and friends) and the browser page's
// (bench/fixtures/workload.js). Plain JS, so bundles take it as it is.
const { Buffer } = require('buffer'); // Node's own in Node, the `buffer` package in a page

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

// `serverNet` listens on `host`; `clientNet` connects and sends `bytes`.
function bulk(serverNet, clientNet, host, bytes) {
  return new Promise((resolve, reject) => {
    const server = serverNet.createServer();
    let timed = null;
    let sent = 0;
    let clientClosed = false;
    const fail = (error) => { server.close(); reject(error); };
    const finish = () => {
      if (!timed || !clientClosed) return;
      server.close();
      if (timed.received !== sent) reject(new Error(`received ${timed.received} of ${sent} bytes`));
      else resolve(timed);
    };
    server.once('error', fail);
    server.once('connection', (socket) => {
      let received = 0;
      const start = performance.now();
      socket.on('data', (chunk) => { received += chunk.length; });
      socket.on('error', fail);
      socket.on('end', () => {
        timed = { received, seconds: (performance.now() - start) / 1000 };
        socket.end();
        finish();
      });
    });
    server.listen(0, host, () => {
      const client = clientNet.connect(server.address().port, host);
      client.on('error', fail);
      client.on('close', () => { clientClosed = true; finish(); });
      client.once('connect', () => {
        const pump = () => {
          while (sent < bytes) {
            sent += CHUNK.length;
            if (!client.write(CHUNK)) {
              client.once('drain', pump);
              return;
            }
          }
          client.end();
        };
        pump();
      });
    });
  });
}

module.exports = { bulk };
