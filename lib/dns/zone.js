'use strict';
// A zone given as a plain object, answered as an authoritative server
// answers: { 'example.test': { A: ['10.0.0.1'], MX: [{ priority, exchange }],
// TXT: ['v=spf1 -all'], CNAME: 'other.test', ... , ttl: 60 } }.
const errors = require('../errors.js');
const { isIP } = require('../platform/node.js');
const wire = require('./wire.js');

const DEFAULT_TTL = 300;
const MAX_ALIASES = 8;

const list = (value) => (Array.isArray(value) ? value : [value]);
const normal = (name) => String(name).toLowerCase().replace(/\.$/, '') || '.';

// Record data of each type, from the forms a zone (or Node's own answers)
// give it, in dns-packet's form.
const CONVERT = {
  A: (v) => list(v).map((a) => {
    if (isIP(a) !== 4) throw new Error(`not an IPv4 address: ${a}`);
    return a;
  }),
  AAAA: (v) => list(v).map((a) => {
    if (isIP(a) !== 6) throw new Error(`not an IPv6 address: ${a}`);
    return a;
  }),
  CNAME: (v) => list(v).slice(0, 1).map(String),
  NS: (v) => list(v).map(String),
  PTR: (v) => list(v).map(String),
  MX: (v) => list(v).map((mx) => ({ preference: mx.priority ?? mx.preference ?? 0, exchange: mx.exchange })),
  TXT: (v) => list(v).map((t) => list(t).map(String)),
  SRV: (v) => list(v).map((s) => ({
    priority: s.priority ?? 0, weight: s.weight ?? 0, port: s.port, target: s.name ?? s.target,
  })),
  SOA: (v) => list(v).slice(0, 1).map((s) => ({
    mname: s.nsname ?? s.mname,
    rname: s.hostmaster ?? s.rname,
    serial: s.serial ?? 1,
    refresh: s.refresh ?? 3600,
    retry: s.retry ?? 600,
    expire: s.expire ?? 86400,
    minimum: s.minttl ?? s.minimum ?? 60,
  })),
  CAA: (v) => list(v).map((c) => {
    if (c.tag !== undefined) return { flags: c.flags ?? c.critical ?? 0, tag: c.tag, value: c.value };
    const tag = Object.keys(c).find((k) => k !== 'critical' && k !== 'flags');
    return { flags: c.critical ?? c.flags ?? 0, tag, value: c[tag] };
  }),
  NAPTR: (v) => list(v).map((n) => ({
    order: n.order, preference: n.preference, flags: n.flags, services: n.service ?? n.services, regexp: n.regexp, replacement: n.replacement,
  })),
};

/**
 * The zone's records by lower-case name, each checked by encoding it once:
 * a record that cannot go on the wire throws ERR_INVALID_ARG_VALUE here,
 * not when a query asks for it.
 * @returns {Map<string, object[]>}
 */
function compileZone(zone) {
  const names = new Map();
  for (const [key, entry] of Object.entries(zone)) {
    const name = normal(key);
    const records = names.get(name) || [];
    if (entry === null || typeof entry !== 'object') {
      throw errors.invalidArgValue(`options.zone['${key}']`, entry, 'must be an object of records by type');
    }
    const ttl = entry.ttl ?? DEFAULT_TTL;
    for (const [type, value] of Object.entries(entry)) {
      if (type === 'ttl') continue;
      const convert = CONVERT[type];
      if (!convert) throw errors.invalidArgValue(`options.zone['${key}'].${type}`, value, 'is not a supported record type');
      let data;
      try {
        data = convert(value);
        for (const d of data) {
          const record = { type, name, ttl, class: 'IN', data: d };
          wire.encode({ type: 'response', answers: [record] });
          records.push(record);
        }
      } catch (cause) {
        const error = errors.invalidArgValue(`options.zone['${key}'].${type}`, value, `is invalid (${cause.message})`);
        error.cause = cause;
        throw error;
      }
    }
    names.set(name, records);
  }
  return names;
}

/**
 * One record's data in dns-packet's form, from the forms a zone takes (a
 * handler's answers take them too); types this module does not know pass
 * as they are, for dns-packet to encode.
 */
function recordData(type, data) {
  const convert = CONVERT[type];
  // A zone's value lists records; a handler's data is one record (a TXT's
  // strings are its chunks, as in an element of resolveTxt()'s answer).
  return convert ? convert([data])[0] : data;
}

function parentOf(name) {
  const dot = name.indexOf('.');
  return dot === -1 ? null : name.slice(dot + 1);
}

// The records for `name`, or those of a wildcard ('*.parent') covering it.
function recordsFor(names, name) {
  if (names.has(name)) return names.get(name).map((r) => ({ ...r, name }));
  for (let parent = parentOf(name); parent !== null; parent = parentOf(parent)) {
    if (names.has(parent)) return null; // an existing name stops wildcards below it
    const wildcard = names.get(`*.${parent}`);
    if (wildcard) return wildcard.map((r) => ({ ...r, name }));
  }
  return null;
}

// The SOA of the closest enclosing name that has one, for negative answers.
function soaFor(names, name) {
  for (let n = name; n !== null; n = parentOf(n)) {
    const soa = (names.get(n) || []).find((r) => r.type === 'SOA');
    if (soa) return soa;
  }
  return null;
}

/**
 * The answer to `question` from a compiled zone:
 * { rcode, answers, authorities }.
 */
function answerFromZone(names, question) {
  const qname = normal(question.name);
  const answers = [];
  let name = qname;
  for (let hops = 0; hops <= MAX_ALIASES; hops++) {
    const records = recordsFor(names, name);
    if (records === null) {
      // An empty non-terminal (a name with names below it) exists with no records.
      const exists = [...names.keys()].some((n) => n.endsWith(`.${name}`));
      if (answers.length > 0 || exists) break;
      const soa = soaFor(names, qname);
      return { rcode: 'NXDOMAIN', answers: [], authorities: soa ? [soa] : [] };
    }
    if (question.type === 'ANY') {
      answers.push(...records);
      break;
    }
    const matching = records.filter((r) => r.type === question.type);
    if (matching.length > 0) {
      answers.push(...matching);
      break;
    }
    const alias = records.find((r) => r.type === 'CNAME');
    if (!alias) break;
    answers.push(alias);
    name = normal(alias.data);
  }
  const authorities = [];
  if (answers.length === 0) {
    const soa = soaFor(names, qname);
    if (soa) authorities.push(soa);
  }
  return { rcode: 'NOERROR', answers, authorities };
}

module.exports = { compileZone, answerFromZone, recordData };
