'use strict';
// A readable stream of `size` random bytes, made chunk by chunk (never all
// held in memory), hashing what it produced: `stream.digest()` after 'end'.
const crypto = require('node:crypto');
const { Readable } = require('node:stream');

const DEFAULT_CHUNK = 64 * 1024;

class RandomStream extends Readable {
  constructor(size, { chunkSize = DEFAULT_CHUNK, highWaterMark } = {}) {
    super(highWaterMark === undefined ? {} : { highWaterMark });
    this.size = size;
    this.remaining = size;
    this.chunkSize = chunkSize;
    this._hash = crypto.createHash('sha256');
    this._digest = null;
    // A pool of random bytes, regenerated per chunk offset so that
    // consecutive chunks differ without paying for 256 MiB of entropy.
    this._pool = crypto.randomBytes(chunkSize * 4);
    this._counter = 0;
  }

  _read() {
    if (this.remaining === 0) {
      this._digest = this._hash.digest('hex');
      this.push(null);
      return;
    }
    const length = Math.min(this.chunkSize, this.remaining);
    const chunk = Buffer.allocUnsafe(length);
    // Random offset into the pool, plus a fresh random tail and a counter:
    // no two chunks are alike and misordering is detected by the hash.
    const offset = crypto.randomInt(0, this._pool.length - length + 1);
    this._pool.copy(chunk, 0, offset, offset + length);
    const fresh = Math.min(length, 64);
    crypto.randomFillSync(chunk, length - fresh, fresh);
    if (length >= 8) chunk.writeUInt32LE(this._counter++ >>> 0, 0);
    this.remaining -= length;
    this._hash.update(chunk);
    this.push(chunk);
  }

  digest() {
    if (this._digest === null) throw new Error('RandomStream.digest() called before the stream ended');
    return this._digest;
  }
}

function randomStream(size, options) {
  return new RandomStream(size, options);
}

module.exports = { RandomStream, randomStream };
