'use strict';
// Stacks inside worker_threads: the worker may exit or be terminated at any
// moment, with or without destroy(), and the process must carry on.
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { within } = require('./helpers/util.js');
const { runChild } = require('./helpers/child.js');

const ROOT = path.join(__dirname, '..');

function runWorker(body, { terminateOnMessage = false } = {}) {
  const code = `
    const { Stack } = require(${JSON.stringify(ROOT)});
    const { parentPort } = require('node:worker_threads');
    ${body}
  `;
  return within(new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true });
    worker.on('message', () => { if (terminateOnMessage) worker.terminate(); });
    worker.on('error', reject);
    worker.on('exit', resolve);
  }), 10000, 'worker exit');
}

const TRAFFIC = `
  const stack = new Stack();
  stack.createLoopbackInterface({ ipAddress: '127.0.0.1/8' });
  stack.net.createServer((s) => s.pipe(s)).listen(80, () => {
    for (let i = 0; i < 10; i++) {
      const c = stack.net.connect(80, '127.0.0.1', () => c.write(Buffer.alloc(4000)));
      c.on('data', (d) => c.write(d));
    }
    setTimeout(() => parentPort.postMessage('busy'), 100);
  });
`;

describe('worker_threads', function () {
  it('a worker whose idle stack was never destroyed exits cleanly', async function () {
    const code = await runWorker('new Stack().createLoopbackInterface({ ipAddress: "127.0.0.1/8" });');
    assert.equal(code, 0);
  });

  it('workers terminated in the middle of traffic go away without taking the process', async function () {
    this.timeout(30000);
    // Termination races with event delivery: try it several times.
    for (let i = 0; i < 8; i++) {
      const code = await runWorker(TRAFFIC, { terminateOnMessage: true });
      assert.equal(code, 1); // terminate()'s exit code
    }
  });

  it('a process whose only stacks were in a terminated worker exits cleanly (the worker unloaded the addon)', async function () {
    this.timeout(30000);
    // Here the main thread never loads the addon, so the worker's exit
    // unloads it before its thread ends: nothing of the addon may run then.
    const worker = JSON.stringify(`const { Stack } = require(${JSON.stringify(ROOT)});
      const { parentPort } = require('node:worker_threads');
      ${TRAFFIC}`);
    const result = await runChild(`
      const { Worker } = require('node:worker_threads');
      const worker = new Worker(${worker}, { eval: true });
      worker.on('message', () => worker.terminate());
      worker.on('exit', (code) => console.log('worker exit', code));
    `, { killAfter: 20000 });
    assert.equal(result.signal, null, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'worker exit 1');
  });

  it('process.exit() inside a busy worker ends only that worker', async function () {
    const code = await runWorker(TRAFFIC.replace("parentPort.postMessage('busy')", 'process.exit(7)'));
    assert.equal(code, 7);
  });
});
