'use strict';
// The gateway's per-client rate limits: a token bucket per client and
// direction, and a stream that holds a flow's bytes back while its bucket
// is in debt. Nothing is dropped: a client over its rate is made to wait,
// through the back-pressure TCP already has (the host socket is read no
// faster than the bucket allows; the client's WebSocket is not read while
// its bucket is in debt).
const { Transform } = require('node:stream');
const { performance } = require('node:perf_hooks');

/**
 * `rate` bytes per second, up to `burst` saved up. take() may run the
 * bucket into debt (a frame or chunk is never split): what it returns is
 * how long to wait before the next take, 0 while there is no debt.
 */
class TokenBucket {
  constructor(rate, burst = rate) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this._last = performance.now();
  }

  _refill() {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this._last) * this.rate) / 1000);
    this._last = now;
  }

  /** Takes `bytes`; the milliseconds until the bucket is out of debt. */
  take(bytes) {
    this._refill();
    this.tokens -= bytes;
    return this.wait();
  }

  /** The milliseconds until the bucket is out of debt (0: it is not in debt). */
  wait() {
    this._refill();
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }
}

/**
 * A pass-through that takes every chunk from `bucket` and, while the bucket
 * is in debt, takes no further chunk: the stream piped into it is then read
 * no faster than the bucket's rate (its own back-pressure does the rest).
 * `onHold` is called each time it holds back.
 */
class Throttle extends Transform {
  constructor(bucket, onHold) {
    super();
    this._bucket = bucket;
    this._onHold = onHold;
    this._timer = null;
  }

  _transform(chunk, encoding, callback) {
    const wait = this._bucket.take(chunk.length);
    if (wait === 0) {
      callback(null, chunk);
      return;
    }
    this.push(chunk);
    this._onHold();
    this._timer = setTimeout(() => {
      this._timer = null;
      callback();
    }, wait);
  }

  _destroy(error, callback) {
    clearTimeout(this._timer);
    callback(error);
  }
}

module.exports = { TokenBucket, Throttle };
