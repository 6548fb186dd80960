'use strict';
// Node's `dns` module over any dgram/net pair (a stack's, or Node's own):
// lookup, resolve*, reverse, Resolver, setServers/getServers and promises,
// with Node's arguments checks, answers and errors; and a DNS server.
const { validateObject, validateOneOf, validateFunction } = require('../validators.js');
const { dnsHints } = require('../platform/node.js');
const { CODES } = require('./errors.js');
const { createStats } = require('./client.js');
const {
  createResolverClasses, parseServers, RESOLVER_KEYS,
} = require('./resolver.js');
const { createLookup, VALID_ORDERS } = require('./lookup.js');
const { createDnsServer, DnsServer } = require('./server.js');

function validateTransport(options) {
  validateObject(options, 'options');
  validateObject(options.dgram, 'options.dgram');
  validateFunction(options.dgram.createSocket, 'options.dgram.createSocket');
  validateObject(options.net, 'options.net');
  validateFunction(options.net.connect, 'options.net.connect');
}

/**
 * A `dns` module whose queries go over `dgram` (UDP) and `net` (TCP when an
 * answer is truncated) to `servers`; `lookupLocal(hostname, options,
 * callback)` answers localhost, *.localhost and address literals without the
 * network (loopback by default); `isHost(hostname)`, names lookupLocal also
 * answers, as /etc/hosts would (lookup only: resolve*() asks the servers).
 * @param {{ dgram: object, net: object, servers?: string[], lookupLocal?: Function,
 *   isHost?: (hostname: string) => boolean, timeout?: number, tries?: number }} options
 */
function createDns(options) {
  validateTransport(options);
  const { dgram, net, lookupLocal, isHost } = options;
  if (lookupLocal !== undefined) validateFunction(lookupLocal, 'options.lookupLocal');
  if (isHost !== undefined) validateFunction(isHost, 'options.isHost');
  let systemServers = parseServers(options.servers === undefined ? [] : options.servers);
  const stats = createStats();
  // `live`: the queries under way, which cancelAll() ends.
  const context = { dgram, net, stats, live: new Set(), systemServers: () => systemServers.slice() };
  const { Resolver, PromiseResolver } = createResolverClasses(context);
  const defaults = { timeout: options.timeout ?? -1, tries: options.tries ?? 4 };
  let defaultResolver = new Resolver(defaults);
  let order = 'verbatim';

  const dns = {};
  const promises = {};
  const bindDefault = () => {
    for (const key of RESOLVER_KEYS) {
      dns[key] = Resolver.prototype[key].bind(defaultResolver);
      promises[key] = PromiseResolver.prototype[key].bind(defaultResolver);
    }
  };
  // As Node's dns.setServers(): a new default resolver, so that queries
  // under way finish with the servers they started with.
  const setServers = (servers) => {
    const resolver = new Resolver(defaults);
    resolver.setServers(servers);
    defaultResolver = resolver;
    bindDefault();
  };
  const getDefaultResultOrder = () => order;
  const setDefaultResultOrder = (value) => {
    validateOneOf(value, 'dnsOrder', VALID_ORDERS);
    order = value;
  };
  const { lookup, lookupPromise } = createLookup(() => defaultResolver, lookupLocal, getDefaultResultOrder, isHost);
  const createServer = (serverOptions) => createDnsServer({ dgram, net }, serverOptions);
  const constants = {
    ADDRCONFIG: dnsHints.ADDRCONFIG, ALL: dnsHints.ALL, V4MAPPED: dnsHints.V4MAPPED, ...CODES,
  };

  Object.assign(promises, {
    lookup: lookupPromise,
    Resolver: PromiseResolver,
    getDefaultResultOrder,
    setDefaultResultOrder,
    setServers,
    ...CODES,
  });
  Object.assign(dns, {
    lookup,
    Resolver,
    getDefaultResultOrder,
    setDefaultResultOrder,
    setServers,
    promises,
    createServer,
    /** What the resolvers sent and what they dropped, counted. */
    stats: () => ({ ...stats }),
    ...constants,
  });
  // Not Node's: what a stack's destroy() calls, so that no query outlives
  // the transport it runs on (each ends with ECANCELLED, as cancel() ends it).
  Object.defineProperty(dns, 'cancelAll', {
    value: () => {
      for (const query of [...context.live]) query.cancel();
    },
  });
  // Not Node's: what a DHCP lease calls, as a host's DHCP client rewrites
  // /etc/resolv.conf: the default resolver and every Resolver made after it
  // start from `servers` (Resolvers made before keep theirs, as in Node).
  Object.defineProperty(dns, 'setSystemServers', {
    value: (servers) => {
      systemServers = parseServers(servers);
      setServers(servers);
    },
  });
  bindDefault();
  return dns;
}

module.exports = { createDns, createDnsServer, DnsServer };
