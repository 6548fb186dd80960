'use strict';
// Errors shaped exactly like Node's own: argument errors carry Node's `code`
// and message; system errors carry `code`, `errno`, `syscall`, `address`,
// `port` as libuv reports them.
const {
  inspect, errno, name: platformName, systemErrorInfo,
} = require('./platform/node.js');

const UV_EAI_NONAME = -3008;

function describeReceived(value) {
  if (value == null) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    if (value.constructor && value.constructor.name) {
      return ` Received an instance of ${value.constructor.name}`;
    }
    return ` Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

function makeError(Base, code, message) {
  const error = new Base(message);
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  // Node prints "TypeError [CODE]: message" in stacks.
  error.stack = error.stack.replace(`${Base.name}:`, `${Base.name} [${code}]:`);
  Object.defineProperty(error, 'toString', {
    value() { return `${this.name} [${code}]: ${this.message}`; },
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return error;
}

function formatName(name) {
  return name.includes('.') ? `"${name}" property` : `"${name}" argument`;
}

// Node's own wording (internal/errors.js): primitive types, then classes,
// then anything else, each list joined as Node joins it.
const PRIMITIVE_TYPES = ['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol'];

function joinList(items, one, many) {
  if (items.length > 2) return `${many} ${items.slice(0, -1).join(', ')}, or ${items[items.length - 1]}`;
  if (items.length === 2) return `${many} ${items[0]} or ${items[1]}`;
  return `${one} ${items[0]}`;
}

function invalidArgType(name, expected, actual) {
  const types = [];
  const instances = [];
  const other = [];
  for (const value of Array.isArray(expected) ? expected : [expected]) {
    if (PRIMITIVE_TYPES.includes(value)) types.push(value.toLowerCase());
    else if (/^[A-Z][a-zA-Z0-9]*$/.test(value)) instances.push(value);
    else other.push(value);
  }
  if (instances.length > 0 && types.includes('object')) {
    types.splice(types.indexOf('object'), 1);
    instances.push('Object');
  }
  const parts = [];
  if (types.length > 0) parts.push(joinList(types, 'of type', 'one of type'));
  if (instances.length > 0) {
    parts.push(instances.length > 2 ? joinList(instances, '', 'an instance of')
      : `an instance of ${instances.join(' or ')}`);
  }
  if (other.length > 0) {
    parts.push(other.length > 1 ? joinList(other, '', 'one of') : `${other[0].toLowerCase() !== other[0] ? 'an ' : ''}${other[0]}`);
  }
  const subject = name.endsWith(' argument') ? name : formatName(name);
  return makeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The ${subject} must be ${parts.join(' or ')}.${describeReceived(actual)}`);
}

// The argument is not an instance of `className` (Node's wording for a
// class among ERR_INVALID_ARG_TYPE's expected types).
function invalidArgInstance(name, className, actual) {
  return makeError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The ${formatName(name)} must be an instance of ${className}.${describeReceived(actual)}`);
}

function invalidArgValue(name, value, reason = 'is invalid') {
  const kind = name.includes('.') ? 'property' : 'argument';
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return makeError(TypeError, 'ERR_INVALID_ARG_VALUE',
    `The ${kind} '${name}' ${reason}. Received ${shown}`);
}

// A lookup answered a family other than 4 or 6 for `host`.
function invalidAddressFamily(addressType, host, port) {
  const error = makeError(RangeError, 'ERR_INVALID_ADDRESS_FAMILY',
    `Invalid address family: ${addressType} ${host}:${port}`);
  error.host = host;
  error.port = port;
  return error;
}

// Every address of a connection with autoSelectFamily failed: Node's
// NodeAggregateError, an AggregateError whose code is the first error's.
function connectionAttemptsFailed(attemptErrors) {
  const error = new AggregateError(attemptErrors);
  error.code = attemptErrors[0] && attemptErrors[0].code;
  return error;
}

function outOfRange(name, range, value) {
  return makeError(RangeError, 'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`);
}

