/* Textual addresses in and out of the core, the way Node prints them. */
#include <string.h>

#include "stack_internal.h"

#include "lwip/ip_addr.h"
#include "lwip/netif.h"

static char *put_hex(char *out, unsigned value) {
  static const char digits[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    unsigned digit = (value >> shift) & 0xf;
    if (digit != 0 || started || shift == 0) {
      *out++ = digits[digit];
      started = true;
    }
  }
  return out;
}

/* As Node prints an IPv6 address (libuv's inet_ntop, RFC 5952): lower-case
 * hex without leading zeros, the longest run of two or more zero groups (the
 * first of equal runs) as "::", and the IPv4-compatible and IPv4-mapped
 * forms with a dotted tail. lwIP's ip6addr_ntoa compresses the first run
 * instead, and in capitals. `out` holds TCPIP_ADDRSTRLEN bytes. */
static void format_ipv6(const ip6_addr_t *v6, char *out) {
  unsigned words[8];
  for (int i = 0; i < 8; i++) {
    uint32_t pair = lwip_ntohl(v6->addr[i / 2]);
    words[i] = (i % 2 == 0) ? (pair >> 16) : (pair & 0xffff);
  }
  int best = -1, best_length = 0;
  for (int i = 0; i < 8;) {
    if (words[i] != 0) {
      i++;
      continue;
    }
    int start = i;
    while (i < 8 && words[i] == 0) i++;
    if (i - start > best_length) {
      best = start;
      best_length = i - start;
    }
  }
  if (best_length < 2) best = -1;
  char *at = out;
  for (int i = 0; i < 8; i++) {
    if (best >= 0 && i >= best && i < best + best_length) {
      if (i == best) *at++ = ':';
      continue;
    }
    if (i != 0) *at++ = ':';
    if (i == 6 && best == 0 &&
        (best_length == 6 || (best_length == 7 && words[7] != 1) ||
         (best_length == 5 && words[5] == 0xffff))) {
      ip4_addr_t v4;
      ip4_addr_set_u32(&v4, v6->addr[3]);
      ip4addr_ntoa_r(&v4, at, (int)(TCPIP_ADDRSTRLEN - (size_t)(at - out)));
      return;
    }
    at = put_hex(at, words[i]);
  }
  if (best >= 0 && best + best_length == 8) *at++ = ':';
  *at = '\0';
}

void tcpip_endpoint_set(tcpip_endpoint *endpoint, const ip_addr_t *address, uint16_t port) {
  endpoint->port = port;
  if (IP_IS_V6(address) && !ip_addr_isany(address)) {
    const ip6_addr_t *v6 = ip_2_ip6(address);
    _Static_assert(sizeof endpoint->address == TCPIP_ADDRSTRLEN, "format_ipv6 fills one");
    format_ipv6(v6, endpoint->address);
    endpoint->family = 6;
  } else if (IP_IS_V6(address) || IP_IS_ANY_TYPE_VAL(*address)) {
    strcpy(endpoint->address, "::");
    endpoint->family = 6;
  } else {
    ip4addr_ntoa_r(ip_2_ip4(address), endpoint->address, sizeof endpoint->address);
    endpoint->family = 4;
  }
}

void tcpip_endpoint_set_shown(bool dual_stack, tcpip_endpoint *endpoint, const ip_addr_t *address,
                              uint16_t port) {
  if (dual_stack && IP_IS_V4(address)) {
    ip_addr_t mapped;
    ip4_2_ipv4_mapped_ipv6(ip_2_ip6(&mapped), ip_2_ip4(address));
    IP_SET_TYPE_VAL(mapped, IPADDR_TYPE_V6);
    tcpip_endpoint_set(endpoint, &mapped, port);
  } else {
    tcpip_endpoint_set(endpoint, address, port);
  }
}

bool tcpip_parse_address(const char *text, ip_addr_t *address) {
  if (text == NULL || *text == '\0') return false;
  if (strchr(text, ':') != NULL) {
    IP_SET_TYPE_VAL(*address, IPADDR_TYPE_V6);
    return ip6addr_aton(text, ip_2_ip6(address)) != 0;
  }
  IP_SET_TYPE_VAL(*address, IPADDR_TYPE_V4);
  return ip4addr_aton(text, ip_2_ip4(address)) != 0;
}

bool tcpip_parse_cidr(const char *text, ip_addr_t *address, unsigned *prefix) {
  char buffer[TCPIP_ADDRSTRLEN + 8];
  size_t len = strlen(text);
  if (len >= sizeof buffer) return false;
  memcpy(buffer, text, len + 1);
  char *slash = strchr(buffer, '/');
  if (slash == NULL) return false;
  *slash = '\0';
  /* Digits only (no strtoul: it would pull number parsing into the wasm
   * module, and accepts signs and spaces besides). */
  const char *digit = slash + 1;
  unsigned value = 0;
  if (*digit == '\0') return false;
  for (; *digit != '\0'; digit++) {
    if (*digit < '0' || *digit > '9' || value > 128u) return false;
    value = value * 10u + (unsigned)(*digit - '0');
  }
  if (!tcpip_parse_address(buffer, address)) return false;
  if (value > (IP_IS_V6(address) ? 128u : 32u)) return false;
  *prefix = value;
  return true;
}

bool tcpip_is_local_address(const ip_addr_t *address) {
  struct netif *netif;
  NETIF_FOREACH(netif) {
    if (IP_IS_V6(address)) {
      if (netif_get_ip6_addr_match(netif, ip_2_ip6(address)) >= 0) return true;
    } else if (ip4_addr_cmp(ip_2_ip4(address), netif_ip4_addr(netif))) {
      return true;
    }
  }
  return false;
}
