'use strict';
// One DNS question asked of a list of servers, as c-ares asks it: over UDP
// from a fresh socket (random port, random id) per attempt, each server in
// turn, `tries` rounds with the attempt's timeout doubling each round; a
// truncated answer is asked again over TCP (2-byte length prefix) of the
// same server. A reply counts only if it comes from the server's address
// and port and matches the id and the question; anything else, and any
// message that does not decode, is counted and dropped.
const {
  Buffer, randomBytes, isIP, engineHost, nextTick,
} = require('../platform/node.js');
const { canonicalAddress: canonicalIp } = require('../net/ports.js');
const wire = require('./wire.js');
const { sameName } = require('./names.js');
const { shapeAnswers } = require('./records.js');
const { CODES } = require('./errors.js');

// c-ares's first-try timeout when the Resolver's `timeout` is -1.
const DEFAULT_TIMEOUT = 2000;
const MAX_TIMER = 0x7fffffff;

// rcodes after which c-ares asks the next server instead of answering.
const SERVER_FAILURES = {
  SERVFAIL: CODES.SERVFAIL,
  NOTIMP: CODES.NOTIMP,
  REFUSED: CODES.REFUSED,
  FORMERR: CODES.FORMERR,
};

/** Counters shared by every query of one dns object. */
function createStats() {
  return {
    queries: 0,
    udpAttempts: 0,
    tcpAttempts: 0,
    timeouts: 0,
    truncated: 0,
    malformed: 0,
    mismatched: 0,
  };
}

// Compare IPv6 addresses by value: '::1' and '0:0:0:0:0:0:0:1' are one server.
function canonicalAddress(address) {
  return canonicalIp(address, isIP(address));
}

function closeQuietly(socket) {
  try {
    if (typeof socket.destroy === 'function') socket.destroy();
    else socket.close();
  } catch {
    // already closed
  }
}

class Query {
  /**
   * @param {object} context { dgram, net, stats }
   * @param {{ address: string, port: number, family: number }[]} servers
   * @param {{ timeout: number, tries: number }} options
   * @param {{ qname: string, type: string, ttl: boolean }} question
   * @param {(code: string | null, answers?: any[]) => void} done
   */
  constructor(context, servers, options, question, done) {
    this._context = context;
    this._servers = servers.slice();
    this._timeout = options.timeout > 0 ? options.timeout : DEFAULT_TIMEOUT;
    this._tries = options.tries;
    this._question = question;
    this._done = done;
    this._finished = false;
    this._sockets = new Set();
    this._timer = null;
    this._attempt = 0; // index into the (round, server) sequence
    this._failures = new Map(); // server index -> code, for servers that refused to answer
    this._lastFailure = null;
    this._sawMalformed = false;
    this._current = null;
  }

  start() {
    this._context.stats.queries++;
    this._context.live.add(this);
    if (this._servers.length === 0) {
      this._finish(CODES.CONNREFUSED);
      return;
    }
    this._next();
  }

  cancel() {
    this._finish(CODES.CANCELLED);
  }

  // The next (round, server) pair whose server has not failed outright.
  _next() {
    if (this._finished) return;
    this._clearTimer();
    this._current = null;
    const count = this._servers.length;
    while (this._attempt < count * this._tries) {
      const index = this._attempt % count;
      const round = Math.floor(this._attempt / count);
      this._attempt++;
      if (this._failures.has(index)) continue;
      this._sendUdp(index, Math.min(this._timeout * 2 ** round, MAX_TIMER));
      return;
    }
    if (this._failures.size > 0) this._finish(this._lastFailure);
    else this._finish(this._sawMalformed ? CODES.BADRESP : CODES.TIMEOUT);
  }

  _serverFailed(index, code) {
    if (this._finished) return;
    this._failures.set(index, code);
    this._lastFailure = code;
    if (this._failures.size === this._servers.length) this._finish(code);
    else if (this._current === index) this._next();
  }

  _arm(index, ms) {
    this._clearTimer();
    this._current = index;
    this._timer = engineHost.setTimer(() => {
      this._timer = null;
      this._context.stats.timeouts++;
      this._next();
    }, ms);
  }

  _clearTimer() {
    if (this._timer !== null) engineHost.clearTimer(this._timer);
    this._timer = null;
  }

  _encodeQuery(id) {
    const { qname, type } = this._question;
    return wire.encode({
      type: 'query',
      id,
      flags: wire.RECURSION_DESIRED,
      questions: [{ name: qname, type, class: 'IN' }],
    });
  }