function badPort(name, value, allowZero = true) {
  const operator = allowZero ? '>=' : '>';
  return makeError(RangeError, 'ERR_SOCKET_BAD_PORT',
    `${name} should be ${operator} 0 and < 65536.${describeReceived(value)}.`);
}

function invalidIpAddress(value) {
  return makeError(TypeError, 'ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${value}`);
}

function missingArgs(...names) {
  const list = names.map((n) => `"${n}"`).join(' or ');
  return makeError(TypeError, 'ERR_MISSING_ARGS', `The ${list} argument must be specified`);
}

function simple(Base, code, message) {
  return makeError(Base, code, message);
}

// Node's AbortError (internal/errors.js), as its promise APIs reject with
// when their signal aborts: the signal's reason is the cause.
class AbortError extends Error {
  constructor(message = 'The operation was aborted', options = undefined) {
    super(message, options);
    this.code = 'ABORT_ERR';
    this.name = 'AbortError';
  }
}

function abortError(signal) {
  return new AbortError(undefined, { cause: signal.reason });
}

// Node's ERR_INVALID_FD_TYPE: a descriptor of a kind a socket cannot use.
function invalidFdType(type) {
  return makeError(TypeError, 'ERR_INVALID_FD_TYPE', `Unsupported fd type: ${type}`);
}

// Something this build or environment cannot do (kernel devices or a
// capture file in a browser, native links without the addon).
function notSupported(what) {
  const where = platformName === 'browser' ? 'in a browser' : 'here';
  return makeError(Error, 'ERR_TCPIP_NOT_SUPPORTED', `${what} is not supported ${where}`);
}

function errnoOf(code) {
  const value = errno[code];
  return value === undefined ? undefined : -value;
}

const UV_MESSAGES = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EINVAL: 'invalid argument',
  EAFNOSUPPORT: 'address family not supported',
  ENOBUFS: 'no buffer space available',
};

// connect ECONNREFUSED 127.0.0.1:80 (Node's exceptionWithHostPort), and
// with `local` "... - Local (127.0.0.1:5000)"
function systemError(code, syscall, address, port, local) {
  let details = '';
  if (address !== undefined && port !== undefined && port > 0) details = ` ${address}:${port}`;
  else if (address !== undefined) details = ` ${address}`;
  if (local) details += ` - Local (${local})`;
  const error = new Error(`${syscall} ${code}${details}`);
  error.errno = errnoOf(code);
  error.code = code;
  error.syscall = syscall;
  if (address !== undefined) error.address = address;
  if (port !== undefined && port > 0) error.port = port;
  return error;
}

// address EPERM (Node's ErrnoException: a libuv status from a handle call)
function errnoException(status, syscall) {
  const [code] = systemErrorInfo(status);
  const error = new Error(`${syscall} ${code}`);
  error.errno = status;
  error.code = code;
  error.syscall = syscall;
  return error;
}

// listen EADDRINUSE: address already in use :::80 (Node's uvExceptionWithHostPort)
function uvError(code, syscall, address, port) {
  const message = UV_MESSAGES[code] || code.toLowerCase();
  let details = '';
  if (address !== undefined && port !== undefined) details = ` ${address}:${port}`;
  else if (address !== undefined) details = ` ${address}`;
  const error = new Error(`${syscall} ${code}: ${message}${details}`);
  error.code = code;
  error.errno = errnoOf(code);
  error.syscall = syscall;
  if (address !== undefined) error.address = address;
  if (port !== undefined) error.port = port;
  return error;
}

function notFound(hostname) {
  const error = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  error.errno = UV_EAI_NONAME;
  error.code = 'ENOTFOUND';
  error.syscall = 'getaddrinfo';
  error.hostname = hostname;
  return error;
}

module.exports = {
  invalidArgType,
  invalidArgInstance,
  invalidArgValue,
  outOfRange,
  badPort,
  invalidIpAddress,
  invalidAddressFamily,
  connectionAttemptsFailed,
  missingArgs,
  simple,
  systemError,
  uvError,
  errnoException,
  notFound,
  notSupported,
  invalidFdType,
  errnoOf,
  AbortError,
  abortError,
};
