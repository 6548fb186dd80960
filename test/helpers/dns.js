'use strict';
// DNS fixtures: the transports the dns suite runs over, and hand-driven
// servers that misbehave (never answer, answer garbage, truncate, refuse),
// built on the transport's own dgram and net so that they run wherever the
// client does.
const dgramKernel = require('node:dgram');
const netKernel = require('node:net');
const packet = require('dns-packet');
const { Stack } = require('../..');

/**
 * The transports the suite runs over: each `create()` returns
 * { dgram, net, address, close() } where `address` is where servers listen
 * and clients reach them. `kernel` says whether Node's own dns (c-ares on
 * the kernel's sockets) can reach those servers, for the oracle tests.
 */
const TRANSPORTS = [
  {
    name: "Node's dgram and net on 127.0.0.1",
    kernel: true,
    async create() {
      return { dgram: dgramKernel, net: netKernel, address: '127.0.0.1', close: async () => {} };
    },
  },
  {
    name: "a stack's dgram and net",
    kernel: false,
    async create() {
      const stack = new Stack();
      stack.createLoopbackInterface({ ipAddress: ['127.0.0.1/8', '::1/128'] });
      return { dgram: stack.dgram, net: stack.net, address: '127.0.0.1', close: async () => stack.destroy() };
    },
  },
];

function once(emitter, event) {
  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    emitter.once('error', onError);
    emitter.once(event, (...args) => {
      emitter.removeListener('error', onError);
      resolve(args);
    });
  });
}

/**
 * A UDP (and optionally TCP) server on `transport` that hands every query
 * to `onQuery(query, raw, rinfo, reply)`, where `query` is dns-packet's
 * decoding (null if it does not decode) and `reply(bytesOrMessage)` sends
 * to the querier. Resolves { port, queries, close() }; `queries` lists
 * what it received: { query, rinfo, via: 'udp' | 'tcp' }.
 */
async function rawServer(transport, onQuery, { tcp: onTcpQuery = null, port = 0 } = {}) {
  const udp = transport.dgram.createSocket('udp4');
  const queries = [];
  const decode = (raw) => {
    try {
      return packet.decode(raw);
    } catch {
      return null;
    }
  };
  const toBytes = (m) => (Buffer.isBuffer(m) ? m : packet.encode(m));
  udp.on('message', (raw, rinfo) => {
    const query = decode(raw);
    queries.push({ query, rinfo, via: 'udp' });
    onQuery(query, raw, rinfo, (m) => udp.send(toBytes(m), rinfo.port, rinfo.address));
  });
  udp.bind(port, transport.address);
  await once(udp, 'listening');
  const bound = udp.address().port;
  let tcpServer = null;
  const connections = new Set();
  if (onTcpQuery) {
    tcpServer = transport.net.createServer((socket) => {
      connections.add(socket);
      socket.on('close', () => connections.delete(socket));
      socket.on('error', () => {});
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
        const raw = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = Buffer.alloc(0);
        const query = decode(raw);
        queries.push({ query, rinfo: null, via: 'tcp' });
        onTcpQuery(query, raw, (m) => {
          const bytes = toBytes(m);
          const frame = Buffer.alloc(2 + bytes.length);
          frame.writeUInt16BE(bytes.length, 0);
          bytes.copy(frame, 2);
          socket.write(frame);
        }, socket);
      });
    });
    tcpServer.listen(bound, transport.address);
    await once(tcpServer, 'listening');
  }
  return {
    port: bound,
    queries,
    async close() {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => udp.close(resolve));
      if (tcpServer) await new Promise((resolve) => tcpServer.close(resolve));
    },
  };
}

/** A response to `query` with `fields` (answers, flags, rcode name, ...). */
function responseTo(query, { rcode = 'NOERROR', flags = 0, ...fields } = {}) {
  const rcodes = require('dns-packet/rcodes');
  return {
    type: 'response',
    id: query.id,
    flags: flags | packet.RECURSION_DESIRED | rcodes.toRcode(rcode),
    questions: query.questions,
    ...fields,
  };
}

/** A port nothing listens on (bound once, then closed). */
async function closedUdpPort(transport) {
  const socket = transport.dgram.createSocket('udp4');
  socket.bind(0, transport.address);
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

/** Sends `bytes` to a UDP port and resolves the first reply, or null after `ms`. */
async function exchangeUdp(transport, port, bytes, ms = 10000) {
  const socket = transport.dgram.createSocket('udp4');
  socket.bind(0, transport.address);
  await once(socket, 'listening');
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(null), ms);
    function finish(reply) {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    }
    socket.on('message', (msg) => finish(msg));
    socket.send(bytes, port, transport.address);
  });
}

module.exports = {
  TRANSPORTS, rawServer, responseTo, closedUdpPort, exchangeUdp, once,
};