  _sendUdp(index, ms) {
    const server = this._servers[index];
    const id = randomBytes(2).readUInt16BE(0);
    const message = this._encodeQuery(id);
    this._context.stats.udpAttempts++;
    this._arm(index, ms);
    let socket;
    try {
      socket = this._context.dgram.createSocket(server.family === 6 ? 'udp6' : 'udp4');
    } catch {
      this._serverFailed(index, CODES.CONNREFUSED);
      return;
    }
    this._sockets.add(socket);
    // A connected socket hears the server's port unreachable (ECONNREFUSED)
    // and only the server's datagrams; a dgram without connect() is asked
    // to send to the server each time.
    socket.on('error', () => {
      if (this._finished) return;
      this._sockets.delete(socket);
      closeQuietly(socket);
      // c-ares reports any socket failure of a server as ECONNREFUSED.
      this._serverFailed(index, CODES.CONNREFUSED);
    });
    socket.on('message', (msg, rinfo) => this._onDatagram(index, id, msg, rinfo));
    const sent = (err) => {
      if (err && !this._finished) this._serverFailed(index, CODES.CONNREFUSED);
    };
    try {
      if (typeof socket.connect === 'function') {
        socket.connect(server.port, server.address, (err) => {
          if (this._finished) return;
          if (err) {
            // No route to the server, say: it failed, as any socket error.
            this._sockets.delete(socket);
            closeQuietly(socket);
            this._serverFailed(index, CODES.CONNREFUSED);
            return;
          }
          try {
            socket.send(message, sent);
          } catch {
            this._serverFailed(index, CODES.CONNREFUSED);
          }
        });
      } else {
        socket.send(message, 0, message.length, server.port, server.address, sent);
      }
    } catch {
      this._serverFailed(index, CODES.CONNREFUSED);
    }
  }

  // A reply is the one awaited if it is a well-formed response to this
  // attempt's id and question; the caller has checked where it came from.
  _matches(message, id) {
    if (message.type !== 'response' || message.id !== id || message.questions.length !== 1) return false;
    const [q] = message.questions;
    return q.type === this._question.type && q.class === 'IN' && sameName(q.name, this._question.qname);
  }

  _onDatagram(index, id, msg, rinfo) {
    if (this._finished) return;
    const { stats } = this._context;
    const server = this._servers[index];
    if (!rinfo || rinfo.port !== server.port ||
        canonicalAddress(rinfo.address) !== canonicalAddress(server.address)) {
      stats.mismatched++;
      return;
    }
    const message = wire.decode(msg);
    if (message === null) {
      stats.malformed++;
      this._sawMalformed = true;
      return;
    }
    if (!this._matches(message, id)) {
      stats.mismatched++;
      return;
    }
    if (message.flag_tc) {
      stats.truncated++;
      this._sendTcp(index);
      return;
    }
    this._onResponse(index, message);
  }

  _sendTcp(index) {
    const server = this._servers[index];
    const id = randomBytes(2).readUInt16BE(0);
    const message = this._encodeQuery(id);
    const frame = Buffer.alloc(2 + message.length);
    frame.writeUInt16BE(message.length, 0);
    message.copy(frame, 2);
    this._context.stats.tcpAttempts++;
    // The TCP exchange has the first round's timeout again, from now.
    this._arm(index, this._timeout);
    let socket;
    try {
      socket = this._context.net.connect({ port: server.port, host: server.address });
    } catch {
      this._serverFailed(index, CODES.CONNREFUSED);
      return;
    }
    this._sockets.add(socket);
    let received = Buffer.alloc(0);
    let answered = false;
    socket.on('error', () => {
      if (answered || this._finished) return;
      answered = true;
      this._sockets.delete(socket);
      this._serverFailed(index, CODES.CONNREFUSED);
    });
    socket.on('data', (chunk) => {
      if (answered || this._finished) return;
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      answered = true;
      this._sockets.delete(socket);
      closeQuietly(socket);
      const reply = wire.decode(received.subarray(2, 2 + length));
      if (reply === null || !this._matches(reply, id)) {
        if (reply === null) this._context.stats.malformed++;
        else this._context.stats.mismatched++;
        this._sawMalformed = true;
        if (this._current === index) this._next();
        return;
      }
      this._onResponse(index, reply);
    });
    socket.on('close', () => {
      if (answered || this._finished) return;
      // The server closed before a whole answer: a broken reply.
      answered = true;
      this._sockets.delete(socket);
      this._sawMalformed = true;
      if (received.length > 0) this._context.stats.malformed++;
      if (this._current === index) this._next();
    });
    socket.write(frame);
  }

  _onResponse(index, message) {
    const rcode = message.rcode;
    if (rcode === 'NXDOMAIN') {
      this._finish(CODES.NOTFOUND);
      return;
    }
    if (rcode !== 'NOERROR') {
      this._serverFailed(index, SERVER_FAILURES[rcode] || CODES.BADRESP);
      return;
    }
    const { qname, type, ttl } = this._question;
    let answers;
    try {
      answers = shapeAnswers(type, qname, message.answers, ttl);
    } catch {
      // Records dns-packet decoded into something no answer has the shape of.
      this._context.stats.malformed++;
      this._sawMalformed = true;
      return;
    }
    const aliased = type !== 'CNAME' && message.answers.some((r) => r.type === 'CNAME' && sameName(r.name, qname));
    if (answers.length === 0 && !aliased) this._finish(CODES.NODATA);
    else if (type === 'SOA') this._finish(null, answers[0]); // Node gives the one SOA, not a list
    else this._finish(null, answers);
  }

  _finish(code, answers) {
    if (this._finished) return;
    this._finished = true;
    this._context.live.delete(this);
    this._clearTimer();
    for (const socket of this._sockets) closeQuietly(socket);
    this._sockets.clear();
    // Never inside the call that asked or cancelled: Node's answers come
    // on a later tick, failures found at once (no servers) included.
    nextTick(this._done, code, answers);
  }
}

module.exports = { Query, createStats, DEFAULT_TIMEOUT };
