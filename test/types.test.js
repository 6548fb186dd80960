'use strict';
// The TypeScript declarations compile against typical use and reject misuse.
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

describe('TypeScript declarations', function () {
  it('type-check a program written against the public API', function () {
    this.timeout(60000);
    const tsc = require.resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, `tsc reported:\n${result.stdout}${result.stderr}`);
  });
});
