'use strict';
// The TypeScript declarations compile against typical use and reject misuse.
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

// Engine-independent: the suite's other passes leave this file out.
function typeCheck(project) {
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', project)], { encoding: 'utf8' });
  assert.equal(result.status, 0, `tsc reported:\n${result.stdout}${result.stderr}`);
}

describe('TypeScript declarations', function () {
  this.timeout(60000);

  it('type-check a program written against the public API', function () {
    typeCheck('tsconfig.json');
  });

  it('type-check a program that imports tcpip and tcpip/polyfill/net as a bundled app does', function () {
    typeCheck('tsconfig.polyfill.json');
  });
});
