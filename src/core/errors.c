#include "stack_internal.h"

tcpip_error tcpip_error_from_lwip(err_t err) {
  switch (err) {
    case ERR_OK: return TCPIP_OK;
    case ERR_MEM:
    case ERR_BUF: return TCPIP_ENOBUFS;
    case ERR_RTE: return TCPIP_ENETUNREACH;
    case ERR_USE:
    case ERR_ISCONN: return TCPIP_EADDRINUSE;
    case ERR_RST: return TCPIP_ECONNRESET;
    case ERR_ABRT: return TCPIP_ECONNABORTED;
    case ERR_CLSD: return TCPIP_EPIPE;
    case ERR_TIMEOUT: return TCPIP_ETIMEDOUT;
    default: return TCPIP_EINVAL;
  }
}

const char *tcpip_error_name(tcpip_error error) {
  static const char *const names[TCPIP_ERROR_COUNT] = {
      "OK",         "ECONNREFUSED",  "ECONNRESET",  "ECONNABORTED", "ETIMEDOUT",
      "EADDRINUSE", "EADDRNOTAVAIL", "ENETUNREACH", "ENOBUFS",      "EINVAL",
      "EPIPE",      "EMSGSIZE",      "EACCES",
  };
  return (unsigned)error < TCPIP_ERROR_COUNT ? names[error] : "EINVAL";
}
