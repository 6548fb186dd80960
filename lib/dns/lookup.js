'use strict';
// dns.lookup() over a resolver's servers: A and AAAA questions as
// getaddrinfo asks them, with Node's argument checks, answers and errors;
// localhost and address literals never leave the host.
const errors = require('../errors.js');
const { isIP, nextTick, emitWarning, dnsHints } = require('../platform/node.js');
const {
  validateString, validateFunction, validateNumber, validateOneOf, validateBoolean,
} = require('../validators.js');
const { lookupException, CODES } = require('./errors.js');

const VALID_ORDERS = ['verbatim', 'ipv4first', 'ipv6first'];
const VALID_FAMILIES = [0, 4, 6];

let invalidHostnameWarned = false;
function warnInvalidHostname(hostname) {
  if (invalidHostnameWarned) return;
  invalidHostnameWarned = true;
  emitWarning(`The provided hostname "${hostname}" is not a valid hostname, and is supported in the dns module solely for compatibility.`,
    'DeprecationWarning', 'DEP0118');
}

function validateHints(hints) {
  if ((hints & ~(dnsHints.ADDRCONFIG | dnsHints.ALL | dnsHints.V4MAPPED)) !== 0) {
    throw errors.invalidArgValue('hints', hints);
  }
}

/**
 * dns.lookup()'s options, checked as Node checks them (the callback form
 * takes 'IPv4'/'IPv6' for family, the promise form does not).
 * @returns {{ family: number, all: boolean, hints: number, order: string | undefined }}
 */
function parseLookupOptions(options, { namedFamilies }) {
  const parsed = { family: 0, all: false, hints: 0, order: undefined };
  if (typeof options === 'number') {
    validateOneOf(options, 'family', VALID_FAMILIES);
    parsed.family = options;
    return parsed;
  }
  if (options !== undefined && options !== null && typeof options !== 'object') {
    throw errors.invalidArgType('options', ['integer', 'object'], options);
  }
  if (options?.hints != null) {
    validateNumber(options.hints, 'options.hints');
    parsed.hints = options.hints >>> 0;
    validateHints(parsed.hints);
  }
  if (options?.family != null) {
    if (namedFamilies && options.family === 'IPv4') parsed.family = 4;
    else if (namedFamilies && options.family === 'IPv6') parsed.family = 6;
    else {
      validateOneOf(options.family, 'options.family', VALID_FAMILIES);
      parsed.family = options.family;
    }
  }
  if (options?.all != null) {
    validateBoolean(options.all, 'options.all');
    parsed.all = options.all;
  }
  if (options?.verbatim != null) {
    validateBoolean(options.verbatim, 'options.verbatim');
    parsed.order = options.verbatim ? 'verbatim' : 'ipv4first';
  }
  if (options?.order != null) {
    validateOneOf(options.order, 'options.order', VALID_ORDERS);
    parsed.order = options.order;
  }
  return parsed;
}

function isLocalName(hostname) {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

// Loopback for localhost where the caller gave no lookupLocal.
function defaultLocal(hostname, { family, all }, callback) {
  const addresses = isIP(hostname)
    ? [{ address: hostname, family: isIP(hostname) }]
    : [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }].filter((a) => !family || a.family === family);
  nextTick(() => {
    if (all) callback(null, addresses);
    else callback(null, addresses[0].address, addresses[0].family);
  });
}

/**
 * The addresses of `hostname` from `resolver`'s servers: `done(error, [{ address, family }])`.
 * @param {object} resolver a Resolver of this module (its _query)
 */
