'use strict';
// dns.Resolver and dns.promises.Resolver over a dgram/net pair: Node's
// argument checks, servers, timeout and tries, cancel(), and every resolve
// method with the syscall name Node's errors carry.
const { canonicalAddress } = require('../net/ports.js');
const errors = require('../errors.js');
const { isIP, nextTick } = require('../platform/node.js');
const { validateString, validateFunction, validateInt32 } = require('../validators.js');
const { Query } = require('./client.js');
const { queryName, reverseName } = require('./names.js');
const { dnsException, UV_EINVAL } = require('./errors.js');

const IANA_DNS_PORT = 53;
const IPV6_IN_BRACKETS = /^\[([^[\]]*)\]/;
const ADDRESS_AND_PORT = /(^.+?)(?::(\d+))?$/;

// Resolver methods: name, record type, the syscall Node names in errors.
const METHODS = [
  ['resolveAny', 'ANY', 'queryAny'],
  ['resolve4', 'A', 'queryA'],
  ['resolve6', 'AAAA', 'queryAaaa'],
  ['resolveCaa', 'CAA', 'queryCaa'],
  ['resolveCname', 'CNAME', 'queryCname'],
  ['resolveMx', 'MX', 'queryMx'],
  ['resolveNs', 'NS', 'queryNs'],
  ['resolveTxt', 'TXT', 'queryTxt'],
  ['resolveSrv', 'SRV', 'querySrv'],
  ['resolvePtr', 'PTR', 'queryPtr'],
  ['resolveNaptr', 'NAPTR', 'queryNaptr'],
  ['resolveSoa', 'SOA', 'querySoa'],
];

/**
 * Servers as setServers() takes them ('1.2.3.4', '1.2.3.4:53', '::1',
 * '[::1]:5353'), parsed as Node parses them; throws Node's errors.
 * @returns {{ address: string, port: number, family: number }[]}
 */
function parseServers(servers) {
  if (!Array.isArray(servers)) throw errors.invalidArgInstance('servers', 'Array', servers);
  const parsed = [];
  servers.forEach((server, index) => {
    validateString(server, `servers[${index}]`);
    const port = (text) => (Number.parseInt(text, 10) & 0xffff) || IANA_DNS_PORT;
    let family = isIP(server);
    if (family !== 0) {
      parsed.push({ address: canonicalAddress(server, family), port: IANA_DNS_PORT, family });
      return;
    }
    const bracketed = IPV6_IN_BRACKETS.exec(server);
    if (bracketed) {
      family = isIP(bracketed[1]);
      if (family !== 0) {
        parsed.push({ address: canonicalAddress(bracketed[1], family), port: port(server.replace(ADDRESS_AND_PORT, '$2')), family });
        return;
      }
    }
    const split = ADDRESS_AND_PORT.exec(server);
    if (split) {
      family = isIP(split[1]);
      if (family !== 0) {
        parsed.push({ address: split[1], port: port(split[2] || ''), family });
        return;
      }
    }
    throw errors.invalidIpAddress(server);
  });
  // c-ares keeps one of each address and port, the first.
  return parsed.filter((s, i) => parsed.findIndex((t) => t.address === s.address && t.port === s.port) === i);
}

function formatServers(servers) {
  return servers.map(({ address, port, family }) => {
    if (port === IANA_DNS_PORT) return address;
    return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
  });
}

function validateOptions(options) {
  const { timeout = -1, tries = 4 } = { ...options };
  validateInt32(timeout, 'options.timeout', -1);
  validateInt32(tries, 'options.tries', 1);
  return { timeout, tries };
}

/**
 * The Resolver classes of one dns object. `context` carries the transport
 * ({ dgram, net, stats }) and `systemServers()`, the servers a new Resolver
 * starts with.
 */
