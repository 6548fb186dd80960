'use strict';
const errors = require('./errors.js');

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
  validateInt32,
  validatePort,
  isLegalPort,
  validateAbortSignal,
};
