'use strict';
// The gateway's userspace NAT for TCP: the router's catch-all listener
// (lwIP patch 0035) terminates every connection a client opens to an
// outside address, and each is re-originated from the host with node:net,
// the bytes copied both ways with back-pressure (pipe) and half-close
// carried both ways (allowHalfOpen on both sockets).
//
// The client's SYN is answered only once the host's connection is up: a
// destination that refuses or cannot be reached is refused to the client
// with an RST to its SYN, so the client sees ECONNREFUSED, as it would
// without a NAT in between. A destination the policy denies is refused the
// same way, before the host is asked anything, and so is a connection to
// another client's address (isolated: the switch answered the client's ARP
// for it with the router's MAC).
const net = require('node:net');
const process = require('node:process');
const { EventEmitter } = require('node:events');
const { redirectedTarget } = require('./policy.js');
const { Throttle } = require('./limits.js');

const DEFAULT_MAX_FLOWS = 256;
// How long the host's connect may take. Below lwIP's SYN_RCVD timeout (20 s),
// which would otherwise fail the client's side first.
const DEFAULT_CONNECT_TIMEOUT = 15 * 1000;
// How long an established flow may carry no byte either way before it is
// reset: long enough for an idle interactive session, short enough that
// flows whose ends vanished without a FIN or RST do not pile up.
const DEFAULT_IDLE_TIMEOUT = 2 * 60 * 60 * 1000;

// What the stack reads comes a TCP segment per chunk (1460 bytes at the
// usual MTU), and written one by one each would be a system call to the
// host. The chunks of one batch of the stack's events are written together
// instead: the host socket is corked at the batch's first chunk and
// uncorked on the next tick, in one writev.
function corkPerBatch(from, to) {
  let corked = false;
  const uncork = () => {
    corked = false;
    if (!to.destroyed) to.uncork();
  };
  from.on('data', () => {
    if (corked || to.destroyed) return;
    corked = true;
    to.cork();
    process.nextTick(uncork);
  });
}

function reset(socket) {
  if (!socket.destroyed) socket.resetAndDestroy();
}

