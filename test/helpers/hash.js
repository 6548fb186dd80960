'use strict';
const crypto = require('node:crypto');

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Resolves with { hash, bytes } of everything a readable stream yields. */
function hashStream(readable) {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    readable.on('data', (chunk) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    readable.once('end', () => resolve({ hash: hash.digest('hex'), bytes }));
    readable.once('error', reject);
  });
}

module.exports = { sha256, hashStream };