function resolveAddresses(resolver, hostname, { family, hints, order }, done) {
  const v4mapped = family === 6 && (hints & dnsHints.V4MAPPED) !== 0;
  const wantAll = (hints & dnsHints.ALL) !== 0;
  const types = family === 4 ? ['A'] : family === 6 && !v4mapped ? ['AAAA'] : ['A', 'AAAA'];
  const results = {};
  let remaining = types.length;
  for (const type of types) {
    resolver._query(hostname, type, 'getaddrinfo', false, (err, answers) => {
      results[type] = err ? { code: err.code } : { answers };
      if (--remaining > 0) return;
      const v4 = (results.A && results.A.answers) || [];
      const v6 = (results.AAAA && results.AAAA.answers) || [];
      let addresses;
      if (v4mapped) {
        const mapped = v4.map((address) => ({ address: `::ffff:${address}`, family: 6 }));
        const native = v6.map((address) => ({ address, family: 6 }));
        addresses = native.length > 0 && !wantAll ? native : [...native, ...mapped];
      } else {
        const four = v4.map((address) => ({ address, family: 4 }));
        const six = v6.map((address) => ({ address, family: 6 }));
        addresses = order === 'ipv6first' ? [...six, ...four] : [...four, ...six];
      }
      if (addresses.length > 0) {
        done(null, addresses);
        return;
      }
      // No address: the name is unknown, unless a server failed to say.
      const codes = Object.values(results).map((r) => r.code).filter(Boolean);
      const failed = codes.find((code) => code !== CODES.NOTFOUND && code !== CODES.NODATA && code !== CODES.BADNAME);
      done(lookupException(failed || CODES.NOTFOUND, hostname));
    });
  }
}

/**
 * dns.lookup and dns.promises.lookup over `getResolver()`.
 * @param {() => object} getResolver the default resolver now
 * @param {Function | undefined} lookupLocal (hostname, options, callback) for
 *   localhost, *.localhost and address literals
 * @param {() => string} getOrder the default result order
 * @param {(hostname: string) => boolean} [isHost] names lookupLocal answers too
 */
function createLookup(getResolver, lookupLocal, getOrder, isHost) {
  const local = lookupLocal || defaultLocal;

  // Runs a checked lookup; `callback(err, addresses)` with all addresses.
  function run(hostname, parsed, callback) {
    const order = parsed.order || getOrder();
    if (!hostname) {
      warnInvalidHostname(hostname);
      nextTick(callback, null, null);
      return;
    }
    if (isIP(hostname) || isLocalName(hostname) || (isHost && isHost(hostname))) {
      const options = { family: parsed.family, all: true, hints: parsed.hints, order };
      local(hostname, options, (err, addresses) => callback(err || null, err ? undefined : addresses));
      return;
    }
    resolveAddresses(getResolver(), hostname, { ...parsed, order }, callback);
  }

  function lookup(hostname, options, callback) {
    if (hostname) validateString(hostname, 'hostname');
    let parsed;
    if (typeof options === 'function') {
      callback = options;
      parsed = parseLookupOptions(undefined, { namedFamilies: true });
    } else if (typeof options === 'number') {
      validateFunction(callback, 'callback');
      parsed = parseLookupOptions(options, { namedFamilies: true });
    } else if (options !== undefined && typeof options !== 'object') {
      validateFunction(arguments.length === 2 ? options : callback, 'callback');
      throw errors.invalidArgType('options', ['integer', 'object'], options);
    } else {
      validateFunction(callback, 'callback');
      parsed = parseLookupOptions(options, { namedFamilies: true });
    }
    run(hostname, parsed, (err, addresses) => {
      if (err) callback(err);
      else if (addresses === null) {
        if (parsed.all) callback(null, []);
        else callback(null, null, parsed.family === 6 ? 6 : 4);
      } else if (parsed.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
    return {};
  }

  function lookupPromise(hostname, options) {
    if (hostname) validateString(hostname, 'hostname');
    const parsed = parseLookupOptions(options, { namedFamilies: false });
    return new Promise((resolve, reject) => {
      run(hostname, parsed, (err, addresses) => {
        if (err) reject(err);
        else if (addresses === null) resolve(parsed.all ? [] : { address: null, family: parsed.family === 6 ? 6 : 4 });
        else resolve(parsed.all ? addresses : addresses[0]);
      });
    });
  }

  // util.promisify(dns.lookup) resolves { address, family }, as Node's
  // (whose customPromisifyArgs name the callback's two results).
  function promisified(hostname, options) {
    return new Promise((resolve, reject) => {
      const done = (err, address, family) => (err ? reject(err) : resolve({ address, family }));
      if (options === undefined) lookup(hostname, done);
      else lookup(hostname, options, done);
    });
  }
  Object.defineProperty(lookup, Symbol.for('nodejs.util.promisify.custom'), {
    value: promisified, enumerable: false, configurable: true,
  });

  return { lookup, lookupPromise };
}

module.exports = { createLookup, VALID_ORDERS };