function createResolverClasses(context) {
  class ResolverBase {
    /** @param {{ timeout?: number, tries?: number }} [options] */
    constructor(options = undefined) {
      this._options = validateOptions(options);
      this._servers = context.systemServers();
      this._pending = new Set();
    }

    /** Ends every query under way with ECANCELLED. */
    cancel() {
      for (const query of [...this._pending]) query.cancel();
    }

    getServers() {
      return formatServers(this._servers);
    }

    setServers(servers) {
      this._servers = parseServers(servers);
    }

    /** Accepted for Node's API; queries go out from the stack's addresses. */
    setLocalAddress(ipv4, ipv6) {
      validateString(ipv4, 'ipv4');
      if (ipv6 !== undefined) validateString(ipv6, 'ipv6');
    }

    // Runs one question; `done(error, answers)` on a later tick.
    _query(name, type, syscall, ttl, done) {
      const qname = type === 'PTR' && syscall === 'getHostByAddr' ? reverseName(name) : queryName(name);
      if (qname === null) {
        nextTick(done, dnsException('EBADNAME', syscall, name));
        return;
      }
      const query = new Query(context, this._servers, this._options, { qname, type, ttl }, (code, answers) => {
        this._pending.delete(query);
        if (code) done(dnsException(code, syscall, name));
        else done(null, answers);
      });
      this._pending.add(query);
      query.start();
    }
  }

  // --- callbacks ----------------------------------------------------------

  function callbackMethod(type, syscall) {
    // (name, callback) or (name, options, callback), as Node's.
    function query(name, ...rest) {
      const callback = rest.length > 1 ? rest[1] : rest[0];
      const options = rest.length > 1 ? rest[0] : undefined;
      validateString(name, 'name');
      validateFunction(callback, 'callback');
      this._query(name, type, syscall, !!(options && options.ttl), callback);
      return {};
    }
    Object.defineProperty(query, 'name', { value: syscall });
    return query;
  }

  class Resolver extends ResolverBase {}
  const resolveMap = { __proto__: null };
  for (const [method, type, syscall] of METHODS) {
    Resolver.prototype[method] = resolveMap[type] = callbackMethod(type, syscall);
  }
  Resolver.prototype.reverse = function reverse(ip, callback) {
    validateString(ip, 'name');
    validateFunction(callback, 'callback');
    if (reverseName(ip) === null) throw dnsException('EINVAL', 'getHostByAddr', ip, UV_EINVAL);
    this._query(ip, 'PTR', 'getHostByAddr', false, callback);
    return {};
  };
  Resolver.prototype.resolve = function resolve(hostname, rrtype, callback) {
    let method;
    if (typeof rrtype === 'string') {
      method = resolveMap[rrtype];
    } else if (typeof rrtype === 'function') {
      method = resolveMap.A;
      callback = rrtype;
    } else {
      throw errors.invalidArgType('rrtype', 'string', rrtype);
    }
    if (typeof method === 'function') return method.call(this, hostname, callback);
    throw errors.invalidArgValue('rrtype', rrtype);
  };

  // --- promises -----------------------------------------------------------

  function promiseMethod(type, syscall) {
    function query(name, options) {
      validateString(name, 'name');
      const ttl = !!(options && options.ttl);
      return new Promise((resolve, reject) => {
        this._query(name, type, syscall, ttl, (err, answers) => (err ? reject(err) : resolve(answers)));
      });
    }
    Object.defineProperty(query, 'name', { value: syscall });
    return query;
  }

  class PromiseResolver extends ResolverBase {}
  const promiseMap = { __proto__: null };
  for (const [method, type, syscall] of METHODS) {
    PromiseResolver.prototype[method] = promiseMap[type] = promiseMethod(type, syscall);
  }
  PromiseResolver.prototype.reverse = function reverse(ip) {
    validateString(ip, 'name');
    return new Promise((resolve, reject) => {
      if (reverseName(ip) === null) {
        reject(dnsException('EINVAL', 'getHostByAddr', ip, UV_EINVAL));
        return;
      }
      this._query(ip, 'PTR', 'getHostByAddr', false, (err, answers) => (err ? reject(err) : resolve(answers)));
    });
  };
  PromiseResolver.prototype.resolve = function resolve(hostname, rrtype) {
    let method;
    if (rrtype !== undefined) {
      validateString(rrtype, 'rrtype');
      method = promiseMap[rrtype];
      if (typeof method !== 'function') throw errors.invalidArgValue('rrtype', rrtype);
    } else {
      method = promiseMap.A;
    }
    return method.call(this, hostname);
  };
  Object.defineProperty(PromiseResolver, 'name', { value: 'Resolver' });

  return { Resolver, PromiseResolver };
}

// The methods dns and dns.promises take from their default resolver.
const RESOLVER_KEYS = ['getServers', 'resolve', ...METHODS.map(([method]) => method), 'reverse'];

module.exports = {
  createResolverClasses, parseServers, formatServers, RESOLVER_KEYS, IANA_DNS_PORT,
};
