'use strict';
// DNS errors shaped as Node's DNSException: `${syscall} ${code} ${hostname}`
// with `errno`, `code`, `syscall` and `hostname`, in that order. c-ares
// codes (ENOTFOUND, ETIMEOUT, ...) have no errno, as in Node; getaddrinfo's
// carry libuv's number.

// What Node exports as dns.NODATA, dns.TIMEOUT, ...
const CODES = Object.freeze({
  NODATA: 'ENODATA',
  FORMERR: 'EFORMERR',
  SERVFAIL: 'ESERVFAIL',
  NOTFOUND: 'ENOTFOUND',
  NOTIMP: 'ENOTIMP',
  REFUSED: 'EREFUSED',
  BADQUERY: 'EBADQUERY',
  BADNAME: 'EBADNAME',
  BADFAMILY: 'EBADFAMILY',
  BADRESP: 'EBADRESP',
  CONNREFUSED: 'ECONNREFUSED',
  TIMEOUT: 'ETIMEOUT',
  EOF: 'EOF',
  FILE: 'EFILE',
  NOMEM: 'ENOMEM',
  DESTRUCTION: 'EDESTRUCTION',
  BADSTR: 'EBADSTR',
  BADFLAGS: 'EBADFLAGS',
  NONAME: 'ENONAME',
  BADHINTS: 'EBADHINTS',
  NOTINITIALIZED: 'ENOTINITIALIZED',
  LOADIPHLPAPI: 'ELOADIPHLPAPI',
  ADDRGETNETWORKPARAMS: 'EADDRGETNETWORKPARAMS',
  CANCELLED: 'ECANCELLED',
});

// libuv's getaddrinfo statuses that lookup() reports.
const UV_EAI_AGAIN = -3001;
const UV_EAI_NONAME = -3008;
const UV_EINVAL = -22;

/**
 * @param {string} code
 * @param {string} syscall 'queryA', 'getaddrinfo', 'getHostByAddr', ...
 * @param {string} [hostname]
 * @param {number} [errno]
 */
function dnsException(code, syscall, hostname, errno) {
  const error = new Error(`${syscall} ${code}${hostname ? ` ${hostname}` : ''}`);
  error.errno = errno;
  error.code = code;
  error.syscall = syscall;
  if (hostname) error.hostname = hostname;
  return error;
}

// A lookup's failure as glibc's getaddrinfo reports it through Node: a name
// that does not exist or has no address is ENOTFOUND (EAI_NONAME or
// EAI_NODATA); a server that failed or did not answer is EAI_AGAIN.
function lookupException(queryCode, hostname) {
  switch (queryCode) {
    case CODES.NOTFOUND:
    case CODES.NODATA:
    case CODES.BADNAME:
      return dnsException('ENOTFOUND', 'getaddrinfo', hostname, UV_EAI_NONAME);
    default:
      return dnsException('EAI_AGAIN', 'getaddrinfo', hostname, UV_EAI_AGAIN);
  }
}

module.exports = {
  CODES, dnsException, lookupException, UV_EINVAL,
};
