'use strict';
// A DNS server over a dgram/net pair, for test fixtures and gateways:
// answers from a zone object or a handler, over UDP and TCP on one port.
// UDP answers larger than 512 bytes (or the client's EDNS0 size) go out
// truncated (TC set, no records) and the client asks again over TCP.
// Malformed queries are counted; those with a readable header get FORMERR,
// the rest are dropped; nothing a client sends throws out of a handler.
const { EventEmitter, Buffer, isIP, nextTick } = require('../platform/node.js');
const errors = require('../errors.js');
const { validateObject, validateFunction } = require('../validators.js');
const wire = require('./wire.js');
const { compileZone, answerFromZone, recordData } = require('./zone.js');

const CLASSIC_UDP_SIZE = 512;
const MAX_UDP_SIZE = 4096;
const OUR_EDNS_SIZE = 1232;
const QR_BIT = 0x8000;
const DEFAULT_TTL = 300;

// TCP clients served at once, and how long one may stay idle (RFC 7766
// suggests seconds).
const MAX_TCP_CONNECTIONS = 256;
const TCP_IDLE_MS = 10000;

function createServerStats() {
  return {
    udpQueries: 0,
    tcpQueries: 0,
    answered: 0,
    truncated: 0,
    malformed: 0,
    formerr: 0,
    dropped: 0,
    handlerErrors: 0,
  };
}

class DnsServer extends EventEmitter {
  /**
   * @param {{ dgram: object, net: object }} transport
   * @param {{ zone?: object, handler?: Function, ttl?: number }} options
   */
  constructor(transport, options) {
    super();
    validateObject(options, 'options');
    if (options.zone === undefined && options.handler === undefined) {
      throw errors.missingArgs('options.zone', 'options.handler');
    }
    if (options.handler !== undefined) validateFunction(options.handler, 'options.handler');
    if (options.zone !== undefined) validateObject(options.zone, 'options.zone');
    this._transport = transport;
    this._names = options.zone !== undefined ? compileZone(options.zone) : null;
    this._handler = options.handler || null;
    this._udp = null;
    this._tcp = null;
    this._connections = new Set();
    this._stats = createServerStats();
    this.listening = false;
  }

  /** Counters of what the server received, answered and dropped. */
  stats() {
    return { ...this._stats };
  }

  /**
   * Binds UDP and TCP to `port` (0: any free port, the same for both) on
   * `address` (by default 0.0.0.0, or :: for an IPv6 one).
   */
  listen(port = 0, address = '0.0.0.0', callback) {
    if (typeof address === 'function') {
      callback = address;
      address = '0.0.0.0';
    }
    if (typeof port === 'function') {
      callback = port;
      port = 0;
    }
    if (typeof callback === 'function') this.once('listening', callback);
    this._closing = false;
    const family = isIP(address) === 6 ? 6 : 4;
    this._bind(port, address, family, port === 0 ? 8 : 1);
    return this;
  }

  _bind(port, address, family, attemptsLeft) {
    const udp = this._transport.dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    const fail = (err) => {
      try { udp.close(); } catch { /* already closed */ }
      this.emit('error', err);
    };
    udp.once('error', fail);
    udp.bind(port, address, () => {
      udp.removeListener('error', fail);
      udp.on('error', (err) => this.emit('error', err));
      const bound = udp.address().port;
      const tcp = this._transport.net.createServer((socket) => this._onConnection(socket));
      tcp.once('error', (err) => {
        try { udp.close(); } catch { /* already closed */ }
        // Another socket has the TCP side of the port UDP picked: try another.
        if (err && err.code === 'EADDRINUSE' && attemptsLeft > 1) this._bind(port, address, family, attemptsLeft - 1);
        else this.emit('error', err);
      });
      tcp.listen(bound, address, () => {
        if (this._closing) {
          // close() came while binding: what the bind opened goes too.
          try { udp.close(); } catch { /* already closed */ }
          tcp.close();
          return;
        }
        tcp.removeAllListeners('error');
        tcp.on('error', (err) => this.emit('error', err));
        udp.on('message', (msg, rinfo) => this._onDatagram(msg, rinfo));
        this._udp = udp;
        this._tcp = tcp;
        this.listening = true;
        this.emit('listening');
      });
    });
  }

