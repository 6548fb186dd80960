'use strict';
// The hand-off between a worker stack and the JS thread when neither side
// may spin: with TCPIP_NATIVE_SPIN=0 both sleep and wake each other, the
// path every hand-off takes on a machine whose cores are busy with other
// work. Run in a child process, whose environment sets it. Native-only.
const assert = require('node:assert/strict');
const { runChild } = require('./helpers/child.js');
const { DEFAULT_BACKEND } = require('./helpers/stack.js');

// Echo round trips on one stack, every reply checked; then 8 MiB each way
// between two worker stacks over a native link with 1 ms of latency (the
// worker sleeps until the link's next delivery is due), hashed.
const CHILD = `
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Stack, link } = require('.');
const { assertTransfer } = require('./test/helpers/transfer.js');
(async () => {
  const one = new Stack({ backend: 'native', thread: 'worker' });
  one.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
  const server = one.net.createServer((peer) => peer.on('data', (d) => peer.write(d)));
  await new Promise((resolve) => server.listen(80, '127.0.0.1', resolve));
  const client = one.net.connect(80, '127.0.0.1');
  client.setNoDelay(true);
  const rounds = 2000;
  for (let round = 0; round < rounds; round++) {
    const payload = crypto.randomBytes(1 + (round * 131) % 1400);
    client.write(payload);
    let got = Buffer.alloc(0);
    while (got.length < payload.length) {
      got = Buffer.concat([got, await new Promise((resolve) => client.once('data', resolve))]);
    }
    assert.deepEqual(got, payload, 'round ' + round);
  }
  client.destroy();
  server.close();
  one.destroy();

  const a = new Stack({ backend: 'native', thread: 'worker' });
  const b = new Stack({ backend: 'native', thread: 'worker' });
  const ia = a.createTunInterface({ ipAddress: '10.0.0.1/24' });
  const ib = b.createTunInterface({ ipAddress: '10.0.0.2/24' });
  link(ia, ib, { latency: 1 });
  await assertTransfer(a, b, '10.0.0.2', 8 * 1024 * 1024);
  await assertTransfer(b, a, '10.0.0.1', 8 * 1024 * 1024);
  a.destroy();
  b.destroy();
  console.log('ok ' + rounds);
})().catch((error) => { console.error(error); process.exit(1); });
`;

(DEFAULT_BACKEND === 'native' ? describe : describe.skip)(`the worker's hand-off without spinning${DEFAULT_BACKEND === 'native' ? '' : ' (native-only: skipped, the suite runs on the wasm backend)'}`, function () {
  it('with TCPIP_NATIVE_SPIN=0, echo round trips on one stack and 8 MiB each way over a 1 ms link arrive intact', async function () {
    this.timeout(120000);
    const result = await runChild(CHILD, { env: { TCPIP_NATIVE_SPIN: '0', TCPIP_NATIVE_THREAD: undefined }, killAfter: 110000 });
    assert.equal(result.signal, null, `killed: ${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'ok 2000');
  });
});
