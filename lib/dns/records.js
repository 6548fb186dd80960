'use strict';
// Records as Node's resolve*() answers them, from dns-packet's decoded form.
const { sameName } = require('./names.js');

const text = (chunk) => (typeof chunk === 'string' ? chunk : chunk.toString('latin1'));

// One record's data in the shape resolveX() gives it (without TTL or type).
const SHAPES = {
  A: (r) => r.data,
  AAAA: (r) => r.data,
  CNAME: (r) => r.data,
  NS: (r) => r.data,
  PTR: (r) => r.data,
  MX: (r) => ({ exchange: r.data.exchange, priority: r.data.preference }),
  TXT: (r) => (Array.isArray(r.data) ? r.data : [r.data]).map(text),
  SRV: (r) => ({ name: r.data.target, port: r.data.port, priority: r.data.priority, weight: r.data.weight }),
  SOA: (r) => ({
    nsname: r.data.mname,
    hostmaster: r.data.rname,
    serial: r.data.serial,
    refresh: r.data.refresh,
    retry: r.data.retry,
    expire: r.data.expire,
    minttl: r.data.minimum,
  }),
  CAA: (r) => ({ critical: r.data.flags, [r.data.tag]: r.data.value }),
  NAPTR: (r) => ({
    flags: r.data.flags,
    service: r.data.services,
    regexp: r.data.regexp,
    replacement: r.data.replacement,
    order: r.data.order,
    preference: r.data.preference,
  }),
};

// resolveAny()'s entry for a record: the shape above with its type, and
// A/AAAA with their TTL, as Node gives them.
function anyEntry(r) {
  const shape = SHAPES[r.type];
  if (!shape) return null;
  const value = shape(r);
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return { address: value, ttl: r.ttl, type: r.type };
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return { value, type: r.type };
    case 'TXT':
      return { entries: value, type: r.type };
    default:
      return { ...value, type: r.type };
  }
}

// A record (`{ type, data, ttl? }`, data as resolveX() gives it) from a
// resolveAny() entry: anyEntry() backwards, for a server that forwards ANY.
function recordOfAnyEntry(entry) {
  const { type, ...fields } = entry;
  switch (type) {
    case 'A':
    case 'AAAA':
      return { type, data: fields.address, ttl: fields.ttl };
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return { type, data: fields.value };
    case 'TXT':
      return { type, data: fields.entries };
    default:
      return SHAPES[type] ? { type, data: fields } : null;
  }
}

// The names `name` stands for in `answers`: itself and its CNAME chain.
function aliasChain(name, answers) {
  const chain = [name];
  for (let i = 0; i < chain.length && chain.length <= answers.length + 1; i++) {
    for (const r of answers) {
      if (r.type === 'CNAME' && sameName(r.name, chain[i]) && !chain.some((n) => sameName(n, r.data))) {
        chain.push(r.data);
      }
    }
  }
  return chain;
}

/**
 * The answer to a question of `type` about `name`, as resolveX() gives it:
 * the records of that type owned by the name or its aliases. `ttl` gives
 * A/AAAA as { address, ttl }.
 * @returns {Array<*>}
 */
function shapeAnswers(type, name, answers, ttl) {
  if (type === 'ANY') {
    return answers.filter((r) => sameName(r.name, name)).map(anyEntry).filter((e) => e !== null);
  }
  const owners = type === 'CNAME' ? [name] : aliasChain(name, answers);
  const shape = SHAPES[type];
  const out = [];
  for (const r of answers) {
    if (r.type !== type || !owners.some((n) => sameName(n, r.name))) continue;
    const value = shape(r);
    out.push(ttl && (type === 'A' || type === 'AAAA') ? { address: value, ttl: r.ttl } : value);
  }
  return out;
}

module.exports = { shapeAnswers, recordOfAnyEntry, SHAPES };