  /** { address, family, port } of the bound sockets (UDP and TCP share it). */
  address() {
    return this._udp ? this._udp.address() : null;
  }

  /** Stops both sockets, ends open TCP connections; 'close' follows. */
  close(callback) {
    if (typeof callback === 'function') this.once('close', callback);
    this._closing = true;
    if (!this.listening) {
      nextTick(() => this.emit('close'));
      return this;
    }
    this.listening = false;
    for (const socket of this._connections) socket.destroy();
    this._connections.clear();
    let remaining = 2;
    const closed = () => {
      if (--remaining === 0) this.emit('close');
    };
    this._udp.close(closed);
    this._tcp.close(closed);
    this._udp = null;
    this._tcp = null;
    return this;
  }

  ref() {
    if (this._udp) this._udp.ref();
    if (this._tcp) this._tcp.ref();
    return this;
  }

  unref() {
    if (this._udp) this._udp.unref();
    if (this._tcp) this._tcp.unref();
    return this;
  }

  _onDatagram(msg, rinfo) {
    this._stats.udpQueries++;
    this._answer(msg, { transport: 'udp', remoteAddress: rinfo.address, remotePort: rinfo.port }, (reply) => {
      if (this._udp === null) return;
      try {
        this._udp.send(reply, rinfo.port, rinfo.address);
      } catch {
        this._stats.dropped++;
      }
    });
  }

