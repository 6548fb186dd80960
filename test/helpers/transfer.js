'use strict';
// Random bytes from a client on one stack to a server on another, hashed on
// both sides.
const assert = require('node:assert/strict');
const { RandomStream } = require('./random.js');
const { hashStream } = require('./hash.js');
const { listen, closeServer, within } = require('./util.js');

/**
 * Streams `size` random bytes from `from` to a server on `to` at `address`
 * (port 80) and asserts that they arrive byte-exact. `during(client)` may
 * act while the transfer runs.
 */
async function assertTransfer(from, to, address, size, { during } = {}) {
  const server = to.net.createServer();
  const received = new Promise((resolve) => server.once('connection', (socket) => resolve(hashStream(socket))));
  await listen(server, 80);
  const source = new RandomStream(size);
  const client = from.net.connect(80, address);
  client.on('error', () => {});
  source.pipe(client);
  if (during) await during(client);
  const result = await within(received, 60000, 'transfer');
  client.destroy();
  await closeServer(server);
  assert.equal(result.bytes, size);
  assert.equal(result.hash, source.digest());
}

module.exports = { assertTransfer };