class Nat extends EventEmitter {
  /**
   * @param {object} options stack, router (its TAP interface), policy
   *   (EgressPolicy), clientOf(address) (the client leasing an address, or
   *   null), refuse(client, reason, destination), maxFlows, connectTimeout,
   *   redirect(destination) (where the host connects for a destination:
   *   { address, port }, or null for the destination itself), idleTimeout
   *   (ms without a byte either way before a flow is reset; 0: never),
   *   closed(client, reason, destination) (the NAT ended a flow: 'tcp-idle'),
   *   downstream(client) (the TokenBucket the bytes to a client take, or
   *   null), held(client) (a flow's bytes to it were held back),
   *   isolated(address) (another client's address: refused as 'isolated')
   */
  constructor({
    stack, router, policy, clientOf, refuse, maxFlows, connectTimeout, redirect, idleTimeout, closed, downstream, held,
    isolated,
  }) {
    super();
    this._isolated = isolated || (() => false);
    this._idleTimeout = idleTimeout === undefined ? DEFAULT_IDLE_TIMEOUT : idleTimeout;
    this._closed = closed || (() => {});
    this._downstream = downstream || (() => null);
    this._held = held || (() => {});
    this._redirect = redirect || null;
    this._policy = policy;
    this._clientOf = clientOf;
    this._refuse = refuse;
    this._maxFlows = maxFlows === undefined ? DEFAULT_MAX_FLOWS : maxFlows;
    this._connectTimeout = connectTimeout === undefined ? DEFAULT_CONNECT_TIMEOUT : connectTimeout;
    this._flows = new Map(); // client -> Set of flows
    this.open = 0;
    this.total = 0;
    this.failures = new Map(); // the host connection's error code -> count
    this._server = stack.net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (inner) => this._flow(inner));
    this._server.on('error', (error) => this.emit('error', error));
    this._server.listen({ foreignInterface: router });
  }

  /** Resolves once the catch-all listens. */
  listening() {
    if (this._server.listening) return Promise.resolve();
    return new Promise((resolve) => this._server.once('listening', resolve));
  }

  /** The flows of `client` now. */
  flowsOf(client) {
    const flows = this._flows.get(client);
    return flows === undefined ? 0 : flows.size;
  }

  _flow(inner) {
    inner.on('error', () => {});
    const destination = { address: inner.localAddress, port: inner.localPort, protocol: 'tcp' };
    const client = this._clientOf(inner.remoteAddress);
    if (client === null) {
      reset(inner);
      this._refuse(null, 'unknown-client', destination);
      return;
    }
    if (this._isolated(destination.address)) {
      reset(inner);
      this._refuse(client, 'isolated', destination);
      return;
    }
    const target = redirectedTarget(this._redirect, destination, 'tcp');
    const reason = this._policy.check(target.address, target.port);
    if (reason !== null) {
      reset(inner);
      this._refuse(client, `egress-${reason}`, destination);
      return;
    }
    let flows = this._flows.get(client);
    if (flows === undefined) {
      flows = new Set();
      this._flows.set(client, flows);
    }
    if (flows.size >= this._maxFlows) {
      reset(inner);
      this._refuse(client, 'max-flows', destination);
      return;
    }
    const outer = net.connect({ host: target.address, port: target.port, allowHalfOpen: true });
    const flow = { inner, outer, established: false, throttle: null, idle: null };
    flows.add(flow);
    this.open++;
    this.total++;
    let closed = 0;
    const done = () => {
      if (++closed < 2) return;
      flows.delete(flow);
      clearTimeout(flow.idle);
      if (flow.throttle !== null) flow.throttle.destroy();
      if (flows.size === 0 && this._flows.get(client) === flows) this._flows.delete(client);
      this.open--;
      this.emit('flow-closed', flow);
    };
    const timer = setTimeout(() => {
      const error = new Error(`connect ETIMEDOUT ${target.address}:${target.port}`);
      error.code = 'ETIMEDOUT';
      outer.destroy(error);
    }, this._connectTimeout);
    outer.once('connect', () => {
      clearTimeout(timer);
      flow.established = true;
      inner._acceptSyn();
      corkPerBatch(inner, outer);
      inner.pipe(outer);
      const bucket = this._downstream(client);
      if (bucket === null) {
        outer.pipe(inner);
      } else {
        // The host's socket is read no faster than the client's rate: its
        // window closes at the destination while the bucket is in debt.
        flow.throttle = new Throttle(bucket, () => this._held(client));
        outer.pipe(flow.throttle).pipe(inner);
      }
      if (this._idleTimeout > 0) {
        flow.idle = setTimeout(() => {
          this._closed(client, 'tcp-idle', destination);
          reset(inner);
          reset(outer);
        }, this._idleTimeout);
        flow.idle.unref();
        const active = () => flow.idle.refresh();
        inner.on('data', active);
        outer.on('data', active);
      }
    });
    // A failure of either side resets the other: before the handshake the
    // client's SYN is refused (ECONNREFUSED), after it the client's
    // connection is reset, as the destination's was.
    outer.on('error', (error) => {
      clearTimeout(timer);
      const code = error.code || 'error';
      this.failures.set(code, (this.failures.get(code) || 0) + 1);
      reset(inner);
    });
    inner.on('error', () => {
      reset(outer);
    });
    // Closed without an error, a side has ended both ways, and so has the
    // other (each copied the other's end): it closes by itself, once what
    // it still has to write is written.
    inner.once('close', () => {
      if (!flow.established) outer.destroy();
      clearTimeout(timer);
      done();
    });
    outer.once('close', () => {
      if (!flow.established) reset(inner);
      done();
    });
  }

  /** Ends every flow of `client` (its WebSocket is gone). */
  dropClient(client) {
    const flows = this._flows.get(client);
    if (flows === undefined) return;
    for (const { inner, outer } of [...flows]) {
      reset(inner);
      outer.destroy();
    }
  }

  /** Ends every flow and the catch-all. */
  close() {
    for (const client of [...this._flows.keys()]) this.dropClient(client);
    return new Promise((resolve) => this._server.close(() => resolve()));
  }
}

module.exports = { Nat, DEFAULT_MAX_FLOWS, DEFAULT_IDLE_TIMEOUT };