  _onConnection(socket) {
    // Bounded: so many clients at once, each idle at most so long, and one
    // that does not read its answers is not read from either.
    if (this._connections.size >= MAX_TCP_CONNECTIONS) {
      this._stats.dropped++;
      socket.destroy();
      return;
    }
    this._connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    const from = { transport: 'tcp', remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
    socket.on('error', () => {});
    socket.on('drain', () => socket.resume());
    socket.on('close', () => this._connections.delete(socket));
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const msg = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        this._stats.tcpQueries++;
        const answering = this._answer(msg, from, (reply) => {
          if (socket.destroyed) return;
          const frame = Buffer.alloc(2 + reply.length);
          frame.writeUInt16BE(reply.length, 0);
          reply.copy(frame, 2);
          if (!socket.write(frame)) socket.pause();
        });
        // A peer that sends what cannot be answered is not a DNS client.
        if (!answering) {
          socket.destroy();
          return;
        }
      }
    });
  }

  // Answers one message with `send(bytes)`, now or later; false if it is
  // dropped and will never be answered.
  // `from`: the transport and the asker's address and port.
  _answer(msg, from, send) {
    try {
      return this._answerQuery(msg, from, send);
    } catch {
      // Nothing a client sends may throw out of a socket's handler.
      this._stats.dropped++;
      return false;
    }
  }

  _answerQuery(msg, from, send) {
    const { transport } = from;
    const query = wire.decode(msg);
    if (query === null) {
      this._stats.malformed++;
      // FORMERR where the header says it is a query: the id and flags are
      // readable; what is shorter, or a response, gets nothing.
      if (msg.length >= wire.HEADER_BYTES && (msg.readUInt16BE(2) & QR_BIT) === 0) {
        this._stats.formerr++;
        send(this._encode({ id: wire.rawId(msg), flags: 0, rcode: 'FORMERR', questions: [] }, null, transport));
        return true;
      }
      this._stats.dropped++;
      return false;
    }
    if (query.type !== 'query') {
      this._stats.dropped++;
      return false;
    }
    const edns = query.additionals.find((r) => r.type === 'OPT') || null;
    const rd = query.flag_rd ? wire.RECURSION_DESIRED : 0;
    const reply = (result) => send(this._encode({ id: query.id, flags: rd, questions: query.questions, ...result }, edns, transport));
    if (query.opcode !== 'QUERY') {
      reply({ rcode: 'NOTIMP' });
      return true;
    }
    if (query.questions.length !== 1) {
      this._stats.formerr++;
      reply({ rcode: 'FORMERR' });
      return true;
    }
    const [question] = query.questions;
    if (this._names !== null) {
      const result = answerFromZone(this._names, question);
      if (result.rcode !== 'NXDOMAIN' || this._handler === null) {
        reply({ ...result, authoritative: true });
        return true;
      }
    }
    this._fromHandler(question, reply, from);
    return true;
  }

  _fromHandler(question, reply, from) {
    let replied = false;
    const respond = (result) => {
      if (replied) return;
      replied = true;
      if (result === null || result === undefined) {
        reply({ rcode: 'NXDOMAIN' });
        return;
      }
      const answer = Array.isArray(result) ? { answers: result } : result;
      const records = (list) => (list || []).map((r) => ({
        name: question.name, class: 'IN', ttl: DEFAULT_TTL, ...r, data: recordData(r.type, r.data),
      }));
      let sections;
      try {
        sections = { answers: records(answer.answers), authorities: records(answer.authorities), additionals: records(answer.additionals) };
      } catch {
        this._stats.handlerErrors++;
        reply({ rcode: 'SERVFAIL' });
        return;
      }
      reply({ rcode: answer.rcode || 'NOERROR', ...sections, authoritative: answer.authoritative !== false });
    };
    const failed = () => {
      this._stats.handlerErrors++;
      if (!replied) {
        replied = true;
        reply({ rcode: 'SERVFAIL' });
      }
    };
    let returned;
    try {
      returned = this._handler({ name: question.name, type: question.type, class: question.class, ...from }, respond);
    } catch {
      failed();
      return;
    }
    if (returned && typeof returned.then === 'function') {
      returned.then((value) => { if (value !== undefined) respond(value); }, failed);
    } else if (returned !== undefined) {
      respond(returned);
    }
  }

  // The reply's bytes: SERVFAIL for records that cannot be encoded, and over
  // UDP, no records but TC when it would not fit the client's size.
  _encode(result, edns, transport) {
    const flags = wire.withRcode(result.flags | (result.authoritative ? wire.AUTHORITATIVE_ANSWER : 0), result.rcode || 'NOERROR');
    const opt = edns ? [{ type: 'OPT', name: '.', udpPayloadSize: OUR_EDNS_SIZE, flags: 0, options: [] }] : [];
    const base = { type: 'response', id: result.id, flags, questions: result.questions };
    let bytes;
    try {
      bytes = wire.encode({
        ...base,
        answers: result.answers || [],
        authorities: result.authorities || [],
        additionals: [...(result.additionals || []), ...opt],
      });
    } catch {
      this._stats.handlerErrors++;
      return wire.encode({ ...base, flags: wire.withRcode(result.flags, 'SERVFAIL'), additionals: opt });
    }
    const limit = transport === 'udp'
      ? Math.min(MAX_UDP_SIZE, Math.max(CLASSIC_UDP_SIZE, edns ? edns.udpPayloadSize : 0))
      : 0xffff;
    if (bytes.length > limit) {
      this._stats.truncated++;
      if (transport === 'tcp') return wire.encode({ ...base, flags: wire.withRcode(result.flags, 'SERVFAIL'), additionals: opt });
      return wire.encode({ ...base, flags: flags | wire.TRUNCATED_RESPONSE, additionals: opt });
    }
    this._stats.answered++;
    return bytes;
  }
}

/**
 * A DNS server answering from `options.zone` (names missing from it get
 * NXDOMAIN) and/or `options.handler(question, respond)`.
 */
function createDnsServer(transport, options) {
  return new DnsServer(transport, options);
}

module.exports = { DnsServer, createDnsServer };
