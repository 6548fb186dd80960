'use strict';
// A Mocha example: the npm `pg` client's pool, unmodified, against a
// Postgres wire server from npm (pg-mem's in-memory database, served over
// node:net) on another host of a virtual network. A partition makes the
// query on the pool's open connection time out and the next connection
// attempt fail; after heal() the pool connects again and the data written
// before the partition is there.
//
//   npx mocha --no-config examples/pg-partition.test.js
const assert = require('node:assert/strict');
const diagnosticsChannel = require('node:diagnostics_channel');
const { newDb } = require('pg-mem');
const { createNetwork } = require('tcpip');

describe('pg through a partition', function () {
  this.timeout(20000);
  let network;
  let pool;
  const sockets = [];

  // pg-mem's wire server puts no 'error' listener on its sockets: what the
  // pool sent on its timed-out connection arrives after heal(), and the
  // server's answer to a client that has gone meets EPIPE. Node's channel
  // for accepted sockets (the stack publishes on it) lets us catch that.
  const serverErrors = [];
  const onServerSocket = ({ socket }) => socket.on('error', (err) => serverErrors.push(err));

  before(async function () {
    diagnosticsChannel.subscribe('net.server.socket', onServerSocket);
    network = createNetwork({ hosts: { db: '10.0.0.2', app: '10.0.0.3' } });
    // The db host serves an in-memory Postgres on its stack's port 5432.
    const db = newDb();
    await network.host('db').run(() => db.adapters.bindServer({ host: '0.0.0.0', port: 5432 }));
    // The pool connects lazily, on a query: the app's code runs in the app
    // host's scope, so that every connection it opens is of the app's stack.
    const { Pool } = require('pg');
    pool = network.host('app').run(() => {
      return new Pool({ host: 'db', port: 5432, user: 'app', database: 'postgres', max: 1,
        query_timeout: 500, connectionTimeoutMillis: 500, idleTimeoutMillis: 0 });
    });
    pool.on('connect', (client) => sockets.push(client.connection.stream));
  });

  after(async function () {
    // pool.end() resolves before its sockets close: wait for them, so
    // that destroying the network aborts nothing the pool still sends.
    if (pool) await pool.end();
    await Promise.all(sockets.filter((s) => !s.destroyed).map((s) => new Promise((resolve) => s.once('close', resolve))));
    if (network) network.destroy();
    diagnosticsChannel.unsubscribe('net.server.socket', onServerSocket);
    for (const err of serverErrors) assert.equal(err.code, 'EPIPE');
  });

  const query = (...args) => network.host('app').run(() => pool.query(...args));

  it('writes, fails during the partition, and reads after heal', async function () {
    await query('create table kv (k text primary key, v text)');
    await query("insert into kv values ('answer', '42')");

    network.partition(['db'], ['app']);
    const failures = [];
    for (let i = 0; i < 2; i++) {
      await query('select v from kv').then(
        () => assert.fail('a query got through the partition'),
        (err) => failures.push(err.message),
      );
    }
    // The first query times out on the open connection; the next one
    // cannot connect.
    assert.deepEqual(failures, ['Query read timeout', 'Connection terminated due to connection timeout']);

    network.heal();
    const deadline = Date.now() + 10000;
    let rows = null;
    while (!rows) {
      assert.ok(Date.now() < deadline, 'the pool did not reconnect after heal');
      rows = await query("select v from kv where k = 'answer'").then((r) => r.rows, () => null);
    }
    assert.deepEqual(rows, [{ v: '42' }]);
  });
});
