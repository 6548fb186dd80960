'use strict';
const errors = require('./errors.js');
const { dnsHints } = require('./platform/node.js');

function validateFunction(value, name) {
  if (typeof value !== 'function') throw errors.invalidArgType(name, 'function', value);
}

function validateNumber(value, name) {
  if (typeof value !== 'number') throw errors.invalidArgType(name, 'number', value);
}

function validateObject(value, name) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw errors.invalidArgType(name, 'object', value);
  }
}

function validateString(value, name) {
  if (typeof value !== 'string') throw errors.invalidArgType(name, 'string', value);
}

function validateOneOf(value, name, allowed) {
  if (!allowed.includes(value)) {
    const shown = allowed.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
    throw errors.invalidArgValue(name, value, `must be one of: ${shown}`);
  }
}

/**
 * What dns.lookup(hostname, options, cb) checks of its arguments, in its
 * order; returns the family (0, 4 or 6) and whether all addresses are wanted.
 */
function validateLookup(hostname, options) {
  if (hostname) validateString(hostname, 'hostname');
  let family = 0;
  let all = false;
  if (options != null) {
    if (options.hints != null) {
      validateNumber(options.hints, 'options.hints');
      const hints = options.hints >>> 0;
      if ((hints & ~(dnsHints.ADDRCONFIG | dnsHints.ALL | dnsHints.V4MAPPED)) !== 0) {
        throw errors.invalidArgValue('hints', hints);
      }
    }
    if (options.family != null) {
      if (options.family === 'IPv4') family = 4;
      else if (options.family === 'IPv6') family = 6;
      else {
        validateOneOf(options.family, 'options.family', [0, 4, 6]);
        family = options.family;
      }
    }
    if (options.all != null) {
      validateBoolean(options.all, 'options.all');
      all = options.all;
    }
  }
  return { family, all };
}

function validateBoolean(value, name) {
  if (typeof value !== 'boolean') throw errors.invalidArgType(name, 'boolean', value);
}

function validateInt32(value, name, min = -2147483648, max = 2147483647) {
  if (typeof value !== 'number') throw errors.invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw errors.outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw errors.outOfRange(name, `>= ${min} && <= ${max}`, value);
}

// Node's isLegalPort/validatePort: numbers or numeric strings in 0..65535.
function isLegalPort(port) {
  if ((typeof port !== 'number' && typeof port !== 'string') ||
      (typeof port === 'string' && port.trim().length === 0)) {
    return false;
  }
  return +port === (+port >>> 0) && port <= 0xFFFF;
}

function validatePort(port, name = 'Port', allowZero = true) {
  if (!isLegalPort(port) || (!allowZero && +port === 0)) {
    throw errors.badPort(name, port, allowZero);
  }
  return +port;
}

function validateAbortSignal(signal, name) {
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
    throw errors.invalidArgInstance(name, 'AbortSignal', signal);
  }
}

module.exports = {
  validateFunction,
  validateNumber,
  validateObject,
  validateBoolean,
  validateString,
  validateOneOf,
  validateLookup,
  validateInt32,
  validatePort,
  isLegalPort,
  validateAbortSignal,
};
